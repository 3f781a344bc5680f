// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/acpi.h"

#include <cstring>
#include <string_view>

#include "absl/strings/str_format.h"
#include "arch/x86/layout.h"
#include "util/status.h"

namespace tvmm::x86 {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
void Put(Bytes& out, size_t offset, T v) {
  std::memcpy(out.data() + offset, &v, sizeof(v));
}

template <typename T>
void Append(Bytes& out, T v) {
  out.resize(out.size() + sizeof(v));
  Put(out, out.size() - sizeof(v), v);
}

// resize() and memcpy(), not insert(): GCC 12 at -O3 reports
// -Warray-bounds and -Wstringop-overflow for vector<uint8_t>::insert of a
// range here, false positives that broke the Release build.
void AppendRaw(Bytes& out, const void* p, size_t n) {
  size_t at = out.size();
  out.resize(at + n);
  if (n) std::memcpy(out.data() + at, p, n);
}
void Append(Bytes& out, std::string_view s) { AppendRaw(out, s.data(), s.size()); }
void Append(Bytes& out, const Bytes& b) { AppendRaw(out, b.data(), b.size()); }

uint8_t Checksum(const uint8_t* p, size_t n) {
  uint8_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += p[i];
  return static_cast<uint8_t>(-sum);
}

// ---- System description tables (ACPI 6.5, 5.2) ----
constexpr size_t kHeaderSize = 36;
constexpr size_t kChecksumOffset = 9;

// Header + @body, with length and checksum filled in.
Bytes Table(std::string_view signature, uint8_t revision, const Bytes& body) {
  Bytes t(kHeaderSize);
  std::memcpy(t.data(), signature.data(), 4);
  Put<uint32_t>(t, 4, static_cast<uint32_t>(kHeaderSize + body.size()));
  t[8] = revision;
  std::memcpy(t.data() + 10, "TVMM  ", 6);    // OEM ID
  std::memcpy(t.data() + 16, "TVMMVM  ", 8);  // OEM table ID
  Put<uint32_t>(t, 24, 1);                    // OEM revision
  std::memcpy(t.data() + 28, "TVMM", 4);      // creator ID
  Put<uint32_t>(t, 32, 1);                    // creator revision
  Append(t, body);
  t[kChecksumOffset] = Checksum(t.data(), t.size());
  return t;
}

// FADT (5.2.9), revision 6.5: hardware-reduced, so no PM blocks, no SCI,
// no FACS; the boot flags tell Linux there is no VGA, MSI, CMOS RTC or
// 8042 to probe (tvmm's i8042 only takes the reset command).
Bytes BuildFadt(uint64_t dsdt) {
  constexpr size_t kFadtSize = 276;
  constexpr uint16_t kBootNoVga = 1 << 2, kBootNoMsi = 1 << 3, kBootNoCmosRtc = 1 << 5;
  constexpr uint32_t kPwrButton = 1 << 4, kSlpButton = 1 << 5, kHwReduced = 1 << 20;
  Bytes body(kFadtSize - kHeaderSize);
  auto at = [](size_t offset) { return offset - kHeaderSize; };
  Put<uint16_t>(body, at(109), kBootNoVga | kBootNoMsi | kBootNoCmosRtc);
  Put<uint32_t>(body, at(112), kHwReduced | kPwrButton | kSlpButton);
  body[at(131)] = 5;                                      // FADT minor version
  Put<uint64_t>(body, at(140), dsdt);                     // X_DSDT
  std::memcpy(body.data() + at(268), "TVMM\0\0\0\0", 8);  // hypervisor vendor
  return Table("FACP", 6, body);
}

Bytes BuildXsdt(absl::Span<const uint64_t> tables) {
  Bytes body;
  for (uint64_t t : tables) Append<uint64_t>(body, t);
  return Table("XSDT", 1, body);
}

// RSDP (5.2.5), revision 2: the XSDT only.
Bytes BuildRsdp(uint64_t xsdt) {
  Bytes r(36);
  std::memcpy(r.data(), "RSD PTR ", 8);
  std::memcpy(r.data() + 9, "TVMM  ", 6);
  r[15] = 2;
  Put<uint32_t>(r, 20, 36);
  Put<uint64_t>(r, 24, xsdt);
  r[8] = Checksum(r.data(), 20);
  r[32] = Checksum(r.data(), 36);
  return r;
}

// ---- AML (ACPI 6.5, 20.2) ----

// PkgLength (20.2.4) for @payload bytes that follow it: the encoded value
// counts its own bytes too.
Bytes PkgLength(size_t payload) {
  for (size_t extra = 0; extra < 4; extra++) {
    size_t length = payload + 1 + extra;
    if (extra == 0 && length < 0x40) return {static_cast<uint8_t>(length)};
    if (extra > 0 && length < (size_t{1} << (4 + 8 * extra))) {
      Bytes b = {static_cast<uint8_t>((extra << 6) | (length & 0xf))};
      for (size_t i = 0; i < extra; i++) b.push_back(static_cast<uint8_t>(length >> (4 + 8 * i)));
      return b;
    }
  }
  return {};  // over 256 MiB: never for these tables
}

Bytes AmlInteger(uint64_t v) {
  Bytes b;
  if (v <= 1) {
    b.push_back(static_cast<uint8_t>(v));  // ZeroOp, OneOp
  } else if (v <= 0xff) {
    b = {0x0a, static_cast<uint8_t>(v)};
  } else if (v <= 0xffff) {
    b.push_back(0x0b);
    Append<uint16_t>(b, static_cast<uint16_t>(v));
  } else if (v <= 0xffffffff) {
    b.push_back(0x0c);
    Append<uint32_t>(b, static_cast<uint32_t>(v));
  } else {
    b.push_back(0x0e);
    Append<uint64_t>(b, v);
  }
  return b;
}

Bytes AmlString(std::string_view s) {
  Bytes b = {0x0d};
  Append(b, s);
  b.push_back(0);
  return b;
}

// EISAID("PNP0501") as the 32-bit compressed ID.
Bytes AmlEisaId(std::string_view id) {
  uint32_t v = (uint32_t(id[0] - '@') << 26) | (uint32_t(id[1] - '@') << 21) |
               (uint32_t(id[2] - '@') << 16) | std::stoul(std::string(id.substr(3)), nullptr, 16);
  // Stored big-endian as a DWordConst.
  Bytes b = {0x0c};
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
  return b;
}

Bytes AmlName(std::string_view seg, const Bytes& value) {
  Bytes b = {0x08};  // NameOp
  Append(b, seg);
  Append(b, value);
  return b;
}

Bytes AmlBuffer(const Bytes& data) {
  Bytes inner = AmlInteger(data.size());
  Append(inner, data);
  Bytes b = {0x11};  // BufferOp
  Append(b, PkgLength(inner.size()));
  Append(b, inner);
  return b;
}

// @op PkgLength @name @body: Scope, Device.
Bytes AmlPackage(const Bytes& op, std::string_view name, const Bytes& body) {
  Bytes b = op;
  Append(b, PkgLength(name.size() + body.size()));
  Append(b, name);
  Append(b, body);
  return b;
}

// Resource descriptors (6.4), ended by an end tag, as a _CRS buffer.
Bytes ResourceTemplate(Bytes descriptors) {
  descriptors.push_back(0x79);  // end tag
  descriptors.push_back(0);     // checksum 0: "treat as correct"
  return AmlBuffer(descriptors);
}

Bytes Memory32Fixed(uint32_t base, uint32_t size) {
  Bytes b = {0x86, 9, 0, 1};  // 9 bytes follow; read/write
  Append<uint32_t>(b, base);
  Append<uint32_t>(b, size);
  return b;
}

// Extended interrupt: consumer, level-triggered, active high, exclusive.
// virtio-mmio devices hold their line high while InterruptStatus is not 0:
// an edge that arrives while the guest has the pin masked (Linux does, to
// move an IOAPIC interrupt) is lost for good, a level is not.
Bytes LevelInterrupt(uint32_t gsi) {
  Bytes b = {0x89, 6, 0, 0x01, 1};
  Append<uint32_t>(b, gsi);
  return b;
}

Bytes Io16(uint16_t port, uint8_t length) {
  Bytes b = {0x47, 1};  // 16-bit decode
  Append<uint16_t>(b, port);
  Append<uint16_t>(b, port);
  b.push_back(1);  // alignment
  b.push_back(length);
  return b;
}

Bytes IrqNoFlags(unsigned irq) {
  Bytes b = {0x22};
  Append<uint16_t>(b, static_cast<uint16_t>(1u << irq));
  return b;
}

Bytes AmlDevice(std::string_view name, const Bytes& body) {
  return AmlPackage({0x5b, 0x82}, name, body);
}

}  // namespace

