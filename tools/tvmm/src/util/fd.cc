// SPDX-License-Identifier: GPL-2.0
#include "util/fd.h"

#include <sys/mman.h>
#include <unistd.h>

#include "absl/strings/cord.h"
#include "util/status.h"

namespace tvmm {

absl::Status ErrnoStatus(absl::string_view what, int err) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case EINVAL:
    case E2BIG:
    case ERANGE:
      return absl::InvalidArgumentError(msg);
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOMEM:
    case ENOSPC:
      return absl::ResourceExhaustedError(msg);
    case EBUSY:
    case EAGAIN:
      return absl::UnavailableError(msg);
    case ENOTTY:
    case EOPNOTSUPP:
    case ENOSYS:
      return absl::UnimplementedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

namespace {
constexpr absl::string_view kUsagePayload = "tvmm.dev/usage-error";
}  // namespace

absl::Status UsageError(absl::Status status) {
  if (!status.ok()) status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    Reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

absl::StatusOr<Mapping> Mapping::Map(size_t size, int prot, int flags, int fd, off_t offset) {
  void* p = mmap(nullptr, size, prot, flags, fd, offset);
  if (p == MAP_FAILED) return ErrnoStatus(absl::StrCat("mmap of ", size, " bytes"));
  return Mapping(p, size);
}

void Mapping::Reset() {
  if (addr_) munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

}  // namespace tvmm
