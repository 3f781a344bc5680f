// SPDX-License-Identifier: GPL-2.0
#include "virtio/virtqueue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

#include "test_ring.h"

namespace tvmm {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kData = 0x4000;
constexpr uint16_t kSize = 8;

class VirtqueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok());
    ASSERT_TRUE(q_.Activate(&mem_, kSize, kDesc, kAvail, kUsed).ok());
  }
  void SetDesc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    ring_.SetDesc(i, addr, len, flags, next);
  }
  void Offer(uint16_t head) { ring_.Offer(head); }
  std::string PopError() {
    auto r = q_.Pop();
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : std::string(r.status().message());
  }

  std::vector<uint8_t> ram_ = std::vector<uint8_t>(0x10000);
  GuestMemory mem_;
  Virtqueue q_;
  TestRing ring_{&ram_, kSize, kDesc, kAvail, kUsed};
};

// VIRTIO_RING_F_EVENT_IDX: the device asks for a kick at the next buffer
// when it finds the ring empty, and interrupts only when the used index
// steps over the driver's used_event.
TEST_F(VirtqueueTest, EventIdxSuppressesKicksAndInterrupts) {
  Virtqueue q;
  ASSERT_TRUE(q.Activate(&mem_, kSize, kDesc, kAvail, kUsed, /*event_idx=*/true).ok());
  auto avail_event = [&] {
    uint16_t v;
    std::memcpy(&v, ram_.data() + kUsed + 4 + 8 * kSize, 2);
    return v;
  };
  auto set_used_event = [&](uint16_t v) {
    std::memcpy(ram_.data() + kAvail + 4 + 2 * kSize, &v, 2);
  };
  for (uint16_t i = 0; i < 4; i++) SetDesc(i, kData + 0x100 * i, 16, Virtqueue::kDescWrite);
  Offer(0);
  Offer(1);
  EXPECT_TRUE(q.Pop()->has_value());
  EXPECT_EQ(avail_event(), 0) << "published only when the ring is found empty";
  EXPECT_TRUE(q.Pop()->has_value());
  EXPECT_FALSE(q.Pop()->has_value());
  EXPECT_EQ(avail_event(), 2) << "kick me when buffer 2 is made available";

  set_used_event(0);  // interrupt once used index 0 is used
  ASSERT_TRUE(q.PushUsed(0, 16).ok());
  EXPECT_TRUE(q.ShouldInterrupt());
  ASSERT_TRUE(q.PushUsed(1, 16).ok());
  EXPECT_FALSE(q.ShouldInterrupt()) << "used_event 0 was passed already";
  set_used_event(3);
  Offer(2);
  Offer(3);
  EXPECT_TRUE(q.Pop()->has_value());
  EXPECT_TRUE(q.Pop()->has_value());
  ASSERT_TRUE(q.PushUsed(2, 16).ok());  // used index 3: not past 3 yet
  EXPECT_FALSE(q.ShouldInterrupt());
  ASSERT_TRUE(q.PushUsed(3, 16).ok());  // used index 4: stepped over 3
  EXPECT_TRUE(q.ShouldInterrupt());
  // NO_INTERRUPT is ignored with EVENT_IDX (2.7.10).
  uint16_t flags = 1;
  std::memcpy(ram_.data() + kAvail, &flags, 2);
  set_used_event(4);
  Offer(0);
  EXPECT_TRUE(q.Pop()->has_value());
  ASSERT_TRUE(q.PushUsed(0, 16).ok());
  EXPECT_TRUE(q.ShouldInterrupt());
}

TEST_F(VirtqueueTest, PopsAChainAndReturnsIt) {
  SetDesc(0, kData, 16, Virtqueue::kDescNext, 3);
  SetDesc(3, kData + 0x100, 512, Virtqueue::kDescWrite);
  Offer(0);
  auto chain = q_.Pop();
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_TRUE(chain->has_value());
  EXPECT_EQ((*chain)->head, 0);
  ASSERT_EQ((*chain)->buffers.size(), 2u);
  EXPECT_EQ((*chain)->buffers[1].data.data(), ram_.data() + kData + 0x100);
  EXPECT_EQ((*chain)->readable_bytes, 16u);
  EXPECT_EQ((*chain)->writable_bytes, 512u);
  EXPECT_FALSE(q_.Pop()->has_value());

  ASSERT_TRUE(q_.PushUsed(0, 512).ok());
  uint16_t used_idx;
  uint32_t id, len;
  std::memcpy(&used_idx, ram_.data() + kUsed + 2, 2);
  std::memcpy(&id, ram_.data() + kUsed + 4, 4);
  std::memcpy(&len, ram_.data() + kUsed + 8, 4);
  EXPECT_EQ(used_idx, 1);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(len, 512u);
  EXPECT_TRUE(q_.ShouldInterrupt());
  ram_[kAvail] = 1;  // VIRTQ_AVAIL_F_NO_INTERRUPT
  EXPECT_FALSE(q_.ShouldInterrupt());
}

TEST_F(VirtqueueTest, RingIndexesWrap) {
  for (uint16_t d = 0; d < kSize; d++) SetDesc(d, kData + 16 * d, 8, 0);
  for (int i = 0; i < 3 * kSize + 1; i++) {
    uint16_t head = (i * 3) % kSize;
    Offer(head);
    auto chain = q_.Pop();
    ASSERT_TRUE(chain.ok() && chain->has_value()) << i;
    EXPECT_EQ((*chain)->head, head) << i;
    ASSERT_TRUE(q_.PushUsed(head, i).ok());
    // The element lands in slot i % size, the index counts on.
    EXPECT_EQ(ring_.UsedIdx(), i + 1);
    EXPECT_EQ(ring_.Used(i), std::make_pair(uint32_t{head}, uint32_t(i))) << i;
  }
  auto empty = q_.Pop();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
}

