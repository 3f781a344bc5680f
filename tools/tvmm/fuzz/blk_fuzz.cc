// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: virtio-blk request parsing and submission.  Two queues
// on a memfd-backed disk of 64 KiB; the input builds request chains (any
// type, sector, data lengths and directions, with or without a status
// byte), breaks them with the ring moves of fuzz_driver.h, notifies either
// queue, waits for completions, and resets the device with requests in
// flight.  A crash, sanitizer report or hang is a finding, and so is a
// used element for a chain the queue did not pop, or one that claims more
// bytes than its chain could take.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "fuzz/fuzz_driver.h"
#include "memory/guest_memory.h"
#include "virtio/blk.h"

namespace {

using namespace tvmm::fuzz;

constexpr uint64_t kDiskBytes = 64 << 10;

class Interrupt : public tvmm::VirtioInterrupt {
 public:
  void SignalUsed(tvmm::Virtqueue& queue) override {
    std::lock_guard lock(mu_);
    (void)queue.ShouldInterrupt();
  }
  void SignalUsedByHost() override {}
  void SignalConfigChange() override {}
  void SignalNeedsReset() override {}
  template <typename F>
  void Locked(F f) {
    std::lock_guard lock(mu_);
    f();
  }

 private:
  std::mutex mu_;
};

// A request chain with fuzzer-chosen shape, in descriptors first, first+1, ...
void OfferRequest(FuzzedDataProvider& in, std::vector<uint8_t>& ram, Driver& driver,
                  uint16_t qsize) {
  static constexpr uint32_t kTypes[] = {tvmm::kVirtioBlkTIn, tvmm::kVirtioBlkTOut,
                                        tvmm::kVirtioBlkTFlush, tvmm::kVirtioBlkTGetId};
  uint64_t header = kData + 16 * in.ConsumeIntegralInRange<uint64_t>(0, 15);
  uint32_t type = in.ConsumeBool() ? kTypes[in.ConsumeIntegralInRange(0, 3)]
                                   : in.ConsumeIntegral<uint32_t>();
  uint64_t sector = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 130)
                                     : in.ConsumeIntegral<uint64_t>();
  driver.Put(header, type);
  driver.Put(header + 4, uint32_t{0});
  driver.Put(header + 8, sector);

  struct Piece {
    uint64_t addr;
    uint32_t len;
    bool writable;
  };
  std::vector<Piece> pieces;
  pieces.push_back({header, in.ConsumeBool() ? 16u : in.ConsumeIntegralInRange(0u, 32u), false});
  int data = in.ConsumeIntegralInRange(0, 3);
  bool write = type != tvmm::kVirtioBlkTOut;  // the direction the type wants...
  if (in.ConsumeIntegralInRange(0, 7) == 0) write = !write;  // ...most of the time
  for (int i = 0; i < data; i++) {
    uint32_t len = in.ConsumeBool() ? 512 * in.ConsumeIntegralInRange(0u, 8u)
                                    : in.ConsumeIntegralInRange(0u, 0x1000u);
    uint64_t addr = kData + 0x100 + in.ConsumeIntegralInRange<uint64_t>(0, kRam - kData - 0x100);
    if (addr + len > kRam) len = kRam - addr;
    pieces.push_back({addr, len, write});
  }
  if (in.ConsumeIntegralInRange(0, 7) != 0) pieces.push_back({kData + 0xf0, 1, true});

  uint16_t first = in.ConsumeIntegralInRange<uint16_t>(0, qsize - 1);
  for (size_t i = 0; i < pieces.size(); i++) {
    uint16_t d = (first + i) % qsize, next = (first + i + 1) % qsize;
    uint16_t flags = (pieces[i].writable ? tvmm::Virtqueue::kDescWrite : 0) |
                     (i + 1 < pieces.size() ? tvmm::Virtqueue::kDescNext : 0);
    driver.Put(kDesc + 16ull * d, pieces[i].addr);
    driver.Put(kDesc + 16ull * d + 8, pieces[i].len);
    driver.Put(kDesc + 16ull * d + 12, flags);
    driver.Put(kDesc + 16ull * d + 14, next);
  }
  uint16_t idx = driver.Get16(kAvail + 2);
  driver.Put(kAvail + 4 + 2ull * (idx % qsize), first);
  driver.Put(kAvail + 2, static_cast<uint16_t>(idx + 1));
}

