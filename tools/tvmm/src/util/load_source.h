// SPDX-License-Identifier: GPL-2.0
// Bytes to load into guest memory: a range of an open file, read with
// pread() straight into place (no copy on tvmm's heap, no file mapping,
// few large reads even on network or 9p file systems), or bytes already in
// memory (tests).
#ifndef TVMM_UTIL_LOAD_SOURCE_H_
#define TVMM_UTIL_LOAD_SOURCE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace tvmm {

class LoadSource {
 public:
  LoadSource() = default;
  static LoadSource FromBytes(absl::Span<const uint8_t> bytes) { return LoadSource(bytes); }
  // @fd is borrowed: it must stay open while the source is used.  @what
  // names the file in errors.
  static LoadSource FromFile(int fd, uint64_t offset, uint64_t size, std::string what) {
    return LoadSource(fd, offset, size, std::move(what));
  }

  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Fills @out, which must be size() bytes, with the whole source.
  absl::Status ReadInto(absl::Span<uint8_t> out) const;

 private:
  explicit LoadSource(absl::Span<const uint8_t> bytes) : bytes_(bytes), size_(bytes.size()) {}
  LoadSource(int fd, uint64_t offset, uint64_t size, std::string what)
      : fd_(fd), offset_(offset), size_(size), what_(std::move(what)) {}

  absl::Span<const uint8_t> bytes_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
  std::string what_;
};

}  // namespace tvmm

#endif  // TVMM_UTIL_LOAD_SOURCE_H_
