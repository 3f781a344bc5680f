// SPDX-License-Identifier: GPL-2.0
#include "memory/guest_memory.h"

#include <gmock/gmock.h>
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

// A TVM's private pages: no slice may touch them, whatever its size.
TEST(GuestMemory, PrivateRangesAreRefused) {
  std::vector<uint8_t> ram(0x10000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  mem.SetPrivate({{0x7000, 0x1000}, {0x2000, 0x2000}});
  EXPECT_TRUE(mem.Slice(0x1000, 0x1000).ok());
  EXPECT_TRUE(mem.Slice(0x4000, 0x3000).ok());
  EXPECT_TRUE(mem.Slice(0x8000, 8).ok());
  EXPECT_TRUE(mem.Slice(0x7000, 0).ok());
  for (auto [gpa, len] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0x7000, 1}, {0x6fff, 2}, {0x7fff, 1}, {0x1fff, 2}, {0x3000, 8}, {0x0, 0x10000}}) {
    auto s = mem.Slice(gpa, len);
    EXPECT_TRUE(absl::IsPermissionDenied(s.status())) << std::hex << gpa << "+" << len;
  }
  uint8_t b = 1;
  EXPECT_FALSE(mem.Write(0x7800, {&b, 1}).ok());
}

// What vhost is given: every shared byte, no private one.
TEST(GuestMemory, SharedRegionsCutOutThePrivateRanges) {
  std::vector<uint8_t> low(0x10000), high(0x4000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(low)).ok());
  ASSERT_TRUE(mem.AddRegion(0x100000, absl::MakeSpan(high)).ok());
  EXPECT_EQ(mem.SharedRegions().size(), 2u);
  // At a region's start, in the middle, adjacent to each other, at the end
  // of one, and over the gap between two regions.
  mem.SetPrivate({{0x0, 0x1000}, {0x7000, 0x1000}, {0x8000, 0x1000}, {0xf000, 0xf2000}});
  std::vector<GuestRegion> shared = mem.SharedRegions();
  std::vector<std::pair<uint64_t, uint64_t>> got;
  for (const GuestRegion& r : shared) {
    got.emplace_back(r.gpa, r.host.size());
    EXPECT_EQ(r.host.data(), (r.gpa < 0x100000 ? low.data() + r.gpa : high.data() + r.gpa - 0x100000));
  }
  EXPECT_THAT(got, ::testing::ElementsAre(std::pair<uint64_t, uint64_t>{0x1000, 0x6000},
                                          std::pair<uint64_t, uint64_t>{0x9000, 0x6000},
                                          std::pair<uint64_t, uint64_t>{0x101000, 0x3000}));
  mem.SetPrivate({{0x0, 0x200000}});
  EXPECT_TRUE(mem.SharedRegions().empty());
}

}  // namespace
}  // namespace tvmm
