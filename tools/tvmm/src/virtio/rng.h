// SPDX-License-Identifier: GPL-2.0
// virtio-rng (device ID 4): one queue; every device-writable buffer is filled
// from the host's getrandom().
#ifndef TVMM_VIRTIO_RNG_H_
#define TVMM_VIRTIO_RNG_H_

#include "virtio/device.h"

namespace tvmm {

class VirtioRng : public VirtioDevice {
 public:
  uint32_t DeviceId() const override { return 4; }
  uint64_t Features() const override { return kVirtioFVersion1 | kVirtioRingFEventIdx; }
  size_t NumQueues() const override { return 1; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override;
  absl::Status Activate(const GuestMemory* mem, std::vector<Virtqueue*> queues, uint64_t features,
                        VirtioInterrupt* interrupt) override;
  absl::Status QueueNotify(uint32_t index) override;
  void Reset() override;

  // Bytes handed out per chain at most, so a single request cannot make a
  // vCPU thread spin in getrandom() for long.
  static constexpr uint32_t kMaxPerRequest = 64 << 10;

 private:
  Virtqueue* queue_ = nullptr;
  VirtioInterrupt* interrupt_ = nullptr;
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_RNG_H_
