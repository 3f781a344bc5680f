// SPDX-License-Identifier: GPL-2.0
// Just enough of the i8042 keyboard controller for Linux's "reboot=k": the
// CPU-reset command (0xfe written to port 0x64) ends the VM.
#ifndef TVMM_DEVICES_I8042_H_
#define TVMM_DEVICES_I8042_H_

#include <functional>

#include "devices/bus.h"

namespace tvmm {

class I8042 : public BusDevice {
 public:
  // Registered at port 0x60, 5 bytes wide (0x60 data, 0x64 command/status).
  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

 private:
  std::function<void()> on_reset_;
};

}  // namespace tvmm

#endif  // TVMM_DEVICES_I8042_H_
