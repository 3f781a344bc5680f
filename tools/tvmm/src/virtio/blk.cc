// SPDX-License-Identifier: GPL-2.0
#include "virtio/blk.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/log.h"
#include "util/status.h"
#include "util/thread.h"

namespace tvmm {
namespace {

// user_data of the NOP that tells the completion thread to stop, and of
// cancellations (requests' are their Request pointers).
constexpr uint64_t kStopToken = 0, kCancelToken = 1;

// Bytes [from, from + len) of the chain's device-readable (@writable false)
// or device-writable buffers, as iovecs.  The range must exist.
void AppendRange(const DescriptorChain& chain, bool writable, uint64_t from, uint64_t len,
                 std::vector<iovec>* iov) {
  for (const VirtqBuffer& buf : chain.buffers) {
    if (buf.device_writable != writable || len == 0) continue;
    if (from >= buf.data.size()) {
      from -= buf.data.size();
      continue;
    }
    size_t n = std::min<uint64_t>(buf.data.size() - from, len);
    iov->push_back({buf.data.data() + from, n});
    from = 0;
    len -= n;
  }
}

uint8_t* LastWritableByte(const DescriptorChain& chain) {
  for (auto it = chain.buffers.rbegin(); it != chain.buffers.rend(); ++it) {
    if (it->device_writable && !it->data.empty()) return &it->data.back();
  }
  return nullptr;
}

// Copies between @bytes and the chain's bytes [from, from + bytes.size())
// of its readable (@writable false) or writable buffers, which must exist.
void CopyRange(const DescriptorChain& chain, bool writable, uint64_t from,
               absl::Span<uint8_t> bytes, bool to_chain) {
  std::vector<iovec> iov;
  AppendRange(chain, writable, from, bytes.size(), &iov);
  size_t at = 0;
  for (const iovec& v : iov) {
    uint8_t* guest = static_cast<uint8_t*>(v.iov_base);
    if (to_chain)
      std::memcpy(guest, bytes.data() + at, v.iov_len);
    else
      std::memcpy(bytes.data() + at, guest, v.iov_len);
    at += v.iov_len;
  }
}

// Whether io_uring's first, non-blocking attempt at a request on @fd may
// be made by the submitting thread: for block devices and the local file
// systems below, it never waits.  Everything else (FUSE, NFS, SMB, 9p,
// Ceph, overlayfs, any file system not listed) may be answered by another
// process or a server, and Linux 6.18 waits for a FUSE daemon inside
// io_uring_enter() even on that attempt, for buffered reads too (measured,
// blk_test's HungStorageIsLeftToTheKernel): a hung daemon would block the
// queue's thread, with the engine's lock, and with it reset and
// destruction.  Requests on those go to io_uring's workers at once
// (IOSQE_ASYNC), where a request that cannot be cancelled is just in
// flight.  statfs(2) magics.
bool IssueInline(int fd) {
  constexpr uint32_t kLocal[] = {
      0xef53,      // ext2, ext3, ext4
      0x58465342,  // xfs
      0x9123683e,  // btrfs
      0xf2f52010,  // f2fs
      0xca451a4e,  // bcachefs
      0x01021994,  // tmpfs
      0x858458f6,  // ramfs
  };
  struct stat st;
  if (fstat(fd, &st)) return false;  // cannot tell: the safe choice
  if (S_ISBLK(st.st_mode)) return true;
  struct statfs fs;
  if (fstatfs(fd, &fs)) return false;
  return std::find(std::begin(kLocal), std::end(kLocal), static_cast<uint32_t>(fs.f_type)) !=
         std::end(kLocal);
}

}  // namespace

absl::StatusOr<std::unique_ptr<VirtioBlk>> VirtioBlk::Open(const std::string& path, bool read_only,
                                                           uint16_t num_queues) {
  UniqueFd fd(open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!fd.valid()) return UsageError(ErrnoStatus(absl::StrCat("--disk ", path)));
  if (flock(fd.get(), (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
    if (errno == EWOULDBLOCK) {
      return UsageError(absl::FailedPreconditionError(
          absl::StrCat("--disk ", path, ": the image is in use by another process")));
    }
    // Some file systems (9p without locking, say) cannot lock: go on.
    if (errno != ENOLCK && errno != EOPNOTSUPP)
      return ErrnoStatus(absl::StrCat("--disk ", path, ": flock"));
    Log(LogLevel::kInfo, "--disk %s: the file system cannot lock the image (%s)", path,
        strerror(errno));
  }
  struct stat st;
  if (fstat(fd.get(), &st)) return ErrnoStatus(absl::StrCat("--disk ", path, ": fstat"));
  uint64_t bytes = st.st_size;
  if (S_ISBLK(st.st_mode)) {
    if (ioctl(fd.get(), BLKGETSIZE64, &bytes))
      return ErrnoStatus(absl::StrCat("--disk ", path, ": BLKGETSIZE64"));
  } else if (!S_ISREG(st.st_mode)) {
    return UsageError(absl::InvalidArgumentError(
        absl::StrCat("--disk ", path, ": not a regular file or block device")));
  }
  if (bytes < kSectorSize) {
    return UsageError(absl::InvalidArgumentError(
        absl::StrCat("--disk ", path, ": smaller than one 512-byte sector")));
  }
  if (bytes % kSectorSize) {
    Log(LogLevel::kWarning, "--disk %s: the last %d bytes are not a whole sector; ignored", path,
        bytes % kSectorSize);
  }
  // The serial the driver reads with GET_ID: where the image lives.
  std::string id = absl::StrFormat("tvmm-%x-%x", st.st_dev, st.st_ino).substr(0, kVirtioBlkIdBytes);
  return Create(std::move(fd), read_only, bytes / kSectorSize, num_queues, std::move(id));
}

absl::StatusOr<std::unique_ptr<VirtioBlk>> VirtioBlk::Create(UniqueFd fd, bool read_only,
                                                             uint64_t capacity,
                                                             uint16_t num_queues, std::string id) {
  num_queues = std::clamp<uint16_t>(num_queues, 1, kMaxQueues);
  auto blk = std::make_unique<VirtioBlk>(Token(), std::move(fd), read_only, capacity, num_queues,
                                         std::move(id));
  if (blk->async_submit_) {
    Log(LogLevel::kDebug,
        "virtio-blk %s: not a block device or on a local file system: requests are issued by "
        "io_uring's workers",
        blk->id_);
  }
  TVMM_RETURN_IF_ERROR(blk->InitRings());
  return blk;
}

VirtioBlk::VirtioBlk(Token, UniqueFd fd, bool read_only, uint64_t capacity, uint16_t num_queues,
                     std::string id)
    : async_submit_(!IssueInline(fd.get())),
      read_only_(read_only),
      capacity_(capacity),
      num_queues_(num_queues),
      id_(std::move(id)),
      image_(std::make_shared<const UniqueFd>(std::move(fd))) {}

absl::Status VirtioBlk::InitRings() {
  for (uint16_t i = 0; i < num_queues_; i++) {
    auto engine = std::make_shared<Engine>();
    engine->image = image_;
    // Twice the largest queue: its requests in flight (a device quiesces
    // before the driver may start more), the cancellations and the stop
    // NOP fit in the SQ, and, in the CQ (twice that), the completions of
    // a generation a reset left to the kernel too.
    if (int ret = io_uring_queue_init(2 * Virtqueue::kMaxSize, &engine->ring, 0); ret < 0)
      return ErrnoStatus(absl::StrCat("virtio-blk queue ", i, ": io_uring_queue_init"), -ret);
    engine->ring_ok = true;
    completers_.emplace_back([engine, i] {
      NameThisThread(absl::StrCat("blk-complete", i));
      engine->CompletionLoop();
    });
    engines_.push_back(std::move(engine));
  }
  return absl::OkStatus();
}

VirtioBlk::Engine::~Engine() {
  if (ring_ok) io_uring_queue_exit(&ring);
}

VirtioBlk::~VirtioBlk() {
  // Every queue drops its ring and cancels first, so that they all wait
  // against one deadline.  The queues go last, once no completion thread
  // signals.
  VirtqueueSet queues = DetachAll();
  const auto deadline = std::chrono::steady_clock::now() + kResetTimeout;
  for (size_t i = 0; i < engines_.size(); i++) {
    Engine& e = *engines_[i];
    std::unique_lock lock(e.mu);
    while (e.in_flight && std::chrono::steady_clock::now() < deadline) {
      e.idle_cv.wait_for(lock, kCancelRetry);
      e.RetryCancelLocked();
    }
    // Whatever happens next, the completion thread must not be signalling
    // the transport, which goes away after us.
    e.idle_cv.wait(lock, [&e] { return !e.signalling; });
    // Not before: while we waited, the thread may have reaped the last
    // request and gone back to waiting for a CQE, which an orphan with
    // nothing in flight would never get.
    const bool idle = e.in_flight == 0;
    int ret = -EAGAIN;
    if (idle) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&e.ring)) {
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, kStopToken);
        do {
          ret = io_uring_submit(&e.ring);
        } while (ret == -EINTR);
      }
    }
    if (ret <= 0) {
      // Hung storage (or no way to tell the thread to stop).  Waiting would
      // hang the VMM's shutdown with it; freeing the ring would hand its
      // requests' buffers back while the kernel still holds them.  The
      // completion thread keeps the engine (ring, file, requests) and ends
      // once the kernel has given every request back.  The kernel may
      // still write guest memory until then, and the process's exit waits
      // for it.  The other queues' engines are not held up by this one.
      if (!idle) {
        Log(LogLevel::kError,
            "virtio-blk queue %d: %d request(s) still in flight %d ms after the device was "
            "destroyed; leaving them to the kernel",
            i, e.in_flight, kResetTimeout.count());
      }
      e.orphaned = true;
      lock.unlock();
      completers_[i].detach();
      continue;
    }
    lock.unlock();
    completers_[i].join();
  }
}

