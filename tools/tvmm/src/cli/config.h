// SPDX-License-Identifier: GPL-2.0
// What `tvmm run` is asked to build, parsed and validated from the command
// line before anything is created.
#ifndef TVMM_CLI_CONFIG_H_
#define TVMM_CLI_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "util/log.h"

namespace tvmm {

enum class MemoryBackendKind { kAnon, kMemfd, kHugetlb, kGuestMemfd };

absl::string_view MemoryBackendName(MemoryBackendKind kind);

struct DiskConfig {
  std::string path;
  bool read_only = false;
};

struct VmConfig {
  std::string name;  // unique in the process
  std::string kernel;
  std::string initrd;  // empty: none
  std::string cmdline;
  uint64_t memory_bytes = 0;
  uint32_t cpus = 1;
  std::vector<DiskConfig> disks;
  std::optional<uint32_t> vsock_cid;
  bool rng = false;
  MemoryBackendKind memory_backend = MemoryBackendKind::kAnon;
  LogLevel log_level = LogLevel::kInfo;
  // A trusted VM: software-protected, its image measured into private
  // memory (launch digest printed, and written as JSON to digest_json).
  bool tvm = false;
  std::string digest_json;  // empty: none
  // False when the user did not choose: tvmm may then fall back.
  bool memory_backend_explicit = false;
};

// The flags of `tvmm run`, as the user wrote them.
struct RunFlags {
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  std::string memory = "512M";
  std::string cpus = "1";
  std::vector<std::string> disks;
  std::string vsock;  // empty: no vsock device
  bool rng = false;
  std::string memory_backend;  // empty: choose
  std::string log_level = "info";
  bool tvm = false;
  std::string digest_json;
  std::string name;  // empty: vmN
};

struct RunArgs;

// What one `tvmm run` process runs: one or more VMs, and the process's own
// settings.
struct RunPlan {
  std::vector<VmConfig> vms;  // never empty
  std::string api_socket;     // empty: none
  LogLevel log_level = LogLevel::kInfo;
};

// "512M", "1G", "65536K", "1048576" -> bytes.  Errors name no flag.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// "path" or "path,ro".
absl::StatusOr<DiskConfig> ParseDisk(absl::string_view text);

absl::StatusOr<MemoryBackendKind> ParseMemoryBackend(absl::string_view text);

// Validates every flag; the error message names the flag and the rule.
// @index is the VM's position (its default name is "vm<index>").
absl::StatusOr<VmConfig> ParseRunFlags(const RunFlags& flags, size_t index = 0);

// Every VM's flags, then what no single VM can check: names and vsock CIDs
// unique across the VMs.  Errors of a VM after the first name it.
absl::StatusOr<RunPlan> ParseRunPlan(const RunArgs& args);

inline constexpr uint64_t kMinMemory = 16ull << 20;
inline constexpr uint64_t kMaxMemory = 1ull << 40;
inline constexpr uint32_t kMaxCpus = 254;  // 8-bit APIC IDs, 0xff broadcast
inline constexpr size_t kMaxDisks = 16;
inline constexpr size_t kMaxVms = 16;  // per process
inline constexpr size_t kMaxNameLength = 32;

}  // namespace tvmm

#endif  // TVMM_CLI_CONFIG_H_
