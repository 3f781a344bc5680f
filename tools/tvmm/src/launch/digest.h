// SPDX-License-Identifier: GPL-2.0
// The launch digest of a measured launch (this project's KVM extension for
// KVM_X86_SW_PROTECTED_VM, Documentation/virt/kvm/x86/sw-tvm-measured-launch.rst):
// SHA-384 over the added pages, chained in the order they were added:
//   D(0) = 48 zero bytes
//   D(n) = SHA-384(D(n-1) || le64(gpa) || le64(4096) || the page)
#ifndef TVMM_LAUNCH_DIGEST_H_
#define TVMM_LAUNCH_DIGEST_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tvmm {

inline constexpr size_t kLaunchPageSize = 4096;
using Sha384Digest = std::array<uint8_t, 48>;

absl::StatusOr<Sha384Digest> Sha384(absl::Span<const absl::Span<const uint8_t>> parts);

class LaunchDigest {
 public:
  // Extends the digest with the page at @gpa (@page: kLaunchPageSize bytes).
  absl::Status AddPage(uint64_t gpa, absl::Span<const uint8_t> page);

  const Sha384Digest& digest() const { return digest_; }
  uint64_t pages() const { return pages_; }

 private:
  Sha384Digest digest_ = {};
  uint64_t pages_ = 0;
};

// Lower-case hex, as tvmm prints digests.
std::string HexDigest(absl::Span<const uint8_t> digest);

}  // namespace tvmm

#endif  // TVMM_LAUNCH_DIGEST_H_