std::vector<uint8_t> BuildDsdt(absl::Span<const VirtioSlot> virtio) {
  Bytes sb;
  Bytes com1 = AmlName("_HID", AmlEisaId("PNP0501"));
  Append(com1, AmlName("_UID", AmlInteger(0)));
  Bytes com1_res = Io16(kSerialPort, 8);
  Append(com1_res, IrqNoFlags(kSerialIrq));
  Append(com1, AmlName("_CRS", ResourceTemplate(com1_res)));
  Append(sb, AmlDevice("COM1", com1));

  for (size_t i = 0; i < virtio.size(); i++) {
    const VirtioSlot& slot = virtio[i];
    Bytes dev = AmlName("_HID", AmlString("LNRO0005"));
    Append(dev, AmlName("_UID", AmlInteger(i)));
    Bytes res = Memory32Fixed(static_cast<uint32_t>(slot.base), static_cast<uint32_t>(slot.size));
    Append(res, LevelInterrupt(slot.irq));
    Append(dev, AmlName("_CRS", ResourceTemplate(res)));
    Append(sb, AmlDevice(absl::StrFormat("V%03X", i), dev));
  }
  return Table("DSDT", 2, AmlPackage({0x10}, "\\_SB_", sb));
}

absl::StatusOr<std::vector<uint8_t>> BuildMadt(uint32_t ncpus) {
  if (ncpus == 0 || ncpus > kMaxApicCpus) {
    return absl::InvalidArgumentError(absl::StrCat("MADT: 1..", kMaxApicCpus, " CPUs"));
  }
  Bytes body;
  Append<uint32_t>(body, static_cast<uint32_t>(kLapicAddr));
  Append<uint32_t>(body, 0);  // no 8259s (hardware-reduced)
  for (uint32_t i = 0; i < ncpus; i++) {
    // Processor local APIC: UID, APIC ID, enabled.
    Append(body, Bytes{0, 8, static_cast<uint8_t>(i), static_cast<uint8_t>(i)});
    Append<uint32_t>(body, 1);
  }
  Append(body, Bytes{1, 12, static_cast<uint8_t>(ncpus), 0});  // IOAPIC, its ID
  Append<uint32_t>(body, static_cast<uint32_t>(kIoapicAddr));
  Append<uint32_t>(body, 0);                 // GSI base
  Append(body, Bytes{4, 6, 0xff, 0, 0, 1});  // every CPU's LINT1 is NMI
  return Table("APIC", 6, body);
}

