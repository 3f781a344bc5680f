// SPDX-License-Identifier: GPL-2.0
#include "virtio/mmio.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "util/log.h"

namespace tvmm {
namespace {

// Register offsets.
constexpr uint64_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kVendorId = 0x00c,
                   kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020,
                   kDriverFeaturesSel = 0x024, kQueueSel = 0x030, kQueueNumMax = 0x034,
                   kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                   kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070,
                   kQueueDescLow = 0x080, kQueueDescHigh = 0x084, kQueueDriverLow = 0x090,
                   kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4,
                   kConfigGeneration = 0x0fc, kConfig = 0x100;

constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
constexpr uint32_t kVendor = 0x4d4d5654;      // "TVMM"
constexpr uint32_t kUsedBuffer = 1, kConfigChange = 2;

}  // namespace

VirtioMmio::VirtioMmio(std::unique_ptr<VirtioDevice> device, const GuestMemory* mem, IrqLine* irq)
    : device_(std::move(device)), mem_(mem), irq_(irq) {
  for (size_t i = 0; i < device_->NumQueues(); i++) queues_.emplace_back(device_->MaxQueueSize());
}

VirtioMmio::~VirtioMmio() { device_.reset(); }

void VirtioMmio::Read(uint64_t offset, absl::Span<uint8_t> data) {
  std::lock_guard lock(mu_);
  if (offset >= kConfig) {
    device_->ReadConfig(offset - kConfig, data);
    return;
  }
  // Registers are 32 bits wide and read with aligned 32-bit accesses only.
  uint32_t value = (data.size() == 4 && offset % 4 == 0) ? ReadReg(offset) : 0;
  std::memcpy(data.data(), &value, std::min<size_t>(data.size(), 4));
  if (data.size() > 4) std::fill(data.begin() + 4, data.end(), 0);
}

void VirtioMmio::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  if (offset == kQueueNotify && data.size() == 4) {
    uint32_t value;
    std::memcpy(&value, data.data(), 4);
    Notify(value);
    return;
  }
  std::lock_guard lock(mu_);
  if (offset >= kConfig) {
    device_->WriteConfig(offset - kConfig, data);
    return;
  }
  if (data.size() != 4 || offset % 4) return;
  uint32_t value;
  std::memcpy(&value, data.data(), 4);
  WriteReg(offset, value);
}

