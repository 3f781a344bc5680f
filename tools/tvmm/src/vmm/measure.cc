// SPDX-License-Identifier: GPL-2.0
#include "vmm/measure.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_format.h"
#include "util/status.h"
#include "virtio/mmio.h"

namespace tvmm {

std::vector<VirtioSlot> PlanVirtioSlots(const Machine& machine, const VmConfig& config) {
  size_t n = config.disks.size() + (config.rng ? 1 : 0) + (config.vsock_cid ? 1 : 0);
  std::vector<VirtioSlot> slots;
  for (size_t i = 0; i < n; i++) {
    int index = static_cast<int>(i);
    slots.push_back({machine.VirtioMmioBase(index), VirtioMmio::kSize, machine.VirtioIrq(index)});
  }
  return slots;
}

absl::StatusOr<std::unique_ptr<LaunchImage>> StageImage(Machine& machine, const VmConfig& config) {
  std::vector<std::pair<uint64_t, uint64_t>> ram;
  for (const RamRange& r : machine.RamLayout(config.memory_bytes)) ram.emplace_back(r.gpa, r.size);
  TVMM_ASSIGN_OR_RETURN(std::unique_ptr<LaunchImage> image, LaunchImage::Create(ram));
  TVMM_RETURN_IF_ERROR(machine.LoadGuest(image->memory(), machine.KernelCmdline(config.cmdline),
                                         PlanVirtioSlots(machine, config)));
  return image;
}

absl::StatusOr<LaunchDigest> MeasureLaunch(const VmConfig& config) {
  std::unique_ptr<Machine> machine = CreateMachine();
  VmConfig tvm = config;
  tvm.tvm = true;
  TVMM_RETURN_IF_ERROR(machine->PrepareImage(tvm));
  TVMM_ASSIGN_OR_RETURN(std::unique_ptr<LaunchImage> image, StageImage(*machine, tvm));
  return image->Digest();
}

absl::Status WriteDigestJson(const std::string& path, const LaunchDigest& digest) {
  std::string json = absl::StrFormat(
      "{\"algorithm\": \"sha384\", \"digest\": \"%s\", \"pages\": %d}\n",
      HexDigest(digest.digest()), digest.pages());
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return UsageError(ErrnoStatus(absl::StrCat("--digest-json ", path)));
  for (size_t done = 0; done < json.size();) {
    ssize_t n = write(fd.get(), json.data() + done, json.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(absl::StrCat("--digest-json ", path, ": write"));
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace tvmm
