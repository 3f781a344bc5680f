// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/hypercall.h"

#include <linux/kvm_para.h>

#include "absl/status/status.h"

namespace tvmm::x86 {

absl::StatusOr<uint64_t> HandleHypercall(uint64_t nr, absl::Span<const uint64_t> args,
                                         const ExitServices& services) {
  if (nr != KVM_HC_MAP_GPA_RANGE || !services.convert || args.size() < 3)
    return static_cast<uint64_t>(-KVM_ENOSYS);
  const uint64_t gpa = args[0], npages = args[1], attrs = args[2];
  constexpr uint64_t kPageSizes = KVM_MAP_GPA_RANGE_PAGE_SZ_2M | KVM_MAP_GPA_RANGE_PAGE_SZ_1G;
  // KVM checked that the GPA is page-aligned, that there are pages and
  // that they do not wrap the address space; not the attributes.
  if ((attrs & ~(kPageSizes | KVM_MAP_GPA_RANGE_ENCRYPTED)) || (attrs & kPageSizes) == kPageSizes ||
      npages > (UINT64_MAX >> 12)) {
    return static_cast<uint64_t>(-KVM_EINVAL);
  }
  absl::Status s = services.convert(gpa, npages << 12, attrs & KVM_MAP_GPA_RANGE_ENCRYPTED);
  if (s.ok()) return 0;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return static_cast<uint64_t>(-KVM_EINVAL);
    case absl::StatusCode::kPermissionDenied:
      return static_cast<uint64_t>(-KVM_EPERM);
    case absl::StatusCode::kUnavailable:
      return static_cast<uint64_t>(kHypercallBusy);
    default:
      return s;
  }
}

}  // namespace tvmm::x86