uint64_t VirtioBlk::Features() const {
  uint64_t f = kVirtioFVersion1 | kVirtioRingFEventIdx | kVirtioBlkFFlush | kVirtioBlkFSegMax |
               kVirtioBlkFBlkSize;
  if (num_queues_ > 1) f |= kVirtioBlkFMq;
  if (read_only_) f |= kVirtioBlkFRo;
  return f;
}

void VirtioBlk::ReadConfig(uint64_t offset, absl::Span<uint8_t> data) {
  // struct virtio_blk_config up to num_queues.
  uint8_t config[36] = {};
  uint32_t seg_max = Virtqueue::kMaxSize - 2;  // the header and status take two
  uint32_t blk_size = kSectorSize;
  std::memcpy(config + 0, &capacity_, 8);
  std::memcpy(config + 12, &seg_max, 4);
  std::memcpy(config + 20, &blk_size, 4);
  std::memcpy(config + 34, &num_queues_, 2);
  CopyConfig(config, offset, data);
}

absl::Status VirtioBlk::Activate(const GuestMemory* mem, VirtqueueSet queues, uint64_t features,
                                 VirtioInterrupt* interrupt) {
  if (queues.size() > engines_.size())
    return absl::InvalidArgumentError("virtio-blk: more queues than the device offers");
  for (size_t i = 0; i < engines_.size(); i++) {
    Engine& e = *engines_[i];
    std::lock_guard lock(e.mu);
    e.queue = i < queues.size() ? std::move(queues[i]) : nullptr;
    e.interrupt = interrupt;
    e.memory_owner = mem->owner();
    e.in_flight_current = 0;
  }
  return absl::OkStatus();
}

