// SPDX-License-Identifier: GPL-2.0
#include "devices/serial.h"

#include <string>

namespace tvmm {
namespace {

// Registers (offsets from the base port).
constexpr uint64_t kData = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                   kScr = 7;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kIerRda = 0x01, kIerThre = 0x02;
constexpr uint8_t kIirNone = 0x01, kIirThre = 0x02, kIirRda = 0x04, kIirFifo = 0xc0;
constexpr uint8_t kLsrDr = 0x01, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kMcrLoop = 0x10;
// Modem status with DCD, DSR and CTS asserted (a cable is connected).
constexpr uint8_t kMsrConnected = 0xb0;

}  // namespace

void Serial::Read(uint64_t offset, absl::Span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) data[i] = ReadReg(offset + i);
}

void Serial::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  std::string out;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < data.size(); i++) WriteReg(offset + i, data[i], &out);
  }
  // Not under mu_: a console that blocks must not block Receive() (the
  // host's input) with it.
  if (!out.empty() && output_) output_(out);
}

void Serial::Receive(absl::string_view bytes) {
  std::lock_guard lock(mu_);
  for (char c : bytes) {
    if (rx_.size() >= kRxFifo) break;
    rx_.push_back(static_cast<uint8_t>(c));
  }
  UpdateIrq();
}

uint8_t Serial::Iir() const {
  if ((ier_ & kIerRda) && !rx_.empty()) return kIirFifo | kIirRda;
  if ((ier_ & kIerThre) && thr_empty_pending_) return kIirFifo | kIirThre;
  return kIirFifo | kIirNone;
}

void Serial::UpdateIrq() {
  if (irq_ && (Iir() & kIirNone) == 0) irq_->Pulse();
}

uint8_t Serial::ReadReg(uint64_t reg) {
  switch (reg) {
    case kData:
      if (lcr_ & kLcrDlab) return dll_;
      if (rx_.empty()) return 0;
      {
        uint8_t c = rx_.front();
        rx_.pop_front();
        UpdateIrq();
        return c;
      }
    case kIer:
      return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIir: {
      uint8_t iir = Iir();
      // Reading IIR acknowledges a THRE interrupt.
      if ((iir & 0x0f) == kIirThre) thr_empty_pending_ = false;
      return iir;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return kLsrThre | kLsrTemt | (rx_.empty() ? 0 : kLsrDr);
    case kMsr:
      if (mcr_ & kMcrLoop) {
        // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
        return static_cast<uint8_t>(((mcr_ & 0x01) << 5) | ((mcr_ & 0x02) << 3) |
                                    ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
      }
      return kMsrConnected;
    case kScr:
      return scr_;
    default:
      return 0xff;
  }
}

void Serial::WriteReg(uint64_t reg, uint8_t value, std::string* out) {
  switch (reg) {
    case kData:
      if (lcr_ & kLcrDlab) {
        dll_ = value;
        return;
      }
      if (mcr_ & kMcrLoop) {
        if (rx_.size() < kRxFifo) rx_.push_back(value);
      } else {
        out->push_back(static_cast<char>(value));
      }
      thr_empty_pending_ = true;  // transmitted at once
      UpdateIrq();
      return;
    case kIer:
      if (lcr_ & kLcrDlab) {
        dlm_ = value;
        return;
      }
      // Enabling THRE interrupts with an empty THR raises one at once.
      if ((value & kIerThre) && !(ier_ & kIerThre)) thr_empty_pending_ = true;
      ier_ = value & 0x0f;
      UpdateIrq();
      return;
    case kIir:  // FCR: FIFOs are always on
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      mcr_ = value & 0x1f;
      return;
    case kScr:
      scr_ = value;
      return;
    default:
      return;  // LSR and MSR are read-only
  }
}

}  // namespace tvmm
