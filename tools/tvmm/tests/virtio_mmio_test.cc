// SPDX-License-Identifier: GPL-2.0
#include "virtio/mmio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "test_ring.h"
#include "util/fd.h"
#include "virtio/blk.h"
#include "virtio/rng.h"
#include "wait_until.h"

namespace tvmm {
namespace {

constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kBuf = 0x4000;

class CountingIrq : public IrqLine {
 public:
  void Pulse() override {}
  // Counts rising edges of the level.
  void Set(bool h) override {
    if (h && !high) pulses++;
    high = h;
  }
  std::atomic<int> pulses{0};
  std::atomic<bool> high{false};
};

// Drives a VirtioMmio(VirtioRng) the way Linux's virtio_mmio driver does.
class VirtioMmioTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok()); }

  uint32_t R(uint64_t off) {
    uint32_t v;
    mmio_->Read(off, absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }
  void W(uint64_t off, uint32_t v) {
    mmio_->Write(off, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v), 4));
  }
  void SetupQueue(uint32_t num = 8) {
    W(0x030, 0);
    W(0x038, num);
    W(0x080, kDesc);
    W(0x084, 0);
    W(0x090, kAvail);
    W(0x094, 0);
    W(0x0a0, kUsed);
    W(0x0a4, 0);
    W(0x044, 1);
  }
  void Negotiate(uint64_t features = kVirtioFVersion1) {
    W(0x070, VirtioMmio::kAcknowledge | VirtioMmio::kDriver);
    W(0x024, 0);
    W(0x020, static_cast<uint32_t>(features));
    W(0x024, 1);
    W(0x020, static_cast<uint32_t>(features >> 32));
    W(0x070, VirtioMmio::kAcknowledge | VirtioMmio::kDriver | VirtioMmio::kFeaturesOk);
  }
  void DriverOk() {
    W(0x070, VirtioMmio::kAcknowledge | VirtioMmio::kDriver | VirtioMmio::kFeaturesOk |
                 VirtioMmio::kDriverOk);
  }
  void OfferBuffer(uint16_t desc, uint32_t len, uint16_t flags = 2 /* write */) {
    uint64_t addr = kBuf;
    std::memcpy(ram_.data() + kDesc + 16 * desc, &addr, 8);
    std::memcpy(ram_.data() + kDesc + 16 * desc + 8, &len, 4);
    std::memcpy(ram_.data() + kDesc + 16 * desc + 12, &flags, 2);
    uint16_t idx;
    std::memcpy(&idx, ram_.data() + kAvail + 2, 2);
    std::memcpy(ram_.data() + kAvail + 4 + 2 * (idx % 8), &desc, 2);
    idx++;
    std::memcpy(ram_.data() + kAvail + 2, &idx, 2);
  }
  // Notifies queue 0 and waits until the device has used what it can.
  void Kick() {
    W(0x050, 0);
    static_cast<VirtioRng*>(mmio_->device())->WaitIdle();
  }
  // Makes the driver offer a chain whose head is out of range, and notify.
  void BreakQueue() {
    uint16_t head = 200;
    std::memcpy(ram_.data() + kAvail + 4, &head, 2);
    uint16_t idx = 1;
    std::memcpy(ram_.data() + kAvail + 2, &idx, 2);
    Kick();
  }
  uint16_t UsedIdx() {
    uint16_t idx;
    std::memcpy(&idx, ram_.data() + kUsed + 2, 2);
    return idx;
  }

  std::vector<uint8_t> ram_ = std::vector<uint8_t>(0x10000);
  GuestMemory mem_;
  CountingIrq irq_;
  // A test may replace it, with another device behind.
  std::unique_ptr<VirtioMmio> mmio_ =
      std::make_unique<VirtioMmio>(std::make_unique<VirtioRng>(), &mem_, &irq_);
};

TEST_F(VirtioMmioTest, Identity) {
  EXPECT_EQ(R(0x000), 0x74726976u);
  EXPECT_EQ(R(0x004), 2u);
  EXPECT_EQ(R(0x008), 4u);
  W(0x014, 1);
  EXPECT_EQ(R(0x010), 1u);  // VIRTIO_F_VERSION_1 is bit 32
  W(0x030, 0);
  EXPECT_EQ(R(0x034), 256u);
  W(0x030, 1);
  EXPECT_EQ(R(0x034), 0u);  // no such queue
}

