// SPDX-License-Identifier: GPL-2.0
// virtio-blk against a temporary image through io_uring: the request types,
// every malformed request, read-only images, batches and image locking.
#include "virtio/blk.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "hung_fuse.h"
#include "test_ring.h"
#include "util/thread.h"
#include "wait_until.h"

namespace tvmm {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kData = 0x10000;
// Queue 1 of a two-queue device, its rings above queue 0's.
constexpr uint64_t kDesc1 = 0x4000, kAvail1 = 0x5000, kUsed1 = 0x6000, kData1 = 0x40000;
constexpr uint16_t kSize = 64;
constexpr uint64_t kImageSectors = 64;

class CountingInterrupt : public VirtioInterrupt {
 public:
  void SignalUsed(Virtqueue&) override { used++; }
  void SignalUsedByHost() override { used++; }
  void SignalConfigChange() override {}
  void SignalNeedsReset() override { needs_reset++; }
  std::atomic<int> needs_reset{0};
  std::atomic<int> used{0};
};

class VirtioBlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/tvmm-blk-test.XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    path_ = name;
    // Sector s holds bytes (s * 7 + i) & 0xff.
    std::vector<uint8_t> image(kImageSectors * kSectorSize);
    for (size_t i = 0; i < image.size(); i++)
      image[i] = static_cast<uint8_t>((i / kSectorSize) * 7 + i % kSectorSize);
    ASSERT_EQ(write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
    close(fd);
    ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok());
  }
  void TearDown() override {
    blk_.reset();
    unlink(path_.c_str());
  }

  void Start(bool read_only = false) {
    auto blk = VirtioBlk::Open(path_, read_only, 1);
    ASSERT_TRUE(blk.ok()) << blk.status();
    blk_ = std::move(*blk);
    ASSERT_TRUE(blk_->Activate(&mem_, QueueSet(ActiveQueue(&mem_, kSize, kDesc, kAvail, kUsed)),
                               blk_->Features(), &irq_)
                    .ok());
  }

  // Writes a request header at @gpa.
  void Header(uint64_t gpa, uint32_t type, uint64_t sector) {
    std::memset(ram_.data() + gpa, 0, 16);
    std::memcpy(ram_.data() + gpa, &type, 4);
    std::memcpy(ram_.data() + gpa + 8, &sector, 8);
  }
  void Offer(uint16_t first, const std::vector<TestRing::Desc>& descs) {
    ring_.OfferChain(first, descs);
  }
  // Notifies and waits for the device to finish everything.
  absl::Status Kick() {
    absl::Status s = blk_->QueueNotify(0);
    blk_->WaitIdle();
    return s;
  }
  // Activates blk_ with queue 0 on ring_ and queue 1 on ring1_.
  void ActivateTwoQueues() {
    ASSERT_TRUE(blk_->Activate(&mem_,
                               QueueSet(ActiveQueue(&mem_, kSize, kDesc, kAvail, kUsed),
                                        ActiveQueue(&mem_, kSize, kDesc1, kAvail1, kUsed1)),
                               blk_->Features(), &irq_)
                    .ok());
  }
  // Offers a one-sector read of @sector on queue 1, into kData1 + 0x1000,
  // status at kData1 + 0x2000.
  void ReadOnQueue1(uint64_t sector) {
    Header(kData1, kVirtioBlkTIn, sector);
    ring1_.OfferChain(
        0, {{kData1, 16, false}, {kData1 + 0x1000, 512, true}, {kData1 + 0x2000, 1, true}});
  }
  uint16_t UsedIdx() { return ring_.UsedIdx(); }
  std::pair<uint32_t, uint32_t> Used(uint16_t n) { return ring_.Used(n); }
  uint8_t ImageByte(uint64_t offset) { return ((offset / kSectorSize) * 7 + offset % kSectorSize); }
  std::vector<uint8_t> ReadImage(uint64_t offset, size_t len) {
    std::vector<uint8_t> out(len);
    FILE* f = fopen(path_.c_str(), "rb");
    EXPECT_NE(f, nullptr);
    fseek(f, offset, SEEK_SET);
    EXPECT_EQ(fread(out.data(), 1, len, f), len);
    fclose(f);
    return out;
  }

  std::string path_;
  std::vector<uint8_t> ram_ = std::vector<uint8_t>(1 << 20);
  GuestMemory mem_;
  TestRing ring_{&ram_, kSize, kDesc, kAvail, kUsed};
  TestRing ring1_{&ram_, kSize, kDesc1, kAvail1, kUsed1};  // queue 1, if any
  CountingInterrupt irq_;
  std::unique_ptr<VirtioBlk> blk_;
};

