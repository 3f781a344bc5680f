// SPDX-License-Identifier: GPL-2.0
// The topology a guest reads from CPUID after SetTopology(), decoded the
// way Linux decodes it (package = APIC ID >> the core level's shift), on
// entries shaped like KVM_GET_SUPPORTED_CPUID's on a 2-core host of each
// vendor: whatever the host had, one package of N single-thread cores.
#include "arch/x86/cpuid.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <utility>
#include <vector>

namespace tvmm::x86 {
namespace {

constexpr uint32_t kIntel[3] = {0x756e6547, 0x49656e69, 0x6c65746e};  // GenuineIntel
constexpr uint32_t kAmd[3] = {0x68747541, 0x69746e65, 0x444d4163};    // AuthenticAMD

kvm_cpuid_entry2 Entry(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                       uint32_t edx) {
  kvm_cpuid_entry2 e = {};
  e.function = function;
  e.index = index;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// Cache-parameter EAX: type, level, sharing - 1, (leaf 4) cores - 1.
uint32_t Cache(uint32_t type, uint32_t level, uint32_t sharing_m1, uint32_t cores_m1) {
  return type | (level << 5) | (sharing_m1 << 14) | (cores_m1 << 26);
}

constexpr uint32_t kHtt = 1u << 28, kCmpLegacy = 1u << 1;

// What KVM reports on a 2-core, 2-thread-per-core host: leaf 1 counts 4
// (KVM never reports HTT, nor does this), the cache leaves share L1/L2
// between 2 threads, 0xB and 0x8000001E are zeroed, 0x80000008 says 2
// cores in 1 APIC ID bit, CmpLegacy is clear.  @flags: HTT and CmpLegacy
// set, for the tests that want them cleared.
std::vector<kvm_cpuid_entry2> Host(const uint32_t (&vendor)[3], uint32_t max_basic,
                                   bool flags = false) {
  std::vector<kvm_cpuid_entry2> v = {
      Entry(0, 0, max_basic, vendor[0], vendor[2], vendor[1]),
      Entry(1, 0, 0x000a0f00, 0x01040800, 0x80000000, 0x078bfbff | (flags ? kHtt : 0)),
      Entry(7, 0, 0, 0x219c07ab, 0x0040069c, 0),
      Entry(0x80000000, 0, 0x80000021, 0, 0, 0),
      Entry(0x80000001, 0, 0, 0, 0x00400001 | (flags ? kCmpLegacy : 0), 0x2fd3fbff),
      Entry(0x80000008, 0, 0x3030, 0, 0x00011001, 0),
  };
  for (uint32_t leaf : {4u, 0x8000001du}) {
    bool amd = leaf == 0x8000001d;
    uint32_t cores_m1 = amd ? 0 : 1;
    v.push_back(Entry(leaf, 0, Cache(1, 1, 1, cores_m1), 0x01c0003f, 0x3f, 0));
    v.push_back(Entry(leaf, 1, Cache(3, 2, 1, cores_m1), 0x01c0003f, 0x3ff, 0));
    v.push_back(Entry(leaf, 2, Cache(3, 3, 3, cores_m1), 0x03c0003f, 0x3fff, 1));
    v.push_back(Entry(leaf, 3, 0, 0, 0, 0));
    for (uint32_t i = 0; i < 4; i++) v[v.size() - 4 + i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  }
  if (max_basic >= 0xb) v.push_back(Entry(0xb, 0, 0, 0, 0, 0));
  if (max_basic >= 0x1f) v.push_back(Entry(0x1f, 0, 0, 0, 0, 0));
  v.push_back(Entry(0x8000001e, 0, 0, 0, 0, 0));
  return v;
}

const kvm_cpuid_entry2* Find(const std::vector<kvm_cpuid_entry2>& v, uint32_t function,
                             uint32_t index = 0) {
  for (const kvm_cpuid_entry2& e : v)
    if (e.function == function && e.index == index) return &e;
  return nullptr;
}

size_t Count(const std::vector<kvm_cpuid_entry2>& v, uint32_t function) {
  size_t n = 0;
  for (const kvm_cpuid_entry2& e : v) n += e.function == function;
  return n;
}

uint32_t Bits(uint32_t v, int lo, int hi) { return (v >> lo) & ((2u << (hi - lo)) - 1); }

struct Decoded {
  uint32_t apic_id, package, core, threads_per_core;
};

// Linux's get_count_order(): log2 rounded up.
uint32_t Order(uint32_t n) { return n > 1 ? 32 - __builtin_clz(n - 1) : 0; }

// Linux 6.12's reading (arch/x86/kernel/cpu/topology_*.c): an x2APIC
// topology leaf with an SMT and a core level (Intel: 0x1F before 0xB; AMD:
// 0xB); else AMD takes 0x80000008's APIC ID size and 0x8000001E's threads
// per core, Intel leaf 1's count (with HTT) and leaf 4's cores.
Decoded Decode(const std::vector<kvm_cpuid_entry2>& v, bool amd) {
  Decoded d = {};
  d.apic_id = Bits(Find(v, 1)->ebx, 24, 31);
  uint32_t core_shift = 0;
  bool found = false;
  for (uint32_t leaf : amd ? std::vector<uint32_t>{0xb} : std::vector<uint32_t>{0x1f, 0xb}) {
    const kvm_cpuid_entry2* smt = Find(v, leaf, 0);
    const kvm_cpuid_entry2* core = Find(v, leaf, 1);
    if (!smt || !core || !Bits(smt->ebx, 0, 15) || Bits(smt->ecx, 8, 15) != 1 ||
        Bits(core->ecx, 8, 15) != 2)
      continue;
    EXPECT_EQ(smt->edx, d.apic_id) << leaf;
    EXPECT_EQ(core->edx, d.apic_id) << leaf;
    core_shift = core->eax & 0x1f;
    d.threads_per_core = 1u << (smt->eax & 0x1f);
    found = true;
    break;
  }
  if (!found && amd) {
    uint32_t ecx = Find(v, 0x80000008)->ecx;
    core_shift = Bits(ecx, 12, 15) ? Bits(ecx, 12, 15) : Order(Bits(ecx, 0, 7) + 1);
    d.threads_per_core = Bits(Find(v, 0x8000001e)->ebx, 8, 15) + 1;
  } else if (!found) {
    uint32_t core_order = Order(Bits(Find(v, 4, 0)->eax, 26, 31) + 1);
    bool htt = Find(v, 1)->edx & kHtt;
    core_shift = htt ? Order(Bits(Find(v, 1)->ebx, 16, 23)) : core_order;
    d.threads_per_core = 1u << (core_shift - core_order);
  }
  d.package = d.apic_id >> core_shift;
  d.core = d.apic_id & ((1u << core_shift) - 1);
  return d;
}

class TopologyTest : public testing::TestWithParam<bool> {
 protected:
  bool amd() const { return GetParam(); }
  std::vector<kvm_cpuid_entry2> Guest(uint32_t id, uint32_t ncpus, uint32_t max_basic = 0x1f,
                                      bool flags = false) {
    std::vector<kvm_cpuid_entry2> v = Host(amd() ? kAmd : kIntel, max_basic, flags);
    SetTopology(v, id, ncpus);
    return v;
  }
};

TEST_P(TopologyTest, TwelveVcpusAreOnePackageOfTwelveCores) {
  std::set<uint32_t> cores;
  for (uint32_t id = 0; id < 12; id++) {
    std::vector<kvm_cpuid_entry2> v = Guest(id, 12);
    Decoded d = Decode(v, amd());
    EXPECT_EQ(d.apic_id, id);
    EXPECT_EQ(d.package, 0u) << "vCPU " << id;
    EXPECT_EQ(d.threads_per_core, 1u);
    cores.insert(d.core);
    const kvm_cpuid_entry2* l1 = Find(v, 1);
    EXPECT_TRUE(l1->edx & (1u << 28)) << "HTT";
    EXPECT_EQ(Bits(l1->ebx, 16, 23), amd() ? 12u : 16u);
    EXPECT_EQ(Bits(l1->ebx, 0, 15), 0x0800u) << "CLFLUSH size and brand untouched";
    for (uint32_t leaf : {0xbu, 0x1fu}) {
      ASSERT_EQ(Count(v, leaf), 3u) << leaf;
      EXPECT_EQ(Find(v, leaf, 0)->ebx, 1u);
      EXPECT_EQ(Find(v, leaf, 1)->eax, 4u) << "12 IDs need 4 bits";
      EXPECT_EQ(Find(v, leaf, 1)->ebx, 12u);
      EXPECT_EQ(Bits(Find(v, leaf, 2)->ecx, 8, 15), 0u) << "no third level";
      for (uint32_t i = 0; i < 3; i++)
        EXPECT_EQ(Find(v, leaf, i)->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
    }
  }
  EXPECT_EQ(cores.size(), 12u);
}

TEST_P(TopologyTest, CachesPrivatePerCoreExceptL3) {
  std::vector<kvm_cpuid_entry2> v = Guest(5, 12);
  uint32_t leaf = amd() ? 0x8000001d : 4;
  EXPECT_EQ(Bits(Find(v, leaf, 0)->eax, 14, 25), 0u);
  EXPECT_EQ(Bits(Find(v, leaf, 1)->eax, 14, 25), 0u);
  EXPECT_EQ(Bits(Find(v, leaf, 2)->eax, 14, 25), 15u);
  EXPECT_EQ(Find(v, leaf, 3)->eax, 0u) << "the terminator stays";
  if (!amd()) {
    EXPECT_EQ(Bits(Find(v, 4, 2)->eax, 26, 31), 15u);
  }
  // The other vendor's leaf is not touched.
  uint32_t other = amd() ? 4 : 0x8000001d;
  EXPECT_EQ(Find(v, other, 2)->eax, Cache(3, 3, 3, amd() ? 1 : 0));
}

TEST_P(TopologyTest, AmdLeaves) {
  std::vector<kvm_cpuid_entry2> v = Guest(7, 12);
  const kvm_cpuid_entry2* sizes = Find(v, 0x80000008);
  const kvm_cpuid_entry2* ext = Find(v, 0x80000001);
  const kvm_cpuid_entry2* topo = Find(v, 0x8000001e);
  if (!amd()) {
    EXPECT_EQ(sizes->ecx, 0x00011001u);
    EXPECT_EQ(ext->ecx, 0x00400001u);
    EXPECT_EQ(topo->eax, 0u);
    return;
  }
  EXPECT_EQ(sizes->ecx, 0x0001400bu) << "PerfTscSize kept, 4 ID bits, 12 cores";
  EXPECT_EQ(ext->ecx, 0x00400003u) << "CmpLegacy";
  EXPECT_EQ(topo->eax, 7u);
  EXPECT_EQ(topo->ebx, 7u) << "core 7, one thread";
  EXPECT_EQ(topo->ecx, 0u) << "node 0 of 1";
}

TEST_P(TopologyTest, OneVcpuIsOneCoreWithoutHtt) {
  std::vector<kvm_cpuid_entry2> v = Guest(0, 1, 0x1f, /*flags=*/true);
  Decoded d = Decode(v, amd());
  EXPECT_EQ(d.package, 0u);
  EXPECT_EQ(d.core, 0u);
  EXPECT_FALSE(Find(v, 1)->edx & (1u << 28));
  EXPECT_EQ(Bits(Find(v, 1)->ebx, 16, 23), 1u);
  EXPECT_EQ(Find(v, 0xb, 1)->eax, 0u);
  EXPECT_EQ(Find(v, 0xb, 1)->ebx, 1u);
  if (amd()) {
    EXPECT_FALSE(Find(v, 0x80000001)->ecx & 2) << "CmpLegacy";
    EXPECT_EQ(Find(v, 0x80000008)->ecx & 0xf0ff, 0u);
  }
}

TEST_P(TopologyTest, MostVcpusSaturateTheNarrowFields) {
  std::vector<kvm_cpuid_entry2> v = Guest(253, 254);
  Decoded d = Decode(v, amd());
  EXPECT_EQ(d.apic_id, 253u);
  EXPECT_EQ(d.package, 0u);
  EXPECT_EQ(Bits(Find(v, 1)->ebx, 16, 23), amd() ? 254u : 255u);
  EXPECT_EQ(Find(v, 0xb, 1)->eax, 8u);
  if (!amd()) {
    EXPECT_EQ(Bits(Find(v, 4, 0)->eax, 26, 31), 63u);
  }
  if (amd()) {
    EXPECT_EQ(Find(v, 0x80000008)->ecx & 0xf0ff, 0x80fdu);
  }
}

TEST_P(TopologyTest, TopologyLeavesOnlyWhereTheMaximumBasicLeafReaches) {
  std::vector<kvm_cpuid_entry2> v = Guest(1, 4, 0xd);
  EXPECT_EQ(Count(v, 0xb), 3u);
  EXPECT_EQ(Count(v, 0x1f), 0u);
  // Without them, AMD's 0x80000008 and Intel's leaves 1 and 4 carry it.
  v = Guest(11, 12, 0xa);
  EXPECT_EQ(Count(v, 0xb), 0u);
  EXPECT_EQ(Count(v, 0x1f), 0u);
  Decoded d = Decode(v, amd());
  EXPECT_EQ(d.package, 0u);
  EXPECT_EQ(d.core, 11u);
  EXPECT_EQ(d.threads_per_core, 1u);
  EXPECT_EQ(Find(v, 7)->ebx, 0x219c07abu) << "unrelated leaves untouched";
}

TEST_P(TopologyTest, OutOfRangeLeavesTheEntriesAlone) {
  std::vector<kvm_cpuid_entry2> host = Host(amd() ? kAmd : kIntel, 0x1f);
  for (auto [id, n] : {std::pair<uint32_t, uint32_t>{0, 0}, {5, 5}, {0, 255}}) {
    std::vector<kvm_cpuid_entry2> v = host;
    SetTopology(v, id, n);
    ASSERT_EQ(v.size(), host.size());
    EXPECT_EQ(std::memcmp(v.data(), host.data(), v.size() * sizeof(v[0])), 0)
        << "vCPU " << id << " of " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Vendors, TopologyTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Amd" : "Intel";
                         });

}  // namespace
}  // namespace tvmm::x86
