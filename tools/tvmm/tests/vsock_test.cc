// SPDX-License-Identifier: GPL-2.0
// virtio-vsock's set-up errors, and what vhost-vsock may touch: the
// VhostVsockTest cases need /dev/vhost-vsock and skip without it (the build
// host has none); tvmm_e2e runs them in the test guest, which has it.
#include "virtio/vsock.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "test_ring.h"
#include "util/fd.h"
#include "wait_until.h"

namespace tvmm {
namespace {

using ::testing::HasSubstr;

TEST(VirtioVsockTest, MissingVhostIsReportedWithWhatToDo) {
  auto vsock = VirtioVsock::Open(3, "/nonexistent/vhost-vsock");
  ASSERT_FALSE(vsock.ok());
  EXPECT_THAT(vsock.status().message(), HasSubstr("--vsock: /nonexistent/vhost-vsock"));
  EXPECT_THAT(vsock.status().message(), HasSubstr("vhost_vsock module"));
}

TEST(VirtioVsockTest, ANonVhostDeviceIsRejected) {
  auto vsock = VirtioVsock::Open(3, "/dev/null");
  ASSERT_FALSE(vsock.ok());
  EXPECT_THAT(vsock.status().message(), HasSubstr("VHOST_SET_OWNER"));
}

class NoInterrupt : public VirtioInterrupt {
 public:
  void SignalUsed(Virtqueue&) override {}
  void SignalUsedByHost() override {}
  void SignalConfigChange() override {}
  void SignalNeedsReset() override { needs_reset++; }
  std::atomic<int> needs_reset{0};
};

absl::Status KernelOk() { return absl::OkStatus(); }

// A driver of its own in front of the host's vhost-vsock, and a host
// socket listening: a connection request the "guest" puts on its TX queue
// reaches the listener only if vhost could read it.  Guest RAM is 1 MiB at
// GPA 0, with [kPrivate, kPrivate + kPrivateSize) private, as a TVM's
// measured image is.
class VhostVsockTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kShared = 0x10000;
  static constexpr uint64_t kPrivate = 0x80000, kPrivateSize = 0x10000;
  static constexpr uint16_t kSize = 16;

  void SetUp() override {
    if (access("/dev/vhost-vsock", R_OK | W_OK))
      GTEST_SKIP() << "no /dev/vhost-vsock here (tvmm_e2e runs this in the test guest)";
    ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok());
    mem_.SetPrivate({{kPrivate, kPrivateSize}});
    // A CID of this process's own, a port the kernel picks.
    cid_ = 100000 + getpid() % 1000000;
    listener_.Reset(socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_.valid()) << "AF_VSOCK: " << strerror(errno);
    sockaddr_vm addr = {};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_ANY;
    addr.svm_port = VMADDR_PORT_ANY;
    ASSERT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << strerror(errno);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = addr.svm_port;
    ASSERT_EQ(listen(listener_.get(), 4), 0) << strerror(errno);

    auto vsock = VirtioVsock::Open(cid_);
    ASSERT_TRUE(vsock.ok()) << vsock.status();
    vsock_ = std::move(*vsock);
  }

  // What the transport does at DRIVER_OK: rx and event queues at 0x4000
  // and 0x5000, tx on TestRing's rings.
  void Activate() {
    VirtqueueSet queues = QueueSet(ActiveQueue(&mem_, kSize, 0x4000, 0x4400, 0x4800),
                                   ActiveQueue(&mem_, kSize, kDesc, kAvail, kUsed),
                                   ActiveQueue(&mem_, kSize, 0x5000, 0x5400, 0x5800));
    ASSERT_TRUE(
        vsock_->Activate(&mem_, std::move(queues), vsock_->Features() & kVirtioFVersion1, &irq_)
            .ok());
  }

  // Puts a connection request to the listener in guest memory at @gpa
  // (44 bytes, virtio_vsock_hdr) and offers it on the TX queue, without a
  // kick.
  void OfferRequest(uint64_t gpa) {
    virtio_vsock_hdr hdr = {};
    hdr.src_cid = cid_;
    hdr.dst_cid = VMADDR_CID_HOST;
    hdr.src_port = 40000;
    hdr.dst_port = port_;
    hdr.type = VIRTIO_VSOCK_TYPE_STREAM;
    hdr.op = VIRTIO_VSOCK_OP_REQUEST;
    hdr.buf_alloc = 65536;
    std::memcpy(ram_.data() + gpa, &hdr, sizeof(hdr));
    ring_.OfferChain(0, {{gpa, sizeof(hdr), false}});
  }

