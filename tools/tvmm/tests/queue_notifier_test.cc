// SPDX-License-Identifier: GPL-2.0
// QueueNotifier on KVM: these tests need /dev/kvm (KVM_IOEVENTFD), so they
// skip on the build host; tvmm_e2e runs them in the test guest.  A write
// to a queue's ioeventfd is what KVM does when a vCPU kicks that queue.
#include "vmm/queue_notifier.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "kvm/kvm.h"
#include "util/fd.h"
#include "virtio/mmio.h"
#include "wait_until.h"

namespace tvmm {
namespace {

constexpr uint64_t kBaseA = 0xd0000000, kBaseB = 0xd0001000;

// Records which queue was notified on which thread.  With @kernel_queue,
// that queue's kicks go to an eventfd of the "host kernel" (as vhost's).
class RecordingDevice : public VirtioDevice {
 public:
  RecordingDevice(uint32_t id, size_t queues, int kernel_queue = -1)
      : id_(id), queues_(queues), kernel_queue_(kernel_queue) {
    if (kernel_queue >= 0) kernel_kick_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }
  uint32_t DeviceId() const override { return id_; }
  uint64_t Features() const override { return kVirtioFVersion1; }
  size_t NumQueues() const override { return queues_; }
  void ReadConfig(uint64_t, absl::Span<uint8_t> data) override {
    std::fill(data.begin(), data.end(), 0);
  }
  absl::Status Activate(const GuestMemory*, VirtqueueSet queues, uint64_t,
                        VirtioInterrupt*) override {
    held_ = std::move(queues);
    return absl::OkStatus();
  }
  absl::Status QueueNotify(uint32_t index) override {
    std::lock_guard lock(mu_);
    calls_.emplace_back(index, pthread_self());
    return absl::OkStatus();
  }
  int QueueKickFd(uint32_t index) const override {
    return static_cast<int>(index) == kernel_queue_ ? kernel_kick_.get() : -1;
  }
  VirtqueueSet Reset() override {
    VirtqueueSet queues;
    queues.swap(held_);
    return queues;
  }

  std::vector<std::pair<uint32_t, pthread_t>> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int kernel_kick() const { return kernel_kick_.get(); }