// Every element a queue pushes names a chain it popped and not yet
// pushed, and claims no more than that chain's device-writable bytes.
// Checked as the device pushes: the used ring in RAM is the driver's to
// scribble on, and says nothing about the device.
class InFlight : public tvmm::Virtqueue::Observer {
 public:
  void Popped(const tvmm::DescriptorChain& chain) override {
    std::lock_guard lock(mu_);
    Chains& c = heads_[chain.head];
    c.count++;  // a hostile driver may offer a head twice
    c.max_writable = std::max(c.max_writable, chain.writable_bytes);
  }
  void Pushed(uint16_t head, uint32_t len) override {
    std::lock_guard lock(mu_);
    Chains& c = heads_[head];
    if (c.count == 0 || len > c.max_writable) std::abort();
    if (--c.count == 0) c.max_writable = 0;
  }
  // The queue was reset: what it had popped is gone.
  void Clear() {
    std::lock_guard lock(mu_);
    heads_.fill({});
  }

 private:
  struct Chains {
    uint32_t count = 0;
    uint64_t max_writable = 0;
  };
  std::mutex mu_;
  std::array<Chains, tvmm::Virtqueue::kMaxSize> heads_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  GuestRam guest;
  std::vector<uint8_t>& ram = guest.bytes;
  const tvmm::GuestMemory& mem = guest.mem;
  // The interrupt and the observers outlive the device, as the
  // transport's interrupt does; the queues are the device's while it is
  // active, and its reset gives them back.
  constexpr uint64_t kUsed1 = kUsed + 0x800;
  uint16_t qsize = uint16_t{1} << in.ConsumeIntegralInRange(0, 6);
  bool event_idx = in.ConsumeBool();
  InFlight seen0, seen1;
  tvmm::VirtqueueSet queues;
  queues.push_back(std::make_unique<tvmm::Virtqueue>());
  queues.push_back(std::make_unique<tvmm::Virtqueue>());
  queues[0]->set_observer(&seen0);
  queues[1]->set_observer(&seen1);
  Interrupt irq;
  bool read_only = in.ConsumeIntegralInRange(0, 3) == 0;
  std::unique_ptr<tvmm::VirtioBlk> blk = MemfdBlk(kDiskBytes, read_only, 2);

  // Queue 0 on the fuzz_driver layout; queue 1 shares its descriptor table
  // and avail ring (a hostile driver may), with its own used ring.
  auto activate = [&] {
    return queues.size() == 2 &&
           queues[0]->Activate(&mem, qsize, kDesc, kAvail, kUsed, event_idx).ok() &&
           queues[1]->Activate(&mem, qsize, kDesc, kAvail, kUsed1, event_idx).ok() &&
           blk->Activate(&mem, std::move(queues), blk->Features(), &irq).ok();
  };
  if (!activate()) std::abort();
  Driver driver(&in, absl::MakeSpan(ram), qsize);

  for (int step = 0; step < 1024 && in.remaining_bytes(); step++) {
    switch (in.ConsumeIntegralInRange(0, 4)) {
      case 0:
        OfferRequest(in, ram, driver, qsize);
        break;
      case 1:
        (void)blk->QueueNotify(in.ConsumeIntegralInRange(0, 1));
        break;
      case 2:
        blk->WaitIdle();
        break;
      case 3:  // reset with whatever is in flight, as the transport does
        queues = blk->Reset();
        if (!blk->Quiesced()) std::abort();  // memfd I/O never takes 5 s
        if (queues.size() != 2 || !queues[0] || !queues[1]) std::abort();
        // The transport resets its queues under the lock it signals under.
        irq.Locked([&] {
          queues[0]->Reset();
          queues[1]->Reset();
        });
        seen0.Clear();
        seen1.Clear();
        if (!activate()) std::abort();
        break;
      default:
        driver.Move();
        break;
    }
  }
  blk->WaitIdle();
  return 0;
}
