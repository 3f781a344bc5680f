// SPDX-License-Identifier: GPL-2.0
// x86-64 machine: Linux 64-bit boot protocol, in-kernel LAPIC/IOAPIC/PIT,
// ACPI (hardware-reduced) describing CPUs and devices, COM1, i8042 reset,
// boot timer, virtio-mmio devices in the 32-bit MMIO hole.
#include "arch/machine.h"

#include <linux/kvm_para.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/bzimage.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/hypercall.h"
#include "arch/x86/layout.h"
#include "arch/x86/vcpu.h"
#include "devices/i8042.h"
#include "launch/sw_tvm.h"
#include "util/status.h"

namespace tvmm {
namespace x86 {
namespace {

// No i8042 options: the FADT says there is no 8042, so Linux does not probe
// one (tvmm's i8042 only takes the reset command of reboot=k).
constexpr char kDefaultCmdline[] = "console=ttyS0 reboot=k panic=-1 pci=off";

constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint64_t kMiscEnableFastString = 1;
constexpr uint32_t kApicLvt0 = 0x350, kApicLvt1 = 0x360;
constexpr uint32_t kApicModeExtInt = 7, kApicModeNmi = 4;

class X86Machine : public Machine {
 public:
  absl::Status PrepareImage(const VmConfig& config) override {
    // The guest images and the flags that size them are the user's.
    absl::StatusOr<BzImage> image = LoadBzImage(config.kernel);
    if (!image.ok()) return UsageError(image.status());
    image_ = *std::move(image);
    if (!config.initrd.empty()) {
      absl::StatusOr<LoadSource> initrd = LoadSource::Open(config.initrd);
      if (!initrd.ok()) {
        return UsageError(absl::Status(initrd.status().code(),
                                       absl::StrCat("--initrd: ", initrd.status().message())));
      }
      initrd_ = *std::move(initrd);
    }
    // The command line is checked in full once the devices are known.
    TVMM_RETURN_IF_ERROR(UsageError(ValidateBoot(image_, initrd_.size(), "", config.memory_bytes)));
    ncpus_ = config.cpus;
    ram_size_ = config.memory_bytes;
    tvm_ = config.tvm;
    return absl::OkStatus();
  }

  absl::Status Prepare(const Kvm& kvm, const VmConfig& config) override {
    for (long cap : {KVM_CAP_IRQCHIP, KVM_CAP_PIT2, KVM_CAP_USER_MEMORY2, KVM_CAP_IMMEDIATE_EXIT}) {
      if (!kvm.CheckExtension(cap)) {
        return absl::FailedPreconditionError(
            absl::StrCat("/dev/kvm lacks capability ", cap, " that tvmm needs"));
      }
    }
    TVMM_RETURN_IF_ERROR(PrepareImage(config));
    TVMM_ASSIGN_OR_RETURN(cpuid_, GetSupportedCpuid(kvm));
    // KVM emulates the TSC-deadline timer but leaves it out of the
    // supported CPUID; without it Linux calibrates the LAPIC timer against
    // the PIT, which fails when the host is slow or busy (nested guests)
    // and leaves the APs on broadcast ticks.
    tsc_deadline_ = kvm.CheckExtension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    return absl::OkStatus();
  }

  // A trusted VM is a software-protected one: private memory in
  // guest_memfd and this project's measured launch (the only x86 TVM type
  // that needs no hardware).
  unsigned long VmType(bool tvm) const override {
    return tvm ? KVM_X86_SW_PROTECTED_VM : KVM_X86_DEFAULT_VM;
  }

  absl::Status CheckTrustedVmSupport(const Kvm& kvm) const override {
    return CheckSwTvmSupport(kvm);
  }

  absl::StatusOr<MemoryBacking> CreateTrustedVmBacking(const Vm& vm, uint64_t size) const override {
    return CreateTvmBacking(vm, size);
  }