std::unique_ptr<Virtqueue> VirtioBlk::Engine::DetachLocked() {
  // The driver has forgotten the ring: no chain is returned any more.
  generation++;
  interrupt = nullptr;
  in_flight_current = 0;
  // But requests in flight would still write the guest's buffers: cancel
  // what the kernel can cancel.  They hold no reference to the queue.
  CancelAllLocked();
  return std::move(queue);
}

VirtqueueSet VirtioBlk::Reset() {
  // Every queue first, so that their cancellations run side by side and
  // one deadline bounds the whole reset.
  VirtqueueSet queues = DetachAll();
  // Then wait, for a bounded time, until the kernel is done with the
  // requests it did not cancel (their CQEs are posted).  Not until the
  // completion threads have reaped them: their reaping is not bounded by
  // us.
  const auto deadline = std::chrono::steady_clock::now() + kResetTimeout;
  for (size_t i = 0; i < engines_.size(); i++) {
    Engine& e = *engines_[i];
    std::unique_lock lock(e.mu);
    while (!e.KernelDoneLocked() && std::chrono::steady_clock::now() < deadline) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      lock.lock();
      e.RetryCancelLocked();
    }
    if (!e.KernelDoneLocked()) {
      Log(LogLevel::kWarning,
          "virtio-blk queue %d: %d request(s) still in flight %d ms after a reset", i,
          e.in_flight + e.cancels_in_flight - io_uring_cq_ready(&e.ring), kResetTimeout.count());
    }
    // And until the completion thread has signalled what it reaped before
    // the reset: a signal after it would land on the driver's next
    // session, and the signal reads the queue, which goes back to the
    // transport.  Not bounded by the deadline: it takes only the
    // transport's interrupt lock, which the caller does not hold.
    e.idle_cv.wait(lock, [&e] { return !e.signalling; });
  }
  return queues;
}

