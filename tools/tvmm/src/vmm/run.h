// SPDX-License-Identifier: GPL-2.0
// `tvmm run`: builds the VM described by a VmConfig and runs it to its end.
#ifndef TVMM_VMM_RUN_H_
#define TVMM_VMM_RUN_H_

#include "cli/config.h"

namespace tvmm {

// Exit statuses of `tvmm run`.
inline constexpr int kExitGuestEnded = 0;   // the guest rebooted or powered off
inline constexpr int kExitVmmError = 1;     // tvmm could not build or run the VM
inline constexpr int kExitUsage = 2;        // bad flag or guest image
inline constexpr int kExitGuestCrashed = 3;  // triple fault, emulation failure

int RunVm(const VmConfig& config);

}  // namespace tvmm

#endif  // TVMM_VMM_RUN_H_
