// SPDX-License-Identifier: GPL-2.0
// The driver's side of a split virtqueue, for tests: writes descriptors and
// the avail ring into a test's guest RAM and reads the used ring back.
#ifndef TVMM_TESTS_TEST_RING_H_
#define TVMM_TESTS_TEST_RING_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "virtio/device.h"
#include "virtio/virtqueue.h"

namespace tvmm {

class TestRing {
 public:
  struct Desc {
    uint64_t gpa;
    uint32_t len;
    bool writable;
  };

  TestRing(std::vector<uint8_t>* ram, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used)
      : ram_(ram), size_(size), desc_(desc), avail_(avail), used_(used) {}

  void SetDesc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    uint8_t* d = ram_->data() + desc_ + 16 * i;
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
  }

  // Makes @head available as the next entry.
  void Offer(uint16_t head) {
    uint16_t idx = Load16(avail_ + 2);
    std::memcpy(ram_->data() + avail_ + 4 + 2 * (idx % size_), &head, 2);
    idx++;
    std::memcpy(ram_->data() + avail_ + 2, &idx, 2);
  }

  // Chains @descs in descriptors @first, @first + 1, ... and offers the chain.
  void OfferChain(uint16_t first, const std::vector<Desc>& descs) {
    for (size_t i = 0; i < descs.size(); i++) {
      uint16_t flags = (i + 1 < descs.size() ? Virtqueue::kDescNext : 0) |
                       (descs[i].writable ? Virtqueue::kDescWrite : 0);
      SetDesc(first + i, descs[i].gpa, descs[i].len, flags, first + i + 1);
    }
    Offer(first);
  }

  uint16_t UsedIdx() const { return Load16(used_ + 2); }

  // The used element @n: (head, len).
  std::pair<uint32_t, uint32_t> Used(uint16_t n) const {
    uint32_t id, len;
    std::memcpy(&id, ram_->data() + used_ + 4 + 8 * (n % size_), 4);
    std::memcpy(&len, ram_->data() + used_ + 8 + 8 * (n % size_), 4);
    return {id, len};
  }

 private:
  uint16_t Load16(uint64_t at) const {
    uint16_t v;
    std::memcpy(&v, ram_->data() + at, 2);
    return v;
  }

  std::vector<uint8_t>* ram_;
  uint16_t size_;
  uint64_t desc_, avail_, used_;
};

// A queue of @size on the rings at @desc, @avail and @used, activated as
// the transport does at QueueReady.
inline std::unique_ptr<Virtqueue> ActiveQueue(const GuestMemory* mem, uint16_t size, uint64_t desc,
                                              uint64_t avail, uint64_t used) {
  auto queue = std::make_unique<Virtqueue>(size);
  absl::Status s = queue->Activate(mem, size, desc, avail, used);
  EXPECT_TRUE(s.ok()) << s;
  return queue;
}

// @queues as a device's Activate() takes them.
template <typename... Queues>
VirtqueueSet QueueSet(Queues... queues) {
  VirtqueueSet set;
  (set.push_back(std::move(queues)), ...);
  return set;
}

}  // namespace tvmm

#endif  // TVMM_TESTS_TEST_RING_H_