TEST_F(VirtioBlkTest, OpenRejectsMissingAndTinyImages) {
  auto missing = VirtioBlk::Open("/nonexistent/disk.img", false, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("--disk /nonexistent/disk.img"));
  ASSERT_EQ(truncate(path_.c_str(), 100), 0);
  auto tiny = VirtioBlk::Open(path_, false, 1);
  ASSERT_FALSE(tiny.ok());
  EXPECT_THAT(tiny.status().message(), HasSubstr("smaller than one 512-byte sector"));
}

TEST_F(VirtioBlkTest, AWritableImageCannotBeOpenedTwice) {
  Start();
  auto second = VirtioBlk::Open(path_, false, 1);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another process"));
}

TEST_F(VirtioBlkTest, ConfigAndFeatures) {
  Start();
  uint64_t capacity = 0;
  blk_->ReadConfig(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(&capacity), 8));
  EXPECT_EQ(capacity, kImageSectors);
  uint32_t blk_size = 0;
  blk_->ReadConfig(20, absl::MakeSpan(reinterpret_cast<uint8_t*>(&blk_size), 4));
  EXPECT_EQ(blk_size, 512u);
  uint8_t beyond[4] = {1, 1, 1, 1};
  blk_->ReadConfig(0x80, absl::MakeSpan(beyond));
  EXPECT_EQ(beyond[0] | beyond[3], 0);
  EXPECT_TRUE(blk_->Features() & kVirtioBlkFFlush);
  EXPECT_FALSE(blk_->Features() & kVirtioBlkFRo);
}

TEST_F(VirtioBlkTest, ReadsSectors) {
  Start();
  Header(kData, kVirtioBlkTIn, 3);
  ram_[kData + 0x2000] = 0xff;
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 1024, true}, {kData + 0x2000, 1, true}});
  ASSERT_TRUE(Kick().ok());
  ASSERT_EQ(UsedIdx(), 1);
  EXPECT_EQ(Used(0), std::make_pair(0u, 1025u));
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSOk);
  for (size_t i = 0; i < 1024; i++)
    ASSERT_EQ(ram_[kData + 0x1000 + i], ImageByte(3 * 512 + i)) << i;
  EXPECT_GE(irq_.used.load(), 1);
}

TEST_F(VirtioBlkTest, SplitHeaderAndStatusInsideTheDataBuffer) {
  Start();
  Header(kData, kVirtioBlkTIn, 1);
  // Header in two pieces; data and status share one buffer.
  Offer(0, {{kData, 10, false}, {kData + 10, 6, false}, {kData + 0x1000, 513, true}});
  ASSERT_TRUE(Kick().ok());
  EXPECT_EQ(Used(0).second, 513u);
  EXPECT_EQ(ram_[kData + 0x1000 + 512], kVirtioBlkSOk);
  EXPECT_EQ(ram_[kData + 0x1000 + 5], ImageByte(512 + 5));
}

TEST_F(VirtioBlkTest, WritesSectorsAndFlushes) {
  Start();
  Header(kData, kVirtioBlkTOut, 10);
  std::memset(ram_.data() + kData + 0x1000, 0xab, 512);
  std::memset(ram_.data() + kData + 0x1200, 0xcd, 512);
  Offer(0, {{kData, 16, false},
            {kData + 0x1000, 512, false},
            {kData + 0x1200, 512, false},
            {kData + 0x2000, 1, true}});
  Header(kData + 0x100, kVirtioBlkTFlush, 0);
  Offer(4, {{kData + 0x100, 16, false}, {kData + 0x2001, 1, true}});
  ASSERT_TRUE(Kick().ok());
  ASSERT_EQ(UsedIdx(), 2);
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSOk);
  EXPECT_EQ(ram_[kData + 0x2001], kVirtioBlkSOk);
  std::vector<uint8_t> got = ReadImage(10 * 512, 1024);
  EXPECT_EQ(got[0], 0xab);
  EXPECT_EQ(got[511], 0xab);
  EXPECT_EQ(got[512], 0xcd);
  EXPECT_EQ(got[1023], 0xcd);
  EXPECT_EQ(ReadImage(11 * 512 + 1024, 1)[0], ImageByte(11 * 512 + 1024));
}

