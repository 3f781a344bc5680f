// SPDX-License-Identifier: GPL-2.0
#include "util/load_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {

absl::StatusOr<LoadSource> LoadSource::Open(const std::string& path) {
  LoadSource s;
  s.fd_.Reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!s.fd_.valid() || fstat(s.fd_.get(), &st))
    return ErrnoStatus(absl::StrCat("cannot open '", path, "'"));
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  s.size_ = st.st_size;
  s.path_ = path;
  return s;
}

absl::Status LoadSource::ReadAt(uint64_t offset, absl::Span<uint8_t> out) const {
  if (offset > size_ || out.size() > size_ - offset)
    return absl::InternalError("load: read beyond the source");
  if (!fd_.valid()) {
    if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset_ + offset, out.size());
    return absl::OkStatus();
  }
  for (uint64_t done = 0; done < out.size();) {
    ssize_t n = pread(fd_.get(), out.data() + done, out.size() - done, offset_ + offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("reading '", path_, "'"));
    if (n == 0) return absl::DataLossError(absl::StrCat("'", path_, "' shrank while loading"));
    done += n;
  }
  return absl::OkStatus();
}

absl::Status LoadSource::ReadInto(absl::Span<uint8_t> out) const {
  if (out.size() != size_) return absl::InternalError("load: destination size mismatch");
  return ReadAt(0, out);
}

LoadSource LoadSource::Skip(uint64_t n) && {
  LoadSource rest = std::move(*this);
  rest.offset_ += n;
  rest.size_ -= n;
  return rest;
}

}  // namespace tvmm
