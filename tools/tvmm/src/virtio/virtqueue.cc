// SPDX-License-Identifier: GPL-2.0
#include "virtio/virtqueue.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {
namespace {

#pragma pack(push, 1)
struct VirtqDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
#pragma pack(pop)
static_assert(sizeof(VirtqDesc) == 16);

constexpr uint16_t kAvailNoInterrupt = 1;

absl::Status Broken(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("virtqueue: ", why));
}

// Loads a ring index the driver publishes with a release store.
uint16_t LoadAcquire(absl::Span<uint8_t> at) {
  return __atomic_load_n(reinterpret_cast<uint16_t*>(at.data()), __ATOMIC_ACQUIRE);
}

}  // namespace

absl::Status Virtqueue::Activate(const GuestMemory* mem, uint16_t size, uint64_t desc,
                                 uint64_t avail, uint64_t used, bool event_idx) {
  if (size == 0 || size > max_size_ || (size & (size - 1))) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue size ", size, " is not a power of two up to ", max_size_));
  }
  if (desc % 16 || avail % 2 || used % 4)
    return absl::InvalidArgumentError("misaligned virtqueue ring");
  // Rings (with the event fields) must lie in shared guest memory, and
  // stay there while the queue is active.
  const GuestRange rings[] = {
      {desc, 16ull * size}, {avail, 6 + 2ull * size}, {used, 6 + 8ull * size}};
  absl::StatusOr<GuestMemory::Hold> hold = mem->HoldRanges(rings);
  if (!hold.ok())
    return absl::InvalidArgumentError(absl::StrCat("virtqueue ring: ", hold.status().message()));
  rings_ = *std::move(hold);
  mem_ = mem;
  size_ = size;
  desc_ = desc;
  avail_ = avail;
  used_ = used;
  last_avail_ = 0;
  used_idx_ = 0;
  event_idx_ = event_idx;
  signalled_used_ = 0;
  return absl::OkStatus();
}

void Virtqueue::Reset() {
  mem_ = nullptr;
  rings_ = {};
  size_ = 0;
  last_avail_ = used_idx_ = signalled_used_ = 0;
  event_idx_ = false;
}

// avail_event, after the used ring: "notify me when you make buffer
// last_avail_ available".
absl::Status Virtqueue::PublishAvailEvent() {
  TVMM_ASSIGN_OR_RETURN(absl::Span<uint8_t> ev, mem_->Slice(used_ + 4 + 8ull * size_, 2));
  __atomic_store_n(reinterpret_cast<uint16_t*>(ev.data()), last_avail_, __ATOMIC_RELEASE);
  // Full fence: the avail_event store before the avail index load that
  // follows, or a buffer added meanwhile would get neither kick nor look.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return absl::OkStatus();
}

absl::StatusOr<uint16_t> Virtqueue::AvailIdx() const {
  TVMM_ASSIGN_OR_RETURN(absl::Span<uint8_t> idx, mem_->Slice(avail_ + 2, 2));
  return LoadAcquire(idx);
}

