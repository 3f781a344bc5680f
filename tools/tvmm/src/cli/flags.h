// SPDX-License-Identifier: GPL-2.0
// The command line of `tvmm run`: each flag as "--name value" or
// "--name=value", with dashes or underscores in the name; booleans alone or
// with true/false/yes/no/1/0; --disk repeatable.  Every error names the flag
// (exit status 2), and the help lists exactly the flags that are accepted.
#ifndef TVMM_CLI_FLAGS_H_
#define TVMM_CLI_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/config.h"

namespace tvmm {

struct RunArgs {
  // One group of flags per VM, "--next" between two: never empty.
  std::vector<RunFlags> vms;
  std::string api_socket;  // empty: no control socket
  bool help = false;  // --help (or -h, --helpfull, --helpshort): print RunHelp()
};

// Parses the arguments after "run".  Fails on unknown flags, positional
// arguments, missing values and booleans that are not booleans; the values
// themselves are checked by ParseRunPlan().  Process flags (--log-level,
// --api-socket) after a --next are refused.
absl::StatusOr<RunArgs> ParseRunArgs(const std::vector<std::string>& args);

// What `tvmm run --help` prints: every flag with its help and default.
std::string RunHelp();

}  // namespace tvmm

#endif  // TVMM_CLI_FLAGS_H_
