// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the virtio-mmio register file with a real device behind
// it (virtio-rng, or virtio-blk on a memfd), driven by a hostile driver: any
// sequence of reads and writes of any size at any offset (past the end
// too), the usual initialization with fuzzer-chosen features, queue
// notifications, and the ring moves of fuzz_driver.h in between.  A crash,
// a sanitizer report, a hang (timeout) or a Status register that breaks
// the virtio 1.2 rules below is a finding.
//
// virtio-blk completes on its own thread, so an input does not replay
// exactly the same interleaving; the completion thread is waited for after
// every input, and a finding prints the input that led to it.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "fuzz/fuzz_driver.h"
#include "memory/guest_memory.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

namespace {

using tvmm::VirtioMmio;
using namespace tvmm::fuzz;

class NullIrq : public tvmm::IrqLine {
 public:
  void Pulse() override {}
  void Set(bool) override {}
};

uint32_t Read32(VirtioMmio& mmio, uint64_t off) {
  uint32_t v = 0;
  mmio.Read(off, absl::MakeSpan(reinterpret_cast<uint8_t*>(&v), 4));
  return v;
}

void Write32(VirtioMmio& mmio, uint64_t off, uint32_t v) {
  mmio.Write(off, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v), 4));
}

// The usual bring-up of queue 0 on the fuzz_driver layout, with
// fuzzer-chosen features and queue size.
void BringUp(VirtioMmio& mmio, FuzzedDataProvider& in, uint16_t qsize) {
  uint64_t features = in.ConsumeIntegral<uint64_t>();
  Write32(mmio, 0x070, VirtioMmio::kAcknowledge);
  Write32(mmio, 0x070, VirtioMmio::kAcknowledge | VirtioMmio::kDriver);
  Write32(mmio, 0x024, 0);
  Write32(mmio, 0x020, static_cast<uint32_t>(features));
  Write32(mmio, 0x024, 1);
  Write32(mmio, 0x020, static_cast<uint32_t>(features >> 32));
  Write32(mmio, 0x070, VirtioMmio::kAcknowledge | VirtioMmio::kDriver | VirtioMmio::kFeaturesOk);
  Write32(mmio, 0x030, 0);
  Write32(mmio, 0x038, qsize);
  Write32(mmio, 0x080, kDesc);
  Write32(mmio, 0x084, 0);
  Write32(mmio, 0x090, kAvail);
  Write32(mmio, 0x094, 0);
  Write32(mmio, 0x0a0, kUsed);
  Write32(mmio, 0x0a4, 0);
  Write32(mmio, 0x044, 1);
  Write32(mmio, 0x070, VirtioMmio::kAcknowledge | VirtioMmio::kDriver |
                           VirtioMmio::kFeaturesOk | VirtioMmio::kDriverOk);
}

std::unique_ptr<tvmm::VirtioDevice> MakeDevice(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return std::make_unique<tvmm::VirtioRng>();
  bool read_only = in.ConsumeBool();
  return MemfdBlk(64 << 10, read_only, in.ConsumeIntegralInRange(1, 2));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  GuestRam guest;
  std::vector<uint8_t>& ram = guest.bytes;
  const tvmm::GuestMemory& mem = guest.mem;
  NullIrq irq;
  std::unique_ptr<tvmm::VirtioDevice> dev = MakeDevice(in);
  auto* blk = dynamic_cast<tvmm::VirtioBlk*>(dev.get());
  VirtioMmio mmio(std::move(dev), &mem, &irq);
  uint16_t qsize = uint16_t{1} << in.ConsumeIntegralInRange(0, 8);
  Driver driver(&in, absl::MakeSpan(ram), qsize);

  uint32_t status = 0;
  for (int step = 0; step < 1024 && in.remaining_bytes(); step++) {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0: {  // any read, any size, any offset (also past the register file)
        uint64_t off = in.ConsumeIntegralInRange<uint64_t>(0, VirtioMmio::kSize + 8);
        uint8_t buf[8];
        mmio.Read(off, absl::MakeSpan(buf, size_t{1} << in.ConsumeIntegralInRange(0, 3)));
        break;
      }
      case 1: {  // any write
        uint64_t off = in.ConsumeIntegralInRange<uint64_t>(0, VirtioMmio::kSize + 8);
        uint64_t v = in.ConsumeIntegral<uint64_t>();
        mmio.Write(off, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(&v),
                                            size_t{1} << in.ConsumeIntegralInRange(0, 3)));
        break;
      }
      case 2:
        BringUp(mmio, in, qsize);
        break;
      case 3:
        Write32(mmio, 0x050, in.ConsumeIntegralInRange(0, 2));
        break;
      case 4:
        if (blk) blk->WaitIdle();
        break;
      default:
        driver.Move();
        break;
    }
    // Status only gains bits, or reads 0 after a reset (DEVICE_NEEDS_RESET
    // alone while a reset waits for the device): a write never clears a
    // bit, and FAILED and DEVICE_NEEDS_RESET stay until the reset.
    uint32_t now = Read32(mmio, 0x070);
    bool resetting = now == 0 || now == VirtioMmio::kNeedsReset || status == VirtioMmio::kNeedsReset;
    if (!resetting && (now & status) != status) std::abort();
    status = now;
  }
  if (blk) blk->WaitIdle();
  return 0;
}
