// SPDX-License-Identifier: GPL-2.0
#include "util/load_source.h"

#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {

absl::Status LoadSource::ReadInto(absl::Span<uint8_t> out) const {
  if (out.size() != size_) return absl::InternalError("load: destination size mismatch");
  if (fd_ < 0) {
    if (size_) std::memcpy(out.data(), bytes_.data(), size_);
    return absl::OkStatus();
  }
  for (uint64_t done = 0; done < size_;) {
    ssize_t n = pread(fd_, out.data() + done, size_ - done, offset_ + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("reading ", what_));
    if (n == 0) return absl::DataLossError(absl::StrCat(what_, " shrank while loading"));
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace tvmm
