// SPDX-License-Identifier: GPL-2.0
// Command line of `tvmm run`: Abseil flags, plus what Abseil does not do the
// way lkvm and cloud-hypervisor users expect (dashes in flag names,
// repeatable --disk, exit status 2 with one clear message on any error).
#ifndef TVMM_CLI_FLAGS_H_
#define TVMM_CLI_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/config.h"

namespace tvmm {

// Rewrites @args (the arguments after "run") for absl::ParseCommandLine:
// "--memory-backend" becomes "--memory_backend", every --disk value is moved
// into *disks.  Fails on unknown flags and positional arguments.
absl::StatusOr<std::vector<std::string>> PrepareRunArgs(const std::vector<std::string>& args,
                                                        std::vector<std::string>* disks);

// The Abseil flags, after parsing, as RunFlags.
RunFlags CurrentRunFlags(std::vector<std::string> disks);

}  // namespace tvmm

#endif  // TVMM_CLI_FLAGS_H_
