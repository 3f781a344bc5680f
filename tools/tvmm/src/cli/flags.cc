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
  std::function<void(RunArgs&, RunFlags&, std::string)> set;
  // The process's, not a VM's: before the first --next only.
  bool process = false;
};

// A VM's flag: sets a field of the VM's group.
template <typename F>
std::function<void(RunArgs&, RunFlags&, std::string)> Vm(F f) {
  return [f](RunArgs&, RunFlags& flags, std::string v) { f(flags, std::move(v)); };
}

const std::vector<FlagSpec>& Specs() {
  static const std::vector<FlagSpec> specs = {
      {"kernel", "bzImage", "Linux bzImage to boot (required)",
       Vm([](RunFlags& f, std::string v) { f.kernel = std::move(v); })},
      {"initrd", "file", "initramfs to load next to the kernel",
       Vm([](RunFlags& f, std::string v) { f.initrd = std::move(v); })},
      {"cmdline", "string", "kernel command line (tvmm adds its devices')",
       Vm([](RunFlags& f, std::string v) { f.cmdline = std::move(v); })},
      {"memory", "size", "guest RAM: a size with K, M or G, a multiple of 2M, 16M..1024G (512M)",
       Vm([](RunFlags& f, std::string v) { f.memory = std::move(v); })},
      {"cpus", "n", "number of vCPUs, 1..254 (1)",
       Vm([](RunFlags& f, std::string v) { f.cpus = std::move(v); })},
      {"disk", "path[,ro]", "a virtio-blk disk; repeat the flag for more (up to 16)",
       Vm([](RunFlags& f, std::string v) { f.disks.push_back(std::move(v)); })},
      {"vsock", "cid", "a virtio-vsock device with this guest CID (3..4294967294)",
       Vm([](RunFlags& f, std::string v) { f.vsock = std::move(v); })},
      {"rng", nullptr, "a virtio-rng device",
       Vm([](RunFlags& f, std::string v) { f.rng = !v.empty(); })},
      {"memory-backend", "kind",
       "anon, memfd, hugetlb or guest_memfd (default: guest_memfd when KVM can run a VM from "
       "it, else anon)",
       Vm([](RunFlags& f, std::string v) { f.memory_backend = std::move(v); })},
      {"log-level", "level", "error, warning, info or debug (info)",
       Vm([](RunFlags& f, std::string v) { f.log_level = std::move(v); }), true},
      {"tvm", nullptr,
       "a trusted VM: software-protected, its image measured into private memory; prints "
       "the launch digest",
       Vm([](RunFlags& f, std::string v) { f.tvm = !v.empty(); })},
      {"digest-json", "file", "with --tvm: also write the launch digest to this file as JSON",
       Vm([](RunFlags& f, std::string v) { f.digest_json = std::move(v); })},
      {"name", "name",
       "the VM's name in console prefixes, messages and the API socket: letters, digits, "
       "'.', '_' or '-', at most 32 (vmN, N its position)",
       Vm([](RunFlags& f, std::string v) { f.name = std::move(v); })},
      {"api-socket", "path",
       "serve the control API on this Unix socket (tvmm ctl); the path must not exist",
       [](RunArgs& a, RunFlags&, std::string v) { a.api_socket = std::move(v); }, true},
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
  out.vms.emplace_back();
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& arg = args[i];
    if (arg == "--next") {
      if (out.vms.size() >= kMaxVms)
        return absl::InvalidArgumentError(absl::StrCat("--next: at most ", kMaxVms, " VMs"));
      out.vms.emplace_back();
      continue;
    }
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
    if (spec->process && out.vms.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", spec->name, ": the process's flag, not a VM's: give it before the first --next"));
    }
    std::optional<std::string> value;
    if (eq != std::string::npos) value = body.substr(eq + 1);
    if (!spec->value) {  // a boolean
      bool on = true;
      if (value && !absl::SimpleAtob(*value, &on)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", spec->name, ": '", *value, "' is not a boolean (true, false, yes, no, 1, 0)"));
      }
      spec->set(out, out.vms.back(), on ? "1" : "");
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
    spec->set(out, out.vms.back(), *std::move(value));
  }
  return out;
}

std::string RunHelp() {
  std::string help =
      "Usage: tvmm run --kernel bzImage [flags] [--next --kernel bzImage [flags]]...\n\n"
      "Each --next starts the flags of one more VM in the same process (up to " +
      std::to_string(kMaxVms) +
      "); --log-level\nand --api-socket are the process's and come before the first --next.\n\n"
      "Flags:\n";
  for (const FlagSpec& spec : Specs()) {
    std::string left = absl::StrCat("  --", spec.name, spec.value ? " " : "",
                                    spec.value ? spec.value : "");
    left.resize(std::max<size_t>(left.size() + 2, 28), ' ');
    absl::StrAppend(&help, left, spec.help, "\n");
  }
  absl::StrAppend(&help,
                  "\nExit status: 0 the guest rebooted or powered off (or was stopped through the "
                  "API socket),\n1 tvmm failed, 2 bad usage or guest image, 3 the guest crashed, "
                  "128+N stopped by\nsignal N (SIGINT, SIGTERM, SIGHUP, SIGQUIT).\n"
                  "With several VMs: 128+N after a signal, else the first VM's (in flag order) "
                  "that is not 0.\n");
  return help;
}

}  // namespace tvmm
