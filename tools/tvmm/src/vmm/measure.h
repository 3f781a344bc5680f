// SPDX-License-Identifier: GPL-2.0
// What `tvmm run --tvm` and `tvmm measure` share: the initial image of a
// trusted VM, staged and measured the same way, with or without KVM.
#ifndef TVMM_VMM_MEASURE_H_
#define TVMM_VMM_MEASURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "arch/machine.h"
#include "cli/config.h"
#include "launch/launch_image.h"

namespace tvmm {

// The virtio-mmio slots of @config's devices, in the order tvmm creates
// them: disks, rng, vsock.  The guest names disks in this order, and a
// trusted VM's firmware tables, which describe the slots, are measured.
std::vector<VirtioSlot> PlanVirtioSlots(const Machine& machine, const VmConfig& config);

// The image LoadGuest() writes for @config, staged (PrepareImage() done).
absl::StatusOr<std::unique_ptr<LaunchImage>> StageImage(Machine& machine, const VmConfig& config);

// `tvmm measure`: the launch digest that `tvmm run --tvm` with @config
// gets from KVM, computed from the images alone.
absl::StatusOr<LaunchDigest> MeasureLaunch(const VmConfig& config);

// {"algorithm": "sha384", "digest": "<hex>", "pages": N} into @path.
absl::Status WriteDigestJson(const std::string& path, const LaunchDigest& digest);

}  // namespace tvmm

#endif  // TVMM_VMM_MEASURE_H_
