// SPDX-License-Identifier: GPL-2.0
// The CPU topology that a tvmm guest sees in CPUID: one package of as many
// cores as the VM has vCPUs, one thread per core, APIC ID = vCPU index.
// KVM_GET_SUPPORTED_CPUID leaves topology to the VMM (it zeroes leaves 0xB,
// 0x1F and 0x8000001E) and passes the host's counts in leaves 1, 4,
// 0x80000008 and 0x8000001D, so without this a 12-vCPU guest on a 2-core
// host believes it has 6 packages.  A pure function over the entries.
#ifndef TVMM_ARCH_X86_CPUID_H_
#define TVMM_ARCH_X86_CPUID_H_

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace tvmm::x86 {

// Rewrites @entries (KVM_GET_SUPPORTED_CPUID's, for one vCPU) to describe
// vCPU @apic_id of @ncpus (1..254):
//   leaf 1           initial APIC ID, logical processor count, HTT
//   leaf 4           (Intel) cores per package; L1/L2 private, L3 shared
//   leaves 0xB, 0x1F the SMT and core levels and the x2APIC ID, added as
//                    subleaves 0..2 if the maximum basic leaf reaches them
//   0x80000001       (AMD) CmpLegacy when there is more than one core
//   0x80000008       (AMD) core count and APIC ID size
//   0x8000001D       (AMD) L1/L2 private, L3 shared
//   0x8000001E       (AMD) extended APIC ID, core ID, one node
// and drops 0x80000026.  Everything else is left as it is, and so is
// everything for @ncpus outside 1..254 or @apic_id not below it.
// Limits of the old leaves: on an Intel host whose maximum basic leaf is
// below 0xB (none with x2APIC), more than 64 vCPUs read as 4 threads per
// core (leaf 4 counts 64 cores at most); Linux ignores 0x8000001D on AMD
// family 17h models up to 0x1F and on Hygon (it puts 8 cores per L3), and
// on Hygon 6.1 puts 64 APIC IDs in a package.
void SetTopology(std::vector<kvm_cpuid_entry2>& entries, uint32_t apic_id, uint32_t ncpus);

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_CPUID_H_