  // The request, and a kick as the exit path gives it (the transport calls
  // QueueNotify()).
  void SendRequest(uint64_t gpa) {
    OfferRequest(gpa);
    ASSERT_TRUE(vsock_->QueueNotify(VirtioVsock::kTxQueue).ok());
  }

  // A kick as KVM gives it with ioeventfds (QueueNotifier): a write to the
  // queue's kick eventfd, which vhost reads, past every check of the
  // transport's.
  void KickDirectly(uint32_t queue) {
    int fd = vsock_->QueueKickFd(queue);
    ASSERT_GE(fd, 0);
    uint64_t one = 1;
    ASSERT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one))) << strerror(errno);
  }

  // Whether the listener has a connection within @timeout.
  bool Connected(std::chrono::milliseconds timeout) {
    pollfd p = {listener_.get(), POLLIN, 0};
    if (poll(&p, 1, timeout.count()) != 1) return false;
    UniqueFd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return conn.valid();
  }

  // A hostile driver's request, offered and kicked straight to vhost on
  // both rx and tx while the device is not active: nothing reaches the
  // listener and nothing is returned.
  void KickedRequestIsNotServed() {
    OfferRequest(kShared);
    KickDirectly(VirtioVsock::kRxQueue);
    KickDirectly(VirtioVsock::kTxQueue);
    EXPECT_FALSE(Connected(std::chrono::seconds(2)));
    EXPECT_EQ(ring_.UsedIdx(), 0);
  }

  // Activated (again) and kicked, the device serves the request offered.
  void ServedOnceActive() {
    Activate();
    KickDirectly(VirtioVsock::kTxQueue);
    EXPECT_TRUE(Connected(std::chrono::seconds(10)));
    EXPECT_EQ(UsedIdxReaching(1, std::chrono::seconds(10)), 1);
  }

  // The used index once it reaches @want, or as it is after @timeout.
  // vhost hands the packet to the socket layer before it returns the
  // buffer, so the listener can wake before the used index moves.
  uint16_t UsedIdxReaching(uint16_t want, std::chrono::milliseconds timeout) {
    WaitUntil([&] { return ring_.UsedIdx() == want; }, timeout);
    return ring_.UsedIdx();
  }

  std::vector<uint8_t> ram_ = std::vector<uint8_t>(1 << 20);
  GuestMemory mem_;
  TestRing ring_{&ram_, kSize, kDesc, kAvail, kUsed};
  NoInterrupt irq_;
  UniqueFd listener_;
  uint32_t cid_ = 0, port_ = 0;
  std::unique_ptr<VirtioVsock> vsock_;
};

// The control: from shared memory the request gets through, and vhost
// returns the buffer.
TEST_F(VhostVsockTest, ARequestFromSharedMemoryConnects) {
  Activate();
  SendRequest(kShared);
  EXPECT_TRUE(Connected(std::chrono::seconds(10)));
  EXPECT_EQ(UsedIdxReaching(1, std::chrono::seconds(10)), 1);
}

// The attack: a guest points a TX buffer at its private memory.  vhost's
// memory table has the shared regions only, so vhost cannot translate the
// address: it reads nothing, returns nothing, and nothing reaches the host.
TEST_F(VhostVsockTest, ATxBufferInPrivateMemoryIsNeverRead) {
  Activate();
  SendRequest(kPrivate + 0x100);
  EXPECT_FALSE(Connected(std::chrono::seconds(3)));
  EXPECT_EQ(ring_.UsedIdx(), 0);
}

// A trusted guest converts memory while the device runs: vhost's table
// follows.  A page made shared after activation is vhost's to read ...
TEST_F(VhostVsockTest, ARequestInAPageMadeSharedLaterConnects) {
  mem_.EnableConversions();
  Activate();
  ASSERT_TRUE(mem_.Convert(kPrivate, 0x1000, false, KernelOk).ok());
  SendRequest(kPrivate + 0x100);
  EXPECT_TRUE(Connected(std::chrono::seconds(10)));
  EXPECT_EQ(UsedIdxReaching(1, std::chrono::seconds(10)), 1);
}

