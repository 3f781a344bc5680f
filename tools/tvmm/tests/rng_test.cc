// SPDX-License-Identifier: GPL-2.0
// virtio-rng: buffers are filled off the notifying thread, a reset does not
// wait for a fill but is not done before it, and a broken queue or a
// failing source makes the device need a reset.
#include "virtio/rng.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "test_ring.h"

namespace tvmm {
namespace {

constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kData = 0x10000;
constexpr uint16_t kSize = 8;

class CountingInterrupt : public VirtioInterrupt {
 public:
  void SignalUsed(Virtqueue&) override { used++; }
  void SignalUsedByHost() override {}
  void SignalConfigChange() override {}
  void SignalNeedsReset() override { needs_reset++; }
  std::atomic<int> used{0}, needs_reset{0};
};

// A source that blocks until the test opens it.
class Gate {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    std::fill(out.begin(), out.end(), 0x3c);
    return fail_ ? absl::UnavailableError("no entropy") : absl::OkStatus();
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return entered_; });
  }
  void Open(bool fail = false) {
    std::lock_guard lock(mu_);
    open_ = true;
    fail_ = fail;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false, fail_ = false;
};

class VirtioRngTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok());
    ASSERT_TRUE(rng_.Activate(&mem_, QueueSet(ActiveQueue(&mem_, kSize, kDesc, kAvail, kUsed)),
                              rng_.Features(), &irq_)
                    .ok());
  }
  void TearDown() override { gate_.Open(); }

  std::vector<uint8_t> ram_ = std::vector<uint8_t>(0x30000);
  GuestMemory mem_;
  TestRing ring_{&ram_, kSize, kDesc, kAvail, kUsed};
  CountingInterrupt irq_;
  Gate gate_;
  VirtioRng rng_{[this](absl::Span<uint8_t> out) { return gate_.Fill(out); }};
};

// The notification returns while the source blocks: a vCPU thread never
// waits for entropy (it used to fill every buffer inside QueueNotify).
TEST_F(VirtioRngTest, NotifyDoesNotWaitForTheSource) {
  ring_.OfferChain(0, {{kData, 64, true}});
  ASSERT_TRUE(rng_.QueueNotify(0).ok());
  gate_.WaitEntered();
  EXPECT_EQ(ring_.UsedIdx(), 0);
  EXPECT_FALSE(rng_.Quiesced());
  gate_.Open();
  rng_.WaitIdle();
  EXPECT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(ring_.Used(0), std::make_pair(0u, 64u));
  EXPECT_EQ(ram_[kData + 63], 0x3c);
  EXPECT_EQ(irq_.used.load(), 1);
}

// A reset returns at once, but the device is not quiesced until the fill
// it interrupted is over, and that chain is never returned.
TEST_F(VirtioRngTest, ResetDoesNotReturnTheChainBeingFilled) {
  ring_.OfferChain(0, {{kData, 64, true}});
  ring_.OfferChain(1, {{kData + 64, 64, true}});
  ASSERT_TRUE(rng_.QueueNotify(0).ok());
  gate_.WaitEntered();
  rng_.Reset();
  EXPECT_FALSE(rng_.Quiesced());
  gate_.Open();
  rng_.WaitIdle();
  EXPECT_TRUE(rng_.Quiesced());
  EXPECT_EQ(ring_.UsedIdx(), 0);
  EXPECT_EQ(ram_[kData + 64], 0);  // the second chain was never touched
  EXPECT_EQ(irq_.used.load(), 0);
  // And notifications after the reset are ignored.
  ASSERT_TRUE(rng_.QueueNotify(0).ok());
  rng_.WaitIdle();
  EXPECT_EQ(ring_.UsedIdx(), 0);
}

TEST_F(VirtioRngTest, AtMostKMaxPerRequestPerChain) {
  gate_.Open();
  ring_.OfferChain(0, {{kData, 0x8000, true}, {kData + 0x8000, 0x8000, true},
                       {kData + 0x10000, 16, true}});
  ASSERT_TRUE(rng_.QueueNotify(0).ok());
  rng_.WaitIdle();
  ASSERT_EQ(ring_.UsedIdx(), 1);
  EXPECT_EQ(ring_.Used(0).second, VirtioRng::kMaxPerRequest);
  EXPECT_EQ(ram_[kData + 0x10000], 0);  // the third buffer: over the limit
}

TEST_F(VirtioRngTest, BrokenQueueOrSourceNeedsReset) {
  ring_.Offer(200);  // head out of range
  ASSERT_TRUE(rng_.QueueNotify(0).ok());
  rng_.WaitIdle();
  EXPECT_EQ(irq_.needs_reset.load(), 1);
  ASSERT_TRUE(rng_.QueueNotify(0).ok());  // ignored until the reset
  rng_.WaitIdle();
  EXPECT_EQ(irq_.needs_reset.load(), 1);

  VirtqueueSet queues = rng_.Reset();
  ASSERT_EQ(queues.size(), 1u);  // the device gives its queue back
  ASSERT_NE(queues[0], nullptr);
  queues[0]->Reset();
  ASSERT_TRUE(queues[0]->Activate(&mem_, kSize, kDesc, kAvail, kUsed).ok());
  ASSERT_TRUE(rng_.Activate(&mem_, std::move(queues), rng_.Features(), &irq_).ok());
  std::fill(ram_.begin(), ram_.end(), 0);
  ring_.OfferChain(0, {{kData, 64, true}});
  ASSERT_TRUE(rng_.QueueNotify(0).ok());
  gate_.WaitEntered();
  gate_.Open(/*fail=*/true);
  rng_.WaitIdle();
  EXPECT_EQ(irq_.needs_reset.load(), 2);
  EXPECT_EQ(ring_.UsedIdx(), 0);
}

}  // namespace
}  // namespace tvmm