TEST_F(VirtioMmioTest, RngFillsBuffersAndInterrupts) {
  Negotiate();
  EXPECT_TRUE(R(0x070) & VirtioMmio::kFeaturesOk);
  SetupQueue();
  EXPECT_EQ(R(0x044), 1u);
  DriverOk();
  OfferBuffer(0, 64);
  Kick();
  EXPECT_EQ(UsedIdx(), 1);
  uint32_t len;
  std::memcpy(&len, ram_.data() + kUsed + 8, 4);
  EXPECT_EQ(len, 64u);
  bool nonzero = false;
  for (int i = 0; i < 64; i++) nonzero |= ram_[kBuf + i] != 0;
  EXPECT_TRUE(nonzero);
  EXPECT_EQ(irq_.pulses, 1);
  EXPECT_EQ(R(0x060), 1u);
  EXPECT_TRUE(irq_.high);  // level-triggered: up until acknowledged
  W(0x064, 1);
  EXPECT_EQ(R(0x060), 0u);
  EXPECT_FALSE(irq_.high);
  // Used buffers again: up again; a reset takes it down with the status.
  OfferBuffer(1, 16);
  Kick();
  EXPECT_EQ(irq_.pulses, 2);
  EXPECT_TRUE(irq_.high);
  W(0x070, 0);
  EXPECT_FALSE(irq_.high);
}

TEST_F(VirtioMmioTest, RefusesUnofferedFeaturesAndLegacyDrivers) {
  Negotiate(kVirtioFVersion1 | 1);  // bit 0 is not offered
  EXPECT_FALSE(R(0x070) & VirtioMmio::kFeaturesOk);
  W(0x070, 0);
  Negotiate(0);  // no VERSION_1
  EXPECT_FALSE(R(0x070) & VirtioMmio::kFeaturesOk);
  DriverOk();
  EXPECT_FALSE(R(0x070) & VirtioMmio::kDriverOk);
}

TEST_F(VirtioMmioTest, BadQueueConfigurationsStayNotReady) {
  Negotiate();
  W(0x030, 0);
  W(0x038, 3);  // not a power of two
  W(0x080, kDesc);
  W(0x090, kAvail);
  W(0x0a0, kUsed);
  W(0x044, 1);
  EXPECT_EQ(R(0x044), 0u);
  W(0x038, 8);
  W(0x0a0, 0xfffffff0);  // used ring outside guest memory
  W(0x044, 1);
  EXPECT_EQ(R(0x044), 0u);
  // Notifying a queue that is not ready, or does not exist, does nothing.
  DriverOk();
  W(0x050, 0);
  W(0x050, 7);
  EXPECT_EQ(irq_.pulses, 0);
}

TEST_F(VirtioMmioTest, BrokenQueueNeedsReset) {
  Negotiate();
  SetupQueue();
  DriverOk();
  BreakQueue();
  EXPECT_TRUE(R(0x070) & VirtioMmio::kNeedsReset);
  EXPECT_EQ(R(0x060) & 2, 2u);
  // A reset brings it back.
  W(0x070, 0);
  EXPECT_EQ(R(0x070), 0u);
  EXPECT_EQ(R(0x044), 0u);
}

constexpr uint32_t kAck = VirtioMmio::kAcknowledge, kDrv = VirtioMmio::kDriver,
                   kFOk = VirtioMmio::kFeaturesOk, kDOk = VirtioMmio::kDriverOk,
                   kFailed = VirtioMmio::kFailed, kNeedsReset = VirtioMmio::kNeedsReset;

TEST_F(VirtioMmioTest, StatusBitsOnlyInOrder) {
  W(0x070, kDrv);  // DRIVER before ACKNOWLEDGE
  EXPECT_EQ(R(0x070), 0u);
  W(0x070, kAck | kFOk);  // FEATURES_OK before DRIVER: dropped
  EXPECT_EQ(R(0x070), kAck);
  W(0x024, 1);
  W(0x020, 1);  // VIRTIO_F_VERSION_1
  W(0x070, kAck | kDrv | kDOk);  // DRIVER_OK before FEATURES_OK: dropped
  EXPECT_EQ(R(0x070), kAck | kDrv);
  W(0x070, kAck | kDrv | kFOk | kDOk);  // both, in order, in one write
  EXPECT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk);
}

