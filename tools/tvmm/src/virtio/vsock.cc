// SPDX-License-Identifier: GPL-2.0
#include "virtio/vsock.h"

#include <fcntl.h>
// virtio_ring.h, included by vhost.h, has legacy helpers that are C only.
#define VIRTIO_RING_NO_LEGACY
#include <linux/vhost.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/log.h"
#include "util/poll.h"
#include "util/status.h"
#include "util/thread.h"

namespace tvmm {
namespace {

// What tvmm lets the driver negotiate, if vhost supports it.
constexpr uint64_t kVirtioRingFIndirectDesc = 1ull << 28;
constexpr uint64_t kVirtioVsockFSeqpacket = 1ull << 1;
constexpr uint64_t kOffered =
    kVirtioFVersion1 | kVirtioRingFIndirectDesc | kVirtioRingFEventIdx | kVirtioVsockFSeqpacket;

absl::Status VhostIoctl(int fd, unsigned long request, const void* arg, absl::string_view what) {
  if (ioctl(fd, request, arg) < 0) return ErrnoStatus(absl::StrCat("vhost-vsock: ", what));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<VirtioVsock>> VirtioVsock::Open(uint64_t guest_cid,
                                                               const char* path) {
  UniqueFd vhost(open(path, O_RDWR | O_CLOEXEC));
  if (!vhost.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--vsock: ", path, ": ", strerror(errno),
                     " (tvmm's vsock needs the host's vhost_vsock module)"));
  }
  TVMM_RETURN_IF_ERROR(VhostIoctl(vhost.get(), VHOST_SET_OWNER, nullptr, "VHOST_SET_OWNER"));
  uint64_t features = 0;
  if (ioctl(vhost.get(), VHOST_GET_FEATURES, &features) < 0)
    return ErrnoStatus("vhost-vsock: VHOST_GET_FEATURES");
  if (!(features & kVirtioFVersion1))
    return absl::FailedPreconditionError("vhost-vsock does not offer VIRTIO_F_VERSION_1");
  if (ioctl(vhost.get(), VHOST_VSOCK_SET_GUEST_CID, &guest_cid) < 0) {
    if (errno == EADDRINUSE) {
      return UsageError(absl::FailedPreconditionError(
          absl::StrCat("--vsock: CID ", guest_cid, " is in use by another VM")));
    }
    return ErrnoStatus(absl::StrCat("--vsock: CID ", guest_cid));
  }
  auto vsock = std::make_unique<VirtioVsock>(Token(), std::move(vhost), guest_cid, features);
  for (int i = 0; i < 2; i++) {
    vsock->kick_[i].Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    vsock->call_[i].Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!vsock->kick_[i].valid() || !vsock->call_[i].valid()) return ErrnoStatus("eventfd");
  }
  vsock->stop_event_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  vsock->error_event_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!vsock->stop_event_.valid() || !vsock->error_event_.valid()) return ErrnoStatus("eventfd");
  vsock->caller_ = std::thread(&VirtioVsock::CallLoop, vsock.get());
  return vsock;
}

VirtioVsock::VirtioVsock(Token, UniqueFd vhost, uint64_t guest_cid, uint64_t vhost_features)
    : vhost_(std::move(vhost)), guest_cid_(guest_cid), vhost_features_(vhost_features) {}

VirtioVsock::~VirtioVsock() {
  Stop();
  watch_ = GuestMemory::Watch();
  if (caller_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_event_.get(), &one, sizeof(one));
    caller_.join();
  }
}

uint64_t VirtioVsock::Features() const { return vhost_features_ & kOffered; }

void VirtioVsock::ReadConfig(uint64_t offset, absl::Span<uint8_t> data) {
  uint8_t config[8];  // struct virtio_vsock_config: le64 guest_cid
  std::memcpy(config, &guest_cid_, 8);
  CopyConfig(config, offset, data);
}

