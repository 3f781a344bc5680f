// SPDX-License-Identifier: GPL-2.0
#include "virtio/rng.h"

#include <sys/random.h>

#include <algorithm>

#include "util/status.h"

namespace tvmm {

void VirtioRng::ReadConfig(uint64_t offset, absl::Span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);  // no configuration space
}

absl::Status VirtioRng::Activate(const GuestMemory* mem, std::vector<Virtqueue*> queues,
                                 uint64_t features, VirtioInterrupt* interrupt) {
  queue_ = queues.at(0);
  interrupt_ = interrupt;
  return absl::OkStatus();
}

void VirtioRng::Reset() {
  queue_ = nullptr;
  interrupt_ = nullptr;
}

absl::Status VirtioRng::QueueNotify(uint32_t index) {
  if (!queue_ || !queue_->active()) return absl::OkStatus();
  bool used = false;
  for (;;) {
    TVMM_ASSIGN_OR_RETURN(std::optional<DescriptorChain> chain, queue_->Pop());
    if (!chain) break;
    uint32_t written = 0;
    for (VirtqBuffer& buf : chain->buffers) {
      if (!buf.device_writable) continue;
      size_t want = std::min<size_t>(buf.data.size(), kMaxPerRequest - written);
      size_t done = 0;
      while (done < want) {
        ssize_t n = getrandom(buf.data.data() + done, want - done, 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus("getrandom");
        }
        done += n;
      }
      written += done;
      if (written == kMaxPerRequest) break;
    }
    TVMM_RETURN_IF_ERROR(queue_->PushUsed(chain->head, written));
    used = true;
  }
  if (used) interrupt_->SignalUsed(*queue_);
  return absl::OkStatus();
}

}  // namespace tvmm
