// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/bzimage.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm::x86 {
namespace {

constexpr size_t kSetupHeaderOffset = 0x1f1;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
// The setup header ends before 0x300; the setup code itself is not needed
// for the 64-bit entry.
constexpr size_t kHeadSize = 0x1000;

absl::Status NotBzImage(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not a bzImage: ", why));
}

}  // namespace

absl::StatusOr<BzImage> ParseBzImageHeader(absl::Span<const uint8_t> file, uint64_t file_size) {
  BzImage image = {};
  if (file.size() < kHeadSize && file.size() < file_size)
    return absl::InternalError("bzImage: short header read");
  if (file_size < 0x250) return NotBzImage("file too small");

  // The header is followed by code; its length is given by the jump at 0x200.
  size_t header_end = 0x202 + file[0x201];
  if (header_end > file.size()) return NotBzImage("truncated setup header");
  image.header_size =
      std::min(header_end, sizeof(setup_header) + kSetupHeaderOffset) - kSetupHeaderOffset;
  std::memcpy(&image.header, file.data() + kSetupHeaderOffset, image.header_size);
  const setup_header& hdr = image.header;

  if (hdr.boot_flag != 0xaa55) return NotBzImage("no 0xAA55 boot flag");
  if (hdr.header != kHdrSMagic) return NotBzImage("no 'HdrS' setup header");
  if (hdr.version < kMinBootProtocol) {
    return absl::InvalidArgumentError(
        absl::StrCat("boot protocol ", hdr.version >> 8, ".", hdr.version & 0xff,
                     " is too old: tvmm needs 2.12 or later (a 64-bit entry point)"));
  }
  if (!(hdr.loadflags & LOADED_HIGH)) return NotBzImage("a zImage, not loaded high");
  if (!(hdr.xloadflags & XLF_KERNEL_64)) {
    return absl::InvalidArgumentError("the kernel has no 64-bit entry point (XLF_KERNEL_64)");
  }

  size_t setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
  size_t kernel_offset = (setup_sects + 1) * 512;
  if (kernel_offset >= file_size) return NotBzImage("setup sectors exceed the file");
  uint64_t kernel_size = file_size - kernel_offset;
  if (hdr.syssize && static_cast<uint64_t>(hdr.syssize) * 16 > kernel_size)
    return NotBzImage("truncated (syssize exceeds the file)");
  image.kernel_offset = kernel_offset;
  return image;
}

absl::StatusOr<BzImage> ParseBzImage(absl::Span<const uint8_t> file) {
  TVMM_ASSIGN_OR_RETURN(BzImage image, ParseBzImageHeader(file, file.size()));
  image.kernel = LoadSource::FromBytes(file.subspan(image.kernel_offset));
  return image;
}

absl::StatusOr<BzImage> LoadBzImage(const std::string& path) {
  absl::StatusOr<LoadSource> file = LoadSource::Open(path);
  if (!file.ok()) {
    return absl::Status(file.status().code(), absl::StrCat("--kernel: ", file.status().message()));
  }
  std::vector<uint8_t> head(std::min<uint64_t>(file->size(), kHeadSize));
  TVMM_RETURN_IF_ERROR(file->ReadAt(0, absl::MakeSpan(head)));
  absl::StatusOr<BzImage> image = ParseBzImageHeader(head, file->size());
  if (!image.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--kernel: '", path, "': ", image.status().message()));
  }
  image->kernel = std::move(*file).Skip(image->kernel_offset);
  return image;
}

}  // namespace tvmm::x86
