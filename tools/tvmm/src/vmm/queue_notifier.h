// SPDX-License-Identifier: GPL-2.0
// Guest notifications of a virtio-mmio device without an exit to tvmm: for
// each queue, a KVM ioeventfd on the device's QueueNotify register that
// matches a 4-byte write of that queue's index, and a thread that takes
// what it signals to the transport (VirtioMmio::Notify()).  The vCPU that
// kicked goes back to the guest at once, and the device's work (virtio-blk
// parsing and submitting requests, say) runs on the queue's thread, side by
// side with the other queues'.  Writes that match no ioeventfd (another
// width, a value that is no queue's index) still exit and reach the
// transport's Write(), which ignores them.  A queue whose device takes
// notifications in the host kernel (VirtioDevice::QueueKickFd(): vhost)
// gets that eventfd as its ioeventfd and no thread: KVM kicks vhost with
// nothing of tvmm's between, as kvmtool does.
#ifndef TVMM_VMM_QUEUE_NOTIFIER_H_
#define TVMM_VMM_QUEUE_NOTIFIER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "kvm/kvm.h"
#include "util/fd.h"
#include "util/thread.h"
#include "virtio/mmio.h"

namespace tvmm {

class QueueNotifier {
 public:
  // Assigns @transport's ioeventfds (its registers at @base) and starts
  // their threads.  @vm and @transport must outlive the notifier.
  static absl::StatusOr<std::unique_ptr<QueueNotifier>> Create(const Vm& vm, uint64_t base,
                                                               VirtioMmio* transport);
  // Removes the ioeventfds (kicks exit to tvmm again), then stops the
  // threads, waits until each has left its loop and joins them (for at
  // most kThreadExitGrace from then on: a thread whose exit the kernel
  // holds because it waits for I/O the thread submitted is left to the
  // kernel): after it, nothing calls the transport from here.
  ~QueueNotifier();
  QueueNotifier(const QueueNotifier&) = delete;
  QueueNotifier& operator=(const QueueNotifier&) = delete;

  struct Token {};  // for std::make_unique in Create() only
  QueueNotifier(Token, const Vm& vm, uint64_t base, VirtioMmio* transport)
      : vm_(vm), base_(base), transport_(transport) {}

 private:
  void Loop(uint32_t queue);

  const Vm& vm_;
  const uint64_t base_;
  VirtioMmio* const transport_;
  UniqueFd stop_;
  std::vector<UniqueFd> events_;  // one per queue, invalid for a queue the kernel takes
  std::vector<int> kicks_;        // each queue's ioeventfd: events_[i] or the device's
  size_t assigned_ = 0;           // kicks_[i] assigned for i < assigned_
  std::vector<Thread> threads_;   // one per queue, not joinable for the kernel's
};

}  // namespace tvmm

#endif  // TVMM_VMM_QUEUE_NOTIFIER_H_
