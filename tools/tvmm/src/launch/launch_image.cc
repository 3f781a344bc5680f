// SPDX-License-Identifier: GPL-2.0
#include "launch/launch_image.h"

#include <sys/mman.h>

#include <algorithm>

#include "util/status.h"

namespace tvmm {

absl::StatusOr<std::unique_ptr<LaunchImage>> LaunchImage::Create(
    absl::Span<const std::pair<uint64_t, uint64_t>> ram) {
  auto image = std::make_unique<LaunchImage>(Token());
  for (const auto& [gpa, size] : ram) {
    TVMM_ASSIGN_OR_RETURN(
        Mapping m,
        Mapping::Map(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE));
    TVMM_RETURN_IF_ERROR(image->memory_.AddRegion(gpa, {m.data(), m.size()}));
    image->staging_.push_back(std::move(m));
  }
  image->memory_.RecordAccesses(&image->accesses_);
  return image;
}

std::vector<LaunchRun> LaunchImage::Runs() const {
  // Page-aligned [start, end) of every access, sorted and merged.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const GuestMemory::Access& a : accesses_) {
    if (a.len == 0) continue;
    uint64_t start = a.gpa & ~(kLaunchPageSize - 1);
    uint64_t end = (a.gpa + a.len + kLaunchPageSize - 1) & ~(kLaunchPageSize - 1);
    ranges.emplace_back(start, end);
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<LaunchRun> runs;
  uint64_t run_start = 0, run_end = 0;
  auto flush = [&] {
    if (run_end == run_start) return;
    // A run may span two adjacent regions: one run per region.
    for (const GuestRegion& r : memory_.regions()) {
      uint64_t s = std::max(run_start, r.gpa), e = std::min(run_end, r.end());
      if (s < e) runs.push_back({s, r.host.subspan(s - r.gpa, e - s)});
    }
  };
  for (const auto& [s, e] : ranges) {
    if (s <= run_end && run_end != run_start) {
      run_end = std::max(run_end, e);
      continue;
    }
    flush();
    run_start = s;
    run_end = e;
  }
  flush();
  return runs;
}

absl::StatusOr<LaunchDigest> LaunchImage::Digest() const {
  LaunchDigest digest;
  for (const LaunchRun& run : Runs()) {
    for (uint64_t off = 0; off < run.bytes.size(); off += kLaunchPageSize)
      TVMM_RETURN_IF_ERROR(
          digest.AddPage(run.gpa + off, run.bytes.subspan(off, kLaunchPageSize)));
  }
  return digest;
}

}  // namespace tvmm
