// SPDX-License-Identifier: GPL-2.0
// Bytes to load into guest memory: (a range of) a regular file, read with
// pread() straight into place (no copy on tvmm's heap, no file mapping,
// few large reads even on network or 9p file systems), or bytes already in
// memory (tests).
#ifndef TVMM_UTIL_LOAD_SOURCE_H_
#define TVMM_UTIL_LOAD_SOURCE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "util/fd.h"

namespace tvmm {

class LoadSource {
 public:
  LoadSource() = default;
  static LoadSource FromBytes(absl::Span<const uint8_t> bytes) { return LoadSource(bytes); }
  // All of the regular file @path, which stays open with the source.
  // Errors: "cannot open '<path>': ...", "'<path>' is not a regular file".
  static absl::StatusOr<LoadSource> Open(const std::string& path);

  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Fills @out with the source's bytes from @offset on.
  absl::Status ReadAt(uint64_t offset, absl::Span<uint8_t> out) const;
  // Fills @out, which must be size() bytes, with the whole source.
  absl::Status ReadInto(absl::Span<uint8_t> out) const;

  // What is left after the first @n bytes (n <= size()).
  LoadSource Skip(uint64_t n) &&;

 private:
  explicit LoadSource(absl::Span<const uint8_t> bytes) : bytes_(bytes), size_(bytes.size()) {}

  absl::Span<const uint8_t> bytes_;
  UniqueFd fd_;
  uint64_t offset_ = 0;  // into the file or bytes_
  uint64_t size_ = 0;
  std::string path_;
};

}  // namespace tvmm

#endif  // TVMM_UTIL_LOAD_SOURCE_H_
