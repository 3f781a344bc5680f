// SPDX-License-Identifier: GPL-2.0
// Guest-physical memory as the VMM sees it: a few regions, each a span of
// host memory.  Every access from a device goes through Slice(), which checks
// that the whole range lies inside one region, so a guest-supplied address or
// length can never make tvmm touch memory outside the guest.
#ifndef TVMM_MEMORY_GUEST_MEMORY_H_
#define TVMM_MEMORY_GUEST_MEMORY_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tvmm {

struct GuestRegion {
  uint64_t gpa;
  absl::Span<uint8_t> host;

  uint64_t end() const { return gpa + host.size(); }
};

class GuestMemory {
 public:
  // Adds [gpa, gpa + host.size()); fails if it overlaps a region, is empty,
  // or wraps around.
  absl::Status AddRegion(uint64_t gpa, absl::Span<uint8_t> host);

  // Host memory for [gpa, gpa + len), which must lie inside one region and
  // outside the private ranges.
  absl::StatusOr<absl::Span<uint8_t>> Slice(uint64_t gpa, uint64_t len) const;

  // Guest-physical ranges that are private to the guest (a TVM's measured
  // image): the host mapping raises SIGBUS there, so Slice() refuses them
  // and a guest that points a device at them gets a device error instead of
  // crashing tvmm.  Set before any device runs.
  void SetPrivate(std::vector<std::pair<uint64_t, uint64_t>> ranges);

  absl::Status Read(uint64_t gpa, absl::Span<uint8_t> out) const;
  absl::Status Write(uint64_t gpa, absl::Span<const uint8_t> data) const;

  // Copies of trivially copyable objects (no alignment assumed).
  template <typename T>
  absl::StatusOr<T> ReadObj(uint64_t gpa) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    absl::Status s = Read(gpa, {reinterpret_cast<uint8_t*>(&value), sizeof(T)});
    if (!s.ok()) return s;
    return value;
  }
  template <typename T>
  absl::Status WriteObj(uint64_t gpa, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    return Write(gpa, {reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
  }

  const std::vector<GuestRegion>& regions() const { return regions_; }
  // The regions with the private ranges cut out: what a device the host
  // kernel runs (vhost) may be given.
  std::vector<GuestRegion> SharedRegions() const;

  // Appends every range Slice() hands out (and so every Read() and Write())
  // to @log, which must outlive this: a LaunchImage learns which pages the
  // loader wrote.  Not for memory that devices use (no locking).
  struct Access {
    uint64_t gpa, len;
  };
  void RecordAccesses(std::vector<Access>* log) { log_ = log; }

  // What keeps the host mapping of the regions alive (the VM's RAM).  A
  // device that leaves I/O to the kernel past its own end (virtio-blk on
  // storage that does not answer) holds a copy until the kernel is done,
  // so that the memory the kernel may still write stays this mapping, and
  // is never unmapped and reused for something else under it.
  void SetOwner(std::shared_ptr<const void> owner) { owner_ = std::move(owner); }
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  std::vector<GuestRegion> regions_;  // sorted by gpa, disjoint
  std::vector<Access>* log_ = nullptr;
  std::shared_ptr<const void> owner_;
  std::vector<std::pair<uint64_t, uint64_t>> private_;  // (gpa, size), sorted, disjoint
};

}  // namespace tvmm

#endif  // TVMM_MEMORY_GUEST_MEMORY_H_
