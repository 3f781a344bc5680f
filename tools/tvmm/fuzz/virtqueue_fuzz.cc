// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: a hostile driver.  The input is guest memory holding the
// rings and descriptors (and the queue size); tvmm pops and completes chains
// until the queue is empty or reported broken.  Any access outside guest
// memory, overflow or endless loop is a finding (ASan/UBSan/timeout).
#include <cstdint>
#include <cstring>
#include <vector>

#include "memory/guest_memory.h"
#include "virtio/virtqueue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kRam = 0x4000;
  if (size < 1) return 0;
  // Exactly kRam bytes of guest memory, so that overruns hit ASan's redzone.
  std::vector<uint8_t> ram(kRam);
  std::memcpy(ram.data(), data + 1, std::min(size - 1, kRam));
  tvmm::GuestMemory mem;
  if (!mem.AddRegion(0x0, absl::MakeSpan(ram)).ok()) return 0;

  // Rings packed from address 0, so that short inputs reach all of them.
  tvmm::Virtqueue q;
  uint16_t qsize = uint16_t{1} << (data[0] % 10);  // 1..512: 512 is invalid
  uint64_t desc = 0, avail = 16ull * qsize, used = (avail + 6 + 2ull * qsize + 3) & ~3ull;
  if (!q.Activate(&mem, qsize, desc, avail, used).ok()) return 0;
  for (int i = 0; i < 2 * 512; i++) {
    auto chain = q.Pop();
    if (!chain.ok() || !chain->has_value()) break;
    uint64_t written = 0;
    for (auto& buf : (*chain)->buffers) {
      if (buf.device_writable) {
        std::memset(buf.data.data(), 0xa5, buf.data.size());
        written += buf.data.size();
      } else {
        volatile uint8_t sink = 0;
        for (uint8_t b : buf.data) sink = sink + b;
      }
    }
    if (!q.PushUsed((*chain)->head, static_cast<uint32_t>(written)).ok()) break;
  }
  return 0;
}
