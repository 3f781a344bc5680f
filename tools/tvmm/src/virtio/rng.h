// SPDX-License-Identifier: GPL-2.0
// virtio-rng (device ID 4): one queue; every device-writable buffer is filled
// from the host's getrandom().
//
// The filling happens on the device's own thread, not on the vCPU thread
// that notifies: a driver may offer a whole ring of buffers (up to 16 MiB),
// and getrandom() may block, neither of which may stall a vCPU or the
// transport's lock.  A reset returns at once; the transport reports it done
// (Quiesced()) once the chain being filled, if any, is finished, and that
// chain is not returned to the driver.
#ifndef TVMM_VIRTIO_RNG_H_
#define TVMM_VIRTIO_RNG_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "virtio/device.h"

namespace tvmm {

class VirtioRng : public VirtioDevice {
 public:
  // Fills its argument with random bytes, all of them or an error.
  using Source = std::function<absl::Status(absl::Span<uint8_t>)>;

  VirtioRng();  // getrandom()
  explicit VirtioRng(Source source);
  ~VirtioRng() override;  // stops the thread once the chain it fills is done
  VirtioRng(const VirtioRng&) = delete;
  VirtioRng& operator=(const VirtioRng&) = delete;

  uint32_t DeviceId() const override { return 4; }
  uint64_t Features() const override { return kVirtioFVersion1 | kVirtioRingFEventIdx; }
  size_t NumQueues() const override { return 1; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override;
  absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                        VirtioInterrupt* interrupt) override;
  absl::Status QueueNotify(uint32_t index) override;
  VirtqueueSet Reset() override;
  bool Quiesced() override;

  // Bytes handed out per chain at most.
  static constexpr uint32_t kMaxPerRequest = 64 << 10;

  // Blocks until every chain made available before the last notification
  // is used (tests).
  void WaitIdle();

 private:
  void Loop();

  const Source source_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<Virtqueue> queue_;  // from Activate() to Reset(); under mu_ only
  VirtioInterrupt* interrupt_ = nullptr;
  uint64_t generation_ = 0;  // bumped by Reset()
  bool kicked_ = false;      // a notification the thread has not acted on
  bool filling_ = false;     // the thread writes a chain's buffers, unlocked
  bool signalling_ = false;  // the thread signals the transport, unlocked
  bool broken_ = false;      // the driver broke the queue: until the reset
  bool stop_ = false;
  std::thread thread_;  // last: started once the rest is initialized
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_RNG_H_
