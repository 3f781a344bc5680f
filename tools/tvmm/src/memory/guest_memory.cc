// SPDX-License-Identifier: GPL-2.0
#include "memory/guest_memory.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {

struct GuestMemory::Conversions {
  // Guards the private ranges, the holds, the watches, and every access
  // tvmm makes through Read() and Write().
  std::mutex mu;
  // By ticket id, which the two share.
  std::map<uint64_t, std::vector<GuestRange>> holds;
  std::map<uint64_t, SharedRegionsFn> watches;
  uint64_t next_id = 1;
};

GuestMemory::Ticket& GuestMemory::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::move(other.owner_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void GuestMemory::Ticket::Release() {
  if (!owner_) return;
  {
    std::lock_guard lock(owner_->mu);
    owner_->holds.erase(id_);
    owner_->watches.erase(id_);
  }
  owner_.reset();
  id_ = 0;
}

std::unique_lock<std::mutex> GuestMemory::Lock() const {
  if (!conversions_) return {};
  return std::unique_lock(conversions_->mu);
}

void GuestMemory::EnableConversions() {
  if (!conversions_) conversions_ = std::make_shared<Conversions>();
}

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
  auto lock = Lock();
  private_ = std::move(ranges);
}

std::vector<GuestRegion> GuestMemory::SharedRegions() const {
  auto lock = Lock();
  return SharedRegionsWithout(private_);
}

std::vector<GuestRegion> GuestMemory::SharedRegionsWithout(
    const std::vector<std::pair<uint64_t, uint64_t>>& private_ranges) const {
  std::vector<GuestRegion> out;
  for (const GuestRegion& r : regions_) {
    uint64_t at = r.gpa;  // the part of r not handed out yet starts here
    for (const auto& [gpa, size] : private_ranges) {
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
  auto lock = Lock();
  return SliceLocked(gpa, len);
}

absl::StatusOr<absl::Span<uint8_t>> GuestMemory::SliceLocked(uint64_t gpa, uint64_t len) const {
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
  if (const GuestRegion* r = RegionOf(gpa, len)) {
    if (log_) log_->push_back({gpa, len});
    return r->host.subspan(gpa - r->gpa, len);
  }
  return absl::OutOfRangeError(absl::StrCat("guest range 0x", absl::Hex(gpa), "+0x",
                                            absl::Hex(len), " is not guest memory"));
}

const GuestRegion* GuestMemory::RegionOf(uint64_t gpa, uint64_t len) const {
  // The last region starting at or below gpa.
  auto it = std::upper_bound(regions_.begin(), regions_.end(), gpa,
                             [](uint64_t g, const GuestRegion& r) { return g < r.gpa; });
  if (it == regions_.begin()) return nullptr;
  const GuestRegion& r = *std::prev(it);
  uint64_t offset = gpa - r.gpa;
  return offset < r.host.size() && len <= r.host.size() - offset ? &r : nullptr;
}

absl::Status GuestMemory::Read(uint64_t gpa, absl::Span<uint8_t> out) const {
  auto lock = Lock();
  absl::StatusOr<absl::Span<uint8_t>> src = SliceLocked(gpa, out.size());
  if (!src.ok()) return src.status();
  if (!out.empty()) std::memcpy(out.data(), src->data(), out.size());
  return absl::OkStatus();
}

absl::Status GuestMemory::Write(uint64_t gpa, absl::Span<const uint8_t> data) const {
  auto lock = Lock();
  absl::StatusOr<absl::Span<uint8_t>> dst = SliceLocked(gpa, data.size());
  if (!dst.ok()) return dst.status();
  if (!data.empty()) std::memcpy(dst->data(), data.data(), data.size());
  return absl::OkStatus();
}

absl::StatusOr<GuestMemory::Hold> GuestMemory::HoldRanges(
    absl::Span<const GuestRange> ranges) const {
  auto lock = Lock();
  for (const GuestRange& r : ranges) {
    absl::StatusOr<absl::Span<uint8_t>> s = SliceLocked(r.gpa, r.len);
    if (!s.ok()) return s.status();
  }
  Hold hold;
  if (!conversions_) return hold;
  hold.owner_ = conversions_;
  hold.id_ = conversions_->next_id++;
  conversions_->holds.emplace(hold.id_, std::vector<GuestRange>(ranges.begin(), ranges.end()));
  return hold;
}

absl::StatusOr<GuestMemory::Watch> GuestMemory::WatchShared(SharedRegionsFn fn) const {
  auto lock = Lock();
  TVMM_RETURN_IF_ERROR(fn(SharedRegionsWithout(private_)));
  Watch watch;
  if (!conversions_) return watch;
  watch.owner_ = conversions_;
  watch.id_ = conversions_->next_id++;
  conversions_->watches.emplace(watch.id_, std::move(fn));
  return watch;
}

void GuestMemory::TellWatches(
    const std::vector<std::pair<uint64_t, uint64_t>>& private_ranges) const {
  if (conversions_->watches.empty()) return;
  const std::vector<GuestRegion> shared = SharedRegionsWithout(private_ranges);
  for (const auto& [id, fn] : conversions_->watches) {
    // Its errors are its own to handle (WatchShared()).
    fn(shared).IgnoreError();
  }
}

absl::Status GuestMemory::Convert(uint64_t gpa, uint64_t size, bool to_private,
                                  absl::FunctionRef<absl::Status()> kernel) {
  if (!conversions_) return absl::FailedPreconditionError("this guest's memory does not convert");
  const uint64_t end = gpa + size;
  if (size == 0 || gpa % kPageSize || size % kPageSize || !RegionOf(gpa, size)) {
    return absl::InvalidArgumentError(absl::StrCat("guest range 0x", absl::Hex(gpa), "+0x",
                                                   absl::Hex(size), " is not page-aligned RAM"));
  }
  auto lock = Lock();
  if (to_private) {
    for (const auto& [id, held] : conversions_->holds) {
      for (const GuestRange& r : held) {
        if (r.len && r.gpa < end && gpa < r.gpa + r.len) {
          return absl::UnavailableError(absl::StrCat("guest range 0x", absl::Hex(gpa), "+0x",
                                                     absl::Hex(size), " is in use by a device"));
        }
      }
    }
  }
  // The private ranges without [gpa, end), then with it if it becomes
  // private; sorted, and adjacent ones merged.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [g, n] : private_) {
    if (g + n <= gpa || g >= end) {
      ranges.emplace_back(g, n);
      continue;
    }
    if (g < gpa) ranges.emplace_back(g, gpa - g);
    if (g + n > end) ranges.emplace_back(end, g + n - end);
  }
  if (to_private) ranges.emplace_back(gpa, size);
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint64_t, uint64_t>> next;
  for (const auto& r : ranges) {
    if (!next.empty() && next.back().first + next.back().second == r.first)
      next.back().second += r.second;
    else
      next.push_back(r);
  }
  // Whoever else reaches guest memory (vhost) lets go of a page before it
  // becomes private, and gets it once it is shared.
  if (to_private) TellWatches(next);
  absl::Status s = kernel();
  if (!s.ok()) {
    if (to_private) TellWatches(private_);
    return s;
  }
  private_ = std::move(next);
  if (!to_private) TellWatches(private_);
  return absl::OkStatus();
}

}  // namespace tvmm
