// SPDX-License-Identifier: GPL-2.0
// Guest notifications of a VM's virtio-mmio devices without an exit to
// tvmm: for each queue, a KVM ioeventfd on its device's QueueNotify
// register that matches a 4-byte write of that queue's index, and a thread
// that takes what it signals to the transport (VirtioMmio::Notify()).  The
// vCPU that kicked goes back to the guest at once, and the device's work
// (virtio-blk parsing and submitting requests, say) runs on the notifier's
// thread.  Writes that match no ioeventfd (another width, a value that is
// no queue's index) still exit and reach the transport's Write(), which
// ignores them.  A queue whose device takes notifications in the host
// kernel (VirtioDevice::QueueKickFd(): vhost) gets that eventfd as its
// ioeventfd and no thread of tvmm's: KVM kicks vhost directly, as kvmtool
// does.
//
// Two layouts of the threads (NotifyThreads), compared in bench/RESULTS.md
// (2026-12-07, "one loop against a thread per queue"): a thread per queue
// ("vqN-notify"), so that queues are served side by side, as crosvm and
// Cloud Hypervisor serve devices; or one event loop for the VM's queues
// that the kernel does not take ("virtio-notify"), as Firecracker's VMM
// thread does: fewer threads, but one queue's work at a time.
#ifndef TVMM_VMM_QUEUE_NOTIFIER_H_
#define TVMM_VMM_QUEUE_NOTIFIER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kvm/kvm.h"
#include "util/fd.h"
#include "util/thread.h"
#include "virtio/mmio.h"

namespace tvmm {

enum class NotifyThreads {
  kPerQueue,  // a thread per queue
  kOneLoop,   // one thread for all queues of the VM
};

class QueueNotifier {
 public:
  // A notifier for @vm's devices, which must outlive it; none yet.
  static absl::StatusOr<std::unique_ptr<QueueNotifier>> Create(const Vm& vm, NotifyThreads threads);
  // Assigns @transport's ioeventfds (its registers at @base); before
  // Start() only.  @transport must outlive the notifier.  Kicks from then
  // on wait in the eventfds until Start().  All or nothing: an error
  // leaves none of the device's queues assigned or added.
  absl::Status Add(uint64_t base, VirtioMmio* transport);
  // Starts the threads; once.
  absl::Status Start();
  // Removes the ioeventfds (kicks exit to tvmm again), then stops the
  // threads, waits until each has left its loop and joins them (for at
  // most kThreadExitGrace from then on: a thread whose exit the kernel
  // holds because it waits for I/O the thread submitted is left to the
  // kernel): after it, nothing calls a transport from here.
  ~QueueNotifier();
  QueueNotifier(const QueueNotifier&) = delete;
  QueueNotifier& operator=(const QueueNotifier&) = delete;

  struct Token {};  // for std::make_unique in Create() only
  QueueNotifier(Token, const Vm& vm, NotifyThreads threads) : vm_(vm), threads_(threads) {}

  // The threads started, and the ioeventfd of the @i-th queue added
  // (tests: a write to it is what KVM does on a matching kick).
  size_t thread_count() const { return running_.size(); }
  int kick_fd(size_t i) const { return queues_.at(i).kick; }

 private:
  struct Queue {
    uint64_t base;
    VirtioMmio* transport;
    uint32_t index;
    UniqueFd event;  // invalid for a queue the kernel takes
    int kick;        // the ioeventfd: event or the device's
  };

  // Add()'s work, which may stop half way (Add() undoes it).
  absl::Status AddQueues(uint64_t base, VirtioMmio* transport);
  // Takes queues_[@first, assigned_)'s ioeventfds out of KVM.
  void Unassign(size_t first);
  // Serves queues_[@first, @last) (those with an event of their own) until
  // stop_ is signalled.
  void Loop(size_t first, size_t last);

  const Vm& vm_;
  const NotifyThreads threads_;
  UniqueFd stop_;
  std::vector<Queue> queues_;
  size_t assigned_ = 0;  // queues_[i].kick assigned in KVM for i < assigned_
  bool started_ = false;
  std::vector<Thread> running_;
};

}  // namespace tvmm

#endif  // TVMM_VMM_QUEUE_NOTIFIER_H_
