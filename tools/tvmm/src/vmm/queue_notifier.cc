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

absl::StatusOr<std::unique_ptr<QueueNotifier>> QueueNotifier::Create(const Vm& vm, uint64_t base,
                                                                     VirtioMmio* transport) {
  auto n = std::make_unique<QueueNotifier>(Token{}, vm, base, transport);
  n->stop_.Reset(eventfd(0, EFD_CLOEXEC));
  if (!n->stop_.valid()) return ErrnoStatus("eventfd");
  const VirtioDevice& device = *transport->device();
  size_t queues = device.NumQueues();
  for (uint32_t i = 0; i < queues; i++) {
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
    n->events_.push_back(std::move(fd));
    n->kicks_.push_back(kick);
  }
  // On failure the destructor removes what was assigned.
  for (size_t i = 0; i < queues; i++) {
    TVMM_RETURN_IF_ERROR(
        vm.IoEventFd(base + VirtioMmio::kQueueNotifyOffset, 4, i, n->kicks_[i], true));
    n->assigned_++;
  }
  n->threads_.reserve(queues);
  for (uint32_t i = 0; i < queues; i++) {
    if (!n->events_[i].valid()) {  // the kernel's: no thread
      n->threads_.emplace_back();
      continue;
    }
    TVMM_ASSIGN_OR_RETURN(Thread t, Thread::Start([p = n.get(), i] { p->Loop(i); },
                                                  absl::StrCat("vq", i, "-notify")));
    n->threads_.push_back(std::move(t));
  }
  return n;
}

QueueNotifier::~QueueNotifier() {
  for (size_t i = 0; i < assigned_; i++) {
    (void)vm_.IoEventFd(base_ + VirtioMmio::kQueueNotifyOffset, 4, i, kicks_[i], false);
  }
  uint64_t one = 1;
  if (stop_.valid()) (void)!write(stop_.get(), &one, sizeof(one));
  JoinAll(threads_, [](size_t i) {
    Log(LogLevel::kWarning,
        "virtio queue %d notifications: the thread's exit waits for I/O it submitted that the "
        "kernel has not finished (storage that does not answer?); not waiting for it",
        i);
  });
}

void QueueNotifier::Loop(uint32_t queue) {
  pollfd fds[2] = {{events_[queue].get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  for (;;) {
    // Other errors than EINTR and ENOMEM (waited through: the kicks wait
    // in the eventfd's counter) cannot happen with these two descriptors.
    if (PollRetrying(fds, 2, -1) < 0) {
      Log(LogLevel::kError, "virtio queue %d notifications: poll: %s", queue, strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    // However many kicks the counter holds, one look at the queue serves
    // them all.
    uint64_t kicks;
    if (read(events_[queue].get(), &kicks, sizeof(kicks)) == sizeof(kicks))
      transport_->Notify(queue);
  }
}

}  // namespace tvmm
