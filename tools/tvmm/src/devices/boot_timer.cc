// SPDX-License-Identifier: GPL-2.0
#include "devices/boot_timer.h"

#include <algorithm>

namespace tvmm {

void BootTimer::Read(uint64_t offset, absl::Span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
}

void BootTimer::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (offset != 0 || data.empty() || data[0] != kMagic) return;
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_);
  // Only the first write counts: later processes may write it too.
  if (!reported_.exchange(true) && report_) report_(elapsed);
}

}  // namespace tvmm