 private:
  const uint32_t id_;
  const size_t queues_;
  const int kernel_queue_;
  UniqueFd kernel_kick_;
  VirtqueueSet held_;
  std::mutex mu_;
  std::vector<std::pair<uint32_t, pthread_t>> calls_;
};

class QueueNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/dev/kvm", R_OK | W_OK))
      GTEST_SKIP() << "no /dev/kvm here (tvmm_e2e runs this in the test guest)";
    auto kvm = Kvm::Open();
    ASSERT_TRUE(kvm.ok()) << kvm.status();
    kvm_ = std::make_unique<Kvm>(std::move(*kvm));
    auto vm = kvm_->CreateVm();
    ASSERT_TRUE(vm.ok()) << vm.status();
    vm_ = std::make_unique<Vm>(std::move(*vm));
    ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok());
  }

  // A transport whose driver has set up every queue and set DRIVER_OK,
  // the way Linux's virtio_mmio does.
  VirtioMmio* Transport(std::unique_ptr<RecordingDevice> device) {
    devices_.push_back(device.get());
    transports_.push_back(std::make_unique<VirtioMmio>(std::move(device), &mem_, nullptr));
    VirtioMmio* t = transports_.back().get();
    auto w = [t](uint64_t off, uint32_t v) {
      t->Write(off, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v), 4));
    };
    constexpr uint32_t kAck = VirtioMmio::kAcknowledge, kDrv = VirtioMmio::kDriver;
    w(0x070, kAck | kDrv);
    w(0x024, 1);
    w(0x020, 1);  // VIRTIO_F_VERSION_1
    w(0x070, kAck | kDrv | VirtioMmio::kFeaturesOk);
    for (uint32_t q = 0; q < t->device()->NumQueues(); q++) {
      const uint64_t rings = next_rings_;
      next_rings_ += 0x1000;
      w(0x030, q);
      w(0x038, 8);
      w(0x080, rings);
      w(0x090, rings + 0x400);
      w(0x0a0, rings + 0x800);
      w(0x044, 1);
    }
    w(0x070, kAck | kDrv | VirtioMmio::kFeaturesOk | VirtioMmio::kDriverOk);
    return t;
  }

  static void Kick(int fd) {
    uint64_t one = 1;
    ASSERT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  }

  using Served = std::map<std::pair<int, uint32_t>, pthread_t>;

  // Two devices, two queues and one: KVM holds each queue's match at its
  // own device's QueueNotify with its own index, and a kick of each is
  // served once.  Sets @on to the threads each device's queues were
  // served on.
  void KickAll(NotifyThreads threads, size_t* thread_count, Served* on) {
    auto n = QueueNotifier::Create(*vm_, threads);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_TRUE((*n)->Add(kBaseA, Transport(std::make_unique<RecordingDevice>(2, 2))).ok());
    ASSERT_TRUE((*n)->Add(kBaseB, Transport(std::make_unique<RecordingDevice>(4, 1))).ok());
    UniqueFd probe(eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(probe.valid());
    const uint64_t off = VirtioMmio::kQueueNotifyOffset;
    const std::pair<uint64_t, uint32_t> taken[] = {{kBaseA, 0}, {kBaseA, 1}, {kBaseB, 0}};
    for (auto [base, index] : taken)
      EXPECT_FALSE(vm_->IoEventFd(base + off, 4, index, probe.get(), true).ok()) << index;
    ASSERT_TRUE(vm_->IoEventFd(kBaseB + off, 4, 1, probe.get(), true).ok());
    ASSERT_TRUE(vm_->IoEventFd(kBaseB + off, 4, 1, probe.get(), false).ok());
    ASSERT_TRUE((*n)->Start().ok());
    *thread_count = (*n)->thread_count();
    for (size_t i = 0; i < 3; i++) Kick((*n)->kick_fd(i));
    auto all = [&] { return devices_[0]->calls().size() == 2 && devices_[1]->calls().size() == 1; };
    EXPECT_TRUE(WaitUntil(all, std::chrono::seconds(10)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(all()) << "a kick served more than once";
    for (int d = 0; d < 2; d++) {
      for (auto [queue, thread] : devices_[d]->calls()) (*on)[{d, queue}] = thread;
    }
  }

  // How many threads served KickAll()'s queues, once each of the three
  // was served and none on the test's own thread.
  static size_t Distinct(const Served& on) {
    EXPECT_TRUE(on.count({0, 0}) && on.count({0, 1}) && on.count({1, 0}));
    std::set<pthread_t> distinct;
    for (auto& [queue, thread] : on) {
      EXPECT_FALSE(pthread_equal(thread, pthread_self()));
      distinct.insert(thread);
    }
    return distinct.size();
  }

  std::unique_ptr<Kvm> kvm_;
  std::unique_ptr<Vm> vm_;
  std::vector<uint8_t> ram_ = std::vector<uint8_t>(0x10000);
  GuestMemory mem_;
  uint64_t next_rings_ = 0x1000;
  std::vector<RecordingDevice*> devices_;
  std::vector<std::unique_ptr<VirtioMmio>> transports_;
};

TEST_F(QueueNotifierTest, AThreadPerQueue) {
  size_t threads = 0;
  Served on;
  ASSERT_NO_FATAL_FAILURE(KickAll(NotifyThreads::kPerQueue, &threads, &on));
  EXPECT_EQ(threads, 3u);
  EXPECT_EQ(Distinct(on), 3u);
}

TEST_F(QueueNotifierTest, OneLoopForTheVm) {
  size_t threads = 0;
  Served on;
  ASSERT_NO_FATAL_FAILURE(KickAll(NotifyThreads::kOneLoop, &threads, &on));
  EXPECT_EQ(threads, 1u);
  EXPECT_EQ(Distinct(on), 1u);
}

// The loop leaves the kernel's queue alone: its kicks stay in the
// device's eventfd for the kernel to read, and never reach QueueNotify.
TEST_F(QueueNotifierTest, TheLoopLeavesTheKernelsQueueAlone) {
  auto n = QueueNotifier::Create(*vm_, NotifyThreads::kOneLoop);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(
      (*n)->Add(kBaseA, Transport(std::make_unique<RecordingDevice>(19, 2, /*kernel_queue=*/1)))
          .ok());
  ASSERT_TRUE((*n)->Start().ok());
  EXPECT_EQ((*n)->thread_count(), 1u);
  RecordingDevice* d = devices_.back();
  ASSERT_EQ((*n)->kick_fd(1), d->kernel_kick());
  Kick((*n)->kick_fd(1));
  Kick((*n)->kick_fd(0));
  EXPECT_TRUE(WaitUntil([&] { return d->calls().size() == 1; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(d->calls().size(), 1u);
  EXPECT_EQ(d->calls()[0].first, 0u);
  uint64_t kicks = 0;
  EXPECT_EQ(read(d->kernel_kick(), &kicks, sizeof(kicks)), static_cast<ssize_t>(sizeof(kicks)));
  EXPECT_EQ(kicks, 1u);
}

// Kicks that came before Start() wait in the eventfds and are served.
TEST_F(QueueNotifierTest, KicksBeforeStartAreServed) {
  for (NotifyThreads threads : {NotifyThreads::kPerQueue, NotifyThreads::kOneLoop}) {
    auto n = QueueNotifier::Create(*vm_, threads);
    ASSERT_TRUE(n.ok());
    const uint64_t base = kBaseA + 0x1000 * devices_.size();
    ASSERT_TRUE((*n)->Add(base, Transport(std::make_unique<RecordingDevice>(2, 1))).ok());
    Kick((*n)->kick_fd(0));
    Kick((*n)->kick_fd(0));
    ASSERT_TRUE((*n)->Start().ok());
    RecordingDevice* d = devices_.back();
    EXPECT_TRUE(WaitUntil([&] { return d->calls().size() == 1; }, std::chrono::seconds(10)));
    // Two kicks in the counter, one look at the queue.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(d->calls().size(), 1u);
  }
}

// A queue whose kicks the host kernel takes gets the device's eventfd as
// its ioeventfd and no thread; with nothing else to serve, the loop
// layout starts none either.
TEST_F(QueueNotifierTest, KernelQueuesGetNoThread) {
  for (NotifyThreads threads : {NotifyThreads::kPerQueue, NotifyThreads::kOneLoop}) {
    auto n = QueueNotifier::Create(*vm_, threads);
    ASSERT_TRUE(n.ok());
    const uint64_t base = kBaseA + 0x1000 * devices_.size();
    ASSERT_TRUE(
        (*n)->Add(base, Transport(std::make_unique<RecordingDevice>(19, 1, /*kernel_queue=*/0)))
            .ok());
    ASSERT_TRUE((*n)->Start().ok());
    EXPECT_EQ((*n)->kick_fd(0), devices_.back()->kernel_kick());
    EXPECT_EQ((*n)->thread_count(), 0u);
  }
}

// Also when Start() had no thread to start (only the kernel's queues):
// a device added then would never be served.
TEST_F(QueueNotifierTest, AddAfterStartAndStartTwiceAreRefused) {
  for (int kernel_queue : {-1, 0}) {
    auto n = QueueNotifier::Create(*vm_, NotifyThreads::kOneLoop);
    ASSERT_TRUE(n.ok());
    const uint64_t base = kBaseA + 0x1000 * devices_.size();
    ASSERT_TRUE(
        (*n)->Add(base, Transport(std::make_unique<RecordingDevice>(19, 1, kernel_queue))).ok());
    ASSERT_TRUE((*n)->Start().ok());
    EXPECT_EQ((*n)->Add(base + 0x1000, Transport(std::make_unique<RecordingDevice>(2, 1))).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*n)->Start().code(), absl::StatusCode::kFailedPrecondition);
  }
}

// The destructor takes the ioeventfds out of KVM: the same match can be
// assigned again afterwards (KVM refuses a duplicate with EEXIST), also
// after an Add() that failed half way.
TEST_F(QueueNotifierTest, DestructionRemovesTheIoeventfds) {
  UniqueFd fd(eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  const uint64_t notify = kBaseA + VirtioMmio::kQueueNotifyOffset;
  {
    auto n = QueueNotifier::Create(*vm_, NotifyThreads::kPerQueue);
    ASSERT_TRUE(n.ok());
    ASSERT_TRUE((*n)->Add(kBaseA, Transport(std::make_unique<RecordingDevice>(2, 2))).ok());
    ASSERT_TRUE((*n)->Start().ok());
    EXPECT_FALSE(vm_->IoEventFd(notify, 4, 1, fd.get(), true).ok());
  }
  {
    // Queue 1's match is taken by the fd assigned here, so Add() fails
    // at queue 1, after it assigned queue 0's, which it takes back at
    // once: the notifier is as before, and serves a device added next.
    ASSERT_TRUE(vm_->IoEventFd(notify, 4, 1, fd.get(), true).ok());
    auto n = QueueNotifier::Create(*vm_, NotifyThreads::kPerQueue);
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE((*n)->Add(kBaseA, Transport(std::make_unique<RecordingDevice>(2, 2))).ok());
    EXPECT_TRUE(vm_->IoEventFd(notify, 4, 0, fd.get(), true).ok());
    EXPECT_TRUE(vm_->IoEventFd(notify, 4, 0, fd.get(), false).ok());
    ASSERT_TRUE((*n)->Add(kBaseB, Transport(std::make_unique<RecordingDevice>(4, 1))).ok());
    ASSERT_TRUE((*n)->Start().ok());
    EXPECT_EQ((*n)->thread_count(), 1u);
    Kick((*n)->kick_fd(0));
    RecordingDevice* d = devices_.back();
    EXPECT_TRUE(WaitUntil([&] { return d->calls().size() == 1; }, std::chrono::seconds(10)));
  }
  EXPECT_TRUE(vm_->IoEventFd(notify, 4, 1, fd.get(), false).ok());
  EXPECT_TRUE(vm_->IoEventFd(notify, 4, 0, fd.get(), true).ok());
  EXPECT_TRUE(vm_->IoEventFd(notify, 4, 1, fd.get(), true).ok());
}

}  // namespace
}  // namespace tvmm