absl::Status VirtioVsock::SetUpVhost(const GuestMemory* mem, uint64_t features) {
  TVMM_RETURN_IF_ERROR(
      VhostIoctl(vhost_.get(), VHOST_SET_FEATURES, &features, "VHOST_SET_FEATURES"));
  // A TVM's private pages are not the host's to touch, vhost's included:
  // the table has the shared memory, as it is now and after each
  // conversion.
  TVMM_ASSIGN_OR_RETURN(watch_, mem->WatchShared([this](absl::Span<const GuestRegion> shared) {
    return UpdateMemTable(shared);
  }));
  for (uint32_t i = 0; i < 2; i++) {
    const Virtqueue* q = i < queues_.size() ? queues_[i].get() : nullptr;
    if (!q || !q->active()) return absl::FailedPreconditionError("vsock: rx/tx queue not ready");
    // The transport checked that the rings lie in guest memory.
    auto host = [&](uint64_t gpa) -> uint64_t {
      absl::StatusOr<absl::Span<uint8_t>> s = mem->Slice(gpa, 1);
      return s.ok() ? reinterpret_cast<uint64_t>(s->data()) : 0;
    };
    vhost_vring_state num = {i, q->size()};
    vhost_vring_state base = {i, 0};
    vhost_vring_addr addr = {};
    addr.index = i;
    addr.desc_user_addr = host(q->desc_addr());
    addr.avail_user_addr = host(q->avail_addr());
    addr.used_user_addr = host(q->used_addr());
    vhost_vring_file kick = {i, kick_[i].get()};
    vhost_vring_file call = {i, call_[i].get()};
    TVMM_RETURN_IF_ERROR(
        VhostIoctl(vhost_.get(), VHOST_SET_VRING_NUM, &num, "VHOST_SET_VRING_NUM"));
    TVMM_RETURN_IF_ERROR(
        VhostIoctl(vhost_.get(), VHOST_SET_VRING_BASE, &base, "VHOST_SET_VRING_BASE"));
    TVMM_RETURN_IF_ERROR(
        VhostIoctl(vhost_.get(), VHOST_SET_VRING_ADDR, &addr, "VHOST_SET_VRING_ADDR"));
    TVMM_RETURN_IF_ERROR(
        VhostIoctl(vhost_.get(), VHOST_SET_VRING_KICK, &kick, "VHOST_SET_VRING_KICK"));
    TVMM_RETURN_IF_ERROR(
        VhostIoctl(vhost_.get(), VHOST_SET_VRING_CALL, &call, "VHOST_SET_VRING_CALL"));
  }
  int running = 1;
  TVMM_RETURN_IF_ERROR(
      VhostIoctl(vhost_.get(), VHOST_VSOCK_SET_RUNNING, &running, "VHOST_VSOCK_SET_RUNNING"));
  running_ = true;
  // A conversion's table that vhost refused while it was being started
  // (UpdateMemTable() flags it before it stops vhost, so one of the two
  // sees the other).
  std::lock_guard lock(mu_);
  if (needs_reset_)
    return absl::FailedPreconditionError("vhost-vsock: a memory table was refused while starting");
  return absl::OkStatus();
}

absl::Status VirtioVsock::SetMemTable(absl::Span<const GuestRegion> shared) {
  std::vector<uint8_t> table(sizeof(vhost_memory) + shared.size() * sizeof(vhost_memory_region));
  auto* memory = reinterpret_cast<vhost_memory*>(table.data());
  memory->nregions = shared.size();
  for (size_t i = 0; i < shared.size(); i++) {
    memory->regions[i].guest_phys_addr = shared[i].gpa;
    memory->regions[i].memory_size = shared[i].host.size();
    memory->regions[i].userspace_addr = reinterpret_cast<uint64_t>(shared[i].host.data());
  }
  // While vhost runs, this waits for the work in progress on each queue,
  // which the new table then governs.
  return VhostIoctl(vhost_.get(), VHOST_SET_MEM_TABLE, memory, "VHOST_SET_MEM_TABLE");
}

