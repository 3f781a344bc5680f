// SPDX-License-Identifier: GPL-2.0
// Guest-physical memory as the VMM sees it: a few regions, each a span of
// host memory.  Every access from a device goes through Slice(), which checks
// that the whole range lies inside one region, so a guest-supplied address or
// length can never make tvmm touch memory outside the guest.
#ifndef TVMM_MEMORY_GUEST_MEMORY_H_
#define TVMM_MEMORY_GUEST_MEMORY_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tvmm {

struct GuestRegion {
  uint64_t gpa;
  absl::Span<uint8_t> host;

  uint64_t end() const { return gpa + host.size(); }
};

// A guest-physical range: [gpa, gpa + len).
struct GuestRange {
  uint64_t gpa;
  uint64_t len;
};

class GuestMemory {
  struct Conversions;

  // A registration with the conversions: move-only; destroying it (on any
  // thread, also after the GuestMemory is gone) ends it.  Empty where
  // conversions are off.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { Release(); }

   private:
    friend class GuestMemory;
    void Release();
    std::shared_ptr<Conversions> owner_;
    uint64_t id_ = 0;
  };

 public:
  // A claim on guest ranges that tvmm reaches through host pointers for a
  // while: a queue's rings while it is active, a chain's buffers from Pop()
  // until the device is done with them.  While any Hold covers a page,
  // Convert() refuses to make it private, so tvmm never touches a page
  // that the host mapping refuses (SIGBUS).  Where conversions are off it
  // is empty and costs nothing.
  class Hold : public Ticket {};

  // Keeps a device that the host kernel runs (vhost) told which memory is
  // shared (WatchShared()).
  class Watch : public Ticket {};
  using SharedRegionsFn = std::function<absl::Status(absl::Span<const GuestRegion> shared)>;

  // Adds [gpa, gpa + host.size()); fails if it overlaps a region, is empty,
  // or wraps around.
  absl::Status AddRegion(uint64_t gpa, absl::Span<uint8_t> host);

  // Host memory for [gpa, gpa + len), which must lie inside one region and
  // outside the private ranges.  With conversions on, the span stays safe
  // to use only while a Hold covers it (Read() and Write() need none).
  absl::StatusOr<absl::Span<uint8_t>> Slice(uint64_t gpa, uint64_t len) const;

  // Checks each range as Slice() does and, with conversions on, holds them
  // all until the Hold is destroyed; atomically with respect to Convert().
  absl::StatusOr<Hold> HoldRanges(absl::Span<const GuestRange> ranges) const;

  // Guest-physical ranges that are private to the guest (a TVM's measured
  // image): the host mapping raises SIGBUS there, so Slice() refuses them
  // and a guest that points a device at them gets a device error instead of
  // crashing tvmm.  Set before any device runs.
  void SetPrivate(std::vector<std::pair<uint64_t, uint64_t>> ranges);

  // Lets the guest convert its memory at run time (a trusted VM's
  // KVM_HC_MAP_GPA_RANGE): from now on the private ranges are read under
  // a lock, and Hold()s count.  Before any device runs.
  void EnableConversions();
  bool conversions_enabled() const { return conversions_ != nullptr; }
  // Makes [gpa, gpa + size) private (@to_private) or shared: page-aligned,
  // inside one region.  @kernel changes the attribute in KVM; it runs with
  // new Holds and accesses shut out, and only then does the range change
  // here.  Errors: InvalidArgument (not page-aligned RAM),
  // FailedPrecondition (conversions are off), Unavailable (to private: a
  // Hold covers part of the range, so a device is using it), else
  // @kernel's error; the range is then unchanged.
  absl::Status Convert(uint64_t gpa, uint64_t size, bool to_private,
                       absl::FunctionRef<absl::Status()> kernel);

  // Calls @fn with SharedRegions() now and, while the Watch lives, with
  // the shared regions each conversion leaves: for a conversion to private
  // before @kernel converts (and again with the regions of before if
  // @kernel fails), for one to shared after it.  Each call is made under
  // the lock conversions take, so the calls come in order and a page never
  // becomes private while @fn's last call still had it.  @fn must not
  // call into this GuestMemory.  Returns @fn's first error (then nothing
  // is watched); an error of a later call is @fn's to deal with, and the
  // conversion stands.  Where conversions are off, @fn is called once and
  // the Watch is empty.
  absl::StatusOr<Watch> WatchShared(SharedRegionsFn fn) const;

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
  // kernel runs (vhost) may be given.  A snapshot: the kernel's own
  // accesses to a page converted later fail (EFAULT) without harm to tvmm.
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
  static constexpr uint64_t kPageSize = 4096;

  // The region holding all of [gpa, gpa + len), or nullptr.
  const GuestRegion* RegionOf(uint64_t gpa, uint64_t len) const;
  // Slice() without the lock.
  absl::StatusOr<absl::Span<uint8_t>> SliceLocked(uint64_t gpa, uint64_t len) const;
  // The regions without the ranges of @private_ranges (sorted, disjoint).
  std::vector<GuestRegion> SharedRegionsWithout(
      const std::vector<std::pair<uint64_t, uint64_t>>& private_ranges) const;
  // Calls every watch with the regions shared once @private_ranges are
  // private; under the lock.
  void TellWatches(const std::vector<std::pair<uint64_t, uint64_t>>& private_ranges) const;
  // Held over an access when conversions are on; an empty lock otherwise.
  std::unique_lock<std::mutex> Lock() const;

  std::vector<GuestRegion> regions_;  // sorted by gpa, disjoint
  std::vector<Access>* log_ = nullptr;
  std::shared_ptr<const void> owner_;
  // (gpa, size), sorted, disjoint; under conversions_->mu once enabled.
  std::vector<std::pair<uint64_t, uint64_t>> private_;
  // Shared with the Holds, which may outlive this.
  std::shared_ptr<Conversions> conversions_;
};

}  // namespace tvmm

#endif  // TVMM_MEMORY_GUEST_MEMORY_H_
