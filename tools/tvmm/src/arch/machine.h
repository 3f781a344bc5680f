// SPDX-License-Identifier: GPL-2.0
// The architecture boundary: everything tvmm's VM runner needs to know about
// a machine: its memory layout and images, its platform devices and
// firmware tables, its vCPUs' registers and the exits only it has.  x86-64 implements it today (arch/x86/machine.cc); riscv64 (for
// CoVE) is another implementation, not a rewrite.
#ifndef TVMM_ARCH_MACHINE_H_
#define TVMM_ARCH_MACHINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "cli/config.h"
#include "devices/boot_timer.h"
#include "devices/bus.h"
#include "devices/serial.h"
#include "kvm/kvm.h"
#include "launch/launch_image.h"
#include "memory/backend.h"
#include "memory/guest_memory.h"

namespace tvmm {

// One range of guest RAM and where it lives in the RAM backing.
struct RamRange {
  uint64_t gpa;
  uint64_t size;
  uint64_t backing_offset;
};

// A virtio-mmio device's place: registers and interrupt line.
struct VirtioSlot {
  uint64_t base;
  uint64_t size;
  uint32_t irq;
};

// What the platform devices report to the VM runner.
struct PlatformHooks {
  Serial::Output console_output;
  std::function<void()> on_reset;  // the guest asked for a reset (reboot)
  BootTimer::Clock::time_point start;
  std::function<void(std::chrono::microseconds)> on_boot_time;
};

// What an architecture's exits may ask of the VM runner.
struct ExitServices {
  Bus* pio;
  // The guest asks to make [gpa, gpa + size) private (@to_private) or
  // shared: KVM's attribute, then tvmm's view (GuestMemory::Convert(),
  // whose errors this returns).  Set for a trusted VM only.
  std::function<absl::Status(uint64_t gpa, uint64_t size, bool to_private)> convert;
};

class Machine {
 public:
  virtual ~Machine() = default;

  // Reads and checks the guest images against the configuration; nothing
  // is created yet.  Errors name the flag at fault.  Needs no KVM (`tvmm
  // measure` stops after it and LoadGuest()).
  virtual absl::Status PrepareImage(const VmConfig& config) = 0;
  // PrepareImage(), then what the machine needs from KVM.
  virtual absl::Status Prepare(const Kvm& kvm, const VmConfig& config) = 0;

  // The VM type for KVM_CREATE_VM: a trusted VM (--tvm) or not.
  virtual unsigned long VmType(bool tvm) const = 0;
  // What a trusted VM needs from KVM, asked before any VM exists; the
  // error names --tvm and what is missing.
  virtual absl::Status CheckTrustedVmSupport(const Kvm& kvm) const = 0;
  // Guest RAM of a trusted VM: memory this machine's trusted VMs can
  // convert between shared and private, shared until the launch.
  virtual absl::StatusOr<MemoryBacking> CreateTrustedVmBacking(const Vm& vm,
                                                               uint64_t size) const = 0;
  // The launch sink's last step for a trusted VM: LoadGuest() wrote
  // @image's staging memory; the machine's launch makes pages of it @vm's
  // measured private memory (which: its choice, returned), adds them and
  // finalizes the launch, before any vCPU exists.
  virtual absl::StatusOr<TrustedLaunch> LaunchTrustedVm(const Vm& vm,
                                                        const LaunchImage& image) const = 0;
  virtual std::vector<RamRange> RamLayout(uint64_t ram_size) const = 0;

  // Interrupt controller and friends, before any vCPU exists.
  virtual absl::Status SetupVm(const Vm& vm) = 0;

  // Platform devices (console, reset, boot timer) on the buses; returns the
  // console, which the runner feeds with terminal input.
  virtual absl::StatusOr<std::shared_ptr<Serial>> AddPlatformDevices(
      Bus& pio, Bus& mmio, IrqLineFactory& irqs, const PlatformHooks& hooks) = 0;

  // Where virtio-mmio device @index goes: base address and IRQ.
  virtual uint64_t VirtioMmioBase(int index) const = 0;
  virtual uint32_t VirtioIrq(int index) const = 0;

  // The command line for the kernel: the machine's defaults, then the user's.
  virtual std::string KernelCmdline(const std::string& user) const = 0;

  // Kernel, initrd, command line and the firmware tables that describe the
  // machine, @virtio devices included, into guest memory.  For a trusted VM
  // (PrepareImage() saw --tvm) @mem is a LaunchImage's staging memory, and
  // the firmware tables tell the guest which of the pages written stay
  // private.
  virtual absl::Status LoadGuest(const GuestMemory& mem, const std::string& cmdline,
                                 absl::Span<const VirtioSlot> virtio) = 0;

  virtual absl::Status SetupVcpu(const Vcpu& vcpu) = 0;

  // An exit only this architecture has (x86: KVM_EXIT_IO, to the PIO bus;
  // KVM_EXIT_HYPERCALL, a trusted VM's conversions): true once handled,
  // false for one it does not know, which the runner then handles or
  // reports.  An error ends the VM.
  virtual absl::StatusOr<bool> HandleExit(const Vcpu& vcpu, const ExitServices& services) = 0;
  // The vCPU's state for an error message ("rip 0x... rsp 0x...").
  virtual std::string DescribeVcpu(const Vcpu& vcpu) const = 0;
};

std::unique_ptr<Machine> CreateMachine();

}  // namespace tvmm

#endif  // TVMM_ARCH_MACHINE_H_