VirtqueueSet VirtioBlk::DetachAll() {
  VirtqueueSet queues;
  for (const std::shared_ptr<Engine>& e : engines_) {
    std::lock_guard lock(e->mu);
    queues.push_back(e->DetachLocked());
  }
  return queues;
}

void VirtioBlk::Engine::CancelAllLocked() {
  if (in_flight == 0) return;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) return;  // cannot happen: the SQ has room for a cancel per request
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data64(sqe, kCancelToken);
  int ret;
  do {
    ret = io_uring_submit(&ring);
  } while (ret == -EINTR);
  if (ret > 0) cancels_in_flight++;
  last_cancel = std::chrono::steady_clock::now();
}

void VirtioBlk::Engine::RetryCancelLocked() {
  // A cancellation can miss a request that one of io_uring's workers is
  // issuing at that moment: it is answered, and the request goes on to
  // wait (on a pipe or socket, armed for poll) where the next cancellation
  // finds it.  Seen once in make check: a read on a pipe, submitted right
  // before a reset, stayed in flight through the reset's 5 s.  Not more
  // often than kCancelRetry, and one cancellation at a time.
  auto now = std::chrono::steady_clock::now();
  if (in_flight == 0 || cancels_in_flight || now - last_cancel < kCancelRetry) return;
  CancelAllLocked();
}

bool VirtioBlk::Engine::KernelDoneLocked() {
  // Every CQE in the ring belongs to a request or a cancellation: the stop
  // NOP is submitted only once no request is in flight.
  return io_uring_cq_ready(&ring) >= in_flight + cancels_in_flight;
}

bool VirtioBlk::Quiesced() {
  for (const std::shared_ptr<Engine>& e : engines_) {
    std::lock_guard lock(e->mu);
    if (!e->KernelDoneLocked()) return false;
  }
  return true;
}

void VirtioBlk::WaitIdle() {
  for (const std::shared_ptr<Engine>& e : engines_) {
    std::unique_lock lock(e->mu);
    e->idle_cv.wait(
        lock, [&e] { return e->in_flight == 0 && e->cancels_in_flight == 0 && !e->signalling; });
  }
}

std::unique_lock<std::mutex> VirtioBlk::LockQueueForTesting(uint32_t index) {
  return std::unique_lock(engines_.at(index)->mu);
}

absl::Status VirtioBlk::CompleteNow(Engine& e, uint16_t head, uint8_t* status, uint8_t value,
                                    uint32_t used_len) {
  if (status) *status = value;
  return e.queue->PushUsed(head, used_len);
}