VirtioMmio::Queue* VirtioMmio::SelectedQueue() {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

uint32_t VirtioMmio::ReadReg(uint64_t offset) {
  Queue* q = SelectedQueue();
  switch (offset) {
    case kMagic:
      return kMagicValue;
    case kVersion:
      return 2;
    case kDeviceId:
      return device_->DeviceId();
    case kVendorId:
      return kVendor;
    case kDeviceFeatures:
      return device_features_sel_ < 2
                 ? static_cast<uint32_t>(device_->Features() >> (32 * device_features_sel_))
                 : 0;
    case kQueueNumMax:
      return q ? q->max : 0;
    case kQueueReady:
      return q && q->ready;
    case kInterruptStatus: {
      std::lock_guard irq(irq_mu_);
      return interrupt_status_;
    }
    case kStatus: {
      if (ResetPending()) return kNeedsReset;
      std::lock_guard irq(irq_mu_);
      return status_ | (needs_reset_ ? kNeedsReset : 0);
    }
    case kConfigGeneration: {
      std::lock_guard irq(irq_mu_);
      return config_generation_;
    }
    default:
      return 0;
  }
}

void VirtioMmio::SetHalf(uint64_t* reg, bool high, uint32_t value) {
  *reg = high ? (*reg & 0xffffffffull) | (uint64_t{value} << 32) : (*reg & ~0xffffffffull) | value;
}

void VirtioMmio::WriteReg(uint64_t offset, uint32_t value) {
  Queue* q = SelectedQueue();
  // Queue configuration may change only before the queue is ready, and
  // only while the driver has not yet said DRIVER_OK.
  bool queue_writable = q && !q->ready && !(status_ & kDriverOk);
  switch (offset) {
    case kDeviceFeaturesSel:
      device_features_sel_ = value;
      return;
    case kDriverFeaturesSel:
      driver_features_sel_ = value;
      return;
    case kDriverFeatures:
      if (driver_features_sel_ < 2 && !(status_ & kFeaturesOk)) {
        uint64_t shift = 32 * driver_features_sel_;
        driver_features_ =
            (driver_features_ & ~(0xffffffffull << shift)) | (uint64_t{value} << shift);
      }
      return;
    case kQueueSel:
      queue_sel_ = value;
      return;
    case kQueueNum:
      if (queue_writable) q->num = static_cast<uint16_t>(std::min<uint32_t>(value, 0xffff));
      return;
    case kQueueDescLow:
    case kQueueDescHigh:
      if (queue_writable) SetHalf(&q->desc, offset == kQueueDescHigh, value);
      return;
    case kQueueDriverLow:
    case kQueueDriverHigh:
      if (queue_writable) SetHalf(&q->driver, offset == kQueueDriverHigh, value);
      return;
    case kQueueDeviceLow:
    case kQueueDeviceHigh:
      if (queue_writable) SetHalf(&q->device, offset == kQueueDeviceHigh, value);
      return;
    case kQueueReady:
      if (!q) return;
      if (value == 0) {
        // Resetting one queue (VIRTIO_F_RING_RESET) is not offered: after
        // DRIVER_OK a device may be using the queue from another thread.
        if (status_ & kDriverOk) return;
        q->ready = false;
        std::lock_guard irq(irq_mu_);
        if (q->vq) q->vq->Reset();
      } else if (queue_writable) {
        // Under irq_mu_: a device thread that signals late (before the
        // reset it missed) reads the queue under it.
        std::lock_guard irq(irq_mu_);
        absl::Status s = q->vq->Activate(mem_, q->num, q->desc, q->driver, q->device,
                                         driver_features_ & kVirtioRingFEventIdx);
        if (s.ok()) {
          q->ready = true;
        } else {
          Log(LogLevel::kWarning, "virtio device %d queue %d: %s", device_->DeviceId(), queue_sel_,
              std::string(s.message()));
        }
      }
      return;
    case kInterruptAck: {
      std::lock_guard irq(irq_mu_);
      interrupt_status_ &= ~value;
      UpdateLineLocked();
      return;
    }
    case kStatus:
      SetStatus(value);
      return;
    default:
      return;
  }
}

void VirtioMmio::Notify(uint32_t index) {
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    if (!(status_ & kDriverOk) || index >= queues_.size() || !queues_[index].ready) return;
    {
      std::lock_guard irq(irq_mu_);
      if (needs_reset_) return;
    }
    generation = generation_;
    std::lock_guard n(notify_mu_);
    notifying_++;
  }
  // Without mu_: another queue's notification, a register access and the
  // device's own signals go on meanwhile.  A reset waits for this.
  absl::Status s = device_->QueueNotify(index);
  {
    std::lock_guard n(notify_mu_);
    if (--notifying_ == 0) notify_done_.notify_all();
  }
  if (!s.ok()) {
    std::lock_guard irq(irq_mu_);
    // Not if a reset has come since: its driver did nothing wrong.
    if (generation_ == generation) {
      Log(LogLevel::kWarning, "virtio device %d: %s", device_->DeviceId(),
          std::string(s.message()));
      NeedsResetLocked();
    }
  }
}

