// SPDX-License-Identifier: GPL-2.0
// `tvmm run`: the process that builds the VMs of a RunPlan, runs them side
// by side and ends when the last one has.
#ifndef TVMM_VMM_RUN_H_
#define TVMM_VMM_RUN_H_

#include "cli/config.h"

namespace tvmm {

// Exit statuses of `tvmm run`.  With several VMs: 128+N after a stop
// signal, else the first VM's (in flag order) that is not 0.
inline constexpr int kExitGuestEnded = 0;   // rebooted, powered off, or `stop` on the API
inline constexpr int kExitVmmError = 1;     // tvmm could not build or run the VM
inline constexpr int kExitUsage = 2;        // bad flag or guest image
inline constexpr int kExitGuestCrashed = 3;  // triple fault, emulation failure

int RunVms(const RunPlan& plan);

}  // namespace tvmm

#endif  // TVMM_VMM_RUN_H_