absl::StatusOr<bool> VirtioBlk::StartRequest(Engine& e, DescriptorChain& chain) {
  uint8_t* status = LastWritableByte(chain);
  // Without a header or a status byte there is nothing to answer with.
  if (chain.readable_bytes < 16 || !status) {
    TVMM_RETURN_IF_ERROR(CompleteNow(e, chain.head, status, kVirtioBlkSIoErr, 0));
    return false;
  }
  uint8_t header[16];
  CopyRange(chain, false, 0, absl::MakeSpan(header), /*to_chain=*/false);
  uint32_t type;
  uint64_t sector;
  std::memcpy(&type, header, 4);
  std::memcpy(&sector, header + 8, 8);
  uint64_t in_len = chain.writable_bytes - 1;    // device-writable, before the status
  uint64_t out_len = chain.readable_bytes - 16;  // device-readable, after the header

  auto fits = [&](uint64_t len) {
    return len % kSectorSize == 0 && sector <= capacity_ && len / kSectorSize <= capacity_ - sector;
  };
  auto fail = [&](uint8_t value) -> absl::StatusOr<bool> {
    TVMM_RETURN_IF_ERROR(CompleteNow(e, chain.head, status, value, 1));
    return false;
  };

  switch (type) {
    case kVirtioBlkTIn:
      if (!fits(in_len)) return fail(kVirtioBlkSIoErr);
      if (in_len == 0) return fail(kVirtioBlkSOk);
      break;
    case kVirtioBlkTOut:
      if (read_only_ || !fits(out_len)) return fail(kVirtioBlkSIoErr);
      if (out_len == 0) return fail(kVirtioBlkSOk);
      break;
    case kVirtioBlkTFlush:
      if (read_only_) return fail(kVirtioBlkSOk);
      break;
    case kVirtioBlkTGetId: {
      uint8_t id[kVirtioBlkIdBytes] = {};  // NUL-padded, not NUL-terminated
      std::memcpy(id, id_.data(), std::min(id_.size(), sizeof(id)));
      uint64_t n = std::min<uint64_t>(in_len, sizeof(id));
      CopyRange(chain, true, 0, absl::MakeSpan(id, n), /*to_chain=*/true);
      TVMM_RETURN_IF_ERROR(CompleteNow(e, chain.head, status, kVirtioBlkSOk, n + 1));
      return false;
    }
    default:
      return fail(kVirtioBlkSUnsupp);
  }

  // A valid IN, OUT or FLUSH: it goes to io_uring.
  const int fd = e.image->get();
  io_uring_sqe* sqe = io_uring_get_sqe(&e.ring);
  if (!sqe) return absl::ResourceExhaustedError("virtio-blk: io_uring SQ full");
  std::unique_ptr<Request> req;
  if (e.free.empty()) {
    req = std::make_unique<Request>();
  } else {
    req = std::move(e.free.back());
    e.free.pop_back();
  }
  req->head = chain.head;
  req->hold = std::move(chain.hold);
  req->generation = e.generation;
  req->status = status;
  req->iov.clear();
  req->used_len = 1;
  if (type == kVirtioBlkTIn) {
    AppendRange(chain, true, 0, in_len, &req->iov);
    req->expect = in_len;
    req->used_len = in_len + 1;
    io_uring_prep_readv(sqe, fd, req->iov.data(), req->iov.size(), sector * kSectorSize);
  } else if (type == kVirtioBlkTOut) {
    AppendRange(chain, false, 16, out_len, &req->iov);
    req->expect = out_len;
    io_uring_prep_writev(sqe, fd, req->iov.data(), req->iov.size(), sector * kSectorSize);
  } else {
    req->expect = 0;
    io_uring_prep_fsync(sqe, fd, 0);
  }
  if (async_submit_) io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
  io_uring_sqe_set_data(sqe, req.release());
  e.in_flight++;
  e.in_flight_current++;
  return true;
}

