// SPDX-License-Identifier: GPL-2.0
#include "memory/guest_memory.h"

#include <gtest/gtest.h>

#include <vector>

namespace tvmm {
namespace {

class GuestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem_.AddRegion(0x1000, absl::MakeSpan(low_)).ok());
    ASSERT_TRUE(mem_.AddRegion(0x100000, absl::MakeSpan(high_)).ok());
  }
  std::vector<uint8_t> low_ = std::vector<uint8_t>(0x2000);
  std::vector<uint8_t> high_ = std::vector<uint8_t>(0x1000);
  GuestMemory mem_;
};

TEST_F(GuestMemoryTest, SliceInside) {
  auto s = mem_.Slice(0x1000, 0x2000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data(), low_.data());
  s = mem_.Slice(0x2ff8, 8);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data(), low_.data() + 0x1ff8);
  EXPECT_TRUE(mem_.Slice(0x100000, 0).ok());
}

TEST_F(GuestMemoryTest, SliceRejectsEverythingElse) {
  EXPECT_FALSE(mem_.Slice(0, 1).ok());                      // below
  EXPECT_FALSE(mem_.Slice(0xfff, 2).ok());                  // straddles the start
  EXPECT_FALSE(mem_.Slice(0x2fff, 2).ok());                 // straddles the end
  EXPECT_FALSE(mem_.Slice(0x3000, 1).ok());                 // gap
  EXPECT_FALSE(mem_.Slice(0x1000, 0x100000).ok());          // spans regions
  EXPECT_FALSE(mem_.Slice(0x100001, UINT64_MAX).ok());      // overflowing length
  EXPECT_FALSE(mem_.Slice(UINT64_MAX, 2).ok());             // wraps
  EXPECT_FALSE(mem_.Slice(0x100000, 0x1001).ok());
}

TEST_F(GuestMemoryTest, ObjectsRoundTrip) {
  ASSERT_TRUE(mem_.WriteObj<uint64_t>(0x1003, 0x1122334455667788).ok());
  EXPECT_EQ(*mem_.ReadObj<uint64_t>(0x1003), 0x1122334455667788u);
  EXPECT_FALSE(mem_.ReadObj<uint64_t>(0x2ffc).ok());
}

TEST_F(GuestMemoryTest, RegionsMustNotOverlap) {
  std::vector<uint8_t> more(0x1000);
  EXPECT_FALSE(mem_.AddRegion(0x2800, absl::MakeSpan(more)).ok());
  EXPECT_FALSE(mem_.AddRegion(0x800, absl::MakeSpan(more)).ok());
  EXPECT_FALSE(mem_.AddRegion(UINT64_MAX - 0x10, absl::MakeSpan(more)).ok());
  EXPECT_FALSE(mem_.AddRegion(0x5000, {}).ok());
  EXPECT_TRUE(mem_.AddRegion(0x3000, absl::MakeSpan(more)).ok());  // adjacent is fine
}

}  // namespace
}  // namespace tvmm