TEST_F(VirtioBlkTest, GetIdAndUnsupportedTypes) {
  Start();
  Header(kData, kVirtioBlkTGetId, 0);
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 20, true}, {kData + 0x2000, 1, true}});
  Header(kData + 0x100, 77, 0);
  Offer(3, {{kData + 0x100, 16, false}, {kData + 0x2001, 1, true}});
  ASSERT_TRUE(Kick().ok());
  ASSERT_EQ(UsedIdx(), 2);
  EXPECT_EQ(Used(0).second, 21u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram_.data() + kData + 0x1000), 5), "tvmm-");
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSOk);
  EXPECT_EQ(ram_[kData + 0x2001], kVirtioBlkSUnsupp);
}

TEST_F(VirtioBlkTest, BadRequestsGetIoErrAndTouchNothing) {
  Start();
  struct Case {
    const char* what;
    uint32_t type;
    uint64_t sector;
    uint32_t len;
  };
  const Case cases[] = {
      {"read past the end", kVirtioBlkTIn, kImageSectors - 1, 1024},
      {"read at the last sector + 1", kVirtioBlkTIn, kImageSectors, 512},
      {"sector count overflows", kVirtioBlkTIn, ~0ull, 512},
      {"sector * 512 overflows", kVirtioBlkTIn, 1ull << 55, 512},
      {"partial sector read", kVirtioBlkTIn, 0, 100},
      {"partial sector write", kVirtioBlkTOut, 0, 511},
      {"write past the end", kVirtioBlkTOut, kImageSectors, 512},
  };
  uint16_t n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Header(kData, c.type, c.sector);
    std::memset(ram_.data() + kData + 0x1000, 0x5a, c.len);
    ram_[kData + 0x2000] = 0xff;
    Offer(0, {{kData, 16, false},
              {kData + 0x1000, c.len, c.type == kVirtioBlkTIn},
              {kData + 0x2000, 1, true}});
    ASSERT_TRUE(Kick().ok());
    ASSERT_EQ(UsedIdx(), ++n);
    EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSIoErr);
    EXPECT_EQ(ram_[kData + 0x1000], 0x5a);  // nothing read into the buffer
  }
  EXPECT_EQ(ReadImage(0, 1)[0], ImageByte(0));  // nothing written
}

TEST_F(VirtioBlkTest, NoHeaderOrNoStatusByteIsAnsweredWithoutStatus) {
  Start();
  Header(kData, kVirtioBlkTIn, 0);
  Offer(0, {{kData, 8, false}, {kData + 0x2000, 1, true}});      // short header
  Offer(2, {{kData, 16, false}, {kData + 0x1000, 512, false}});  // nothing writable
  ASSERT_TRUE(Kick().ok());
  ASSERT_EQ(UsedIdx(), 2);
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSIoErr);
  EXPECT_EQ(Used(1), std::make_pair(2u, 0u));
}

TEST_F(VirtioBlkTest, ReadOnlyImagesRejectWrites) {
  Start(/*read_only=*/true);
  EXPECT_TRUE(blk_->Features() & kVirtioBlkFRo);
  Header(kData, kVirtioBlkTOut, 0);
  std::memset(ram_.data() + kData + 0x1000, 0xee, 512);
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 512, false}, {kData + 0x2000, 1, true}});
  ASSERT_TRUE(Kick().ok());
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSIoErr);
  EXPECT_EQ(ReadImage(0, 1)[0], ImageByte(0));
}

