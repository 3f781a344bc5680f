// SPDX-License-Identifier: GPL-2.0
// What a virtio device implements; the transport (virtio-mmio) owns the
// feature negotiation, the queues' configuration and the interrupt status.
#ifndef TVMM_VIRTIO_DEVICE_H_
#define TVMM_VIRTIO_DEVICE_H_

#include <cstdint>
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

  // The driver set DRIVER_OK.  @queues are the device's queues, each active
  // or not (a driver may leave some unused).  An error makes the transport
  // set DEVICE_NEEDS_RESET.
  virtual absl::Status Activate(const GuestMemory* mem, std::vector<Virtqueue*> queues,
                                uint64_t features, VirtioInterrupt* interrupt) = 0;

  // The driver notified queue @index (always < NumQueues()).  An error means
  // the driver broke the queue: the transport sets DEVICE_NEEDS_RESET.  May
  // run on several threads at once, for one queue or several, but never
  // alongside Activate() or Reset().
  virtual absl::Status QueueNotify(uint32_t index) = 0;

  // Back to the initial state; no queue is used afterwards.  Work in flight
  // is waited for, for a bounded time, so that nothing lands in guest
  // memory once the driver sees the reset: Quiesced() says whether it has
  // finished, and the transport reports the reset done only then.
  virtual void Reset() = 0;
  virtual bool Quiesced() { return true; }
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_DEVICE_H_