absl::Status VirtioBlk::QueueNotify(uint32_t index) {
  if (index >= engines_.size()) return absl::OkStatus();
  bool completed_now = false;
  VirtioInterrupt* interrupt;
  Virtqueue* queue;
  Engine& e = *engines_[index];
  {
    // This queue's lock only: the other queues' notifications and
    // completions go on meanwhile.
    std::lock_guard lock(e.mu);
    if (!e.queue || !e.queue->active()) return absl::OkStatus();
    queue = e.queue.get();
    interrupt = e.interrupt;
    bool queued = false;
    absl::Status error;
    for (;;) {
      // A correct driver has at most one request per descriptor in flight.
      if (e.in_flight_current >= queue->size()) {
        error = absl::DataLossError(
            "virtio-blk: more requests in flight than the queue has descriptors");
        break;
      }
      absl::StatusOr<std::optional<DescriptorChain>> chain = queue->Pop();
      if (!chain.ok()) {
        error = chain.status();
        break;
      }
      if (!chain->has_value()) break;
      absl::StatusOr<bool> started = StartRequest(e, **chain);
      if (!started.ok()) {
        error = started.status();
        break;
      }
      (*started ? queued : completed_now) = true;
    }
    // Whatever was queued goes to the kernel, error or not, all of it: a
    // short count (the kernel could not allocate a request) would leave
    // SQEs in the ring until the next notification, which the driver,
    // waiting for these, might never send.
    while (queued && io_uring_sq_ready(&e.ring)) {
      int ret = io_uring_submit(&e.ring);
      if (ret == -EINTR) continue;
      if (ret <= 0) {
        if (error.ok())
          error = ret < 0 ? ErrnoStatus("virtio-blk: io_uring_submit", -ret)
                          : absl::ResourceExhaustedError("virtio-blk: io_uring_submit took none");
        break;
      }
    }
    if (!error.ok()) return error;
  }
  if (completed_now) interrupt->SignalUsed(*queue);
  return absl::OkStatus();
}

void VirtioBlk::Engine::CompletionLoop() {
  for (bool stop = false; !stop;) {
    io_uring_cqe* cqe;
    int ret = io_uring_wait_cqe(&ring, &cqe);
    if (ret == -EINTR) continue;
    if (ret < 0) {
      Log(LogLevel::kError, "virtio-blk: io_uring_wait_cqe: %s", strerror(-ret));
      return;
    }
    bool signal = false;
    bool broken = false;  // the driver broke the used ring
    VirtioInterrupt* signal_to = nullptr;
    Virtqueue* signal_queue = nullptr;
    {
      std::lock_guard lock(mu);
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        seen++;
        uint64_t token = io_uring_cqe_get_data64(cqe);
        if (token == kStopToken) {
          stop = true;
          continue;
        }
        if (token == kCancelToken) {
          cancels_in_flight--;
          continue;
        }
        std::unique_ptr<Request> req(reinterpret_cast<Request*>(token));
        bool ok = req->expect ? cqe->res >= 0 && static_cast<uint64_t>(cqe->res) == req->expect
                              : cqe->res >= 0;
        if (req->generation == generation) {
          *req->status = ok ? kVirtioBlkSOk : kVirtioBlkSIoErr;
          absl::Status s = queue->PushUsed(req->head, req->used_len);
          if (!s.ok()) {
            Log(LogLevel::kWarning, "virtio-blk: %s", std::string(s.message()));
            broken = true;
          }
          signal = true;
          in_flight_current--;
        }
        in_flight--;
        req->hold = {};
        free.push_back(std::move(req));
      }
      io_uring_cq_advance(&ring, seen);
      signal_to = interrupt;
      signal_queue = queue.get();
      signalling = true;
    }
    if (signal && signal_to) signal_to->SignalUsed(*signal_queue);
    if (broken && signal_to) signal_to->SignalNeedsReset();
    std::lock_guard lock(mu);
    signalling = false;
    idle_cv.notify_all();
    // An orphan (its device destroyed) ends once the kernel is done.
    if (orphaned && in_flight == 0 && cancels_in_flight == 0) return;
  }
}

}  // namespace tvmm
