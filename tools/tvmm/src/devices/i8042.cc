// SPDX-License-Identifier: GPL-2.0
#include "devices/i8042.h"

#include <algorithm>

namespace tvmm {

void I8042::Read(uint64_t offset, absl::Span<uint8_t> data) {
  // No keyboard: the output buffer is always empty, status reads 0.
  std::fill(data.begin(), data.end(), 0);
}

void I8042::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  constexpr uint64_t kCommand = 4;
  constexpr uint8_t kPulseReset = 0xfe;
  if (offset == kCommand && data.size() == 1 && data[0] == kPulseReset && on_reset_)
    on_reset_();
}

}  // namespace tvmm