absl::Status VirtioVsock::UpdateMemTable(absl::Span<const GuestRegion> shared) {
  absl::Status s = SetMemTable(shared);
  if (s.ok()) return s;
  // vhost keeps the old table, which may have a page about to become
  // private or lack one now shared: it must not go on, nor start if it is
  // being started.  (E2BIG: more shared regions than vhost's
  // max_mem_regions.)
  Log(LogLevel::kWarning, "%s (%d shared regions); the device needs a reset", s.message(),
      shared.size());
  {
    std::lock_guard lock(mu_);
    needs_reset_ = true;
  }
  Stop();
  uint64_t one = 1;
  (void)!write(error_event_.get(), &one, sizeof(one));
  return s;
}

absl::Status VirtioVsock::Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                                   VirtioInterrupt* interrupt) {
  {
    // queues_ is empty (Reset() took them): nothing is destroyed under mu_,
    // which a conversion takes inside GuestMemory's lock (a Hold's release
    // takes that lock).
    std::lock_guard lock(mu_);
    queues_.swap(queues);
    interrupt_ = interrupt;
  }
  absl::Status s = SetUpVhost(mem, features);
  if (!s.ok()) {
    // vhost first: it must not run past the end of the watch.
    Stop();
    watch_ = GuestMemory::Watch();
  }
  return s;
}

void VirtioVsock::Stop() {
  if (!running_.exchange(false)) return;
  int running = 0;
  if (ioctl(vhost_.get(), VHOST_VSOCK_SET_RUNNING, &running) < 0)
    Log(LogLevel::kWarning, "vhost-vsock: stopping: %s", strerror(errno));
}

VirtqueueSet VirtioVsock::Reset() {
  // vhost stops, then the watch ends (a table update in progress finishes,
  // none comes after): vhost never runs on a table that stopped following
  // the conversions.
  Stop();
  watch_ = GuestMemory::Watch();
  // A signal the call thread is sending belongs to the session that ends
  // here: wait for it, so that none lands after the reset.
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !signalling_; });
  interrupt_ = nullptr;
  needs_reset_ = false;
  VirtqueueSet queues;
  queues.swap(queues_);
  return queues;
}

absl::Status VirtioVsock::QueueNotify(uint32_t index) {
  // The event queue only holds buffers for events tvmm never sends.
  if (index == kEventQueue || !running_) return absl::OkStatus();
  uint64_t one = 1;
  if (write(kick_[index].get(), &one, sizeof(one)) < 0 && errno != EAGAIN)
    return ErrnoStatus("vsock: kick");
  return absl::OkStatus();
}

void VirtioVsock::SignalIfActive(bool needs_reset) {
  VirtioInterrupt* interrupt;
  {
    std::lock_guard lock(mu_);
    if (!interrupt_ || queues_.size() < 2) return;
    if (needs_reset && !std::exchange(needs_reset_, false)) return;
    interrupt = interrupt_;
    signalling_ = true;
  }
  // Outside our lock: the transport takes its own.  vhost signals only
  // when the driver's EVENT_IDX or NO_INTERRUPT says so.
  if (needs_reset)
    interrupt->SignalNeedsReset();
  else
    interrupt->SignalUsedByHost();
  {
    std::lock_guard lock(mu_);
    signalling_ = false;
  }
  cv_.notify_all();
}

void VirtioVsock::CallLoop() {
  NameThisThread("vsock-call");
  pollfd fds[4] = {{call_[0].get(), POLLIN, 0},
                   {call_[1].get(), POLLIN, 0},
                   {error_event_.get(), POLLIN, 0},
                   {stop_event_.get(), POLLIN, 0}};
  for (;;) {
    if (PollRetrying(fds, 4, -1) < 0) {
      Log(LogLevel::kError, "vsock: poll: %s", strerror(errno));
      return;
    }
    if (fds[3].revents) return;
    for (int i = 0; i < 3; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      uint64_t count;
      (void)!read(fds[i].fd, &count, sizeof(count));
      SignalIfActive(i == 2);
    }
  }
}

}  // namespace tvmm
