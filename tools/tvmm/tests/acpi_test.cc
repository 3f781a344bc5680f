// SPDX-License-Identifier: GPL-2.0
// The ACPI tables as Linux reads them: RSDP -> XSDT -> FADT -> DSDT, and
// the MADT; checksums, the hardware-reduced flag, and each virtio-mmio
// device's registers and interrupt in the DSDT's AML.
#include "arch/x86/acpi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "arch/x86/layout.h"

namespace tvmm::x86 {
namespace {

template <typename T>
T Get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint8_t Sum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; i++) s += p[i];
  return s;
}

// Decodes an AML PkgLength at @p: its value and how many bytes it takes.
std::pair<size_t, size_t> PkgLength(const uint8_t* p) {
  size_t extra = p[0] >> 6;
  if (extra == 0) return {p[0] & 0x3f, 1};
  size_t v = p[0] & 0xf;
  for (size_t i = 0; i < extra; i++) v |= size_t{p[1 + i]} << (4 + 8 * i);
  return {v, 1 + extra};
}

class Acpi : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok()); }

  // A table at @gpa: its signature must be @sig and its bytes sum to 0.
  const uint8_t* TableAt(uint64_t gpa, const char* sig) {
    const uint8_t* t = ram_.data() + gpa;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(t), 4), sig);
    EXPECT_EQ(Sum(t, Get<uint32_t>(t + 4)), 0) << sig;
    return t;
  }

  std::vector<uint8_t> ram_ = std::vector<uint8_t>(2 << 20);
  GuestMemory mem_;
};

TEST_F(Acpi, TablesChainFromTheRsdp) {
  std::vector<VirtioSlot> slots = {{0xd0000000, 0x200, 5}, {0xd0001000, 0x200, 6}};
  auto rsdp_at = WriteAcpiTables(mem_, 2, slots);
  ASSERT_TRUE(rsdp_at.ok()) << rsdp_at.status();
  EXPECT_EQ(*rsdp_at, kAcpiAddr);
  EXPECT_EQ(*rsdp_at % 16, 0u);  // where Linux's scan looks
  const uint8_t* rsdp = ram_.data() + *rsdp_at;
  ASSERT_EQ(std::memcmp(rsdp, "RSD PTR ", 8), 0);
  EXPECT_EQ(Sum(rsdp, 20), 0);
  EXPECT_EQ(Sum(rsdp, 36), 0);
  EXPECT_EQ(rsdp[15], 2);

  const uint8_t* xsdt = TableAt(Get<uint64_t>(rsdp + 24), "XSDT");
  ASSERT_EQ(Get<uint32_t>(xsdt + 4), 36u + 16);
  const uint8_t* fadt = TableAt(Get<uint64_t>(xsdt + 36), "FACP");
  const uint8_t* madt = TableAt(Get<uint64_t>(xsdt + 44), "APIC");
  EXPECT_EQ(Get<uint32_t>(fadt + 4), 276u);
  EXPECT_EQ(fadt[8], 6);
  EXPECT_TRUE(Get<uint32_t>(fadt + 112) & (1u << 20));  // HW_REDUCED_ACPI
  EXPECT_FALSE(Get<uint16_t>(fadt + 109) & (1u << 1));  // no 8042 to probe
  EXPECT_EQ(Get<uint32_t>(fadt + 40), 0u);              // 64-bit DSDT pointer only
  const uint8_t* dsdt = TableAt(Get<uint64_t>(fadt + 140), "DSDT");
  // Every table lies in the reserved BIOS area.
  for (const uint8_t* t : {xsdt, fadt, madt, dsdt}) {
    EXPECT_GE(t - ram_.data(), static_cast<ptrdiff_t>(kAcpiAddr));
    EXPECT_LE(t - ram_.data() + Get<uint32_t>(t + 4), static_cast<ptrdiff_t>(kAcpiEnd));
  }
}

