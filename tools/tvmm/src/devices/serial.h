// SPDX-License-Identifier: GPL-2.0
// A 16550A-compatible UART (8250 family) as Linux's 8250 driver uses it:
// transmit goes straight to the output, receive comes from a FIFO the VMM
// fills, and the interrupt identification follows IER, LSR and the FIFO.
#ifndef TVMM_DEVICES_SERIAL_H_
#define TVMM_DEVICES_SERIAL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include "absl/strings/string_view.h"

#include "devices/bus.h"

namespace tvmm {

class Serial : public BusDevice {
 public:
  using Output = std::function<void(absl::string_view)>;

  Serial(Output output, IrqLine* irq) : output_(std::move(output)), irq_(irq) {}

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // Input from the host side (the terminal).  Bytes beyond the FIFO's
  // capacity are dropped, as by a real UART.
  void Receive(absl::string_view bytes);

  static constexpr size_t kRxFifo = 64;

 private:
  uint8_t ReadReg(uint64_t reg);
  // Bytes transmitted go to @out, which the caller outputs without mu_.
  void WriteReg(uint64_t reg, uint8_t value, std::string* out);
  uint8_t Iir() const;
  // Pulses the IRQ if an enabled condition is pending.  Called with mu_ held.
  void UpdateIrq();

  Output output_;
  IrqLine* irq_;

  std::mutex mu_;
  std::deque<uint8_t> rx_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0c;  // 9600 baud
  uint8_t dlm_ = 0;
  bool thr_empty_pending_ = false;  // THRE interrupt until IIR is read or THR written
};

}  // namespace tvmm

#endif  // TVMM_DEVICES_SERIAL_H_
