// SPDX-License-Identifier: GPL-2.0
#include "vmm/irqfd_lines.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "util/log.h"
#include "util/poll.h"
#include "util/status.h"
#include "util/thread.h"

namespace tvmm {

class IrqfdLines::LevelIrq : public IrqLine {
 public:
  LevelIrq(const Vm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  ~LevelIrq() override {
    if (assigned_) (void)vm_.IrqFd(gsi_, irqfd_.get(), -1, false);
  }

  absl::Status Assign() {
    irqfd_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    resample_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!irqfd_.valid() || !resample_.valid()) return ErrnoStatus("eventfd");
    TVMM_RETURN_IF_ERROR(vm_.IrqFd(gsi_, irqfd_.get(), resample_.get(), true));
    assigned_ = true;
    return absl::OkStatus();
  }

  void Pulse() override {
    (void)vm_.IrqLine(gsi_, true);
    (void)vm_.IrqLine(gsi_, false);
  }

  void Set(bool high) override {
    if (!assigned_) {
      (void)vm_.IrqLine(gsi_, high);
      return;
    }
    // The level first: a resample that comes between sees it and raises
    // the line again.
    high_.store(high);
    if (high) Raise();
  }

  // The guest's EOI lowered the line: up again if it should be.
  void Resampled() {
    uint64_t n;
    if (read(resample_.get(), &n, sizeof(n)) != sizeof(n)) return;
    if (high_.load()) Raise();
  }

  int resample_fd() const { return assigned_ ? resample_.get() : -1; }

 private:
  void Raise() {
    uint64_t one = 1;
    // EAGAIN: the counter is full, so KVM has a signal to take already.
    (void)!write(irqfd_.get(), &one, sizeof(one));
  }

  const Vm& vm_;
  const uint32_t gsi_;
  UniqueFd irqfd_, resample_;
  bool assigned_ = false;
  std::atomic<bool> high_{false};
};

IrqfdLines::IrqfdLines(Token, const Vm& vm, bool irqfds) : vm_(vm), irqfds_(irqfds) {}

absl::StatusOr<std::unique_ptr<IrqfdLines>> IrqfdLines::Create(const Vm& vm, bool use_irqfds) {
  bool irqfds = use_irqfds && vm.CheckExtension(KVM_CAP_IRQFD) > 0 &&
                vm.CheckExtension(KVM_CAP_IRQFD_RESAMPLE) > 0;
  if (use_irqfds && !irqfds)
    Log(LogLevel::kInfo, "KVM has no resampling irqfds: interrupts through KVM_IRQ_LINE");
  auto lines = std::make_unique<IrqfdLines>(Token{}, vm, irqfds);
  lines->stop_.Reset(eventfd(0, EFD_CLOEXEC));
  if (!lines->stop_.valid()) return ErrnoStatus("eventfd");
  return lines;
}

IrqfdLines::~IrqfdLines() {
  uint64_t one = 1;
  if (stop_.valid()) (void)!write(stop_.get(), &one, sizeof(one));
  if (resampler_.joinable()) resampler_.join();
  lines_.clear();
}

IrqLine* IrqfdLines::Get(uint32_t irq, bool irqfd) {
  std::lock_guard lock(mu_);
  std::unique_ptr<LevelIrq>& line = lines_[irq];
  if (!line) {
    line = std::make_unique<LevelIrq>(vm_, irq);
    if (!irqfd) return line.get();
    // After Start() the resampler would not watch it: such a line, or one
    // whose irqfd KVM refused, works through KVM_IRQ_LINE.
    if (started_) {
      Log(LogLevel::kWarning, "GSI %d: made after the resampler started: KVM_IRQ_LINE", irq);
    } else if (absl::Status s = line->Assign(); !s.ok()) {
      Log(LogLevel::kWarning, "GSI %d: %s: KVM_IRQ_LINE instead", irq, std::string(s.message()));
      line = std::make_unique<LevelIrq>(vm_, irq);
    }
  }
  return line.get();
}

absl::Status IrqfdLines::Start() {
  std::lock_guard lock(mu_);
  if (started_) return absl::OkStatus();
  started_ = true;
  bool any = false;
  for (auto& [gsi, line] : lines_) any = any || line->resample_fd() >= 0;
  if (any) resampler_ = std::thread(&IrqfdLines::ResampleLoop, this);
  return absl::OkStatus();
}

void IrqfdLines::ResampleLoop() {
  NameThisThread("irqfd-resample");
  std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0}};
  std::vector<LevelIrq*> watched;
  {
    std::lock_guard lock(mu_);
    for (auto& [gsi, line] : lines_) {
      if (line->resample_fd() < 0) continue;
      fds.push_back({line->resample_fd(), POLLIN, 0});
      watched.push_back(line.get());
    }
  }
  for (;;) {
    // EINTR and ENOMEM are waited through (a resample waits in its
    // eventfd's counter).
    if (PollRetrying(fds.data(), fds.size(), -1) < 0) {
      Log(LogLevel::kError, "irqfd resampler: poll: %s", strerror(errno));
      return;
    }
    if (fds[0].revents) return;
    for (size_t i = 1; i < fds.size(); i++) {
      if (fds[i].revents & POLLIN) watched[i - 1]->Resampled();
    }
  }
}

}  // namespace tvmm
