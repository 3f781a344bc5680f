// SPDX-License-Identifier: GPL-2.0
// Linux 64-bit boot protocol: RAM layout and e820, zero page, command line,
// initrd placement, GDT and identity page tables.  Pure functions
// over GuestMemory, so that each is unit-tested without KVM.
#ifndef TVMM_ARCH_X86_BOOT_H_
#define TVMM_ARCH_X86_BOOT_H_

#include <asm/bootparam.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "arch/x86/bzimage.h"
#include "memory/guest_memory.h"
#include "util/load_source.h"

namespace tvmm::x86 {

// RAM below the 32-bit MMIO hole, and above 4 GiB.
struct RamLayout {
  uint64_t low_size;
  uint64_t high_size;
};
RamLayout SplitRam(uint64_t ram_size);

std::vector<boot_e820_entry> BuildE820(const RamLayout& ram);

// Where the initrd goes: as high as the kernel allows, above the kernel.
absl::StatusOr<uint64_t> PlaceInitrd(const setup_header& hdr, size_t kernel_size, uint64_t low_size,
                                     uint64_t initrd_size);

// Checks that kernel, initrd and command line fit, before anything exists.
absl::Status ValidateBoot(const BzImage& image, uint64_t initrd_size, const std::string& cmdline,
                          uint64_t ram_size);

// Writes kernel, initrd, command line and zero page into guest memory;
// @rsdp is where the ACPI tables start (0: none).
absl::Status LoadLinux(const GuestMemory& mem, const BzImage& image, const LoadSource& initrd,
                       const std::string& cmdline, uint64_t ram_size, uint64_t rsdp);

// GDT (__BOOT_CS 0x10, __BOOT_DS 0x18) and page tables identity-mapping the
// first 4 GiB with 2 MiB pages.
absl::Status WriteGdtAndPageTables(const GuestMemory& mem);
inline constexpr uint16_t kBootCs = 0x10;
inline constexpr uint16_t kBootDs = 0x18;

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_BOOT_H_
