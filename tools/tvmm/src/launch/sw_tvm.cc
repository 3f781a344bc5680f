// SPDX-License-Identifier: GPL-2.0
#include "launch/sw_tvm.h"

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {

absl::Status CheckSwTvmSupport(const Kvm& kvm) {
#if defined(__x86_64__)
  int types = kvm.CheckExtension(KVM_CAP_VM_TYPES);
  if (!(types & (1 << KVM_X86_SW_PROTECTED_VM))) {
    return UsageError(absl::FailedPreconditionError(
        "--tvm: this KVM has no software-protected VMs (KVM_CAP_VM_TYPES lacks "
        "KVM_X86_SW_PROTECTED_VM: CONFIG_KVM_SW_PROTECTED_VM and the TDP MMU)"));
  }
  if (kvm.CheckExtension(KVM_CAP_TVM_MEASURED_LAUNCH) != 1) {
    return UsageError(absl::FailedPreconditionError(
        "--tvm: this KVM has no measured launch (KVM_CAP_TVM_MEASURED_LAUNCH); load "
        "tvmm's KVM modules"));
  }
  if (kvm.CheckExtension(KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION) != 1) {
    return UsageError(absl::FailedPreconditionError(
        "--tvm: this KVM's guest_memfd cannot convert pages in place "
        "(KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION); load tvmm's KVM modules"));
  }
  // The guest converts its memory with KVM_HC_MAP_GPA_RANGE, which KVM
  // hands to tvmm.
  if (!(kvm.CheckExtension(KVM_CAP_EXIT_HYPERCALL) & (1 << KVM_HC_MAP_GPA_RANGE))) {
    return UsageError(absl::FailedPreconditionError(
        "--tvm: this KVM cannot hand KVM_HC_MAP_GPA_RANGE to tvmm (KVM_CAP_EXIT_HYPERCALL)"));
  }
  return absl::OkStatus();
#else
  return UsageError(absl::UnimplementedError("--tvm: not on this architecture yet"));
#endif
}

#if defined(__x86_64__)
namespace {

absl::Status AddRun(const Vm& vm, const LaunchRun& run) {
  kvm_tvm_measured_pages pages = {};
  pages.gpa = run.gpa;
  pages.size = run.bytes.size();
  pages.uaddr = reinterpret_cast<uint64_t>(run.bytes.data());
  // Pages are added one at a time, the struct written back with what is
  // left: resume after a signal.
  for (;;) {
    if (ioctl(vm.fd(), KVM_TVM_ADD_MEASURED_PAGES, &pages) == 0) return absl::OkStatus();
    int err = errno;
    if (err == EINTR && pages.size) continue;
    return ErrnoStatus(absl::StrCat("KVM_TVM_ADD_MEASURED_PAGES at gpa 0x", absl::Hex(pages.gpa)),
                       err);
  }
}

}  // namespace

absl::StatusOr<TrustedLaunch> LaunchSwTvm(const Vm& vm, const LaunchImage& image) {
  TVMM_ASSIGN_OR_RETURN(LaunchDigest expected, image.Digest());
  std::vector<LaunchRun> runs = image.Runs();
  TrustedLaunch launch;
  for (const LaunchRun& run : runs) {
    kvm_memory_attributes attrs = {};
    attrs.address = run.gpa;
    attrs.size = run.bytes.size();
    attrs.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
    TVMM_RETURN_IF_ERROR(vm.Ioctl(KVM_SET_MEMORY_ATTRIBUTES, &attrs, "KVM_SET_MEMORY_ATTRIBUTES"));
    launch.private_ranges.emplace_back(attrs.address, attrs.size);
  }
  for (const LaunchRun& run : runs) TVMM_RETURN_IF_ERROR(AddRun(vm, run));
  TVMM_RETURN_IF_ERROR(vm.Ioctl(KVM_TVM_FINALIZE, 0ul, "KVM_TVM_FINALIZE"));
  kvm_tvm_measurement m = {};
  TVMM_RETURN_IF_ERROR(vm.Ioctl(KVM_TVM_GET_MEASUREMENT, &m, "KVM_TVM_GET_MEASUREMENT"));
  if (!(m.flags & KVM_TVM_MEASUREMENT_FINALIZED) || m.digest_size != expected.digest().size() ||
      m.nr_pages != expected.pages() ||
      std::memcmp(m.digest, expected.digest().data(), expected.digest().size())) {
    return absl::InternalError(absl::StrCat(
        "KVM's launch digest (", m.nr_pages, " pages) is not tvmm's (", expected.pages(),
        " pages, ", HexDigest(expected.digest()), ")"));
  }
  launch.digest = expected;
  return launch;
}
#else
absl::StatusOr<TrustedLaunch> LaunchSwTvm(const Vm& vm, const LaunchImage& image) {
  return absl::UnimplementedError("measured launch: not on this architecture yet");
}
#endif

}  // namespace tvmm
