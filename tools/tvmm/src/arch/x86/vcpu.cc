// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/vcpu.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm::x86 {

absl::Status GetRegs(const Vcpu& vcpu, kvm_regs* regs) {
  return vcpu.Ioctl(KVM_GET_REGS, regs, "KVM_GET_REGS");
}

absl::Status SetRegs(const Vcpu& vcpu, const kvm_regs& regs) {
  return vcpu.Ioctl(KVM_SET_REGS, const_cast<kvm_regs*>(&regs), "KVM_SET_REGS");
}

absl::Status GetSregs(const Vcpu& vcpu, kvm_sregs* sregs) {
  return vcpu.Ioctl(KVM_GET_SREGS, sregs, "KVM_GET_SREGS");
}

absl::Status SetSregs(const Vcpu& vcpu, const kvm_sregs& sregs) {
  return vcpu.Ioctl(KVM_SET_SREGS, const_cast<kvm_sregs*>(&sregs), "KVM_SET_SREGS");
}

absl::Status SetFpu(const Vcpu& vcpu, const kvm_fpu& fpu) {
  return vcpu.Ioctl(KVM_SET_FPU, const_cast<kvm_fpu*>(&fpu), "KVM_SET_FPU");
}

absl::Status GetLapic(const Vcpu& vcpu, kvm_lapic_state* lapic) {
  return vcpu.Ioctl(KVM_GET_LAPIC, lapic, "KVM_GET_LAPIC");
}

absl::Status SetLapic(const Vcpu& vcpu, const kvm_lapic_state& lapic) {
  return vcpu.Ioctl(KVM_SET_LAPIC, const_cast<kvm_lapic_state*>(&lapic), "KVM_SET_LAPIC");
}

absl::Status SetCpuid(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& entries) {
  size_t bytes = sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2);
  auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buf.get());
  cpuid->nent = entries.size();
  std::copy(entries.begin(), entries.end(), cpuid->entries);
  return vcpu.Ioctl(KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
}

absl::Status SetMsrs(const Vcpu& vcpu, const std::vector<kvm_msr_entry>& msrs) {
  size_t bytes = sizeof(kvm_msrs) + msrs.size() * sizeof(kvm_msr_entry);
  auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* list = reinterpret_cast<kvm_msrs*>(buf.get());
  list->nmsrs = msrs.size();
  std::copy(msrs.begin(), msrs.end(), list->entries);
  // KVM_SET_MSRS returns how many it set, not 0.
  int r = ioctl(vcpu.fd(), KVM_SET_MSRS, list);
  if (r < 0) return ErrnoStatus(absl::StrCat("KVM_SET_MSRS (vCPU ", vcpu.id(), ")"));
  if (static_cast<size_t>(r) != msrs.size()) {
    return absl::InternalError(
        absl::StrCat("KVM_SET_MSRS: MSR 0x", absl::Hex(msrs[r].index), " refused"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<kvm_cpuid_entry2>> GetSupportedCpuid(const Kvm& kvm) {
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    size_t bytes = sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2);
    auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
    auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buf.get());
    cpuid->nent = n;
    if (ioctl(kvm.fd(), KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
      return std::vector<kvm_cpuid_entry2>(cpuid->entries, cpuid->entries + cpuid->nent);
    if (errno != E2BIG) return ErrnoStatus("KVM_GET_SUPPORTED_CPUID");
  }
  return absl::InternalError("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

}  // namespace tvmm::x86