absl::StatusOr<uint64_t> WriteAcpiTables(const GuestMemory& mem, uint32_t ncpus,
                                         absl::Span<const VirtioSlot> virtio) {
  TVMM_ASSIGN_OR_RETURN(Bytes madt, BuildMadt(ncpus));
  Bytes dsdt = BuildDsdt(virtio);
  // RSDP first (Linux also finds it by scanning 0xe0000..0xfffff), then
  // the tables, each 16-byte aligned.  Only the pointers differ between a
  // table built with them and one built with zeros: sizes are final here.
  auto align = [](uint64_t a) { return (a + 15) & ~uint64_t{15}; };
  const uint64_t rsdp = kAcpiAddr;
  const uint64_t xsdt = align(rsdp + BuildRsdp(0).size());
  const uint64_t fadt = align(xsdt + BuildXsdt({0, 0}).size());
  const uint64_t madt_at = align(fadt + BuildFadt(0).size());
  const uint64_t dsdt_at = align(madt_at + madt.size());
  if (dsdt_at + dsdt.size() > kAcpiEnd) return absl::InternalError("ACPI tables overflow");
  TVMM_RETURN_IF_ERROR(mem.Write(rsdp, BuildRsdp(xsdt)));
  TVMM_RETURN_IF_ERROR(mem.Write(xsdt, BuildXsdt({fadt, madt_at})));
  TVMM_RETURN_IF_ERROR(mem.Write(fadt, BuildFadt(dsdt_at)));
  TVMM_RETURN_IF_ERROR(mem.Write(madt_at, madt));
  TVMM_RETURN_IF_ERROR(mem.Write(dsdt_at, dsdt));
  return rsdp;
}

}  // namespace tvmm::x86
