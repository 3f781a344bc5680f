// SPDX-License-Identifier: GPL-2.0
// Boot timer: the guest's first userspace process writes kMagic to this
// port, and tvmm logs the time from its own start to that write (the figure
// Firecracker enforces for its boot time).  From a shell:
//   printf '\173' | dd of=/dev/port bs=1 seek=1088 2>/dev/null   (0x440)
#ifndef TVMM_DEVICES_BOOT_TIMER_H_
#define TVMM_DEVICES_BOOT_TIMER_H_

#include <atomic>
#include <chrono>
#include <functional>

#include "devices/bus.h"

namespace tvmm {

class BootTimer : public BusDevice {
 public:
  static constexpr uint8_t kMagic = 123;
  using Clock = std::chrono::steady_clock;

  BootTimer(Clock::time_point start, std::function<void(std::chrono::microseconds)> report)
      : start_(start), report_(std::move(report)) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  Clock::time_point start_;
  std::function<void(std::chrono::microseconds)> report_;
  std::atomic<bool> reported_{false};
};

}  // namespace tvmm

#endif  // TVMM_DEVICES_BOOT_TIMER_H_
