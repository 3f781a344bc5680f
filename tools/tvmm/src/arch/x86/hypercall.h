// SPDX-License-Identifier: GPL-2.0
// Hypercalls that KVM hands to tvmm (KVM_EXIT_HYPERCALL).  tvmm enables
// one, for trusted VMs only: KVM_HC_MAP_GPA_RANGE, with which the guest
// makes its own memory private or shared (Documentation/virt/kvm/x86/
// hypercalls.rst).
#ifndef TVMM_ARCH_X86_HYPERCALL_H_
#define TVMM_ARCH_X86_HYPERCALL_H_

#include <cstdint>

#include "absl/types/span.h"
#include "arch/machine.h"

namespace tvmm::x86 {

// -EBUSY, which KVM's hypercall ABI has no name for: a page of the range
// is in use by a device (a queue's rings, a request in flight) or still
// referenced by the host kernel; the guest may retry once it is not.
inline constexpr int64_t kHypercallBusy = -16;

// The guest's RAX for hypercall @nr with arguments @args (a0, a1, a2, ...):
// for KVM_HC_MAP_GPA_RANGE (a0 GPA, a1 number of 4 KiB pages, a2
// attributes: the page-size hint and KVM_MAP_GPA_RANGE_ENCRYPTED, which
// asks for private), 0 once converted, or, by @services.convert's answer:
//   -KVM_EINVAL   attributes with other bits or both page-size bits; the
//                 conversion's InvalidArgument (not guest RAM, or over two
//                 RAM regions);
//   -KVM_EPERM    its PermissionDenied (KVM refused: a measured page
//                 cannot become shared);
//   kHypercallBusy (-16) its Unavailable, as above;
//   -KVM_ENOSYS   another hypercall, or no @services.convert.
// Any other answer is returned as an error, which ends the VM.
absl::StatusOr<uint64_t> HandleHypercall(uint64_t nr, absl::Span<const uint64_t> args,
                                         const ExitServices& services);

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_HYPERCALL_H_
