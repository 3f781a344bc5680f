// SPDX-License-Identifier: GPL-2.0
// virtio-mmio transport, version 2 ("modern", VIRTIO 1.2 section 4.2.2).
// Guest accesses come from vCPU threads; one mutex serializes the register
// file and the device's notifications.
#ifndef TVMM_VIRTIO_MMIO_H_
#define TVMM_VIRTIO_MMIO_H_

#include <memory>
#include <mutex>
#include <vector>

#include "devices/bus.h"
#include "virtio/device.h"

namespace tvmm {

class VirtioMmio : public BusDevice, private VirtioInterrupt {
 public:
  static constexpr uint64_t kSize = 0x200;

  VirtioMmio(std::unique_ptr<VirtioDevice> device, const GuestMemory* mem, IrqLine* irq);
  // The device goes first: its threads may push into the queues and signal
  // through this transport until they stop.  @irq must outlive it.
  ~VirtioMmio() override;

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  VirtioDevice* device() const { return device_.get(); }

  // Device status bits.
  static constexpr uint32_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8,
                            kNeedsReset = 0x40, kFailed = 0x80;

 private:
  struct Queue {
    explicit Queue(uint16_t max) : vq(max) {}
    Virtqueue vq;
    uint16_t num = 0;
    bool ready = false;
    uint64_t desc = 0, driver = 0, device = 0;
  };

  uint32_t ReadReg(uint64_t offset);
  void WriteReg(uint64_t offset, uint32_t value);
  void SetStatus(uint32_t value);
  void ResetLocked();
  bool ResetPending();
  void NeedsReset();
  Queue* SelectedQueue();
  static void SetHalf(uint64_t* reg, bool high, uint32_t value);

  void SignalUsed(Virtqueue& queue) override;
  void SignalUsedByHost() override;
  void SignalConfigChange() override;
  void SignalNeedsReset() override;
  void RaiseLocked(uint32_t bits);
  // The (level-triggered) line follows InterruptStatus: high while not 0.
  void UpdateLineLocked();

  std::unique_ptr<VirtioDevice> device_;
  const GuestMemory* mem_;
  IrqLine* irq_;

  std::recursive_mutex mu_;  // devices signal from inside QueueNotify
  std::vector<Queue> queues_;
  uint32_t status_ = 0;
  // A reset whose device had not quiesced: Status reads DEVICE_NEEDS_RESET
  // and takes nothing but 0 until the device has.
  bool reset_pending_ = false;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t queue_sel_ = 0;
  uint32_t interrupt_status_ = 0;
  bool line_high_ = false;
  uint32_t config_generation_ = 0;
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_MMIO_H_