absl::StatusOr<std::optional<DescriptorChain>> Virtqueue::Pop() {
  if (!mem_) return absl::FailedPreconditionError("virtqueue not ready");
  TVMM_ASSIGN_OR_RETURN(uint16_t avail_idx, AvailIdx());
  uint16_t pending = avail_idx - last_avail_;
  if (pending == 0 && event_idx_) {
    TVMM_RETURN_IF_ERROR(PublishAvailEvent());
    TVMM_ASSIGN_OR_RETURN(avail_idx, AvailIdx());
    pending = avail_idx - last_avail_;
  }
  if (pending == 0) return std::nullopt;
  if (pending > size_)
    return Broken(absl::StrCat("avail index moved by ", pending, " on a ring of ", size_));

  TVMM_ASSIGN_OR_RETURN(uint16_t head,
                        mem_->ReadObj<uint16_t>(avail_ + 4 + 2ull * (last_avail_ % size_)));
  last_avail_++;
  if (head >= size_) return Broken(absl::StrCat("head ", head, " out of range"));

  DescriptorChain chain;
  chain.head = head;
  std::vector<GuestRange> held;  // the buffers, if conversions need to know
  uint16_t index = head;
  // A chain visits each descriptor at most once, so it has at most size_ links.
  for (uint32_t n = 0;; n++) {
    if (n >= size_) return Broken("descriptor chain loops");
    TVMM_ASSIGN_OR_RETURN(VirtqDesc d, mem_->ReadObj<VirtqDesc>(desc_ + 16ull * index));
    if (d.flags & kDescIndirect) return Broken("indirect descriptors were not negotiated");
    bool writable = d.flags & kDescWrite;
    if (!writable && chain.writable_bytes)
      return Broken("device-readable descriptor after a device-writable one");
    absl::StatusOr<absl::Span<uint8_t>> data = mem_->Slice(d.addr, d.len);
    if (!data.ok())
      return Broken(absl::StrCat("descriptor ", index, ": ", data.status().message()));
    chain.buffers.push_back({*data, writable});
    if (mem_->conversions_enabled()) held.push_back({d.addr, d.len});
    (writable ? chain.writable_bytes : chain.readable_bytes) += d.len;
    if (!(d.flags & kDescNext)) break;
    if (d.next >= size_) return Broken(absl::StrCat("next ", d.next, " out of range"));
    index = d.next;
  }
  if (!held.empty()) {
    // Checked again, now atomically with conversions: one may have made a
    // buffer private since its Slice().
    absl::StatusOr<GuestMemory::Hold> hold = mem_->HoldRanges(held);
    if (!hold.ok()) return Broken(hold.status().message());
    chain.hold = *std::move(hold);
  }
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (observer_) observer_->Popped(chain);
#endif
  return chain;
}

absl::Status Virtqueue::PushUsed(uint16_t head, uint32_t len) {
  if (!mem_) return absl::FailedPreconditionError("virtqueue not ready");
  uint64_t elem = used_ + 4 + 8ull * (used_idx_ % size_);
  TVMM_RETURN_IF_ERROR(mem_->WriteObj<uint32_t>(elem, head));
  TVMM_RETURN_IF_ERROR(mem_->WriteObj<uint32_t>(elem + 4, len));
  used_idx_++;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if (observer_) observer_->Pushed(head, len);
#endif
  TVMM_ASSIGN_OR_RETURN(absl::Span<uint8_t> idx, mem_->Slice(used_ + 2, 2));
  // The element must be visible before the index that publishes it.
  __atomic_store_n(reinterpret_cast<uint16_t*>(idx.data()), used_idx_, __ATOMIC_RELEASE);
  return absl::OkStatus();
}

bool Virtqueue::ShouldInterrupt() {
  if (!mem_) return false;
  // Full fence: our used-index store before the driver's flags or
  // used_event load.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (!event_idx_) {
    absl::StatusOr<absl::Span<uint8_t>> flags = mem_->Slice(avail_, 2);
    return !flags.ok() || !(LoadAcquire(*flags) & kAvailNoInterrupt);
  }
  // The published used index, not used_idx_: a device may push from
  // another thread than the one signalling.
  absl::StatusOr<absl::Span<uint8_t>> used_idx = mem_->Slice(used_ + 2, 2);
  absl::StatusOr<absl::Span<uint8_t>> used_event = mem_->Slice(avail_ + 4 + 2ull * size_, 2);
  if (!used_idx.ok() || !used_event.ok()) return true;
  uint16_t now = LoadAcquire(*used_idx), event = LoadAcquire(*used_event);
  uint16_t old = std::exchange(signalled_used_, now);
  // vring_need_event(): did the index step over used_event since last time?
  return static_cast<uint16_t>(now - event - 1) < static_cast<uint16_t>(now - old);
}

}  // namespace tvmm
