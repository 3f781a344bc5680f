// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the split virtqueue against a hostile driver.  The
// input is a sequence of steps: the device pops a chain, touches its
// buffers, returns a chain (its own or any head), asks whether to
// interrupt; the driver (fuzz_driver.h) writes descriptors, moves the
// avail index, changes used_event/flags or scribbles anywhere in RAM,
// including over chains the device holds, and converts pages of its
// memory to private and back as a trusted VM does.  Queue size and
// EVENT_IDX come from the input.  Any access outside guest memory, to a
// page made private, overflow or endless loop is a finding
// (ASan/UBSan/SEGV/timeout).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_driver.h"
#include "memory/guest_memory.h"
#include "util/fd.h"
#include "util/status.h"
#include "virtio/virtqueue.h"

namespace {

constexpr uint64_t kPage = 4096;

// Guest RAM as a guest_memfd that converts in place has it: the guest's
// view, which the driver writes, and tvmm's mapping of the same pages,
// which a conversion to private takes away (PROT_NONE here, SIGBUS there).
// Each view lies between two PROT_NONE guard pages, where an overrun
// faults as it would in ASan's redzone around a heap buffer.
struct Ram {
  struct View {
    tvmm::Mapping area;  // the view and its guard pages
    uint8_t* data = nullptr;
    absl::Span<uint8_t> span() const { return {data, tvmm::fuzz::kRam}; }
  };

  Ram() {
    tvmm::UniqueFd fd(memfd_create("tvmm-fuzz-ram", MFD_CLOEXEC));
    if (!fd.valid() || ftruncate(fd.get(), tvmm::fuzz::kRam)) std::abort();
    for (View* v : {&guest, &host}) {
      absl::StatusOr<tvmm::Mapping> area =
          tvmm::Mapping::Map(tvmm::fuzz::kRam + 2 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (!area.ok()) std::abort();
      v->area = std::move(*area);
      v->data = v->area.data() + kPage;
      if (mmap(v->data, tvmm::fuzz::kRam, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd.get(),
               0) == MAP_FAILED)
        std::abort();
    }
  }
  View guest, host;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Ram ram;
  tvmm::GuestMemory mem;
  if (!mem.AddRegion(0x0, ram.host.span()).ok()) return 0;
  if (in.ConsumeBool()) mem.EnableConversions();

  // 1..512: 512 is invalid.
  uint16_t qsize = uint16_t{1} << in.ConsumeIntegralInRange(0, 9);
  bool event_idx = in.ConsumeBool();
  // Now and then a descriptor table that is misaligned or overlaps the avail ring.
  uint64_t skew = in.ConsumeIntegralInRange(0, 3) == 0 ? in.ConsumeIntegralInRange(1, 0x1000) : 0;
  tvmm::Virtqueue q;
  if (!q.Activate(&mem, qsize, tvmm::fuzz::kDesc + skew, tvmm::fuzz::kAvail,
                  tvmm::fuzz::kUsed, event_idx)
           .ok())
    return 0;
  tvmm::fuzz::Driver driver(&in, ram.guest.span(), qsize);

  std::vector<tvmm::DescriptorChain> held;
  for (int step = 0; step < 4096 && in.remaining_bytes(); step++) {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: {
        auto chain = q.Pop();
        if (!chain.ok()) return 0;  // broken: the device stops using the queue
        if (!chain->has_value()) break;
        if (held.size() < 512) held.push_back(std::move(**chain));
        break;
      }
      case 1: {  // touch a held chain's buffers, after whatever the driver did
        if (held.empty()) break;
        auto& chain = held[in.ConsumeIntegralInRange<size_t>(0, held.size() - 1)];
        for (auto& buf : chain.buffers) {
          if (buf.device_writable) {
            std::memset(buf.data.data(), 0xa5, buf.data.size());
          } else {
            volatile uint8_t sink = 0;
            for (uint8_t b : buf.data) sink = sink + b;
          }
        }
        break;
      }
      case 2: {  // return a held chain, or any head at all
        uint16_t head;
        if (!held.empty() && in.ConsumeBool()) {
          head = held.back().head;
          held.pop_back();
        } else {
          head = in.ConsumeIntegral<uint16_t>();
        }
        if (!q.PushUsed(head, in.ConsumeIntegral<uint32_t>()).ok()) return 0;
        break;
      }
      case 3:
        (void)q.ShouldInterrupt();
        break;
      case 4: {  // the guest converts pages (KVM_HC_MAP_GPA_RANGE)
        uint64_t page = in.ConsumeIntegralInRange<uint64_t>(0, tvmm::fuzz::kRam / kPage - 1);
        uint64_t pages = in.ConsumeIntegralInRange<uint64_t>(1, 4);
        bool to_private = in.ConsumeBool();
        (void)mem.Convert(page * kPage, pages * kPage, to_private, [&]() -> absl::Status {
          int prot = to_private ? PROT_NONE : PROT_READ | PROT_WRITE;
          if (mprotect(ram.host.data + page * kPage, pages * kPage, prot))
            return tvmm::ErrnoStatus("mprotect");
          return absl::OkStatus();
        });
        break;
      }
      default:
        driver.Move();
        break;
    }
  }
  return 0;
}
