// SPDX-License-Identifier: GPL-2.0
// Minimal logging to stderr.  Debian 12's Abseil (20220623) predates
// absl/log; when it is available these become thin wrappers over it.
#ifndef TVMM_UTIL_LOG_H_
#define TVMM_UTIL_LOG_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace tvmm {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(level)) LogLine(level, absl::StrFormat(format, args...));
}

}  // namespace tvmm

#endif  // TVMM_UTIL_LOG_H_
