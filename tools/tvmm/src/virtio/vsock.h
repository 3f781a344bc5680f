// SPDX-License-Identifier: GPL-2.0
// virtio-vsock (device ID 19) with its data path in the host kernel
// (vhost-vsock): the guest's sockets to CID 2 reach host AF_VSOCK sockets
// directly, and tvmm only sets the device up.
//
// tvmm keeps the virtio-mmio register file and the event queue (which it
// never uses: no transport reset events are sent).  At DRIVER_OK it gives
// vhost the guest memory table (the shared memory only, redone whenever a
// trusted guest converts memory: GuestMemory::WatchShared(); if vhost
// refuses a new table, vhost stops and the device needs a reset), the
// rx/tx rings (their host addresses,
// checked by the transport to lie in guest memory), a kick eventfd per queue
// (written when the driver notifies the queue, or by KVM itself with
// ioeventfds: QueueKickFd()) and a call eventfd per queue,
// which a thread turns into the transport's used-buffer interrupt.
//
// Requires /dev/vhost-vsock (module vhost_vsock) and a CID no other VM uses.
#ifndef TVMM_VIRTIO_VSOCK_H_
#define TVMM_VIRTIO_VSOCK_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "util/fd.h"
#include "virtio/device.h"

namespace tvmm {

class VirtioVsock : public VirtioDevice {
 public:
  static constexpr uint32_t kRxQueue = 0, kTxQueue = 1, kEventQueue = 2;

  // Opens vhost-vsock and claims @guest_cid; fails (with the reason) if the
  // module is missing or the CID is taken.
  static absl::StatusOr<std::unique_ptr<VirtioVsock>> Open(uint64_t guest_cid,
                                                           const char* path = "/dev/vhost-vsock");

  // Use Open().
  struct Token {
    explicit Token() = default;
  };
  VirtioVsock(Token, UniqueFd vhost, uint64_t guest_cid, uint64_t vhost_features);
  ~VirtioVsock() override;

  uint32_t DeviceId() const override { return 19; }
  uint64_t Features() const override;
  size_t NumQueues() const override { return 3; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override;
  absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                        VirtioInterrupt* interrupt) override;
  absl::Status QueueNotify(uint32_t index) override;
  // vhost's kick eventfd for rx and tx: vhost-vsock ignores kicks until it
  // runs (it has no backend before VHOST_VSOCK_SET_RUNNING).
  int QueueKickFd(uint32_t index) const override {
    return index < kEventQueue ? kick_[index].get() : -1;
  }
  VirtqueueSet Reset() override;

 private:
  absl::Status SetUpVhost(const GuestMemory* mem, uint64_t features);
  // vhost's memory table: @shared, the guest's shared memory.
  absl::Status SetMemTable(absl::Span<const GuestRegion> shared);
  // A conversion's new table (GuestMemory::WatchShared()); if vhost
  // refuses it, vhost stops and the call thread sets DEVICE_NEEDS_RESET.
  absl::Status UpdateMemTable(absl::Span<const GuestRegion> shared);
  void Stop();
  void CallLoop();
  // On the call thread: the used-buffer interrupt, or (@needs_reset)
  // DEVICE_NEEDS_RESET if a table update failed since the last reset;
  // nothing while the device is not active.  Reset() waits for it.
  void SignalIfActive(bool needs_reset);

  UniqueFd vhost_;
  const uint64_t guest_cid_;
  const uint64_t vhost_features_;
  UniqueFd kick_[2], call_[2];
  UniqueFd stop_event_;
  // Written when vhost refused a table: the call thread signals the error.
  UniqueFd error_event_;
  std::thread caller_;
  // queues_, interrupt_, signalling_ and needs_reset_, against the call
  // thread (and UpdateMemTable() for needs_reset_)
  std::mutex mu_;
  std::condition_variable cv_;  // signalling_ went false
  VirtqueueSet queues_;         // from Activate() to Reset()
  VirtioInterrupt* interrupt_ = nullptr;
  bool signalling_ = false;  // the call thread signals interrupt_ outside mu_
  bool needs_reset_ = false;  // vhost refused a table; cleared by Reset()
  // vhost runs; read by QueueNotify() and UpdateMemTable() (any vCPU).
  std::atomic<bool> running_{false};
  // From Activate() to Reset(): no table update runs once it is destroyed.
  GuestMemory::Watch watch_;
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_VSOCK_H_
