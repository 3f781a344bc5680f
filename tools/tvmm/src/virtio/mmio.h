// SPDX-License-Identifier: GPL-2.0
// virtio-mmio transport, version 2 ("modern", VIRTIO 1.2 section 4.2.2).
// Register accesses come from vCPU threads and are serialized by one mutex.
// Queue notifications come from vCPU threads (a write to QueueNotify) or
// from the threads that wait on KVM ioeventfds (Notify()); the device
// handles each without that mutex, so that notifications of different
// queues run side by side and a register access never waits for one.  A
// reset waits until the notifications in progress have returned.  The
// queues are the transport's while the device is reset, and the device's
// from DRIVER_OK until its reset hands them back.
#ifndef TVMM_VIRTIO_MMIO_H_
#define TVMM_VIRTIO_MMIO_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "devices/bus.h"
#include "virtio/device.h"

namespace tvmm {

class VirtioMmio : public BusDevice, private VirtioInterrupt {
 public:
  static constexpr uint64_t kSize = 0x200;
  // The QueueNotify register: the driver writes a queue's index there.
  static constexpr uint64_t kQueueNotifyOffset = 0x050;

  VirtioMmio(std::unique_ptr<VirtioDevice> device, const GuestMemory* mem, IrqLine* irq);
  // The device goes first, with the queues it holds: its threads may push
  // into them and signal through this transport until they stop.  @irq
  // must outlive it.
  ~VirtioMmio() override;

  void Read(uint64_t offset, absl::Span<uint8_t> data) override;
  void Write(uint64_t offset, absl::Span<const uint8_t> data) override;

  // The driver notified queue @index (the value of a 4-byte write to
  // QueueNotify): the device runs it if the driver may notify now.  Any
  // thread; the one an ioeventfd wakes calls this.
  void Notify(uint32_t index);

  VirtioDevice* device() const { return device_.get(); }

  // Device status bits.
  static constexpr uint32_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8,
                            kNeedsReset = 0x40, kFailed = 0x80;

 private:
  struct Queue {
    explicit Queue(uint16_t max) : max(max), vq(std::make_unique<Virtqueue>(max)) {}
    uint16_t max;
    // Ours while the device is reset: moved into the device by Activate()
    // (null meanwhile), handed back by its Reset().
    std::unique_ptr<Virtqueue> vq;
    uint16_t num = 0;
    bool ready = false;
    uint64_t desc = 0, driver = 0, device = 0;
  };

  uint32_t ReadReg(uint64_t offset);
  void WriteReg(uint64_t offset, uint32_t value);
  void SetStatus(uint32_t value);
  void ResetLocked();
  bool ResetPending();
  void NeedsResetLocked();  // irq_mu_ held
  Queue* SelectedQueue();
  static void SetHalf(uint64_t* reg, bool high, uint32_t value);

  void SignalUsed(Virtqueue& queue) override;
  void SignalUsedByHost() override;
  void SignalConfigChange() override;
  void SignalNeedsReset() override;
  void RaiseLocked(uint32_t bits);  // irq_mu_ held
  // The (level-triggered) line follows InterruptStatus: high while not 0.
  void UpdateLineLocked();  // irq_mu_ held

  std::unique_ptr<VirtioDevice> device_;
  const GuestMemory* mem_;
  IrqLine* irq_;

  // Lock order: mu_, then irq_mu_; notify_mu_ is taken alone or last.
  // mu_: the register file and the queues' configuration.  Recursive: a
  // device may signal from inside Activate() or Reset().
  std::recursive_mutex mu_;
  std::vector<Queue> queues_;
  // Written under mu_; read also by the device's threads (SignalNeedsReset).
  std::atomic<uint32_t> status_{0};  // never has kNeedsReset: see needs_reset_
  // A reset whose device had not quiesced: Status reads DEVICE_NEEDS_RESET
  // and takes nothing but 0 until the device has.
  bool reset_pending_ = false;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t queue_sel_ = 0;
  std::atomic<uint64_t> generation_{0};  // resets so far

  // irq_mu_: what the device's threads change when they signal, and the
  // queues' rings against a reset while they do.
  std::mutex irq_mu_;
  uint32_t interrupt_status_ = 0;
  bool line_high_ = false;
  uint32_t config_generation_ = 0;
  bool needs_reset_ = false;  // DEVICE_NEEDS_RESET, sticky until a reset

  // Notifications inside the device (Notify(), which holds no other lock
  // meanwhile): a reset waits until there are none.
  std::mutex notify_mu_;
  std::condition_variable notify_done_;
  uint32_t notifying_ = 0;
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_MMIO_H_
