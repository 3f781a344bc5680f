// SPDX-License-Identifier: GPL-2.0
// x86's vCPU and system ioctls: registers, CPUID, MSRs, LAPIC.  The generic
// wrappers (kvm/kvm.h) know no architecture; these use their Ioctl().
#ifndef TVMM_ARCH_X86_VCPU_H_
#define TVMM_ARCH_X86_VCPU_H_

#include <linux/kvm.h>

#include <vector>

#include "absl/status/statusor.h"
#include "kvm/kvm.h"

namespace tvmm::x86 {

absl::Status GetRegs(const Vcpu& vcpu, kvm_regs* regs);
absl::Status SetRegs(const Vcpu& vcpu, const kvm_regs& regs);
absl::Status GetSregs(const Vcpu& vcpu, kvm_sregs* sregs);
absl::Status SetSregs(const Vcpu& vcpu, const kvm_sregs& sregs);
absl::Status SetFpu(const Vcpu& vcpu, const kvm_fpu& fpu);
absl::Status SetCpuid(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& entries);
// Fails naming the first MSR that KVM refused.
absl::Status SetMsrs(const Vcpu& vcpu, const std::vector<kvm_msr_entry>& msrs);
absl::Status GetLapic(const Vcpu& vcpu, kvm_lapic_state* lapic);
absl::Status SetLapic(const Vcpu& vcpu, const kvm_lapic_state& lapic);

absl::StatusOr<std::vector<kvm_cpuid_entry2>> GetSupportedCpuid(const Kvm& kvm);

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_VCPU_H_
