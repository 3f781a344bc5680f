// SPDX-License-Identifier: GPL-2.0
// Guest-physical layout of an x86-64 tvmm VM.
#ifndef TVMM_ARCH_X86_LAYOUT_H_
#define TVMM_ARCH_X86_LAYOUT_H_

#include <cstdint>

namespace tvmm::x86 {

inline constexpr uint64_t kGdtAddr = 0x500;
inline constexpr uint64_t kZeroPageAddr = 0x7000;  // struct boot_params
inline constexpr uint64_t kBootStackTop = 0x8ff0;
inline constexpr uint64_t kPml4Addr = 0x9000;  // then PDPT and 4 PDs
inline constexpr uint64_t kPdptAddr = 0xa000;
inline constexpr uint64_t kPdAddr = 0xb000;  // 4 pages: the first 4 GiB
inline constexpr uint64_t kCmdlineAddr = 0x20000;
inline constexpr uint64_t kCmdlineMax = 0x10000;
inline constexpr uint64_t kEbdaAddr = 0x9fc00;  // reserved from here to 1 MiB
inline constexpr uint64_t kAcpiAddr = 0xe0000;  // RSDP, then the other tables
inline constexpr uint64_t kAcpiEnd = 0x100000;
inline constexpr uint64_t kHighMemory = 0x100000;       // where the kernel loads
inline constexpr uint64_t kMmioHoleStart = 0xc0000000;  // RAM below: at most 3 GiB
inline constexpr uint64_t k4G = 0x100000000;
inline constexpr uint64_t kVirtioMmioBase = 0xd0000000;
inline constexpr uint64_t kVirtioMmioStride = 0x1000;
inline constexpr uint64_t kIoapicAddr = 0xfec00000;
inline constexpr uint64_t kLapicAddr = 0xfee00000;
inline constexpr uint64_t kIdentityMapAddr = 0xfeffc000;  // KVM_SET_IDENTITY_MAP_ADDR
inline constexpr uint64_t kTssAddr = 0xfeffd000;          // KVM_SET_TSS_ADDR, 3 pages

inline constexpr uint16_t kSerialPort = 0x3f8;
inline constexpr uint32_t kSerialIrq = 4;
inline constexpr uint16_t kI8042Port = 0x60;  // 0x60 and 0x64
inline constexpr uint16_t kBootTimerPort = 0x440;
inline constexpr uint32_t kFirstVirtioIrq = 5;

// xAPIC IDs are 8 bits and 0xff is the broadcast ID; the IOAPIC takes the
// ID after the last CPU's.
inline constexpr uint32_t kMaxApicCpus = 254;

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_LAYOUT_H_