void VirtioMmio::SetStatus(uint32_t value) {
  if (value == 0) {
    ResetLocked();
    return;
  }
  if (ResetPending()) return;
  // VIRTIO 1.2 2.1: the driver sets ACKNOWLEDGE, DRIVER, FEATURES_OK and
  // DRIVER_OK in that order (several in one write is fine) and clears
  // nothing but by a reset; FAILED it may set at any time, and after it
  // nothing else.  DEVICE_NEEDS_RESET is the device's: a driver writing back
  // what it read neither sets nor clears it.  A write that breaks these
  // rules changes nothing it may not: bits out of order are dropped, and a
  // write that would clear a bit is ignored whole.
  constexpr uint32_t kOrder[] = {kAcknowledge, kDriver, kFeaturesOk, kDriverOk};
  uint32_t old = status_;
  value &= kAcknowledge | kDriver | kFeaturesOk | kDriverOk | kFailed;
  if ((value & old) != old) {
    Log(LogLevel::kWarning, "virtio device %d: status 0x%x clears bits of 0x%x without a reset",
        device_->DeviceId(), value, old);
    return;
  }
  uint32_t added = value & ~old;
  uint32_t next = old | (added & kFailed);
  if (!(old & kFailed)) {
    for (size_t i = 0; i < std::size(kOrder); i++) {
      uint32_t bit = kOrder[i];
      if (!(added & bit)) continue;
      if (i > 0 && !(next & kOrder[i - 1])) break;
      // Only offered features, and a modern driver.
      if (bit == kFeaturesOk && ((driver_features_ & ~device_->Features()) ||
                                 !(driver_features_ & kVirtioFVersion1)))
        break;
      next |= bit;
    }
  }
  bool activate = (next & kDriverOk) && !(old & kDriverOk);
  status_ = next;
  if (activate) {
    // The device owns its queues from here until its Reset().
    VirtqueueSet queues;
    for (Queue& q : queues_) queues.push_back(std::move(q.vq));
    absl::Status s = device_->Activate(mem_, std::move(queues), driver_features_, this);
    if (!s.ok()) {
      Log(LogLevel::kWarning, "virtio device %d: %s", device_->DeviceId(),
          std::string(s.message()));
      std::lock_guard irq(irq_mu_);
      NeedsResetLocked();
    }
  }
}

void VirtioMmio::ResetLocked() {
  // A notification the device is still handling uses the queues: wait for
  // it.  mu_ stays held, so no new one starts and no register changes.
  {
    std::unique_lock n(notify_mu_);
    notify_done_.wait(n, [this] { return notifying_ == 0; });
  }
  generation_++;
  VirtqueueSet returned = device_->Reset();
  {
    std::lock_guard irq(irq_mu_);
    for (size_t i = 0; i < queues_.size(); i++) {
      Queue& q = queues_[i];
      if (i < returned.size() && returned[i])
        q.vq = std::move(returned[i]);
      else if (!q.vq)
        q.vq = std::make_unique<Virtqueue>(q.max);
      q.vq->Reset();
      q.num = 0;
      q.ready = false;
      q.desc = q.driver = q.device = 0;
    }
    interrupt_status_ = 0;
    needs_reset_ = false;
    UpdateLineLocked();
    // With needs_reset_, so that a SignalNeedsReset() of before the reset
    // either lands before (and is cleared) or sees no DRIVER_OK.
    status_ = 0;
  }
  driver_features_ = 0;
  device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
  reset_pending_ = !device_->Quiesced();
}

bool VirtioMmio::ResetPending() {
  if (reset_pending_ && device_->Quiesced()) reset_pending_ = false;
  return reset_pending_;
}

void VirtioMmio::NeedsResetLocked() {
  needs_reset_ = true;
  RaiseLocked(kConfigChange);
}

void VirtioMmio::RaiseLocked(uint32_t bits) {
  interrupt_status_ |= bits;
  UpdateLineLocked();
}

void VirtioMmio::UpdateLineLocked() {
  bool high = interrupt_status_ != 0;
  if (irq_ && high != line_high_) irq_->Set(high);
  line_high_ = high;
}

void VirtioMmio::SignalUsed(Virtqueue& queue) {
  std::lock_guard irq(irq_mu_);
  if (queue.ShouldInterrupt()) RaiseLocked(kUsedBuffer);
}

void VirtioMmio::SignalUsedByHost() {
  std::lock_guard irq(irq_mu_);
  RaiseLocked(kUsedBuffer);
}

void VirtioMmio::SignalNeedsReset() {
  std::lock_guard irq(irq_mu_);
  if (status_ & kDriverOk) NeedsResetLocked();
}

void VirtioMmio::SignalConfigChange() {
  std::lock_guard irq(irq_mu_);
  config_generation_++;
  RaiseLocked(kConfigChange);
}

}  // namespace tvmm