TEST_F(VirtioBlkTest, ABatchOfRequestsCompletes) {
  Start();
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; i++) {
    uint64_t base = kData + 0x1000 * i;
    Header(base, kVirtioBlkTIn, i);
    Offer(3 * i, {{base, 16, false}, {base + 0x200, 512, true}, {base + 0x400, 1, true}});
  }
  ASSERT_TRUE(Kick().ok());
  ASSERT_EQ(UsedIdx(), kRequests);
  for (int i = 0; i < kRequests; i++) {
    uint64_t base = kData + 0x1000 * i;
    EXPECT_EQ(ram_[base + 0x400], kVirtioBlkSOk) << i;
    EXPECT_EQ(ram_[base + 0x200 + 9], ImageByte(i * 512 + 9)) << i;
  }
  for (int i = 0; i < kRequests; i++) EXPECT_EQ(Used(i).second, 513u) << i;
  // Page-cache reads complete inside the submission, which holds the lock
  // the completion thread needs: it reaps them in one or a few batches.
  EXPECT_LT(irq_.used.load(), kRequests / 2);
}

// Requests completed on the notifying thread (here GET_ID) are returned with
// one interrupt per notification, not one each.
TEST_F(VirtioBlkTest, OneInterruptPerNotificationForImmediateCompletions) {
  Start();
  constexpr int kRequests = 10;
  for (int i = 0; i < kRequests; i++) {
    uint64_t base = kData + 0x1000 * i;
    Header(base, kVirtioBlkTGetId, 0);
    Offer(3 * i, {{base, 16, false}, {base + 0x200, 20, true}, {base + 0x400, 1, true}});
  }
  ASSERT_TRUE(Kick().ok());
  ASSERT_EQ(UsedIdx(), kRequests);
  EXPECT_EQ(irq_.used.load(), 1);
}

TEST_F(VirtioBlkTest, ABrokenChainFailsTheQueue) {
  Start();
  Header(kData, kVirtioBlkTIn, 0);
  Offer(0, {{kData, 16, false}, {ram_.size() - 100, 512, true}});  // outside guest memory
  absl::Status s = Kick();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(UsedIdx(), 0);
}

TEST_F(VirtioBlkTest, ResetDropsWhatItShould) {
  Start();
  Header(kData, kVirtioBlkTIn, 0);
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}});
  ASSERT_TRUE(blk_->QueueNotify(0).ok());
  VirtqueueSet queues = blk_->Reset();
  ASSERT_EQ(queues.size(), 1u);  // the device gives its queue back
  ASSERT_NE(queues[0], nullptr);
  blk_->WaitIdle();
  uint16_t used = UsedIdx();  // 0 or 1: the read may have completed before the reset
  // After the reset the device uses no queue: a request offered and
  // notified is neither started nor answered.
  ram_[kData + 0x5000] = 0xee;
  Header(kData + 0x3000, kVirtioBlkTIn, 1);
  Offer(3, {{kData + 0x3000, 16, false}, {kData + 0x4000, 512, true}, {kData + 0x5000, 1, true}});
  EXPECT_TRUE(blk_->QueueNotify(0).ok());
  blk_->WaitIdle();
  EXPECT_EQ(UsedIdx(), used);
  EXPECT_EQ(ram_[kData + 0x5000], 0xee);
  EXPECT_EQ(ram_[kData + 0x4000 + 9], 0);
  // Activated again on fresh rings, it serves requests.
  std::fill(ram_.begin(), ram_.end(), 0);
  queues[0]->Reset();
  ASSERT_TRUE(queues[0]->Activate(&mem_, kSize, kDesc, kAvail, kUsed).ok());
  ASSERT_TRUE(blk_->Activate(&mem_, std::move(queues), blk_->Features(), &irq_).ok());
  Header(kData, kVirtioBlkTIn, 2);
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}});
  ASSERT_TRUE(Kick().ok());
  EXPECT_EQ(UsedIdx(), 1);
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSOk);
  EXPECT_EQ(ram_[kData + 0x1000 + 9], ImageByte(2 * 512 + 9));
}

