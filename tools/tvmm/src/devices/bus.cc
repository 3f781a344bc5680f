// SPDX-License-Identifier: GPL-2.0
#include "devices/bus.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tvmm {

absl::Status Bus::Register(uint64_t base, uint64_t size, std::shared_ptr<BusDevice> device) {
  if (size == 0 || base + size < base)
    return absl::InvalidArgumentError(absl::StrCat(name_, ": bad range at 0x", absl::Hex(base)));
  auto next = ranges_.lower_bound(base);
  if ((next != ranges_.end() && next->first < base + size) ||
      (next != ranges_.begin() && std::prev(next)->first + std::prev(next)->second.size > base)) {
    return absl::AlreadyExistsError(
        absl::StrCat(name_, ": range at 0x", absl::Hex(base), " overlaps a device"));
  }
  ranges_.emplace(base, Range{size, std::move(device)});
  return absl::OkStatus();
}

void Bus::Clear() { ranges_.clear(); }

const Bus::Range* Bus::Find(uint64_t addr, uint64_t len, uint64_t* base) const {
  auto it = ranges_.upper_bound(addr);
  if (it == ranges_.begin()) return nullptr;
  --it;
  uint64_t offset = addr - it->first;
  if (offset >= it->second.size || len > it->second.size - offset) return nullptr;
  *base = it->first;
  return &it->second;
}

bool Bus::Read(uint64_t addr, absl::Span<uint8_t> data) const {
  uint64_t base;
  const Range* r = Find(addr, data.size(), &base);
  if (!r) {
    std::fill(data.begin(), data.end(), 0xff);
    return false;
  }
  r->device->Read(addr - base, data);
  return true;
}

bool Bus::Write(uint64_t addr, absl::Span<const uint8_t> data) const {
  uint64_t base;
  const Range* r = Find(addr, data.size(), &base);
  if (!r) return false;
  r->device->Write(addr - base, data);
  return true;
}

}  // namespace tvmm
