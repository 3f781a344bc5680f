// SPDX-License-Identifier: GPL-2.0
// The measured launch of a trusted VM on KVM_X86_SW_PROTECTED_VM, through
// this project's KVM extension (Documentation/virt/kvm/x86/
// sw-tvm-measured-launch.rst): the staged image's pages become private,
// are added with KVM_TVM_ADD_MEASURED_PAGES in ascending order, and the
// launch is finalized before any vCPU runs.
#ifndef TVMM_LAUNCH_SW_TVM_H_
#define TVMM_LAUNCH_SW_TVM_H_

#include "absl/status/statusor.h"
#include "kvm/kvm.h"
#include "launch/launch_image.h"

namespace tvmm {

// Whether this KVM can run trusted VMs: the VM type, the measured launch
// and in-place-converting guest_memfd.  Asked before any VM exists; the
// error names --tvm and what is missing.
absl::Status CheckSwTvmSupport(const Kvm& kvm);

// Makes every page of @image private in @vm (its RAM bound to guest_memfd
// memslots) and adds it measured: kernel, initrd, boot parameters, command
// line, firmware tables and page tables; the rest of RAM stays shared, for
// the guest's devices (README, "--tvm").  Finalizes the launch and returns
// KVM's digest, which must equal the image's own, and the ranges made
// private.
absl::StatusOr<TrustedLaunch> LaunchSwTvm(const Vm& vm, const LaunchImage& image);

}  // namespace tvmm

#endif  // TVMM_LAUNCH_SW_TVM_H_
