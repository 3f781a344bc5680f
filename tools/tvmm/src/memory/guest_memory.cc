// SPDX-License-Identifier: GPL-2.0
#include "memory/guest_memory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tvmm {

absl::Status GuestMemory::AddRegion(uint64_t gpa, absl::Span<uint8_t> host) {
  if (host.empty()) return absl::InvalidArgumentError("empty guest memory region");
  if (gpa + host.size() < gpa)
    return absl::InvalidArgumentError(absl::StrCat("region at 0x", absl::Hex(gpa), " wraps"));
  auto it = std::lower_bound(regions_.begin(), regions_.end(), gpa,
                             [](const GuestRegion& r, uint64_t g) { return r.gpa < g; });
  if ((it != regions_.end() && it->gpa < gpa + host.size()) ||
      (it != regions_.begin() && std::prev(it)->end() > gpa)) {
    return absl::InvalidArgumentError(
        absl::StrCat("region at 0x", absl::Hex(gpa), " overlaps another"));
  }
  regions_.insert(it, GuestRegion{gpa, host});
  return absl::OkStatus();
}

void GuestMemory::SetPrivate(std::vector<std::pair<uint64_t, uint64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  private_ = std::move(ranges);
}

std::vector<GuestRegion> GuestMemory::SharedRegions() const {
  std::vector<GuestRegion> out;
  for (const GuestRegion& r : regions_) {
    uint64_t at = r.gpa;  // the part of r not handed out yet starts here
    for (const auto& [gpa, size] : private_) {
      uint64_t end = gpa + size;
      if (end <= at || gpa >= r.end()) continue;
      if (gpa > at) out.push_back({at, r.host.subspan(at - r.gpa, gpa - at)});
      at = std::min(end, r.end());
    }
    if (at < r.end()) out.push_back({at, r.host.subspan(at - r.gpa)});
  }
  return out;
}

absl::StatusOr<absl::Span<uint8_t>> GuestMemory::Slice(uint64_t gpa, uint64_t len) const {
  if (!private_.empty()) {
    // The first private range ending after gpa: it overlaps if it starts
    // before gpa + len (len 0 overlaps nothing).
    auto p = std::upper_bound(private_.begin(), private_.end(), gpa,
                              [](uint64_t g, const auto& r) { return g < r.first + r.second; });
    if (len && p != private_.end() && p->first < gpa + len && gpa + len > gpa) {
      return absl::PermissionDeniedError(absl::StrCat("guest range 0x", absl::Hex(gpa), "+0x",
                                                      absl::Hex(len), " is private memory"));
    }
  }
  // The last region starting at or below gpa.
  auto it = std::upper_bound(regions_.begin(), regions_.end(), gpa,
                             [](uint64_t g, const GuestRegion& r) { return g < r.gpa; });
  if (it != regions_.begin()) {
    const GuestRegion& r = *std::prev(it);
    uint64_t offset = gpa - r.gpa;
    if (offset < r.host.size() && len <= r.host.size() - offset) {
      if (log_) log_->push_back({gpa, len});
      return r.host.subspan(offset, len);
    }
  }
  return absl::OutOfRangeError(absl::StrCat("guest range 0x", absl::Hex(gpa), "+0x",
                                            absl::Hex(len), " is not guest memory"));
}

absl::Status GuestMemory::Read(uint64_t gpa, absl::Span<uint8_t> out) const {
  absl::StatusOr<absl::Span<uint8_t>> src = Slice(gpa, out.size());
  if (!src.ok()) return src.status();
  if (!out.empty()) std::memcpy(out.data(), src->data(), out.size());
  return absl::OkStatus();
}

absl::Status GuestMemory::Write(uint64_t gpa, absl::Span<const uint8_t> data) const {
  absl::StatusOr<absl::Span<uint8_t>> dst = Slice(gpa, data.size());
  if (!dst.ok()) return dst.status();
  if (!data.empty()) std::memcpy(dst->data(), data.data(), data.size());
  return absl::OkStatus();
}

}  // namespace tvmm
