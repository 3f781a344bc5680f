// SPDX-License-Identifier: GPL-2.0
// Port-I/O and MMIO dispatch.  Devices are registered before the vCPUs start
// and never removed, so lookups take no lock; each device serializes its own
// state.
#ifndef TVMM_DEVICES_BUS_H_
#define TVMM_DEVICES_BUS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace tvmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // @offset is relative to the device's base; @data.size() is 1, 2, 4 or 8.
  virtual void Read(uint64_t offset, absl::Span<uint8_t> data) = 0;
  virtual void Write(uint64_t offset, absl::Span<const uint8_t> data) = 0;
};

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}

  absl::Status Register(uint64_t base, uint64_t size, std::shared_ptr<BusDevice> device);

  // Drops the bus's references to its devices: for the VM's shutdown, once
  // no vCPU can access the bus any more.
  void Clear();

  // False if nothing is registered there (reads then return all ones).
  bool Read(uint64_t addr, absl::Span<uint8_t> data) const;
  bool Write(uint64_t addr, absl::Span<const uint8_t> data) const;

 private:
  struct Range {
    uint64_t size;
    std::shared_ptr<BusDevice> device;
  };
  const Range* Find(uint64_t addr, uint64_t len, uint64_t* base) const;

  std::string name_;
  std::map<uint64_t, Range> ranges_;  // by base
};

// An interrupt line of the VM's interrupt controller, edge- or
// level-triggered as the firmware tables describe it to the guest.
class IrqLine {
 public:
  virtual ~IrqLine() = default;
  // An edge: the line goes high and low again.
  virtual void Pulse() = 0;
  // A level: the line stays at @high until set again.  The interrupt
  // controller delivers again after the guest's EOI while it is high, so a
  // device that keeps its line up while it has something to report cannot
  // lose an interrupt, whatever the guest masks meanwhile.
  virtual void Set(bool high) = 0;
};

// Hands out the interrupt lines of one VM.
class IrqLineFactory {
 public:
  virtual ~IrqLineFactory() = default;
  virtual IrqLine* Line(uint32_t irq) = 0;
};

}  // namespace tvmm

#endif  // TVMM_DEVICES_BUS_H_
