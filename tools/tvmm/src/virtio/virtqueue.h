// SPDX-License-Identifier: GPL-2.0
// The device side of a split virtqueue (VIRTIO 1.2, 2.7).  Everything in the
// rings is guest-controlled: indexes, descriptor addresses, lengths, flags
// and chains are checked before use, and a queue the guest has broken makes
// Pop() fail (the device then sets DEVICE_NEEDS_RESET) instead of letting
// tvmm touch memory outside the guest or loop forever.
#ifndef TVMM_VIRTIO_VIRTQUEUE_H_
#define TVMM_VIRTIO_VIRTQUEUE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memory/guest_memory.h"

namespace tvmm {

// One buffer of a chain, already checked to lie inside guest memory.
struct VirtqBuffer {
  absl::Span<uint8_t> data;
  bool device_writable;
};

// Move-only: while it lives, its buffers cannot be made private (a trusted
// VM's conversions), so a device keeps it until it has written its last
// byte into them.
struct DescriptorChain {
  uint16_t head;
  std::vector<VirtqBuffer> buffers;  // device-readable ones first
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;
  GuestMemory::Hold hold;
};

class Virtqueue {
 public:
  static constexpr uint16_t kMaxSize = 256;
  // Descriptor flags.
  static constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;

  explicit Virtqueue(uint16_t max_size = kMaxSize) : max_size_(max_size) {}

  uint16_t max_size() const { return max_size_; }
  uint16_t size() const { return size_; }  // 0 until activated
  // Ring addresses (guest-physical), for devices handed to vhost.
  uint64_t desc_addr() const { return desc_; }
  uint64_t avail_addr() const { return avail_; }
  uint64_t used_addr() const { return used_; }

  // Called when the driver sets QueueReady: checks size and ring placement,
  // and holds the rings (GuestMemory::Hold) until Reset().
  // @event_idx: VIRTIO_RING_F_EVENT_IDX was negotiated (2.7.7, 2.7.10).
  absl::Status Activate(const GuestMemory* mem, uint16_t size, uint64_t desc, uint64_t avail,
                        uint64_t used, bool event_idx = false);
  void Reset();
  bool active() const { return mem_ != nullptr; }

  // The next chain the driver made available, std::nullopt if none.  With
  // EVENT_IDX, finding the ring empty also asks the driver to notify at its
  // next buffer (avail_event), and looks once more.
  absl::StatusOr<std::optional<DescriptorChain>> Pop();

  // Returns a chain to the driver with @len bytes written into it.
  absl::Status PushUsed(uint16_t head, uint32_t len);

  // Whether the driver wants an interrupt for the chains used since the last
  // call: VIRTQ_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX whether the used
  // index passed used_event.  Callers serialize calls (the transport's lock).
  bool ShouldInterrupt();

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // Fuzz builds only: sees each chain popped and each element pushed, so a
  // target checks what the device claimed, not what a hostile driver has
  // since written over the used ring.  Called on the device's threads.
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void Popped(const DescriptorChain& chain) = 0;
    virtual void Pushed(uint16_t head, uint32_t len) = 0;
  };
  void set_observer(Observer* observer) { observer_ = observer; }
#endif

 private:
  absl::StatusOr<uint16_t> AvailIdx() const;
  absl::Status PublishAvailEvent();

  const uint16_t max_size_;
  const GuestMemory* mem_ = nullptr;
  GuestMemory::Hold rings_;
  uint16_t size_ = 0;
  uint64_t desc_ = 0, avail_ = 0, used_ = 0;
  uint16_t last_avail_ = 0;
  uint16_t used_idx_ = 0;
  bool event_idx_ = false;
  uint16_t signalled_used_ = 0;  // used index at the last ShouldInterrupt()
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  Observer* observer_ = nullptr;
#endif
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_VIRTQUEUE_H_
