// SPDX-License-Identifier: GPL-2.0
#include "virtio/rng.h"

#include <sys/random.h>

#include <algorithm>
#include <optional>

#include "util/log.h"
#include "util/status.h"
#include "util/thread.h"

namespace tvmm {
namespace {

absl::Status GetRandom(absl::Span<uint8_t> out) {
  for (size_t done = 0; done < out.size();) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("getrandom");
    }
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace

VirtioRng::VirtioRng() : VirtioRng(GetRandom) {}

VirtioRng::VirtioRng(Source source) : source_(std::move(source)), thread_([this] { Loop(); }) {}

VirtioRng::~VirtioRng() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void VirtioRng::ReadConfig(uint64_t offset, absl::Span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);  // no configuration space
}

absl::Status VirtioRng::Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                                 VirtioInterrupt* interrupt) {
  if (queues.size() != 1 || !queues[0])
    return absl::InvalidArgumentError("virtio-rng: takes one queue");
  std::lock_guard lock(mu_);
  queue_ = std::move(queues[0]);
  interrupt_ = interrupt;
  broken_ = false;
  return absl::OkStatus();
}

VirtqueueSet VirtioRng::Reset() {
  std::unique_lock lock(mu_);
  // A chain being filled is dropped by its generation, without a look at
  // the queue; a signal in progress reads the queue: wait for it.
  cv_.wait(lock, [this] { return !signalling_; });
  generation_++;
  VirtqueueSet queues;
  if (queue_) queues.push_back(std::move(queue_));
  interrupt_ = nullptr;
  kicked_ = false;
  broken_ = false;
  cv_.notify_all();
  return queues;
}

bool VirtioRng::Quiesced() {
  std::lock_guard lock(mu_);
  return !filling_;
}

absl::Status VirtioRng::QueueNotify(uint32_t index) {
  std::lock_guard lock(mu_);
  if (queue_ && !broken_) {
    kicked_ = true;
    cv_.notify_all();
  }
  return absl::OkStatus();
}

void VirtioRng::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !kicked_ && !filling_; });
}

// One chain at a time: popped and returned under the lock (the transport
// resets the queue after Reset()), filled without it.
void VirtioRng::Loop() {
  NameThisThread("rng");
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || (kicked_ && !broken_); });
    if (stop_) return;
    Virtqueue* queue = queue_.get();
    VirtioInterrupt* interrupt = interrupt_;
    const uint64_t generation = generation_;
    absl::StatusOr<std::optional<DescriptorChain>> chain = std::nullopt;
    if (queue->active()) chain = queue->Pop();
    absl::Status error = chain.status();
    if (error.ok() && !chain->has_value()) {
      kicked_ = false;  // the ring is empty: wait for the next notification
      cv_.notify_all();
      continue;
    }
    if (error.ok()) {
      uint32_t written = 0;
      filling_ = true;
      lock.unlock();
      for (VirtqBuffer& buf : (*chain)->buffers) {
        if (!buf.device_writable) continue;
        size_t n = std::min<size_t>(buf.data.size(), kMaxPerRequest - written);
        error = source_(buf.data.subspan(0, n));
        if (!error.ok()) break;
        written += n;
        if (written == kMaxPerRequest) break;
      }
      lock.lock();
      filling_ = false;
      cv_.notify_all();
      if (generation != generation_) continue;  // reset meanwhile: forget the chain
      if (error.ok()) error = queue->PushUsed((*chain)->head, written);
    }
    if (!error.ok()) broken_ = true;  // until the reset: notifications are ignored
    // Signalled without our lock (the transport's interrupt lock is taken
    // inside); Reset() waits until this is done, so that no signal of
    // before a reset lands after it.
    signalling_ = true;
    lock.unlock();
    if (error.ok()) {
      interrupt->SignalUsed(*queue);
    } else {
      Log(LogLevel::kWarning, "virtio-rng: %s", std::string(error.message()));
      interrupt->SignalNeedsReset();
    }
    lock.lock();
    signalling_ = false;
    cv_.notify_all();
    if (broken_ && generation == generation_) {
      kicked_ = false;
      cv_.notify_all();
    }
  }
}

}  // namespace tvmm