TEST_F(Acpi, MadtListsEveryCpuAndTheIoapic) {
  auto madt = BuildMadt(4);
  ASSERT_TRUE(madt.ok());
  const uint8_t* t = madt->data();
  ASSERT_EQ(Get<uint32_t>(t + 4), madt->size());
  EXPECT_EQ(Sum(t, madt->size()), 0);
  EXPECT_EQ(Get<uint32_t>(t + 36), kLapicAddr);
  EXPECT_EQ(Get<uint32_t>(t + 40), 0u);  // no PCAT_COMPAT: no 8259s
  int cpus = 0, ioapics = 0, nmis = 0;
  for (size_t off = 44; off < madt->size(); off += t[off + 1]) {
    ASSERT_GE(t[off + 1], 2) << "zero-length entry at " << off;
    switch (t[off]) {
      case 0:
        EXPECT_EQ(t[off + 3], cpus);                // APIC ID
        EXPECT_EQ(Get<uint32_t>(t + off + 4), 1u);  // enabled
        cpus++;
        break;
      case 1:
        EXPECT_EQ(t[off + 2], 4);  // the ID after the CPUs'
        EXPECT_EQ(Get<uint32_t>(t + off + 4), kIoapicAddr);
        EXPECT_EQ(Get<uint32_t>(t + off + 8), 0u);
        ioapics++;
        break;
      case 4:
        EXPECT_EQ(t[off + 2], 0xff);
        EXPECT_EQ(t[off + 5], 1);  // LINT1
        nmis++;
        break;
      default:
        ADD_FAILURE() << "unexpected MADT entry type " << int{t[off]};
    }
  }
  EXPECT_EQ(cpus, 4);
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(nmis, 1);
  EXPECT_FALSE(BuildMadt(0).ok());
  EXPECT_TRUE(BuildMadt(kMaxApicCpus).ok());
  EXPECT_FALSE(BuildMadt(kMaxApicCpus + 1).ok());
}

// Finds @needle in @hay from @from on.
size_t Find(const std::vector<uint8_t>& hay, const std::string& needle, size_t from = 0) {
  std::vector<uint8_t> n(needle.begin(), needle.end());  // char may be signed
  auto it = std::search(hay.begin() + from, hay.end(), n.begin(), n.end());
  return it == hay.end() ? std::string::npos : it - hay.begin();
}

TEST_F(Acpi, DsdtDescribesEachVirtioDevice) {
  // As many devices as tvmm can have (16 disks, rng, vsock): the scope's
  // PkgLength takes two bytes then.
  std::vector<VirtioSlot> slots;
  for (uint32_t i = 0; i < 18; i++) slots.push_back({0xd0000000 + i * 0x1000, 0x200, 5 + i});
  std::vector<uint8_t> dsdt = BuildDsdt(slots);
  ASSERT_EQ(Get<uint32_t>(dsdt.data() + 4), dsdt.size());
  EXPECT_EQ(Sum(dsdt.data(), dsdt.size()), 0);
  EXPECT_EQ(dsdt[8], 2);  // 64-bit integers

  // Scope (\_SB) spans the whole definition block.
  ASSERT_EQ(dsdt[36], 0x10);
  auto [scope_len, scope_bytes] = PkgLength(dsdt.data() + 37);
  EXPECT_EQ(scope_bytes, 2u);
  EXPECT_EQ(37 + scope_len, dsdt.size());
  EXPECT_EQ(std::string(dsdt.begin() + 37 + scope_bytes, dsdt.begin() + 37 + scope_bytes + 5),
            "\\_SB_");

  size_t pos = Find(dsdt, "COM1");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_NE(Find(dsdt, std::string("\x0c\x41\xd0\x05\x01", 5), pos), std::string::npos)
      << "EISAID(PNP0501)";

  for (uint32_t i = 0; i < slots.size(); i++) {
    char name[5];
    snprintf(name, sizeof(name), "V%03X", i);
    size_t dev = Find(dsdt, name);
    ASSERT_NE(dev, std::string::npos) << name;
    // DeviceOp, then a PkgLength that ends where the next device starts.
    ASSERT_EQ(dsdt[dev - 3], 0x5b);
    ASSERT_EQ(dsdt[dev - 2], 0x82);
    auto [dev_len, dev_bytes] = PkgLength(dsdt.data() + dev - 1);
    ASSERT_EQ(dev_bytes, 1u);
    size_t end = dev - 1 + dev_len;
    ASSERT_LE(end, dsdt.size());
    if (i + 1 < slots.size()) {
      EXPECT_EQ(dsdt[end], 0x5b) << name;
    } else {
      EXPECT_EQ(end, dsdt.size());
    }
    std::vector<uint8_t> body(dsdt.begin() + dev, dsdt.begin() + end);
    EXPECT_NE(Find(body, std::string("_HID\x0dLNRO0005\0", 14)), std::string::npos) << name;
    size_t mem = Find(body, std::string("\x86\x09\x00\x01", 4));
    ASSERT_NE(mem, std::string::npos) << name;
    EXPECT_EQ(Get<uint32_t>(body.data() + mem + 4), slots[i].base);
    EXPECT_EQ(Get<uint32_t>(body.data() + mem + 8), slots[i].size);
    size_t irq = Find(body, std::string("\x89\x06\x00\x01\x01", 5));  // level, high
    ASSERT_NE(irq, std::string::npos) << name;
    EXPECT_EQ(Get<uint32_t>(body.data() + irq + 5), slots[i].irq);
  }
}

}  // namespace
}  // namespace tvmm::x86
