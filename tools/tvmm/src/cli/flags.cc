// SPDX-License-Identifier: GPL-2.0
#include "cli/flags.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

ABSL_FLAG(std::string, kernel, "", "Linux bzImage to boot (required)");
ABSL_FLAG(std::string, initrd, "", "initramfs to load next to the kernel");
ABSL_FLAG(std::string, cmdline, "", "kernel command line (tvmm adds its devices)");
ABSL_FLAG(std::string, memory, "512M", "guest RAM: a size with K, M or G, a multiple of 2M");
ABSL_FLAG(std::string, cpus, "1", "number of vCPUs, 1..255");
ABSL_FLAG(std::string, disk, "",
          "virtio-blk disk as path[,ro]; repeat the flag for more disks (up to 16)");
ABSL_FLAG(std::string, vsock, "", "add a virtio-vsock device with this guest CID");
ABSL_FLAG(bool, rng, false, "add a virtio-rng device");
ABSL_FLAG(std::string, memory_backend, "",
          "anon, memfd, hugetlb or guest_memfd (default: guest_memfd when KVM can run a VM "
          "from it, else anon)");

namespace tvmm {

absl::StatusOr<std::vector<std::string>> PrepareRunArgs(const std::vector<std::string>& args,
                                                        std::vector<std::string>* disks) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (tvmm run takes only flags)"));
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    std::replace(name.begin(), name.end(), '-', '_');
    if (name == "help" || name == "helpfull" || name == "helpshort") {
      out.push_back("--" + name);
      continue;
    }
    if (name == "disk") {
      if (eq != std::string::npos) {
        disks->push_back(body.substr(eq + 1));
      } else if (i + 1 < args.size()) {
        disks->push_back(args[++i]);
      } else {
        return absl::InvalidArgumentError("--disk: missing value (path[,ro])");
      }
      continue;
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (!flag || name == "flagfile" || name == "fromenv" || name == "tryfromenv" ||
        name == "undefok") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "' (see tvmm run --help)"));
    }
    out.push_back(absl::StrCat("--", name, eq == std::string::npos ? "" : body.substr(eq)));
    // "--flag value": keep the value with its flag (bools take none).
    if (eq == std::string::npos && !flag->IsOfType<bool>()) {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": missing value"));
      out.back() = absl::StrCat(out.back(), "=", args[++i]);
    }
  }
  return out;
}

RunFlags CurrentRunFlags(std::vector<std::string> disks) {
  RunFlags flags;
  flags.kernel = absl::GetFlag(FLAGS_kernel);
  flags.initrd = absl::GetFlag(FLAGS_initrd);
  flags.cmdline = absl::GetFlag(FLAGS_cmdline);
  flags.memory = absl::GetFlag(FLAGS_memory);
  flags.cpus = absl::GetFlag(FLAGS_cpus);
  flags.disks = std::move(disks);
  flags.vsock = absl::GetFlag(FLAGS_vsock);
  flags.rng = absl::GetFlag(FLAGS_rng);
  flags.memory_backend = absl::GetFlag(FLAGS_memory_backend);
  return flags;
}

}  // namespace tvmm
