// SPDX-License-Identifier: GPL-2.0
// The parts of a Linux bzImage (Documentation/arch/x86/boot.rst) that a
// 64-bit boot needs, validated before anything is created.
#ifndef TVMM_ARCH_X86_BZIMAGE_H_
#define TVMM_ARCH_X86_BZIMAGE_H_

#include <asm/bootparam.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "util/load_source.h"

namespace tvmm::x86 {

struct BzImage {
  setup_header header;     // as found in the file
  size_t header_size;      // bytes of setup_header the file defines
  uint64_t kernel_offset;  // where the protected-mode kernel starts in the file
  LoadSource kernel;       // that kernel, loaded at 1 MiB
};

// Boot protocol 2.12 brought the 64-bit entry flag (XLF_KERNEL_64).
inline constexpr uint16_t kMinBootProtocol = 0x020c;

// Parses the header in @head, the first bytes of a file of @file_size
// bytes; kernel is left empty.
absl::StatusOr<BzImage> ParseBzImageHeader(absl::Span<const uint8_t> head, uint64_t file_size);
// A whole file in memory, which must outlive the result.
absl::StatusOr<BzImage> ParseBzImage(absl::Span<const uint8_t> file);
// Opens @path and parses its header; the kernel is read from the file, kept
// open, when it is loaded.
absl::StatusOr<BzImage> LoadBzImage(const std::string& path);

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_BZIMAGE_H_
