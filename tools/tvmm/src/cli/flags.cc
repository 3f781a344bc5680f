// SPDX-License-Identifier: GPL-2.0
#include "cli/flags.h"

#include <algorithm>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tvmm {
namespace {

struct FlagSpec {
  const char* name;  // as documented, with dashes
  const char* value;  // the value's placeholder; nullptr for a boolean ("1" or "")
  const char* help;
  std::function<void(RunFlags&, std::string)> set;
};

const std::vector<FlagSpec>& Specs() {
  static const std::vector<FlagSpec> specs = {
      {"kernel", "bzImage", "Linux bzImage to boot (required)",
       [](RunFlags& f, std::string v) { f.kernel = std::move(v); }},
      {"initrd", "file", "initramfs to load next to the kernel",
       [](RunFlags& f, std::string v) { f.initrd = std::move(v); }},
      {"cmdline", "string", "kernel command line (tvmm adds its devices')",
       [](RunFlags& f, std::string v) { f.cmdline = std::move(v); }},
      {"memory", "size", "guest RAM: a size with K, M or G, a multiple of 2M, 16M..1024G (512M)",
       [](RunFlags& f, std::string v) { f.memory = std::move(v); }},
      {"cpus", "n", "number of vCPUs, 1..254 (1)",
       [](RunFlags& f, std::string v) { f.cpus = std::move(v); }},
      {"disk", "path[,ro]", "a virtio-blk disk; repeat the flag for more (up to 16)",
       [](RunFlags& f, std::string v) { f.disks.push_back(std::move(v)); }},
      {"vsock", "cid", "a virtio-vsock device with this guest CID (3..4294967294)",
       [](RunFlags& f, std::string v) { f.vsock = std::move(v); }},
      {"rng", nullptr, "a virtio-rng device",
       [](RunFlags& f, std::string v) { f.rng = !v.empty(); }},
      {"memory-backend", "kind",
       "anon, memfd, hugetlb or guest_memfd (default: guest_memfd when KVM can run a VM from "
       "it, else anon)",
       [](RunFlags& f, std::string v) { f.memory_backend = std::move(v); }},
      {"log-level", "level", "error, warning, info or debug (info)",
       [](RunFlags& f, std::string v) { f.log_level = std::move(v); }},
      {"tvm", nullptr,
       "a trusted VM: software-protected, its image measured into private memory; prints "
       "the launch digest",
       [](RunFlags& f, std::string v) { f.tvm = !v.empty(); }},
      {"digest-json", "file", "with --tvm: also write the launch digest to this file as JSON",
       [](RunFlags& f, std::string v) { f.digest_json = std::move(v); }},
  };
  return specs;
}

const FlagSpec* FindSpec(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  for (const FlagSpec& spec : Specs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<RunArgs> ParseRunArgs(const std::vector<std::string>& args) {
  RunArgs out;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (tvmm run takes only flags)"));
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    if (name == "help" || name == "h" || name == "helpfull" || name == "helpshort") {
      out.help = true;
      continue;
    }
    const FlagSpec* spec = FindSpec(name);
    if (!spec || (arg[1] != '-' && name.size() > 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "' (see tvmm run --help)"));
    }
    std::optional<std::string> value;
    if (eq != std::string::npos) value = body.substr(eq + 1);
    if (!spec->value) {  // a boolean
      bool on = true;
      if (value && !absl::SimpleAtob(*value, &on)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", spec->name, ": '", *value, "' is not a boolean (true, false, yes, no, 1, 0)"));
      }
      spec->set(out.flags, on ? "1" : "");
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat("--", spec->name, ": missing value"));
      value = args[++i];
    }
    // "--initrd=" is not "no initrd": a value a script failed to fill in.
    if (value->empty() && std::string(spec->name) != "cmdline")
      return absl::InvalidArgumentError(absl::StrCat("--", spec->name, ": empty value"));
    spec->set(out.flags, *std::move(value));
  }
  return out;
}

std::string RunHelp() {
  std::string help = "Usage: tvmm run --kernel bzImage [flags]\n\nFlags:\n";
  for (const FlagSpec& spec : Specs()) {
    std::string left = absl::StrCat("  --", spec.name, spec.value ? " " : "",
                                    spec.value ? spec.value : "");
    left.resize(std::max<size_t>(left.size() + 2, 28), ' ');
    absl::StrAppend(&help, left, spec.help, "\n");
  }
  absl::StrAppend(&help,
                  "\nExit status: 0 the guest rebooted or powered off, 1 tvmm failed, 2 bad "
                  "usage or guest image,\n3 the guest crashed, 128+N stopped by signal N "
                  "(SIGINT, SIGTERM, SIGHUP, SIGQUIT).\n");
  return help;
}

}  // namespace tvmm
