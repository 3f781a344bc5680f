// SPDX-License-Identifier: GPL-2.0
// The initial image of a VM, staged: the loader writes it into a
// GuestMemory with the VM's layout, backed by anonymous memory instead of
// the VM's, which records every page it touches.  A measured launch adds
// exactly those pages, in ascending order, and `tvmm measure` computes their
// digest without KVM: both run the same loader on the same configuration,
// so both see the same pages.
#ifndef TVMM_LAUNCH_LAUNCH_IMAGE_H_
#define TVMM_LAUNCH_LAUNCH_IMAGE_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "launch/digest.h"
#include "memory/guest_memory.h"
#include "util/fd.h"

namespace tvmm {

// A guest-physical range of whole pages and its staged content.
struct LaunchRun {
  uint64_t gpa;
  absl::Span<const uint8_t> bytes;  // a multiple of kLaunchPageSize
};

// What a trusted VM's launch leaves behind.
struct TrustedLaunch {
  LaunchDigest digest;  // KVM's, which equals the image's own
  // Guest-physical (start, size) ranges the launch made private to the
  // guest: devices must not touch them.
  std::vector<std::pair<uint64_t, uint64_t>> private_ranges;
};

class LaunchImage {
 public:
  // Staging memory shaped like guest RAM: one region per (gpa, size).
  static absl::StatusOr<std::unique_ptr<LaunchImage>> Create(
      absl::Span<const std::pair<uint64_t, uint64_t>> ram);

  // What the loader writes into.
  const GuestMemory& memory() const { return memory_; }

  // The pages the loader touched, merged into runs, ascending.
  std::vector<LaunchRun> Runs() const;

  // The launch digest of Runs(), page by page in that order.
  absl::StatusOr<LaunchDigest> Digest() const;

  // Use Create().
  struct Token {
    explicit Token() = default;
  };
  explicit LaunchImage(Token) {}

 private:
  std::vector<Mapping> staging_;
  GuestMemory memory_;
  std::vector<GuestMemory::Access> accesses_;
};

}  // namespace tvmm

#endif  // TVMM_LAUNCH_LAUNCH_IMAGE_H_