// Each queue has its own engine: while one queue's notification holds its
// lock (here the test holds it, as a notification does across Pop() and
// io_uring_submit()), another queue's requests are started, completed and
// signalled.  With one lock for all queues, queue 1 waited for queue 0.
TEST_F(VirtioBlkTest, QueuesDoNotWaitForEachOther) {
  auto blk = VirtioBlk::Open(path_, false, 2);
  ASSERT_TRUE(blk.ok()) << blk.status();
  blk_ = std::move(*blk);
  ActivateTwoQueues();
  ReadOnQueue1(5);

  std::unique_lock held = blk_->LockQueueForTesting(0);
  std::atomic<bool> notified{false};
  absl::Status status;
  std::thread notifier([&] {
    status = blk_->QueueNotify(1);
    notified = true;
  });
  bool ran = WaitUntil([&] { return notified.load(); }, std::chrono::seconds(10));
  // Signalled: after the used ring was written.
  bool completed =
      ran && WaitUntil([&] { return irq_.used.load() >= 1; }, std::chrono::seconds(10));
  held.unlock();
  notifier.join();
  ASSERT_TRUE(ran) << "queue 1's notification waited for queue 0's lock";
  ASSERT_TRUE(completed) << "queue 1's read did not complete while queue 0 was held";
  ASSERT_TRUE(status.ok()) << status;
  blk_->WaitIdle();
  EXPECT_EQ(ram_[kData1 + 0x2000], kVirtioBlkSOk);
  EXPECT_EQ(ram_[kData1 + 0x1000 + 9], ImageByte(5 * 512 + 9));
  EXPECT_GE(irq_.used.load(), 1);
  // Queue 0 still works, and has its own ring.
  Header(kData, kVirtioBlkTIn, 2);
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}});
  ASSERT_TRUE(Kick().ok());
  EXPECT_EQ(UsedIdx(), 1);
  EXPECT_EQ(ring1_.UsedIdx(), 1);
  EXPECT_EQ(ram_[kData + 0x1000 + 9], ImageByte(2 * 512 + 9));
}

// A read that the kernel cannot finish (on a pipe, it waits for data that
// never comes unless the test writes it).
class VirtioBlkPipeTest : public VirtioBlkTest {
 protected:
  // blk_ with @queues queues on a pipe's read end; out_ is its write end.
  void CreateOnPipe(uint16_t queues) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    out_.Reset(p[1]);
    auto blk = VirtioBlk::Create(UniqueFd(p[0]), true, kImageSectors, queues, "pipe");
    ASSERT_TRUE(blk.ok()) << blk.status();
    blk_ = std::move(*blk);
  }
  void StartOnPipe() {
    ASSERT_NO_FATAL_FAILURE(CreateOnPipe(1));
    ASSERT_TRUE(blk_->Activate(&mem_, QueueSet(ActiveQueue(&mem_, kSize, kDesc, kAvail, kUsed)),
                               blk_->Features(), &irq_)
                    .ok());
    Header(kData, kVirtioBlkTIn, 0);
    Offer(0, {{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}});
    ASSERT_TRUE(blk_->QueueNotify(0).ok());
  }
  // What the pipe's reader gets, if anyone still reads.
  void Feed() {
    std::vector<uint8_t> data(512, 0x5a);
    ASSERT_EQ(write(out_.get(), data.data(), data.size()), 512);
  }
  UniqueFd out_;
};

// Reset() cancels it: it returns at once, quiesced, and data arriving
// afterwards never lands in the guest's buffer.
TEST_F(VirtioBlkPipeTest, ResetCancelsReadsTheKernelHolds) {
  StartOnPipe();
  auto start = std::chrono::steady_clock::now();
  blk_->Reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, VirtioBlk::kResetTimeout / 2);
  EXPECT_TRUE(blk_->Quiesced());
  Feed();
  blk_->WaitIdle();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ram_[kData + 0x1000], 0);
  EXPECT_EQ(ram_[kData + 0x2000], 0);  // no status either
  // Its chain is not returned: the driver forgot the ring.
  EXPECT_EQ(UsedIdx(), 0);
}

