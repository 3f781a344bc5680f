// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the split virtqueue against a hostile driver.  The
// input is a sequence of steps: the device pops a chain, touches its
// buffers, returns a chain (its own or any head), asks whether to
// interrupt; the driver (fuzz_driver.h) writes descriptors, moves the
// avail index, changes used_event/flags or scribbles anywhere in RAM,
// including over chains the device holds.  Queue size and EVENT_IDX come
// from the input.  Any access outside guest memory, overflow or endless
// loop is a finding (ASan/UBSan/timeout).
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_driver.h"
#include "memory/guest_memory.h"
#include "virtio/virtqueue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<uint8_t> ram(tvmm::fuzz::kRam);
  tvmm::GuestMemory mem;
  if (!mem.AddRegion(0x0, absl::MakeSpan(ram)).ok()) return 0;

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
  tvmm::fuzz::Driver driver(&in, &ram, qsize);

  std::vector<tvmm::DescriptorChain> held;
  for (int step = 0; step < 4096 && in.remaining_bytes(); step++) {
    switch (in.ConsumeIntegralInRange(0, 4)) {
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
      default:
        driver.Move();
        break;
    }
  }
  return 0;
}
