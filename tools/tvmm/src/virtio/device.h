// SPDX-License-Identifier: GPL-2.0
// What a virtio device implements; the transport (virtio-mmio) owns the
// feature negotiation, the queues' configuration and the interrupt status.
#ifndef TVMM_VIRTIO_DEVICE_H_
#define TVMM_VIRTIO_DEVICE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "memory/guest_memory.h"
#include "virtio/virtqueue.h"

namespace tvmm {

inline constexpr uint64_t kVirtioFVersion1 = 1ull << 32;
// used_event/avail_event notification suppression, handled by Virtqueue for
// the devices whose rings tvmm runs (blk, rng).
inline constexpr uint64_t kVirtioRingFEventIdx = 1ull << 29;

// A device's queues, in queue order.  The transport owns them while the
// device is reset and configures them; the device owns them while it is
// active.
using VirtqueueSet = std::vector<std::unique_ptr<Virtqueue>>;

// Lets a device tell the driver that it used buffers.
class VirtioInterrupt {
 public:
  virtual ~VirtioInterrupt() = default;
  // tvmm runs @queue's ring: interrupts unless the driver suppressed it.
  virtual void SignalUsed(Virtqueue& queue) = 0;
  // The host kernel runs the ring (vhost) and applied the driver's
  // suppression already: interrupts.
  virtual void SignalUsedByHost() = 0;
  virtual void SignalConfigChange() = 0;
  // The driver broke a queue, found out off the notifying thread (where
  // QueueNotify() cannot return the error): sets DEVICE_NEEDS_RESET.
  virtual void SignalNeedsReset() = 0;
};

// For ReadConfig(): @data from @config at @offset, bytes past its end as 0.
inline void CopyConfig(absl::Span<const uint8_t> config, uint64_t offset,
                       absl::Span<uint8_t> data) {
  for (size_t i = 0; i < data.size(); i++)
    data[i] = offset < config.size() && i < config.size() - offset ? config[offset + i] : 0;
}

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t DeviceId() const = 0;
  // Offered features, VIRTIO_F_VERSION_1 included.
  virtual uint64_t Features() const = 0;
  virtual size_t NumQueues() const = 0;
  virtual uint16_t MaxQueueSize() const { return Virtqueue::kMaxSize; }

  // Device-specific configuration space; out-of-range bytes read as 0.
  virtual void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) = 0;
  virtual void WriteConfig(uint64_t offset, absl::Span<const uint8_t> data) {}

  // The driver set DRIVER_OK.  @queues are the device's queues, NumQueues()
  // of them, each active or not (a driver may leave some unused): they are
  // the device's until Reset() gives them back.  An error makes the
  // transport set DEVICE_NEEDS_RESET.
  virtual absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                                VirtioInterrupt* interrupt) = 0;

  // The driver notified queue @index (always < NumQueues()).  An error means
  // the driver broke the queue: the transport sets DEVICE_NEEDS_RESET.  May
  // run on several threads at once, for one queue or several, but never
  // alongside Activate() or Reset().
  virtual absl::Status QueueNotify(uint32_t index) = 0;

  // An eventfd on which the host kernel takes queue @index's notifications
  // itself (vhost's kick), or -1.  With ioeventfds, KVM signals it
  // directly, and QueueNotify() is not called for the queue: the kernel
  // must ignore kicks while the device is not running.  It lives as long
  // as the device.
  virtual int QueueKickFd(uint32_t index) const { return -1; }

  // Back to the initial state: returns the queues Activate() was given, in
  // order, once none of the device's threads can touch them any more (none
  // if it was not activated since the last reset; the transport replaces a
  // queue that is missing).  Work in flight is waited for, for a bounded
  // time, so that nothing lands in guest memory once the driver sees the
  // reset: Quiesced() says whether it has finished, and the transport
  // reports the reset done only then.  Work the device still waits for
  // keeps no reference to the queues.
  virtual VirtqueueSet Reset() = 0;
  virtual bool Quiesced() { return true; }
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_DEVICE_H_
