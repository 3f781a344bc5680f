// SPDX-License-Identifier: GPL-2.0
// tvmm: a small VMM for tvmm's KVM extensions.
//   tvmm run --kernel bzImage [flags]       boot a VM (--tvm: a trusted VM)
//   tvmm measure --kernel bzImage [flags]   the launch digest of `run --tvm`
//   tvmm ctl --api-socket P list|pause|...  control a running tvmm
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
#include "vmm/api.h"
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
    "           [--tvm [--digest-json F]] [--name N] [--api-socket P]\n"
    "           [--next --kernel bzImage [flags]]...   more VMs in the same process\n"
    "  tvmm measure [the same flags]   the launch digest `tvmm run --tvm` gets, without KVM\n"
    "  tvmm ctl --api-socket P list | pause NAME | resume NAME | stop NAME\n"
    "  tvmm version\n"
    "\n"
    "tvmm run --help lists the flags.";

int Usage(FILE* out) {
  fprintf(out, "%s\n", kUsage);
  return out == stderr ? kExitUsage : 0;
}

constexpr char kCtlUsage[] =
    "Usage: tvmm ctl --api-socket PATH list | pause NAME | resume NAME | stop NAME\n"
    "Sends one request to a `tvmm run --api-socket PATH` and prints the reply.\n"
    "Exit status: 0 ok, 1 the reply is an error or the socket failed, 2 bad usage.\n";

// `tvmm ctl`: one request to a running tvmm's API socket.
int Ctl(const std::vector<std::string>& args) {
  std::string socket;
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fputs(kCtlUsage, stdout);
      return 0;
    }
    if (a == "--api-socket" || a == "--api_socket") {
      if (i + 1 >= args.size()) {
        fprintf(stderr, "tvmm ctl: --api-socket: missing value\n");
        return kExitUsage;
      }
      socket = args[++i];
    } else if (a.rfind("--api-socket=", 0) == 0 || a.rfind("--api_socket=", 0) == 0) {
      socket = a.substr(13);
    } else if (a.rfind("-", 0) == 0) {
      fprintf(stderr, "tvmm ctl: unknown flag '%s'\n%s", a.c_str(), kCtlUsage);
      return kExitUsage;
    } else {
      words.push_back(a);
    }
  }
  if (socket.empty()) {
    fprintf(stderr, "tvmm ctl: --api-socket: required\n%s", kCtlUsage);
    return kExitUsage;
  }
  bool ok = (words.size() == 1 && words[0] == "list") ||
            (words.size() == 2 &&
             (words[0] == "pause" || words[0] == "resume" || words[0] == "stop"));
  if (!ok) {
    fprintf(stderr, "tvmm ctl: expected list, pause NAME, resume NAME or stop NAME\n%s",
            kCtlUsage);
    return kExitUsage;
  }
  std::string request = words[0];
  if (words.size() == 2) request += " " + words[1];
  absl::StatusOr<std::string> reply = tvmm::ApiCall(socket, request);
  if (!reply.ok()) {
    fprintf(stderr, "tvmm ctl: %s\n", std::string(reply.status().message()).c_str());
    return 1;
  }
  // Every line but the last is data; the last is "ok" or "error: ...".
  std::string body = reply->substr(0, reply->size() - 1);
  size_t last = body.rfind('\n');
  std::string status = last == std::string::npos ? body : body.substr(last + 1);
  fwrite(reply->data(), 1, last == std::string::npos ? 0 : last + 1, stdout);
  if (status != "ok") {
    fprintf(stderr, "tvmm ctl: %s\n", status.c_str());
    return 1;
  }
  return 0;
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
  if (command == "ctl") return Ctl(std::vector<std::string>(argv + 2, argv + argc));
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
  if (command == "measure") {
    if (parsed->vms.size() > 1 || !parsed->api_socket.empty()) {
      fprintf(stderr, "tvmm measure: %s\n",
              parsed->vms.size() > 1 ? "--next: measures one VM" : "--api-socket: runs no VM");
      return kExitUsage;
    }
    // What `measure` computes is `run --tvm`'s: the flags are the same.
    parsed->vms[0].tvm = true;
  }
  absl::StatusOr<tvmm::RunPlan> plan = tvmm::ParseRunPlan(*parsed);
  if (!plan.ok()) {
    fprintf(stderr, "%s: %s\n", who.c_str(), std::string(plan.status().message()).c_str());
    return kExitUsage;
  }
  tvmm::SetLogLevel(plan->log_level);
  if (command == "measure") return Measure(plan->vms[0]);
  return tvmm::RunVms(*plan);
}
