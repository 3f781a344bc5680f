// SPDX-License-Identifier: GPL-2.0
// Status helpers.  Debian 12's Abseil (20220623) has no status macros, so
// these are the two every Abseil codebase ends up writing.
#ifndef TVMM_UTIL_STATUS_H_
#define TVMM_UTIL_STATUS_H_

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tvmm {

// An absl::Status for a failed system call: "<what>: <strerror(err)>", with
// the code that fits errno.
absl::Status ErrnoStatus(absl::string_view what, int err = errno);

// Marks @status (not OK) as the user's to fix: a flag's value or a guest
// image that cannot work.  `tvmm run` exits 2 for these and 1 for every
// other error, whatever its code: an EINVAL from KVM is tvmm's failure.
absl::Status UsageError(absl::Status status);
bool IsUsageError(const absl::Status& status);

}  // namespace tvmm

#define TVMM_STATUS_CONCAT_INNER_(a, b) a##b
#define TVMM_STATUS_CONCAT_(a, b) TVMM_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define TVMM_RETURN_IF_ERROR(expr)                                    \
  do {                                                                \
    if (absl::Status _tvmm_s = (expr); !_tvmm_s.ok()) return _tvmm_s; \
  } while (0)

// `lhs = *expr`, or returns the error of `expr` (an absl::StatusOr<T>).
#define TVMM_ASSIGN_OR_RETURN(lhs, expr) \
  TVMM_ASSIGN_OR_RETURN_IMPL_(TVMM_STATUS_CONCAT_(_tvmm_or_, __LINE__), lhs, expr)
#define TVMM_ASSIGN_OR_RETURN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                \
  if (!var.ok()) return std::move(var).status();    \
  lhs = std::move(var).value()

#endif  // TVMM_UTIL_STATUS_H_