// ... and one made private is not: vhost lets go of it before it becomes
// private, so a request there is never read.
TEST_F(VhostVsockTest, ARequestInAPageMadePrivateLaterIsNeverRead) {
  mem_.EnableConversions();
  Activate();
  ASSERT_TRUE(mem_.Convert(kShared, 0x1000, true, KernelOk).ok());
  SendRequest(kShared);
  EXPECT_FALSE(Connected(std::chrono::seconds(3)));
  EXPECT_EQ(ring_.UsedIdx(), 0);
  EXPECT_EQ(irq_.needs_reset.load(), 0);
}

// The guest cuts its shared memory into more pieces than vhost takes
// (max_mem_regions, 64 by default): vhost keeps its old table, so it is
// stopped, the driver is told (DEVICE_NEEDS_RESET), and a request kicked
// straight to vhost is not served.  The conversions themselves stand.
// With the pieces joined again, a reset and a new activation serve the
// request, and the old error does not come back.
TEST_F(VhostVsockTest, ATableVhostRefusesStopsTheDevice) {
  size_t limit = 64;
  if (std::FILE* f = std::fopen("/sys/module/vhost/parameters/max_mem_regions", "r")) {
    if (std::fscanf(f, "%zu", &limit) != 1) limit = 64;
    std::fclose(f);
  }
  mem_.EnableConversions();
  Activate();
  // Every other page of [0x20000, 0x100000) but the private range, until
  // there are more shared regions than vhost takes.
  std::vector<uint64_t> made_private;
  for (uint64_t gpa = 0x20000; gpa < 0x100000 && mem_.SharedRegions().size() <= limit;
       gpa += 0x2000) {
    if (gpa >= kPrivate && gpa < kPrivate + kPrivateSize) continue;
    ASSERT_TRUE(mem_.Convert(gpa, 0x1000, true, KernelOk).ok());
    made_private.push_back(gpa);
  }
  if (mem_.SharedRegions().size() <= limit)
    GTEST_SKIP() << "vhost's max_mem_regions (" << limit << ") is more than 1 MiB can split into";
  EXPECT_TRUE(WaitUntil([&] { return irq_.needs_reset.load() == 1; }, std::chrono::seconds(10)));
  OfferRequest(kShared);
  KickDirectly(VirtioVsock::kTxQueue);
  EXPECT_FALSE(Connected(std::chrono::seconds(3)));
  EXPECT_EQ(ring_.UsedIdx(), 0);

  for (uint64_t gpa : made_private) ASSERT_TRUE(mem_.Convert(gpa, 0x1000, false, KernelOk).ok());
  VirtqueueSet back = vsock_->Reset();
  EXPECT_EQ(back.size(), 3u);
  // The request offered above is served now.
  ServedOnceActive();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(irq_.needs_reset.load(), 1);
}

// With ioeventfds, rx and tx kicks reach vhost without tvmm (QueueKickFd()),
// so nothing checks the driver's status first: a hostile driver kicks
// before DRIVER_OK.  vhost has not been given the rings, nor the kick
// eventfd, nor been started: it reads nothing.  Once the device is
// activated, a kick gets the request served.  (Whether vhost serves at
// activation what was kicked before is its business: vhost-vsock polls a
// new kick eventfd at once, but not one it already had, after a reset.)
TEST_F(VhostVsockTest, ADirectKickBeforeActivationIsNotServed) {
  EXPECT_EQ(vsock_->QueueKickFd(VirtioVsock::kEventQueue), -1);  // tvmm's: gated
  KickedRequestIsNotServed();
  ServedOnceActive();
}

// ... and after a reset: the transport took the queues back and the driver
// believes the device stopped.  vhost still has the old rings and polls the
// kick eventfd, but it was stopped (VHOST_VSOCK_SET_RUNNING 0): a request
// offered and kicked now is neither read nor returned, so nothing lands in
// guest memory the driver may be reusing.  Set up again, the device works.
TEST_F(VhostVsockTest, ADirectKickAfterResetIsNotServed) {
  Activate();
  VirtqueueSet back = vsock_->Reset();
  EXPECT_EQ(back.size(), 3u);
  KickedRequestIsNotServed();
  ServedOnceActive();
}

}  // namespace
}  // namespace tvmm