TEST_F(VirtioMmioTest, ClearingStatusBitsNeedsAReset) {
  Negotiate();
  SetupQueue();
  DriverOk();
  // DRIVER_OK cleared without a reset: ignored, so the queue cannot be
  // reset under the device either.
  W(0x070, kAck | kDrv | kFOk);
  EXPECT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk);
  W(0x044, 0);
  EXPECT_EQ(R(0x044), 1u);
  OfferBuffer(0, 16);
  Kick();
  EXPECT_EQ(UsedIdx(), 1);
  // Writing 0 resets.
  W(0x070, 0);
  EXPECT_EQ(R(0x070), 0u);
  EXPECT_EQ(R(0x044), 0u);
}

TEST_F(VirtioMmioTest, FailedEndsTheHandshake) {
  W(0x070, kAck | kDrv | kFailed);
  W(0x024, 1);
  W(0x020, 1);
  W(0x070, kAck | kDrv | kFailed | kFOk | kDOk);
  EXPECT_EQ(R(0x070), kAck | kDrv | kFailed);
}

TEST_F(VirtioMmioTest, NeedsResetIsStickyUntilAReset) {
  Negotiate();
  SetupQueue();
  DriverOk();
  BreakQueue();
  ASSERT_TRUE(R(0x070) & kNeedsReset);
  // The driver writes back what it read, with or without the device's bit.
  W(0x070, kAck | kDrv | kFOk | kDOk);
  EXPECT_TRUE(R(0x070) & kNeedsReset);
  W(0x070, R(0x070) | kFailed);
  EXPECT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk | kFailed | kNeedsReset);
  W(0x070, 0);
  EXPECT_EQ(R(0x070), 0u);
}

// Destroying the transport while its device has a read in flight, as a VM
// does when the guest reboots or tvmm stops with I/O outstanding.  The
// transport destroys its device first, which cancels the read: nothing
// lands in guest memory afterwards, and no completion reaches the
// transport's queues or lock after they are gone (ASan's build in make
// check reports it if one does).  3385267's transport destroyed its queues
// and lock first, and its ~VirtioBlk waited for the read: answered then,
// the read filled the guest's buffer and its completion pushed into the
// freed queue.
TEST_F(VirtioMmioTest, DestroyingTheTransportWithAReadInFlight) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd feed(p[1]);
  auto blk = VirtioBlk::Create(UniqueFd(p[0]), true, 64, 1, "pipe");
  ASSERT_TRUE(blk.ok()) << blk.status();
  mmio_ = std::make_unique<VirtioMmio>(std::move(*blk), &mem_, &irq_);
  Negotiate();
  SetupQueue();
  DriverOk();
  ASSERT_EQ(R(0x070) & (kDOk | kNeedsReset), kDOk);
  constexpr uint64_t kHeader = kBuf, kData = kBuf + 0x1000, kStatus = kBuf + 0x2000;
  uint32_t type = kVirtioBlkTIn;
  std::memcpy(ram_.data() + kHeader, &type, 4);  // sector 0
  TestRing ring(&ram_, 8, kDesc, kAvail, kUsed);
  ring.OfferChain(0, {{kHeader, 16, false}, {kData, 512, true}, {kStatus, 1, true}});
  W(0x050, 0);  // the read now waits for the pipe

  std::atomic<bool> done{false};
  std::thread destroy([&] {
    mmio_.reset();
    done = true;
  });
  if (!WaitUntil([&] { return done.load(); }, VirtioBlk::kResetTimeout * 2)) {
    ADD_FAILURE() << "~VirtioMmio waits for the read";
    std::vector<uint8_t> data(512, 0x5a);
    ASSERT_EQ(write(feed.get(), data.data(), data.size()), 512);  // or the test hangs
  }
  destroy.join();
  EXPECT_EQ(ram_[kData], 0);
  EXPECT_EQ(ram_[kStatus], 0);
  EXPECT_EQ(ring.UsedIdx(), 0);
  EXPECT_FALSE(irq_.high);
}

