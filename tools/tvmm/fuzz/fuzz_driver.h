// SPDX-License-Identifier: GPL-2.0
// What the fuzz targets share: a hostile driver's moves on a split
// virtqueue in a small guest RAM, decoded from the fuzzer's input.  Each
// move either writes raw bytes anywhere in RAM (the guest changing memory
// under the device, between any two of its steps) or writes a well-formed
// descriptor or avail entry with fuzzer-chosen fields, so that short inputs
// reach deep states as well as broken ones.
#ifndef TVMM_FUZZ_FUZZ_DRIVER_H_
#define TVMM_FUZZ_FUZZ_DRIVER_H_

#include <fuzzer/FuzzedDataProvider.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "memory/guest_memory.h"
#include "virtio/blk.h"

namespace tvmm::fuzz {

// Guest RAM: kRam bytes with nothing tvmm may touch on either side (a heap
// vector, so that an overrun lands in ASan's redzone, or a mapping between
// PROT_NONE guard pages).
inline constexpr uint64_t kRam = 0x4000;
// Where the rings go (any queue size up to 256 fits before kData).
inline constexpr uint64_t kDesc = 0x0, kAvail = 0x1000, kUsed = 0x1400, kData = 0x2000;

// kRam bytes of guest RAM at guest-physical 0.
struct GuestRam {
  GuestRam() {
    if (!mem.AddRegion(0x0, absl::MakeSpan(bytes)).ok()) std::abort();
  }
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kRam);
  GuestMemory mem;
};

// A virtio-blk device on a memfd of @disk_bytes.
inline std::unique_ptr<VirtioBlk> MemfdBlk(uint64_t disk_bytes, bool read_only, uint16_t queues) {
  int fd = memfd_create("tvmm-fuzz-disk", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, disk_bytes)) std::abort();
  auto blk = VirtioBlk::Create(UniqueFd(fd), read_only, disk_bytes / 512, queues, "fuzz");
  if (!blk.ok()) std::abort();
  return std::move(*blk);
}

class Driver {
 public:
  // @ram: the guest's view of its RAM (kRam bytes).
  Driver(FuzzedDataProvider* in, absl::Span<uint8_t> ram, uint16_t qsize)
      : in_(in), ram_(ram), qsize_(qsize) {}

  // Raw bytes at a fuzzer-chosen offset: anything may change at any time.
  void Scribble() {
    uint64_t at = in_->ConsumeIntegralInRange<uint64_t>(0, kRam - 1);
    std::vector<uint8_t> bytes = in_->ConsumeBytes<uint8_t>(in_->ConsumeIntegralInRange(1, 16));
    size_t n = std::min<size_t>(bytes.size(), kRam - at);
    if (n) std::memcpy(ram_.data() + at, bytes.data(), n);
  }

  // A descriptor with fuzzer-chosen fields, pointing into the data area
  // most of the time and anywhere (including past RAM) otherwise.
  void WriteDesc() {
    uint16_t i = in_->ConsumeIntegralInRange<uint16_t>(0, qsize_ - 1);
    uint64_t addr = in_->ConsumeBool()
                        ? kData + in_->ConsumeIntegralInRange<uint64_t>(0, kRam - kData)
                        : in_->ConsumeIntegral<uint64_t>();
    uint32_t len = in_->ConsumeBool() ? in_->ConsumeIntegralInRange<uint32_t>(0, 0x800)
                                      : in_->ConsumeIntegral<uint32_t>();
    uint16_t flags = in_->ConsumeIntegralInRange<uint16_t>(0, 7);
    uint16_t next = in_->ConsumeIntegralInRange<uint16_t>(0, qsize_);
    Put(kDesc + 16ull * i, addr);
    Put(kDesc + 16ull * i + 8, len);
    Put(kDesc + 16ull * i + 12, flags);
    Put(kDesc + 16ull * i + 14, next);
  }

  // Makes a fuzzer-chosen head available (sometimes out of range), or
  // moves the avail index by a fuzzer-chosen amount.
  void Offer() {
    uint16_t idx = Get16(kAvail + 2);
    if (in_->ConsumeBool()) {
      uint16_t head = in_->ConsumeIntegralInRange<uint16_t>(0, qsize_);
      Put(kAvail + 4 + 2ull * (idx % qsize_), head);
      idx++;
    } else {
      idx += in_->ConsumeIntegral<uint16_t>();
    }
    Put(kAvail + 2, idx);
  }

  // avail flags (NO_INTERRUPT) and used_event.
  void Suppress() {
    Put(kAvail, in_->ConsumeIntegralInRange<uint16_t>(0, 1));
    Put(kAvail + 4 + 2ull * qsize_, in_->ConsumeIntegral<uint16_t>());
  }

  // One of the above, chosen by the input.
  void Move() {
    switch (in_->ConsumeIntegralInRange(0, 3)) {
      case 0: Scribble(); break;
      case 1: WriteDesc(); break;
      case 2: Offer(); break;
      default: Suppress(); break;
    }
  }

  template <typename T>
  void Put(uint64_t at, T v) {
    std::memcpy(ram_.data() + at, &v, sizeof(v));
  }
  uint16_t Get16(uint64_t at) const {
    uint16_t v;
    std::memcpy(&v, ram_.data() + at, 2);
    return v;
  }

 private:
  FuzzedDataProvider* in_;
  absl::Span<uint8_t> ram_;
  uint16_t qsize_;
};

}  // namespace tvmm::fuzz

#endif  // TVMM_FUZZ_FUZZ_DRIVER_H_