// A trusted VM cannot make a request's buffers private while the kernel
// still reads into them and tvmm has yet to write the status byte (into a
// page its mapping would then refuse).  Once the request is back, or
// cancelled by a reset, they convert.
TEST_F(VirtioBlkPipeTest, ARequestInFlightHoldsItsBuffers) {
  auto kernel = [] { return absl::OkStatus(); };
  mem_.EnableConversions();
  StartOnPipe();
  for (uint64_t page : {kData, kData + 0x1000, kData + 0x2000}) {
    EXPECT_EQ(mem_.Convert(page, 0x1000, true, kernel).code(), absl::StatusCode::kUnavailable)
        << std::hex << page;
  }
  Feed();
  blk_->WaitIdle();
  EXPECT_EQ(UsedIdx(), 1);
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSOk);
  EXPECT_TRUE(mem_.Convert(kData, 0x3000, true, kernel).ok());
  EXPECT_TRUE(mem_.Convert(kData, 0x3000, false, kernel).ok());

  Header(kData, kVirtioBlkTIn, 0);
  Offer(1, {{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}});
  ASSERT_TRUE(blk_->QueueNotify(0).ok());
  EXPECT_EQ(mem_.Convert(kData + 0x1000, 0x1000, true, kernel).code(),
            absl::StatusCode::kUnavailable);
  blk_->Reset();
  Feed();  // in case the kernel could not cancel the read
  blk_->WaitIdle();
  EXPECT_EQ(ram_[kData + 0x2000], kVirtioBlkSOk) << "the status of the first request only";
  EXPECT_TRUE(mem_.Convert(kData + 0x1000, 0x1000, true, kernel).ok());
}

// Both queues of a device hold a read the kernel has not finished: one
// reset cancels both, and neither lands afterwards.
TEST_F(VirtioBlkPipeTest, ResetCancelsEveryQueuesReads) {
  ASSERT_NO_FATAL_FAILURE(CreateOnPipe(2));
  ActivateTwoQueues();
  Header(kData, kVirtioBlkTIn, 0);
  Offer(0, {{kData, 16, false}, {kData + 0x1000, 512, true}, {kData + 0x2000, 1, true}});
  ReadOnQueue1(0);
  ASSERT_TRUE(blk_->QueueNotify(0).ok());
  ASSERT_TRUE(blk_->QueueNotify(1).ok());
  auto start = std::chrono::steady_clock::now();
  blk_->Reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, VirtioBlk::kResetTimeout / 2);
  EXPECT_TRUE(blk_->Quiesced());
  Feed();
  Feed();
  blk_->WaitIdle();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (uint64_t data : {kData, kData1}) {
    EXPECT_EQ(ram_[data + 0x1000], 0);
    EXPECT_EQ(ram_[data + 0x2000], 0);
  }
  EXPECT_EQ(UsedIdx(), 0);
  EXPECT_EQ(ring1_.UsedIdx(), 0);
}

// Destroying the device with the read in flight (no reset first) returns
// promptly: it used to wait for the read for ever.
TEST_F(VirtioBlkPipeTest, DestructionDoesNotWaitForHungStorage) {
  StartOnPipe();
  std::atomic<bool> done{false};
  std::thread destroy([&] {
    blk_.reset();
    done = true;
  });
  if (!WaitUntil([&] { return done.load(); }, VirtioBlk::kResetTimeout * 2)) {
    ADD_FAILURE() << "~VirtioBlk still waiting after " << (VirtioBlk::kResetTimeout * 2).count()
                  << " ms";
    Feed();  // let it finish, or the test hangs
  }
  destroy.join();
  EXPECT_EQ(ram_[kData + 0x1000], 0);
}

