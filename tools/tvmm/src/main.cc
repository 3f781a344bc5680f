// SPDX-License-Identifier: GPL-2.0
// tvmm: a small VMM for tvmm's KVM extensions.
//   tvmm run --kernel bzImage [flags]       boot a VM (--tvm: a trusted VM)
//   tvmm measure --kernel bzImage [flags]   the launch digest of `run --tvm`
//   tvmm version                            print the version
// Exit status: see README (0 the guest ended normally, 1 tvmm failed,
// 2 bad usage, 3 the guest crashed, 128+N stopped by signal N).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/config.h"
#include "cli/flags.h"
#include "launch/digest.h"
#include "util/log.h"
#include "util/status.h"
#include "vmm/measure.h"
#include "vmm/run.h"

namespace {

constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "tvmm: a VMM for isolated and confidential guests\n"
    "\n"
    "  tvmm run --kernel bzImage [--initrd F] [--cmdline S] [--memory 512M] [--cpus 2]\n"
    "           [--disk path[,ro]]... [--vsock CID] [--rng]\n"
    "           [--memory-backend anon|memfd|hugetlb|guest_memfd] [--log-level L]\n"
    "           [--tvm [--digest-json F]]\n"
    "  tvmm measure [the same flags]   the launch digest `tvmm run --tvm` gets, without KVM\n"
    "  tvmm version\n"
    "\n"
    "tvmm run --help lists the flags.";

int Usage(FILE* out) {
  fprintf(out, "%s\n", kUsage);
  return out == stderr ? kExitUsage : 0;
}

// `tvmm measure`: prints "sha384:<hex>" (and writes --digest-json).
int Measure(const tvmm::VmConfig& config) {
  absl::StatusOr<tvmm::LaunchDigest> digest = tvmm::MeasureLaunch(config);
  absl::Status s = digest.status();
  if (s.ok() && !config.digest_json.empty()) s = tvmm::WriteDigestJson(config.digest_json, *digest);
  if (!s.ok()) {
    fprintf(stderr, "tvmm measure: %s\n", std::string(s.message()).c_str());
    return tvmm::IsUsageError(s) ? kExitUsage : 1;
  }
  printf("sha384:%s\n", tvmm::HexDigest(digest->digest()).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") return Usage(stdout);
  if (command == "version" || command == "--version") {
    printf("tvmm %s\n", TVMM_VERSION);
    return 0;
  }
  if (command != "run" && command != "measure") {
    fprintf(stderr, "tvmm: unknown command '%s'\n\n", command.c_str());
    return Usage(stderr);
  }
  const std::string who = "tvmm " + command;

  std::vector<std::string> args(argv + 2, argv + argc);
  absl::StatusOr<tvmm::RunArgs> parsed = tvmm::ParseRunArgs(args);
  if (!parsed.ok()) {
    fprintf(stderr, "%s: %s\n", who.c_str(), std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->help) {
    fputs(tvmm::RunHelp().c_str(), stdout);
    return 0;
  }
  // What `measure` computes is `run --tvm`'s: the flags are the same.
  if (command == "measure") parsed->flags.tvm = true;
  absl::StatusOr<tvmm::VmConfig> config = tvmm::ParseRunFlags(parsed->flags);
  if (!config.ok()) {
    fprintf(stderr, "%s: %s\n", who.c_str(), std::string(config.status().message()).c_str());
    return kExitUsage;
  }
  tvmm::SetLogLevel(config->log_level);
  if (command == "measure") return Measure(*config);
  return tvmm::RunVm(*config);
}