  // The guest may convert its memory (KVM_HC_MAP_GPA_RANGE): KVM hands
  // each request to HandleExit().
  absl::StatusOr<TrustedLaunch> LaunchTrustedVm(const Vm& vm,
                                                const LaunchImage& image) const override {
    kvm_enable_cap cap = {};
    cap.cap = KVM_CAP_EXIT_HYPERCALL;
    cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
    TVMM_RETURN_IF_ERROR(vm.Ioctl(KVM_ENABLE_CAP, &cap, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL)"));
    return LaunchSwTvm(vm, image);
  }

  std::vector<RamRange> RamLayout(uint64_t ram_size) const override {
    x86::RamLayout ram = SplitRam(ram_size);
    std::vector<RamRange> ranges = {{0, ram.low_size, 0}};
    if (ram.high_size) ranges.push_back({k4G, ram.high_size, ram.low_size});
    return ranges;
  }

  absl::Status SetupVm(const Vm& vm) override {
    TVMM_RETURN_IF_ERROR(vm.Ioctl(KVM_SET_TSS_ADDR, kTssAddr, "KVM_SET_TSS_ADDR"));
    uint64_t identity = kIdentityMapAddr;
    TVMM_RETURN_IF_ERROR(
        vm.Ioctl(KVM_SET_IDENTITY_MAP_ADDR, &identity, "KVM_SET_IDENTITY_MAP_ADDR"));
    TVMM_RETURN_IF_ERROR(vm.Ioctl(KVM_CREATE_IRQCHIP, 0ul, "KVM_CREATE_IRQCHIP"));
    kvm_pit_config pit = {};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;
    return vm.Ioctl(KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
  }

  absl::StatusOr<std::shared_ptr<Serial>> AddPlatformDevices(Bus& pio, Bus& mmio,
                                                             IrqLineFactory& irqs,
                                                             const PlatformHooks& hooks) override {
    auto serial = std::make_shared<Serial>(hooks.console_output, irqs.Line(kSerialIrq));
    TVMM_RETURN_IF_ERROR(pio.Register(kSerialPort, 8, serial));
    TVMM_RETURN_IF_ERROR(pio.Register(kI8042Port, 5, std::make_shared<I8042>(hooks.on_reset)));
    TVMM_RETURN_IF_ERROR(pio.Register(
        kBootTimerPort, 1, std::make_shared<BootTimer>(hooks.start, hooks.on_boot_time)));
    return serial;
  }

  uint64_t VirtioMmioBase(int index) const override {
    return kVirtioMmioBase + static_cast<uint64_t>(index) * kVirtioMmioStride;
  }
  uint32_t VirtioIrq(int index) const override { return kFirstVirtioIrq + index; }

  std::string KernelCmdline(const std::string& user) const override {
    std::string cmdline = kDefaultCmdline;
    if (!user.empty()) absl::StrAppend(&cmdline, " ", user);
    return cmdline;
  }

  absl::Status LoadGuest(const GuestMemory& mem, const std::string& cmdline,
                         absl::Span<const VirtioSlot> virtio) override {
    // Kernel and initrd are read from their files straight into guest
    // memory (no copy on tvmm's heap: holding one cost 12 MiB of RSS), and
    // the files closed.
    BzImage image = std::exchange(image_, {});
    LoadSource initrd = std::exchange(initrd_, {});
    TVMM_ASSIGN_OR_RETURN(uint64_t rsdp, WriteAcpiTables(mem, ncpus_, virtio));
    // LoadLinux() checks the command line and sizes against the image.
    if (absl::Status s = LoadLinux(mem, image, initrd, cmdline, ram_size_, rsdp, tvm_); !s.ok())
      return absl::IsInvalidArgument(s) ? UsageError(s) : s;
    return WriteGdtAndPageTables(mem);
  }

  absl::StatusOr<bool> HandleExit(const Vcpu& vcpu, const ExitServices& services) override {
    kvm_run* run = vcpu.run();
    if (run->exit_reason == KVM_EXIT_HYPERCALL) {
      const auto& a = run->hypercall.args;
      const uint64_t args[] = {a[0], a[1], a[2], a[3], a[4], a[5]};
      TVMM_ASSIGN_OR_RETURN(run->hypercall.ret, HandleHypercall(run->hypercall.nr, args, services));
      return true;
    }
    if (run->exit_reason != KVM_EXIT_IO) return false;
    Bus& pio = *services.pio;
    // The data area is inside the kvm_run mapping, at an offset KVM chose;
    // string I/O (REP INS/OUTS) has count items of size bytes there.
    uint8_t* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
      absl::Span<uint8_t> span(data, run->io.size);
      if (run->io.direction == KVM_EXIT_IO_OUT)
        pio.Write(run->io.port, span);
      else
        pio.Read(run->io.port, span);
    }
    return true;
  }

  std::string DescribeVcpu(const Vcpu& vcpu) const override {
    kvm_regs regs;
    if (!GetRegs(vcpu, &regs).ok()) return "registers unavailable";
    std::string out = absl::StrCat("rip 0x", absl::Hex(regs.rip), " rsp 0x", absl::Hex(regs.rsp),
                                   " rflags 0x", absl::Hex(regs.rflags));
    kvm_sregs s;
    if (GetSregs(vcpu, &s).ok()) {
      absl::StrAppend(&out, " cs 0x", absl::Hex(s.cs.selector), " ss 0x", absl::Hex(s.ss.selector),
                      " cr0 0x", absl::Hex(s.cr0), " cr2 0x", absl::Hex(s.cr2), " cr3 0x",
                      absl::Hex(s.cr3), " cr4 0x", absl::Hex(s.cr4), " efer 0x",
                      absl::Hex(s.efer), " idt 0x", absl::Hex(s.idt.base), "/0x",
                      absl::Hex(s.idt.limit), " gs.base 0x", absl::Hex(s.gs.base));
    }
    return out;
  }

  absl::Status SetupVcpu(const Vcpu& vcpu) override {
    const uint32_t id = vcpu.id();
    std::vector<kvm_cpuid_entry2> cpuid = cpuid_;
    SetTopology(cpuid, id, ncpus_);
    for (kvm_cpuid_entry2& e : cpuid) {
      // A trusted VM is told that it may convert its memory (tvmm answers
      // KVM_HC_MAP_GPA_RANGE), as the hypercall's documentation asks.
      if (e.function == KVM_CPUID_FEATURES && tvm_) e.eax |= 1u << KVM_FEATURE_HC_MAP_GPA_RANGE;
      if (e.function != 1) continue;
      e.ecx |= 1u << 31;  // running on a hypervisor
      if (tsc_deadline_) e.ecx |= 1u << 24;
    }
    TVMM_RETURN_IF_ERROR(SetCpuid(vcpu, cpuid));
    TVMM_RETURN_IF_ERROR(SetMsrs(vcpu, {{kMsrMiscEnable, 0, kMiscEnableFastString}}));

    kvm_fpu fpu = {};
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    TVMM_RETURN_IF_ERROR(SetFpu(vcpu, fpu));

    // LINT0 takes the 8259's ExtINT (until Linux, finding no 8259 in the
    // MADT, masks it), LINT1 NMIs, as firmware leaves them.
    kvm_lapic_state lapic;
    TVMM_RETURN_IF_ERROR(GetLapic(vcpu, &lapic));
    auto set_lvt = [&](uint32_t reg, uint32_t mode) {
      uint32_t v;
      std::memcpy(&v, lapic.regs + reg, 4);
      v = (v & ~0x700u) | (mode << 8);
      std::memcpy(lapic.regs + reg, &v, 4);
    };
    set_lvt(kApicLvt0, kApicModeExtInt);
    set_lvt(kApicLvt1, kApicModeNmi);
    TVMM_RETURN_IF_ERROR(SetLapic(vcpu, lapic));

    // Application processors wait for INIT/SIPI in the in-kernel LAPIC.
    if (id != 0) return absl::OkStatus();

    kvm_sregs sregs;
    TVMM_RETURN_IF_ERROR(GetSregs(vcpu, &sregs));
    kvm_segment code = {};
    code.base = 0;
    code.limit = 0xfffff;
    code.selector = kBootCs;
    code.type = 0xb;  // execute/read, accessed
    code.present = 1;
    code.s = 1;
    code.l = 1;
    code.g = 1;
    kvm_segment data = code;
    data.selector = kBootDs;
    data.type = 0x3;  // read/write, accessed
    data.l = 0;
    data.db = 1;
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.gdt.base = kGdtAddr;
    sregs.gdt.limit = 4 * 8 - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    constexpr uint64_t kCr0Pe = 1, kCr0Et = 1 << 4, kCr0Pg = 1ull << 31;
    constexpr uint64_t kCr4Pae = 1 << 5;
    constexpr uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10;
    sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    sregs.cr3 = kPml4Addr;
    sregs.cr4 = kCr4Pae;
    sregs.efer = kEferLme | kEferLma;
    TVMM_RETURN_IF_ERROR(SetSregs(vcpu, sregs));

    kvm_regs regs = {};
    regs.rflags = 0x2;
    regs.rip = kHighMemory + 0x200;  // startup_64
    regs.rsi = kZeroPageAddr;
    regs.rsp = regs.rbp = kBootStackTop;
    return SetRegs(vcpu, regs);
  }

 private:
  BzImage image_;
  LoadSource initrd_;
  std::vector<kvm_cpuid_entry2> cpuid_;
  bool tsc_deadline_ = false;
  uint32_t ncpus_ = 1;
  uint64_t ram_size_ = 0;
  bool tvm_ = false;
};

}  // namespace
}  // namespace x86

std::unique_ptr<Machine> CreateMachine() { return std::make_unique<x86::X86Machine>(); }

}  // namespace tvmm
