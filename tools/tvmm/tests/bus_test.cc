// SPDX-License-Identifier: GPL-2.0
#include "devices/bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace tvmm {
namespace {

class Recorder : public BusDevice {
 public:
  void Read(uint64_t offset, absl::Span<uint8_t> data) override {
    for (auto& b : data) b = static_cast<uint8_t>(offset);
  }
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override {
    writes.push_back({offset, data.size()});
  }
  std::vector<std::pair<uint64_t, size_t>> writes;
};

TEST(Bus, DispatchesByRange) {
  Bus bus("test");
  auto a = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.Register(0x100, 8, a).ok());
  uint8_t v[2];
  EXPECT_TRUE(bus.Read(0x103, v));
  EXPECT_EQ(v[0], 3);
  uint8_t w[4] = {};
  EXPECT_TRUE(bus.Write(0x104, w));
  ASSERT_EQ(a->writes.size(), 1u);
  EXPECT_EQ(a->writes[0].first, 4u);
}

TEST(Bus, UnclaimedAndStraddlingAccesses) {
  Bus bus("test");
  ASSERT_TRUE(bus.Register(0x100, 8, std::make_shared<Recorder>()).ok());
  uint8_t v[4] = {};
  EXPECT_FALSE(bus.Read(0x200, v));
  EXPECT_EQ(v[0], 0xff);
  EXPECT_FALSE(bus.Read(0x106, v));  // 4 bytes from 0x106 leave the device
  EXPECT_FALSE(bus.Write(0xfe, v));
  EXPECT_FALSE(bus.Read(UINT64_MAX - 1, v));
}

TEST(Bus, RejectsOverlaps) {
  Bus bus("test");
  ASSERT_TRUE(bus.Register(0x100, 8, std::make_shared<Recorder>()).ok());
  EXPECT_FALSE(bus.Register(0x104, 8, std::make_shared<Recorder>()).ok());
  EXPECT_FALSE(bus.Register(0xfc, 8, std::make_shared<Recorder>()).ok());
  EXPECT_FALSE(bus.Register(0x200, 0, std::make_shared<Recorder>()).ok());
  EXPECT_FALSE(bus.Register(UINT64_MAX, 2, std::make_shared<Recorder>()).ok());
  EXPECT_TRUE(bus.Register(0x108, 8, std::make_shared<Recorder>()).ok());
}

}  // namespace
}  // namespace tvmm
