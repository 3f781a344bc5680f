// SPDX-License-Identifier: GPL-2.0
#include "vmm/queue_notifier.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/log.h"
#include "util/poll.h"
#include "util/status.h"

namespace tvmm {

absl::StatusOr<std::unique_ptr<QueueNotifier>> QueueNotifier::Create(const Vm& vm,
                                                                     NotifyThreads threads) {
  auto n = std::make_unique<QueueNotifier>(Token{}, vm, threads);
  n->stop_.Reset(eventfd(0, EFD_CLOEXEC));
  if (!n->stop_.valid()) return ErrnoStatus("eventfd");
  return n;
}

absl::Status QueueNotifier::Add(uint64_t base, VirtioMmio* transport) {
  if (started_)
    return absl::FailedPreconditionError("queue notifier: a device added after Start()");
  // All or nothing: on failure the notifier is as it was before.
  const size_t first = queues_.size();
  absl::Status status = AddQueues(base, transport);
  if (!status.ok()) {
    Unassign(first);
    queues_.resize(first);
  }
  return status;
}

absl::Status QueueNotifier::AddQueues(uint64_t base, VirtioMmio* transport) {
  const VirtioDevice& device = *transport->device();
  for (uint32_t i = 0; i < device.NumQueues(); i++) {
    UniqueFd fd;
    int kick = device.QueueKickFd(i);
    if (kick < 0) {
      fd.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      if (!fd.valid()) return ErrnoStatus("eventfd");
      kick = fd.get();
    } else {
      Log(LogLevel::kDebug, "virtio device %d queue %d: kicks go to the host kernel directly",
          device.DeviceId(), i);
    }
    queues_.push_back({base, transport, i, std::move(fd), kick});
    TVMM_RETURN_IF_ERROR(vm_.IoEventFd(base + VirtioMmio::kQueueNotifyOffset, 4, i, kick, true));
    assigned_++;
  }
  return absl::OkStatus();
}

void QueueNotifier::Unassign(size_t first) {
  for (size_t i = first; i < assigned_; i++) {
    const Queue& q = queues_[i];
    (void)vm_.IoEventFd(q.base + VirtioMmio::kQueueNotifyOffset, 4, q.index, q.kick, false);
  }
  assigned_ = first;
}

absl::Status QueueNotifier::Start() {
  if (started_) return absl::FailedPreconditionError("queue notifier: started twice");
  started_ = true;
  if (threads_ == NotifyThreads::kOneLoop) {
    bool any = false;
    for (const Queue& q : queues_) any |= q.event.valid();
    if (!any) return absl::OkStatus();
    TVMM_ASSIGN_OR_RETURN(Thread t,
                          Thread::Start([this] { Loop(0, queues_.size()); }, "virtio-notify"));
    running_.push_back(std::move(t));
    return absl::OkStatus();
  }
  running_.reserve(queues_.size());
  for (size_t i = 0; i < queues_.size(); i++) {
    if (!queues_[i].event.valid()) continue;  // the kernel's: no thread
    TVMM_ASSIGN_OR_RETURN(Thread t, Thread::Start([this, i] { Loop(i, i + 1); },
                                                  absl::StrCat("vq", queues_[i].index, "-notify")));
    running_.push_back(std::move(t));
  }
  return absl::OkStatus();
}

QueueNotifier::~QueueNotifier() {
  Unassign(0);
  uint64_t one = 1;
  if (stop_.valid()) (void)!write(stop_.get(), &one, sizeof(one));
  JoinAll(running_, [](size_t i) {
    Log(LogLevel::kWarning,
        "virtio notification thread %d: its exit waits for I/O it submitted that the kernel "
        "has not finished (storage that does not answer?); not waiting for it",
        i);
  });
}

void QueueNotifier::Loop(size_t first, size_t last) {
  // fds[0] is stop_; fds[k] for k > 0 is queues_[served[k - 1]].
  std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0}};
  std::vector<size_t> served;
  for (size_t i = first; i < last; i++) {
    if (!queues_[i].event.valid()) continue;
    fds.push_back({queues_[i].event.get(), POLLIN, 0});
    served.push_back(i);
  }
  for (;;) {
    // Other errors than EINTR and ENOMEM (waited through: the kicks wait
    // in the eventfds' counters) cannot happen with these descriptors.
    if (PollRetrying(fds.data(), fds.size(), -1) < 0) {
      Log(LogLevel::kError, "virtio notifications: poll: %s", strerror(errno));
      return;
    }
    if (fds[0].revents) return;
    for (size_t k = 1; k < fds.size(); k++) {
      if (!fds[k].revents) continue;
      const Queue& q = queues_[served[k - 1]];
      // However many kicks the counter holds, one look at the queue
      // serves them all.
      uint64_t kicks;
      if (read(q.event.get(), &kicks, sizeof(kicks)) == sizeof(kicks)) q.transport->Notify(q.index);
    }
  }
}

}  // namespace tvmm
