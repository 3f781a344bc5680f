// SPDX-License-Identifier: GPL-2.0
// Linux 64-bit boot protocol: RAM layout and e820, zero page, command line,
// initrd placement, GDT and identity page tables.  Pure functions
// over GuestMemory, so that each is unit-tested without KVM.
#ifndef TVMM_ARCH_X86_BOOT_H_
#define TVMM_ARCH_X86_BOOT_H_

#include <asm/bootparam.h>

#include <cstdint>
#include <string>
#include <utility>
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

// The e820 map; @reserved ranges (page-aligned, inside RAM, ascending,
// disjoint) are cut out of RAM and reported reserved.
std::vector<boot_e820_entry> BuildE820(
    const RamLayout& ram, absl::Span<const std::pair<uint64_t, uint64_t>> reserved = {});

// Where the initrd goes: as high as the kernel allows, above the kernel.
absl::StatusOr<uint64_t> PlaceInitrd(const setup_header& hdr, size_t kernel_size, uint64_t low_size,
                                     uint64_t initrd_size);

// Checks that kernel, initrd and command line fit, before anything exists.
absl::Status ValidateBoot(const BzImage& image, uint64_t initrd_size, const std::string& cmdline,
                          uint64_t ram_size);

// Writes kernel, initrd, command line and zero page into guest memory;
// @rsdp is where the ACPI tables start (0: none).  With @private_image (a
// trusted VM, whose image lives in private memory that devices cannot
// reach), the e820 map reports the kernel file's and the initrd's pages
// reserved, so that Linux never hands them out again, for DMA buffers or
// anything else, once it has decompressed the kernel (elsewhere) and copied
// the initrd (out of memory it does not map): everything below 1 MiB, where
// the other boot structures are, Linux reserves itself.
absl::Status LoadLinux(const GuestMemory& mem, const BzImage& image, const LoadSource& initrd,
                       const std::string& cmdline, uint64_t ram_size, uint64_t rsdp,
                       bool private_image = false);

// GDT (__BOOT_CS 0x10, __BOOT_DS 0x18) and page tables identity-mapping the
// first 4 GiB with 2 MiB pages.
absl::Status WriteGdtAndPageTables(const GuestMemory& mem);
inline constexpr uint16_t kBootCs = 0x10;
inline constexpr uint16_t kBootDs = 0x18;

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_BOOT_H_
