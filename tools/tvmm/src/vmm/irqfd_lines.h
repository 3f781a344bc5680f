// SPDX-License-Identifier: GPL-2.0
// Interrupt lines through KVM irqfds.  A level (Set(), the virtio-mmio
// lines) is a resampling irqfd: raising it signals the irqfd, KVM holds the
// GSI up until the guest's EOI, then lowers it and signals the line's
// resample eventfd, and a thread here raises it again if the device still
// holds it up.  Lowering it costs nothing: the EOI does.  So an interrupt
// costs its device one eventfd write and the vCPU that acknowledges it no
// system call at all (KVM_IRQ_LINE took one ioctl up and one down, the
// second on the vCPU thread).  An edge (Pulse(), the serial port's ISA
// line) stays KVM_IRQ_LINE: an irqfd cannot be both.
#ifndef TVMM_VMM_IRQFD_LINES_H_
#define TVMM_VMM_IRQFD_LINES_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "devices/bus.h"
#include "kvm/kvm.h"
#include "util/fd.h"

namespace tvmm {

// The one interrupt-line factory of a VM: with @use_irqfds false, or
// without KVM_CAP_IRQFD_RESAMPLE, every line is KVM_IRQ_LINE.
class IrqfdLines : public IrqLineFactory {
 public:
  // @vm must outlive this.
  static absl::StatusOr<std::unique_ptr<IrqfdLines>> Create(const Vm& vm, bool use_irqfds);
  // Stops the resampler thread and removes the irqfds.
  ~IrqfdLines() override;

  // A line for GSI @irq through KVM_IRQ_LINE (for the platform devices,
  // whose ISA lines are edges).
  IrqLine* Line(uint32_t irq) override { return Get(irq, false); }
  // A level-triggered line for GSI @irq, made on first use, before
  // Start(): a resampling irqfd if irqfds() (if KVM refuses it, or after
  // Start(), KVM_IRQ_LINE, logged), else KVM_IRQ_LINE.
  IrqLine* LevelLine(uint32_t irq) { return Get(irq, irqfds_); }
  bool irqfds() const { return irqfds_; }
  // Starts watching the resample eventfds (a thread, if any line has one).
  absl::Status Start();

  struct Token {};  // for std::make_unique in Create() only
  IrqfdLines(Token, const Vm& vm, bool irqfds);

 private:
  class LevelIrq;
  IrqLine* Get(uint32_t irq, bool irqfd);
  void ResampleLoop();

  const Vm& vm_;
  const bool irqfds_;
  std::mutex mu_;
  std::map<uint32_t, std::unique_ptr<LevelIrq>> lines_;
  bool started_ = false;
  UniqueFd stop_;
  std::thread resampler_;
};

}  // namespace tvmm

#endif  // TVMM_VMM_IRQFD_LINES_H_
