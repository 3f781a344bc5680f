// SPDX-License-Identifier: GPL-2.0
#include "util/log.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace tvmm {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* Prefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }

bool LogEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void LogLine(LogLevel level, absl::string_view message) {
  // One write per line, so that lines of concurrent vCPU threads do not mix.
  std::string line = std::string("tvmm: ") + Prefix(level) + ": ";
  line.append(message.data(), message.size());
  line.push_back('\n');
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace tvmm
