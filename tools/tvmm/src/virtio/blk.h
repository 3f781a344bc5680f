// SPDX-License-Identifier: GPL-2.0
// virtio-blk (device ID 2) on io_uring.
//
// Each queue has its own engine (DESIGN.md, section 4): an io_uring, a
// lock, a request table and a completion thread, so that queues share
// nothing on the request path but the image's file descriptor.  Requests
// are parsed on the thread that delivers the driver's notification (a vCPU
// thread, or a notifier thread with ioeventfds), under the
// queue's engine lock: every chain made available since the last
// notification is validated and queued to the queue's io_uring, and all of
// them are submitted with one io_uring_enter(), so a driver that batches
// requests per notification costs one system call per batch.  The queue's
// completion thread reaps its ring, writes each request's status byte,
// returns the chain and interrupts the driver once per batch of
// completions.
//
// Features: VERSION_1, FLUSH, SEG_MAX, BLK_SIZE (512), MQ (one queue per
// vCPU, up to kMaxQueues), RO for read-only images.  Request types: IN, OUT,
// FLUSH, GET_ID; anything else gets VIRTIO_BLK_S_UNSUPP.  A request that
// does not fit the image, is not a whole number of sectors, or lacks a
// header or status byte gets VIRTIO_BLK_S_IOERR; a chain that breaks the
// ring itself makes the queue fail (DEVICE_NEEDS_RESET), and neither ever
// touches memory outside the guest.  A reset cancels the requests in flight
// and returns once the kernel is done with each (bounded by kResetTimeout):
// their chains are not returned to the driver.  Destroying the device does
// the same; requests the kernel still holds after that (hung storage) are
// left to it with the ring and the completion thread, which outlive the
// device instead of blocking its destruction, and keep guest RAM mapped
// (GuestMemory::owner()) until the kernel is done with them.  An image
// that is neither a block device nor on a local file system (ext4, xfs,
// btrfs, f2fs, bcachefs, tmpfs, ramfs), so possibly answered by another
// process or a server (FUSE, NFS, SMB, 9p, Ceph, ...), has its requests
// issued by io_uring's workers, never by the queue's thread, so that a
// hung server cannot block the queue's thread or the device's lock.
#ifndef TVMM_VIRTIO_BLK_H_
#define TVMM_VIRTIO_BLK_H_

#include <liburing.h>
#include <sys/uio.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "util/fd.h"
#include "virtio/device.h"

namespace tvmm {

// Request types and status values (VIRTIO 1.2, 5.2.6).
inline constexpr uint32_t kVirtioBlkTIn = 0, kVirtioBlkTOut = 1, kVirtioBlkTFlush = 4,
                          kVirtioBlkTGetId = 8;
inline constexpr uint8_t kVirtioBlkSOk = 0, kVirtioBlkSIoErr = 1, kVirtioBlkSUnsupp = 2;
inline constexpr uint64_t kVirtioBlkFRo = 1ull << 5, kVirtioBlkFSegMax = 1ull << 2,
                          kVirtioBlkFBlkSize = 1ull << 6, kVirtioBlkFFlush = 1ull << 9,
                          kVirtioBlkFMq = 1ull << 12;
inline constexpr uint64_t kSectorSize = 512;
inline constexpr size_t kVirtioBlkIdBytes = 20;

class VirtioBlk : public VirtioDevice {
 public:
  static constexpr uint16_t kMaxQueues = 8;

  // Opens @path (read-only if @read_only) and takes an advisory lock on it
  // (shared for read-only, exclusive otherwise) so that two VMMs cannot
  // write one image.  @num_queues is clamped to [1, kMaxQueues].
  static absl::StatusOr<std::unique_ptr<VirtioBlk>> Open(const std::string& path, bool read_only,
                                                         uint16_t num_queues);
  // A device on @fd, as Open() leaves it: anything readv(), writev() and
  // fsync() work on, @capacity sectors long, with the serial @id.
  static absl::StatusOr<std::unique_ptr<VirtioBlk>> Create(UniqueFd fd, bool read_only,
                                                           uint64_t capacity, uint16_t num_queues,
                                                           std::string id);
  // Use Open() or Create().
  struct Token {
    explicit Token() = default;
  };
  VirtioBlk(Token, UniqueFd fd, bool read_only, uint64_t capacity, uint16_t num_queues,
            std::string id);
  ~VirtioBlk() override;

