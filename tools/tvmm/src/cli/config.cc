// SPDX-License-Identifier: GPL-2.0
#include "cli/config.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/flags.h"
#include "util/status.h"

namespace tvmm {

absl::string_view MemoryBackendName(MemoryBackendKind kind) {
  switch (kind) {
    case MemoryBackendKind::kAnon: return "anon";
    case MemoryBackendKind::kMemfd: return "memfd";
    case MemoryBackendKind::kHugetlb: return "hugetlb";
    case MemoryBackendKind::kGuestMemfd: return "guest_memfd";
  }
  return "?";
}

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view digits = text;
  uint64_t shift = 0;
  if (!digits.empty()) {
    switch (absl::ascii_toupper(digits.back())) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      default: break;
    }
    if (shift) digits.remove_suffix(1);
  }
  uint64_t value;
  if (digits.empty() || !absl::ascii_isdigit(digits.front()) ||
      !absl::SimpleAtoi(digits, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a size (a number with an optional K, M or G suffix)"));
  }
  if (value > (std::numeric_limits<uint64_t>::max() >> shift))
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is too large"));
  return value << shift;
}

absl::StatusOr<DiskConfig> ParseDisk(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  DiskConfig disk;
  disk.path = std::string(parts[0]);
  if (disk.path.empty())
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' has no path"));
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i] == "ro") {
      disk.read_only = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text, "': unknown option '", parts[i], "' (the only option is ro)"));
    }
  }
  return disk;
}

absl::StatusOr<MemoryBackendKind> ParseMemoryBackend(absl::string_view text) {
  for (auto kind : {MemoryBackendKind::kAnon, MemoryBackendKind::kMemfd,
                    MemoryBackendKind::kHugetlb, MemoryBackendKind::kGuestMemfd}) {
    if (text == MemoryBackendName(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a memory backend (anon, memfd, hugetlb or guest_memfd)"));
}

namespace {

absl::Status FlagError(absl::string_view flag, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", status.message()));
}

absl::Status FlagError(absl::string_view flag, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", message));
}

}  // namespace

absl::StatusOr<VmConfig> ParseRunFlags(const RunFlags& flags, size_t index) {
  VmConfig config;

  config.name = flags.name.empty() ? absl::StrCat("vm", index) : flags.name;
  if (config.name.size() > kMaxNameLength)
    return FlagError("name", absl::StrCat("'", config.name, "' is longer than ", kMaxNameLength));
  for (char c : config.name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      return FlagError("name", absl::StrCat("'", config.name,
                                            "' has characters other than letters, digits, '.', "
                                            "'_' and '-'"));
    }
  }

  if (flags.kernel.empty()) return FlagError("kernel", "required (a bzImage to boot)");
  config.kernel = flags.kernel;
  config.initrd = flags.initrd;
  if (flags.cmdline.find('\0') != std::string::npos)
    return FlagError("cmdline", "must not contain NUL bytes");
  config.cmdline = flags.cmdline;

  absl::StatusOr<uint64_t> memory = ParseSize(flags.memory);
  if (!memory.ok()) return FlagError("memory", memory.status());
  if (*memory < kMinMemory || *memory > kMaxMemory) {
    return FlagError("memory", absl::StrCat("'", flags.memory, "' is outside 16M..1024G"));
  }
  if (*memory % (2u << 20)) {
    return FlagError("memory", absl::StrCat("'", flags.memory, "' is not a multiple of 2M"));
  }
  config.memory_bytes = *memory;

  int64_t cpus;
  if (!absl::SimpleAtoi(flags.cpus, &cpus))
    return FlagError("cpus", absl::StrCat("'", flags.cpus, "' is not a number"));
  if (cpus < 1 || cpus > kMaxCpus)
    return FlagError("cpus", absl::StrCat(cpus, " is outside 1..", kMaxCpus));
  config.cpus = static_cast<uint32_t>(cpus);

  if (flags.disks.size() > kMaxDisks)
    return FlagError("disk", absl::StrCat("at most ", kMaxDisks, " disks"));
  for (const std::string& text : flags.disks) {
    absl::StatusOr<DiskConfig> disk = ParseDisk(text);
    if (!disk.ok()) return FlagError("disk", disk.status());
    config.disks.push_back(*std::move(disk));
  }

  if (!flags.vsock.empty()) {
    int64_t cid;
    if (!absl::SimpleAtoi(flags.vsock, &cid))
      return FlagError("vsock", absl::StrCat("'", flags.vsock, "' is not a number"));
    // CIDs 0-2 are the hypervisor, local and host; U32_MAX is VMADDR_CID_ANY.
    if (cid < 3 || cid >= std::numeric_limits<uint32_t>::max())
      return FlagError("vsock", absl::StrCat(cid, " is not a guest CID (3..4294967294)"));
    config.vsock_cid = static_cast<uint32_t>(cid);
  }
  config.rng = flags.rng;

  config.tvm = flags.tvm;
  if (!flags.digest_json.empty() && !flags.tvm)
    return FlagError("digest-json", "only with --tvm (a launch digest exists only for a TVM)");
  config.digest_json = flags.digest_json;
  if (flags.log_level == "error") {
    config.log_level = LogLevel::kError;
  } else if (flags.log_level == "warning") {
    config.log_level = LogLevel::kWarning;
  } else if (flags.log_level == "info") {
    config.log_level = LogLevel::kInfo;
  } else if (flags.log_level == "debug") {
    config.log_level = LogLevel::kDebug;
  } else {
    return FlagError("log-level", absl::StrCat("'", flags.log_level,
                                               "' is not error, warning, info or debug"));
  }

  if (!flags.memory_backend.empty()) {
    absl::StatusOr<MemoryBackendKind> kind = ParseMemoryBackend(flags.memory_backend);
    if (!kind.ok()) return FlagError("memory-backend", kind.status());
    config.memory_backend = *kind;
    config.memory_backend_explicit = true;
  }
  // A TVM's private memory is guest_memfd's: no other backend can hold it.
  if (config.tvm && config.memory_backend_explicit &&
      config.memory_backend != MemoryBackendKind::kGuestMemfd) {
    return FlagError("memory-backend",
                     absl::StrCat("'", flags.memory_backend,
                                  "' cannot hold a trusted VM's private memory (--tvm needs "
                                  "guest_memfd)"));
  }
  return config;
}

absl::StatusOr<RunPlan> ParseRunPlan(const RunArgs& args) {
  RunPlan plan;
  if (args.vms.empty()) return absl::InvalidArgumentError("no VM to run");
  plan.api_socket = args.api_socket;
  for (size_t i = 0; i < args.vms.size(); i++) {
    absl::StatusOr<VmConfig> vm = ParseRunFlags(args.vms[i], i);
    if (!vm.ok()) {
      if (args.vms.size() == 1) return vm.status();
      return absl::InvalidArgumentError(absl::StrCat("VM ", i, " (after ", i, " --next): ",
                                                     vm.status().message()));
    }
    for (const VmConfig& other : plan.vms) {
      if (other.name == vm->name) {
        return FlagError("name", absl::StrCat("'", vm->name, "' names two VMs"));
      }
      if (vm->vsock_cid && other.vsock_cid == vm->vsock_cid) {
        return FlagError("vsock", absl::StrCat(*vm->vsock_cid, " is the CID of both VM '",
                                               other.name, "' and VM '", vm->name, "'"));
      }
    }
    plan.vms.push_back(*std::move(vm));
  }
  plan.log_level = plan.vms.front().log_level;
  return plan;
}

}  // namespace tvmm