// Storage that cannot cancel a read (a FUSE read its daemon holds):
// notifying does not wait for the storage; destroying the device returns
// after kResetTimeout and leaves the read to the kernel with the completion
// thread, which keeps the image open and guest RAM mapped until the read
// is answered, then lets go of both.  The thread that notified is let go
// of in bounded time although the kernel holds its exit.  The read is on
// queue 1 of two: queue 0's engine, idle, stops with the device (or guest
// RAM, which it holds too, would never be let go of), and only queue 1's is
// left to the kernel.
TEST_F(VirtioBlkTest, HungStorageIsLeftToTheKernel) {
  Thread notifier;  // joined after the daemon ends (which ends every read) if a check fails
  HungFuse fuse;
  if (std::string why = fuse.Start(); !why.empty()) GTEST_SKIP() << "no FUSE here: " << why;
  {
    UniqueFd fd(open(fuse.FilePath().c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid()) << fuse.FilePath() << ": " << strerror(errno);
    auto blk =
        VirtioBlk::Create(std::move(fd), true, HungFuse::kFileBytes / kSectorSize, 2, "fuse");
    ASSERT_TRUE(blk.ok()) << blk.status();
    blk_ = std::move(*blk);
  }
  // Guest RAM's owner: from here on only the device holds it.
  auto unmapped = std::make_shared<std::atomic<bool>>(false);
  mem_.SetOwner(
      std::shared_ptr<const void>(nullptr, [unmapped](const void*) { *unmapped = true; }));
  ActivateTwoQueues();
  mem_.SetOwner(nullptr);
  ReadOnQueue1(0);

  // From a thread of its own, as a queue's notifier thread or a vCPU: if
  // the kernel waited for the daemon inside io_uring_enter(), the
  // notification would hang, and the test answers the read to end it.
  // The thread lives on, as those do: io_uring cancels the work a thread
  // queued to its workers, not yet started, when the thread exits.
  std::atomic<bool> notified{false}, end_notifier{false};
  std::atomic<pid_t> notifier_tid{0};
  absl::Status notify_status;
  absl::StatusOr<Thread> started = Thread::Start([&] {
    notifier_tid = gettid();
    notify_status = blk_->QueueNotify(1);
    notified = true;
    notified.notify_all();
    end_notifier.wait(false);
  });
  ASSERT_TRUE(started.ok()) << started.status();
  notifier = std::move(*started);
  bool held = fuse.WaitForHeldRead(std::chrono::seconds(10));
  // 20 s: the read may reach the daemon before QueueNotify() returns, and
  // its thread may then be descheduled for a while.
  auto is_notified = [&] { return notified.load(); };
  if (!WaitUntil(is_notified, std::chrono::seconds(20))) {
    fuse.AnswerHeldRead(0);
    if (!WaitUntil(is_notified, std::chrono::seconds(30))) {
      ADD_FAILURE() << "QueueNotify() still waits 30 s after the read was answered";
      std::_Exit(1);  // the thread cannot be joined: do not hang the run
    }
    end_notifier = true;
    end_notifier.notify_all();
    notifier.Join();
    FAIL() << "QueueNotify() waited for the storage inside io_uring_enter()";
  }
  end_notifier = true;
  end_notifier.notify_all();
  ASSERT_TRUE(held) << "the read never reached the FUSE daemon (used ring at " << ring1_.UsedIdx()
                    << ")";
  ASSERT_TRUE(notify_status.ok()) << notify_status;

  auto start = std::chrono::steady_clock::now();
  blk_.reset();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, VirtioBlk::kResetTimeout) << "a cancellation cannot have ended this read";
  EXPECT_LT(took, VirtioBlk::kResetTimeout + std::chrono::seconds(5));

  // The notifying thread's exit waits for the read (on Linux 6.18, the
  // io_uring worker it started): it is let go of by the deadline.
  start = std::chrono::steady_clock::now();
  bool joined = notifier.JoinUntil(start + std::chrono::milliseconds(500));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(notifier.joinable());
  if (!joined) {
    // Let go of, not lost: the kernel still has the thread, in its exit.
    std::string task = "/proc/self/task/" + std::to_string(notifier_tid.load());
    EXPECT_EQ(access(task.c_str(), F_OK), 0) << task << " is gone, yet the join gave up";
    std::cout << "the kernel held the notifying thread's exit; let go of\n";
  }

  // The engine, which holds the image and guest RAM, lives on with the read.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(fuse.released()) << "the image was closed with a read in flight";
  EXPECT_FALSE(*unmapped) << "guest RAM was let go of with a read in flight";

  fuse.AnswerHeldRead(0x5a);
  EXPECT_TRUE(fuse.WaitForRelease(std::chrono::seconds(10)))
      << "the completion thread never let go of the image after its last read ended";
  EXPECT_TRUE(WaitUntil([&] { return unmapped->load(); }, std::chrono::seconds(10)))
      << "guest RAM was never let go of after the last read ended";
  EXPECT_EQ(ram_[kData1 + 0x1000], 0x5a);  // the kernel wrote what it read
  EXPECT_EQ(ram_[kData1 + 0x2000], 0);     // but no status, and no chain
  EXPECT_EQ(ring1_.UsedIdx(), 0);
  fuse.Stop();
}

}  // namespace
}  // namespace tvmm