  uint32_t DeviceId() const override { return 2; }
  uint64_t Features() const override;
  size_t NumQueues() const override { return num_queues_; }
  void ReadConfig(uint64_t offset, absl::Span<uint8_t> data) override;
  absl::Status Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                        VirtioInterrupt* interrupt) override;
  absl::Status QueueNotify(uint32_t index) override;
  VirtqueueSet Reset() override;
  bool Quiesced() override;

  uint64_t capacity_sectors() const { return capacity_; }

  // How long Reset() waits for the kernel to finish the requests in flight.
  static constexpr std::chrono::milliseconds kResetTimeout{5000};
  // How often a reset or the destructor asks the kernel again to cancel
  // what is still in flight.
  static constexpr std::chrono::milliseconds kCancelRetry{10};

  // Blocks until no request is in flight and the driver has been signalled
  // for every completion (tests).
  void WaitIdle();

  // Holds queue @index's engine lock, as a notification of that queue
  // does while it submits (tests: queues must not wait for each other).
  std::unique_lock<std::mutex> LockQueueForTesting(uint32_t index);

 private:
  struct Request {
    uint16_t head;
    uint64_t generation;
    uint8_t* status;    // the chain's last device-writable byte
    uint32_t used_len;  // reported to the driver on success
    uint64_t expect;    // bytes the operation must transfer (0: flush)
    std::vector<iovec> iov;
    GuestMemory::Hold hold;  // the chain's, until the kernel is done
  };

  // One queue's request path: what the kernel and its completion thread
  // use.  Shared with that thread, so that it can outlive the device if the
  // kernel never finishes a request.
  struct Engine {
    ~Engine();
    // Whether the kernel is done with every request in flight.
    bool KernelDoneLocked();
    // Asks the kernel to cancel every request in flight (those it can).
    void CancelAllLocked();
    // While waiting for requests to end: CancelAllLocked() again, if the
    // last cancellation is done and kCancelRetry old.
    void RetryCancelLocked();
    // Gives up the queue: no chain is returned any more, and what the
    // kernel can cancel, it cancels.  The queue is the caller's once the
    // completion thread is not signalling.
    std::unique_ptr<Virtqueue> DetachLocked();
    void CompletionLoop();

    // The image, shared by every queue's engine.
    std::shared_ptr<const UniqueFd> image;
    io_uring ring = {};
    bool ring_ok = false;
    // Guards the queue's used ring, the request table and the generation:
    // requests are started on the notifying thread and completed on the
    // completion thread.
    std::mutex mu;
    std::condition_variable idle_cv;
    std::unique_ptr<Virtqueue> queue;  // ours from Activate() to Reset()
    VirtioInterrupt* interrupt = nullptr;
    uint64_t generation = 0;  // bumped by Reset(): older completions are dropped
    std::vector<std::unique_ptr<Request>> free;
    size_t in_flight = 0;          // all generations
    size_t in_flight_current = 0;  // this generation
    size_t cancels_in_flight = 0;  // their CQEs are not requests'
    std::chrono::steady_clock::time_point last_cancel;
    bool signalling = false;  // the completion thread signals what it reaped
    bool orphaned = false;    // the device is gone: the thread ends when idle
    // Keeps guest RAM mapped while the kernel may write it: an orphan's
    // requests still point there.
    std::shared_ptr<const void> memory_owner;
  };

  absl::Status InitRings();
  // Every engine's DetachLocked(), in queue order.
  VirtqueueSet DetachAll();
  // Validates one chain: either queues an SQE for it (returns true) or
  // completes it at once with a status (returns false).
  absl::StatusOr<bool> StartRequest(Engine& e, DescriptorChain& chain);
  absl::Status CompleteNow(Engine& e, uint16_t head, uint8_t* status, uint8_t value,
                           uint32_t used_len);

  // Requests go to io_uring's workers at once (IOSQE_ASYNC): the image is
  // not known to be local (IssueInline() in blk.cc), and may hang.
  const bool async_submit_;
  const bool read_only_;
  const uint64_t capacity_;  // in sectors
  const uint16_t num_queues_;
  const std::string id_;
  const std::shared_ptr<const UniqueFd> image_;

  // One per queue, and their completion threads, in the same order.
  std::vector<std::shared_ptr<Engine>> engines_;
  std::vector<std::thread> completers_;
};

}  // namespace tvmm

#endif  // TVMM_VIRTIO_BLK_H_
