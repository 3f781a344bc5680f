// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/cpuid.h"

#include <algorithm>
#include <bit>

#include "arch/x86/layout.h"

namespace tvmm::x86 {
namespace {

constexpr uint32_t kLeafVendor = 0, kLeafFeatures = 1, kLeafCacheParams = 4;
constexpr uint32_t kLeafTopology = 0xb, kLeafTopologyV2 = 0x1f;
constexpr uint32_t kLeafExtFeatures = 0x80000001, kLeafAddressSizes = 0x80000008;
constexpr uint32_t kLeafAmdCacheParams = 0x8000001d, kLeafAmdTopology = 0x8000001e;
constexpr uint32_t kLeafAmdExtTopology = 0x80000026;

// "Auth" of AuthenticAMD and "Hygo" of HygonGenuine, in leaf 0's EBX.
constexpr uint32_t kVendorAmdEbx = 0x68747541, kVendorHygonEbx = 0x6f677948;

constexpr uint32_t kHtt = 1u << 28;       // leaf 1 EDX
constexpr uint32_t kCmpLegacy = 1u << 1;  // 0x80000001 ECX
constexpr uint32_t kTopoTypeSmt = 1, kTopoTypeCore = 2;

// The cache-parameter leaves (4, 0x8000001D) share their EAX layout:
// [4:0] type (0: no more caches), [7:5] level, [25:14] logical
// processors sharing the cache - 1, and for leaf 4 [31:26] cores - 1.
void SetCacheSharing(kvm_cpuid_entry2& e, uint32_t id_mask, bool with_cores) {
  if ((e.eax & 0x1f) == 0) return;
  uint32_t level = (e.eax >> 5) & 7;
  uint32_t sharing = level >= 3 ? std::min(id_mask, 0xfffu) : 0;
  e.eax = (e.eax & ~(0xfffu << 14)) | (sharing << 14);
  if (with_cores) e.eax = (e.eax & 0x03ffffff) | (std::min(id_mask, 63u) << 26);
}

kvm_cpuid_entry2 TopologyLevel(uint32_t function, uint32_t index, uint32_t shift, uint32_t count,
                               uint32_t type, uint32_t apic_id) {
  kvm_cpuid_entry2 e = {};
  e.function = function;
  e.index = index;
  e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  e.eax = shift;
  e.ebx = count;
  e.ecx = index | (type << 8);
  e.edx = apic_id;
  return e;
}

}  // namespace

void SetTopology(std::vector<kvm_cpuid_entry2>& entries, uint32_t apic_id, uint32_t ncpus) {
  if (ncpus == 0 || ncpus > kMaxApicCpus || apic_id >= ncpus) return;
  uint32_t max_basic = 0;
  bool amd = false;
  for (const kvm_cpuid_entry2& e : entries) {
    if (e.function != kLeafVendor) continue;
    max_basic = e.eax;
    amd = e.ebx == kVendorAmdEbx || e.ebx == kVendorHygonEbx;
  }
  // Bits of the APIC ID that number the cores: the IDs 0..ncpus-1 are
  // dense, so one package holds 1 << bits of them.
  const uint32_t bits = ncpus > 1 ? std::bit_width(ncpus - 1) : 0;
  const uint32_t id_mask = (1u << bits) - 1;

  // 0x80000026, AMD's own topology leaf, which KVM does not report (yet):
  // none rather than the host's.
  std::erase_if(entries, [](const kvm_cpuid_entry2& e) {
    return e.function == kLeafTopology || e.function == kLeafTopologyV2 ||
           e.function == kLeafAmdExtTopology;
  });
  for (kvm_cpuid_entry2& e : entries) {
    switch (e.function) {
      case kLeafFeatures: {
        // Intel counts addressable IDs here, AMD logical processors.
        uint32_t logical = std::min(amd ? ncpus : id_mask + 1, 255u);
        e.ebx = (e.ebx & 0xffff) | (logical << 16) | (apic_id << 24);
        e.edx = ncpus > 1 ? e.edx | kHtt : e.edx & ~kHtt;
        break;
      }
      case kLeafCacheParams:
        if (!amd) SetCacheSharing(e, id_mask, true);
        break;
      case kLeafExtFeatures:
        if (amd) e.ecx = ncpus > 1 ? e.ecx | kCmpLegacy : e.ecx & ~kCmpLegacy;
        break;
      case kLeafAddressSizes:
        // [7:0] cores - 1, [15:12] APIC ID bits for them.
        if (amd) e.ecx = (e.ecx & ~0xf0ffu) | (bits << 12) | (ncpus - 1);
        break;
      case kLeafAmdCacheParams:
        if (amd) SetCacheSharing(e, id_mask, false);
        break;
      case kLeafAmdTopology:
        // Extended APIC ID; core ID, one thread per core; node 0 of 1.
        if (amd) {
          e.eax = apic_id;
          e.ebx = apic_id & 0xff;
          e.ecx = 0;
          e.edx = 0;
        }
        break;
      default:
        break;
    }
  }
  for (uint32_t leaf : {kLeafTopology, kLeafTopologyV2}) {
    if (max_basic < leaf) continue;
    entries.push_back(TopologyLevel(leaf, 0, 0, 1, kTopoTypeSmt, apic_id));
    entries.push_back(TopologyLevel(leaf, 1, bits, ncpus, kTopoTypeCore, apic_id));
    entries.push_back(TopologyLevel(leaf, 2, 0, 0, 0, apic_id));
  }
}

}  // namespace tvmm::x86