// Counts what the transport asks of the device.
class CountingDevice : public VirtioDevice {
 public:
  uint32_t DeviceId() const override { return 42; }
  uint64_t Features() const override { return kVirtioFVersion1; }
  size_t NumQueues() const override { return 1; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override {
    std::fill(data.begin(), data.end(), 0);
  }
  absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                        VirtioInterrupt* interrupt) override {
    activations++;
    held = std::move(queues);
    return absl::OkStatus();
  }
  absl::Status QueueNotify(uint32_t index) override { return absl::OkStatus(); }
  VirtqueueSet Reset() override {
    resets++;
    VirtqueueSet queues;
    queues.swap(held);
    if (!give_back) queues.clear();
    return queues;
  }
  bool Quiesced() override { return quiesced; }

  int activations = 0, resets = 0;
  bool quiesced = true;
  bool give_back = true;  // Reset() returns the queues
  VirtqueueSet held;
};

// A VirtioMmio on a CountingDevice.
class VirtioMmioStatusTest : public ::testing::Test {
 protected:
  void W(uint64_t off, uint32_t v) {
    mmio_.Write(off, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v), 4));
  }
  uint32_t R(uint64_t off) {
    uint32_t v;
    mmio_.Read(off, absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }
  void Handshake() {
    W(0x070, kAck | kDrv);
    W(0x024, 1);
    W(0x020, 1);
    W(0x070, kAck | kDrv | kFOk);
    W(0x070, kAck | kDrv | kFOk | kDOk);
  }

  // Initialized in this order: mmio_ takes the device, dev_ keeps a view.
  std::unique_ptr<CountingDevice> owned_ = std::make_unique<CountingDevice>();
  CountingDevice* dev_ = owned_.get();
  GuestMemory mem_;
  VirtioMmio mmio_{std::move(owned_), &mem_, nullptr};
};

TEST_F(VirtioMmioStatusTest, ActivatesOncePerReset) {
  Handshake();
  EXPECT_EQ(dev_->activations, 1);
  // DRIVER_OK again, and cleared then set again: no second activation.
  W(0x070, kAck | kDrv | kFOk | kDOk);
  W(0x070, kAck | kDrv | kFOk);
  W(0x070, kAck | kDrv | kFOk | kDOk);
  EXPECT_EQ(dev_->activations, 1);
  W(0x070, 0);
  EXPECT_EQ(dev_->resets, 1);
  Handshake();
  EXPECT_EQ(dev_->activations, 2);
}

TEST_F(VirtioMmioStatusTest, AResetIsDoneOnlyOnceTheDeviceQuiesced) {
  W(0x070, kAck | kDrv);
  // I/O that outlived the reset's bound: the reset is not done.
  dev_->quiesced = false;
  W(0x070, 0);
  EXPECT_EQ(R(0x070), kNeedsReset);
  W(0x070, kAck);  // refused until then
  EXPECT_EQ(R(0x070), kNeedsReset);
  dev_->quiesced = true;
  EXPECT_EQ(R(0x070), 0u);
  W(0x070, kAck);
  EXPECT_EQ(R(0x070), kAck);
}

// A device whose thread, as blk's completion thread and vsock's call thread
// may, returns a buffer and signals while the device is being destroyed.
class LastWordDevice : public CountingDevice {
 public:
  ~LastWordDevice() override {
    if (!queue_) return;
    absl::StatusOr<std::optional<DescriptorChain>> chain = queue_->Pop();
    if (chain.ok() && chain->has_value() && queue_->PushUsed((*chain)->head, 0).ok())
      interrupt_->SignalUsed(*queue_);
  }
  absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                        VirtioInterrupt* interrupt) override {
    queue_ = queues[0].get();
    interrupt_ = interrupt;
    return CountingDevice::Activate(mem, std::move(queues), features, interrupt);
  }

 private:
  Virtqueue* queue_ = nullptr;  // CountingDevice::held's
  VirtioInterrupt* interrupt_ = nullptr;
};

// The transport's interrupt state outlives its device, and the device's
// queues live as long as it does: the device's last completion reaches the
// used ring and the interrupt line.  With the transport's lock and queues
// destroyed first (3385267's member order) this was a use-after-free,
// which ASan's build in make check reports; since the device owns its
// queues while active, they go with it.
TEST_F(VirtioMmioTest, ADeviceMayCompleteUntilItIsDestroyed) {
  mmio_ = std::make_unique<VirtioMmio>(std::make_unique<LastWordDevice>(), &mem_, &irq_);
  Negotiate();
  SetupQueue();
  DriverOk();
  OfferBuffer(0, 16);
  mmio_.reset();
  EXPECT_EQ(UsedIdx(), 1);
  EXPECT_TRUE(irq_.high);
}