TEST_F(VirtqueueTest, LoopIsBroken) {
  SetDesc(0, kData, 8, Virtqueue::kDescNext, 1);
  SetDesc(1, kData, 8, Virtqueue::kDescNext, 0);
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("loops"));
}

TEST_F(VirtqueueTest, SelfLoopIsBroken) {
  SetDesc(2, kData, 8, Virtqueue::kDescNext, 2);
  Offer(2);
  EXPECT_THAT(PopError(), HasSubstr("loops"));
}

TEST_F(VirtqueueTest, IndexesOutOfRange) {
  Offer(kSize);
  EXPECT_THAT(PopError(), HasSubstr("head 8 out of range"));
  SetDesc(0, kData, 8, Virtqueue::kDescNext, 200);
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("next 200 out of range"));
}

TEST_F(VirtqueueTest, BuffersOutsideGuestMemory) {
  SetDesc(0, 0xfff0, 0x20, 0);  // runs past the end of RAM
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("not guest memory"));
  SetDesc(0, UINT64_MAX - 4, 16, 0);  // wraps
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("not guest memory"));
  SetDesc(0, kData, UINT32_MAX, 0);  // huge length
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("not guest memory"));
}

TEST_F(VirtqueueTest, OrderingAndIndirect) {
  SetDesc(0, kData, 8, Virtqueue::kDescWrite | Virtqueue::kDescNext, 1);
  SetDesc(1, kData, 8, 0);
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("after a device-writable"));
  SetDesc(2, kData, 16, Virtqueue::kDescIndirect);
  Offer(2);
  EXPECT_THAT(PopError(), HasSubstr("indirect"));
}

TEST_F(VirtqueueTest, AvailIndexRunsAhead) {
  uint16_t idx = kSize + 1;
  std::memcpy(ram_.data() + kAvail + 2, &idx, 2);
  EXPECT_THAT(PopError(), HasSubstr("avail index moved by 9"));
}

// A hostile driver of a TVM points a buffer at a private (measured) page:
// the chain is refused, tvmm never touches the page (which would SIGBUS).
TEST_F(VirtqueueTest, BuffersInPrivateMemoryAreRefused) {
  mem_.SetPrivate({{kData + 0x1000, 0x1000}});
  SetDesc(0, kData + 0x1800, 16, Virtqueue::kDescWrite);
  Offer(0);
  EXPECT_THAT(PopError(), HasSubstr("private memory"));
}

// A trusted VM converts its memory at run time.  What a queue uses through
// host pointers cannot become private under it: its rings while it is
// active, a chain's buffers while the device has the chain.  A buffer made
// private before it is popped is refused.
TEST(VirtqueueConversions, RingsAndChainsInUseStayShared) {
  std::vector<uint8_t> ram(0x10000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  mem.EnableConversions();
  auto kernel = [] { return absl::OkStatus(); };
  TestRing ring(&ram, kSize, kDesc, kAvail, kUsed);
  Virtqueue q;
  ASSERT_TRUE(q.Activate(&mem, kSize, kDesc, kAvail, kUsed).ok());
  for (uint64_t gpa : {kDesc, kAvail, kUsed})
    EXPECT_EQ(mem.Convert(gpa, 0x1000, true, kernel).code(), absl::StatusCode::kUnavailable);

  ring.OfferChain(0, {{kData, 16, false}, {kData + 0x1000, 16, true}});
  absl::StatusOr<std::optional<DescriptorChain>> chain = q.Pop();
  ASSERT_TRUE(chain.ok() && chain->has_value());
  EXPECT_EQ(mem.Convert(kData + 0x1000, 0x1000, true, kernel).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(q.PushUsed((*chain)->head, 16).ok());
  chain = std::nullopt;  // the device is done with it
  ASSERT_TRUE(mem.Convert(kData + 0x1000, 0x1000, true, kernel).ok());

  // The same buffers again: the device error, not a pointer into a page
  // the host mapping refuses.
  ring.OfferChain(0, {{kData, 16, false}, {kData + 0x1000, 16, true}});
  absl::StatusOr<std::optional<DescriptorChain>> refused = q.Pop();
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("private memory"));

  // A queue whose rings are private does not activate; one reset lets go
  // of its rings.
  Virtqueue other;
  EXPECT_FALSE(other.Activate(&mem, kSize, kData + 0x1000, kAvail, kUsed).ok());
  q.Reset();
  EXPECT_TRUE(mem.Convert(kDesc, 0x3000, true, kernel).ok());
}

TEST(VirtqueueActivate, ChecksSizeAndRings) {
  std::vector<uint8_t> ram(0x4000);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  Virtqueue q;
  EXPECT_FALSE(q.Activate(&mem, 0, 0, 0x1000, 0x2000).ok());
  EXPECT_FALSE(q.Activate(&mem, 3, 0, 0x1000, 0x2000).ok());
  EXPECT_FALSE(q.Activate(&mem, 512, 0, 0x1000, 0x2000).ok());
  EXPECT_FALSE(q.Activate(&mem, 8, 8, 0x1000, 0x2000).ok());    // misaligned
  EXPECT_FALSE(q.Activate(&mem, 256, 0, 0x1000, 0x3ffc).ok());  // used ring past RAM
  EXPECT_FALSE(q.Pop().ok());                                   // not ready
  EXPECT_TRUE(q.Activate(&mem, 8, 0, 0x1000, 0x2000).ok());
}

}  // namespace
}  // namespace tvmm