// A device owns its queues from DRIVER_OK to its reset: the transport keeps
// no queue meanwhile, and the device's reset hands the same queues back,
// which the transport resets and reuses.  A device that gives nothing back
// still gets a queue, a fresh one, at its next activation.
TEST_F(VirtioMmioTest, ADeviceOwnsItsQueuesWhileActive) {
  auto owned = std::make_unique<CountingDevice>();
  CountingDevice* dev = owned.get();
  mmio_ = std::make_unique<VirtioMmio>(std::move(owned), &mem_, &irq_);
  Negotiate();
  SetupQueue();
  EXPECT_TRUE(dev->held.empty());
  DriverOk();
  ASSERT_EQ(dev->held.size(), 1u);
  ASSERT_NE(dev->held[0], nullptr);
  EXPECT_TRUE(dev->held[0]->active());
  EXPECT_EQ(dev->held[0]->size(), 8);
  const Virtqueue* first = dev->held[0].get();
  W(0x030, 0);
  EXPECT_EQ(R(0x034), 256u);  // QueueNumMax without the queue
  EXPECT_EQ(R(0x044), 1u);

  W(0x070, 0);
  EXPECT_TRUE(dev->held.empty());
  EXPECT_EQ(R(0x044), 0u);
  Negotiate();
  SetupQueue();
  DriverOk();
  ASSERT_EQ(dev->held.size(), 1u);
  EXPECT_EQ(dev->held[0].get(), first);
  EXPECT_TRUE(dev->held[0]->active());

  dev->give_back = false;
  W(0x070, 0);
  Negotiate();
  SetupQueue();
  DriverOk();
  ASSERT_EQ(dev->held.size(), 1u);
  ASSERT_NE(dev->held[0], nullptr);
  EXPECT_TRUE(dev->held[0]->active());
}

TEST_F(VirtioMmioTest, OddAccessesAreIgnored) {
  uint8_t b = 0xff;
  mmio_->Write(0x070, absl::MakeConstSpan(&b, 1));  // byte write to Status
  EXPECT_EQ(R(0x070), 0u);
  uint8_t r[2];
  mmio_->Read(0x002, absl::MakeSpan(r, 2));  // unaligned register read
  EXPECT_EQ(r[0], 0);
  mmio_->Read(0x100, absl::MakeSpan(r, 2));  // rng has no config space
  EXPECT_EQ(r[1], 0);
}

// A device whose QueueNotify() blocks until the test lets it go: what a
// notification in progress looks like to the transport.
class GatedDevice : public VirtioDevice {
 public:
  uint32_t DeviceId() const override { return 43; }
  uint64_t Features() const override { return kVirtioFVersion1; }
  size_t NumQueues() const override { return 2; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override {
    std::fill(data.begin(), data.end(), 0);
  }
  absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                        VirtioInterrupt* interrupt) override {
    return absl::OkStatus();
  }
  absl::Status QueueNotify(uint32_t index) override {
    std::unique_lock lock(mu);
    inside[index]++;
    cv.notify_all();
    cv.wait(lock, [&] { return open[index]; });
    inside[index]--;
    return fail ? absl::DataLossError("broken queue") : absl::OkStatus();
  }
  VirtqueueSet Reset() override {
    std::lock_guard lock(mu);
    reset_while_notifying = reset_while_notifying || inside[0] || inside[1];
    resets++;
    return {};
  }
  // Waits until @n notifications of queue @index are inside.
  bool WaitInside(uint32_t index, int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return inside[index] == n; });
  }
  void Open(uint32_t index) {
    std::lock_guard lock(mu);
    open[index] = true;
    cv.notify_all();
  }

  std::mutex mu;
  std::condition_variable cv;
  int inside[2] = {0, 0};
  bool open[2] = {false, false};
  bool fail = false;
  bool reset_while_notifying = false;
  int resets = 0;
};

class VirtioMmioNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok());
    W(0x070, kAck | kDrv);
    W(0x024, 1);
    W(0x020, 1);
    W(0x070, kAck | kDrv | kFOk);
    for (uint32_t q = 0; q < 2; q++) {
      W(0x030, q);
      W(0x038, 8);
      W(0x080, 0x1000 * (1 + 3 * q));
      W(0x090, 0x1000 * (2 + 3 * q));
      W(0x0a0, 0x1000 * (3 + 3 * q));
      W(0x044, 1);
    }
    W(0x070, kAck | kDrv | kFOk | kDOk);
    ASSERT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk);
  }
  void TearDown() override {
    dev_->Open(0);
    dev_->Open(1);
    for (auto& t : threads_) t.join();
  }
  void W(uint64_t off, uint32_t v) {
    mmio_.Write(off, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v), 4));
  }
  uint32_t R(uint64_t off) {
    uint32_t v;
    mmio_.Read(off, absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }
  void NotifyOnThread(uint32_t q) {
    threads_.emplace_back([this, q] { W(0x050, q); });
  }

  std::vector<uint8_t> ram_ = std::vector<uint8_t>(0x10000);
  GuestMemory mem_;
  std::unique_ptr<GatedDevice> owned_ = std::make_unique<GatedDevice>();
  GatedDevice* dev_ = owned_.get();
  VirtioMmio mmio_{std::move(owned_), &mem_, nullptr};
  std::vector<std::thread> threads_;
};

// A kick does not hold the transport: another queue's kick and register
// accesses go on while the device handles it (they used to wait for it
// behind the transport's one mutex).
TEST_F(VirtioMmioNotifyTest, QueuesAreNotifiedSideBySide) {
  NotifyOnThread(0);
  ASSERT_TRUE(dev_->WaitInside(0, 1));
  NotifyOnThread(1);
  EXPECT_TRUE(dev_->WaitInside(1, 1)) << "queue 1's kick waited for queue 0's";
  EXPECT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk);  // and reads do not wait either
  // The ioeventfd path (Notify()) too: two kicks of one queue may overlap.
  threads_.emplace_back([this] { mmio_.Notify(0); });
  EXPECT_TRUE(dev_->WaitInside(0, 2));
}

// A reset waits for the notification in progress before it resets the
// device and its queues.
TEST_F(VirtioMmioNotifyTest, AResetWaitsForTheNotificationInProgress) {
  NotifyOnThread(0);
  ASSERT_TRUE(dev_->WaitInside(0, 1));
  std::atomic<bool> reset_done{false};
  std::thread reset([&] {
    W(0x070, 0);
    reset_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(reset_done) << "the reset did not wait for the device's notification";
  dev_->Open(0);
  reset.join();
  EXPECT_TRUE(reset_done);
  EXPECT_FALSE(dev_->reset_while_notifying);
  EXPECT_EQ(dev_->resets, 1);
  EXPECT_EQ(R(0x070), 0u);
  // No kick reaches a device that was reset: the driver has to start again.
  W(0x050, 0);
  EXPECT_EQ(dev_->inside[0], 0);
}

// A notification that fails sets DEVICE_NEEDS_RESET; after that, the
// device gets no more kicks until a reset.
TEST_F(VirtioMmioNotifyTest, AFailedNotificationNeedsReset) {
  dev_->fail = true;
  dev_->Open(0);
  W(0x050, 0);
  EXPECT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk | kNeedsReset);
  EXPECT_EQ(R(0x060) & 2u, 2u);  // a configuration-change interrupt
  dev_->fail = false;
  dev_->Open(1);
  W(0x050, 1);
  W(0x070, 0);
  EXPECT_EQ(R(0x070), 0u);
}

// Values that name no ready queue, and accesses that are not 4 bytes wide,
// reach no device.
TEST_F(VirtioMmioNotifyTest, OnlyQueueIndexesNotify) {
  dev_->Open(0);
  dev_->Open(1);
  for (uint32_t v : {2u, 0xffffu, 0x10000u, 0xffffffffu}) mmio_.Notify(v);
  uint8_t b = 0;
  mmio_.Write(0x050, absl::MakeConstSpan(&b, 1));
  EXPECT_EQ(R(0x070), kAck | kDrv | kFOk | kDOk);
}

}  // namespace
}  // namespace tvmm
