// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/boot.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "arch/x86/layout.h"
#include "util/status.h"

namespace tvmm::x86 {
namespace {

constexpr uint32_t kE820Ram = 1;
constexpr uint32_t kE820Reserved = 2;
constexpr uint64_t kPage = 4096;

uint64_t AlignDown(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t AlignUp(uint64_t v, uint64_t a) { return AlignDown(v + a - 1, a); }

// Memory the kernel occupies from 1 MiB: its file, or init_size if larger
// (what it needs to decompress itself in place).
uint64_t KernelFootprint(const setup_header& hdr, size_t kernel_size) {
  return std::max<uint64_t>(kernel_size, hdr.init_size);
}

}  // namespace

RamLayout SplitRam(uint64_t ram_size) {
  uint64_t low = std::min(ram_size, kMmioHoleStart);
  return {low, ram_size - low};
}

std::vector<boot_e820_entry> BuildE820(
    const RamLayout& ram, absl::Span<const std::pair<uint64_t, uint64_t>> reserved) {
  std::vector<boot_e820_entry> map;
  map.push_back({0, kEbdaAddr, kE820Ram});
  map.push_back({kEbdaAddr, kHighMemory - kEbdaAddr, kE820Reserved});
  auto add_ram = [&](uint64_t start, uint64_t end) {
    for (const auto& [r_start, r_size] : reserved) {
      uint64_t r_end = r_start + r_size;
      if (r_end <= start || r_start >= end) continue;
      if (r_start > start) map.push_back({start, r_start - start, kE820Ram});
      map.push_back({std::max(start, r_start), std::min(end, r_end) - std::max(start, r_start),
                     kE820Reserved});
      start = std::min(end, r_end);
    }
    if (start < end) map.push_back({start, end - start, kE820Ram});
  };
  if (ram.low_size > kHighMemory) add_ram(kHighMemory, ram.low_size);
  if (ram.high_size) add_ram(k4G, k4G + ram.high_size);
  return map;
}

absl::StatusOr<uint64_t> PlaceInitrd(const setup_header& hdr, size_t kernel_size, uint64_t low_size,
                                     uint64_t initrd_size) {
  uint64_t kernel_end = kHighMemory + KernelFootprint(hdr, kernel_size);
  uint64_t limit = std::min<uint64_t>(low_size, uint64_t{hdr.initrd_addr_max} + 1);
  if (initrd_size > limit || AlignDown(limit - initrd_size, kPage) < kernel_end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--initrd: ", initrd_size >> 10, " KiB do not fit between the kernel (ends at ",
        kernel_end >> 20, " MiB) and ", limit >> 20, " MiB; give the guest more --memory"));
  }
  return AlignDown(limit - initrd_size, kPage);
}

absl::Status ValidateBoot(const BzImage& image, uint64_t initrd_size, const std::string& cmdline,
                          uint64_t ram_size) {
  RamLayout ram = SplitRam(ram_size);
  uint64_t kernel_end = kHighMemory + KernelFootprint(image.header, image.kernel.size());
  if (kernel_end > ram.low_size) {
    return absl::InvalidArgumentError(absl::StrCat("--memory: ", ram_size >> 20,
                                                   " MiB cannot hold the kernel, which needs ",
                                                   (kernel_end + (1 << 20) - 1) >> 20, " MiB"));
  }
  uint64_t max_cmdline = std::min<uint64_t>(image.header.cmdline_size, kCmdlineMax - 1);
  if (cmdline.size() > max_cmdline) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cmdline: ", cmdline.size(), " bytes, the kernel takes at most ", max_cmdline));
  }
  if (initrd_size) {
    absl::StatusOr<uint64_t> at =
        PlaceInitrd(image.header, image.kernel.size(), ram.low_size, initrd_size);
    if (!at.ok()) return at.status();
  }
  return absl::OkStatus();
}

absl::Status LoadLinux(const GuestMemory& mem, const BzImage& image, const LoadSource& initrd,
                       const std::string& cmdline, uint64_t ram_size, uint64_t rsdp,
                       bool private_image) {
  TVMM_RETURN_IF_ERROR(ValidateBoot(image, initrd.size(), cmdline, ram_size));
  RamLayout ram = SplitRam(ram_size);

  TVMM_ASSIGN_OR_RETURN(absl::Span<uint8_t> kernel, mem.Slice(kHighMemory, image.kernel.size()));
  TVMM_RETURN_IF_ERROR(image.kernel.ReadInto(kernel));
  std::vector<uint8_t> cmd(cmdline.begin(), cmdline.end());
  cmd.push_back(0);
  TVMM_RETURN_IF_ERROR(mem.Write(kCmdlineAddr, cmd));

  boot_params params = {};
  std::memcpy(&params.hdr, &image.header, image.header_size);
  params.hdr.type_of_loader = 0xff;  // undefined loader
  params.hdr.loadflags |= CAN_USE_HEAP | KEEP_SEGMENTS;
  params.hdr.heap_end_ptr = 0xfe00;
  params.hdr.cmd_line_ptr = kCmdlineAddr;
  params.ext_cmd_line_ptr = 0;
  params.hdr.vid_mode = 0xffff;  // "normal"
  params.acpi_rsdp_addr = rsdp;
  if (!initrd.empty()) {
    TVMM_ASSIGN_OR_RETURN(
        uint64_t at, PlaceInitrd(image.header, image.kernel.size(), ram.low_size, initrd.size()));
    TVMM_ASSIGN_OR_RETURN(absl::Span<uint8_t> dst, mem.Slice(at, initrd.size()));
    TVMM_RETURN_IF_ERROR(initrd.ReadInto(dst));
    params.hdr.ramdisk_image = static_cast<uint32_t>(at);
    params.hdr.ramdisk_size = static_cast<uint32_t>(initrd.size());
  }
  std::vector<std::pair<uint64_t, uint64_t>> reserved;
  if (private_image) {
    reserved.emplace_back(kHighMemory, AlignUp(image.kernel.size(), kPage));
    if (!initrd.empty())
      reserved.emplace_back(uint64_t{params.hdr.ramdisk_image}, AlignUp(initrd.size(), kPage));
  }
  std::vector<boot_e820_entry> e820 = BuildE820(ram, reserved);
  std::copy(e820.begin(), e820.end(), params.e820_table);
  params.e820_entries = static_cast<uint8_t>(e820.size());
  return mem.WriteObj(kZeroPageAddr, params);
}

absl::Status WriteGdtAndPageTables(const GuestMemory& mem) {
  const uint64_t gdt[4] = {
      0, 0,
      0x00af9b000000ffffull,  // 0x10: 64-bit code, present, DPL 0
      0x00cf93000000ffffull,  // 0x18: data, 4 GiB, present, DPL 0
  };
  TVMM_RETURN_IF_ERROR(mem.WriteObj(kGdtAddr, gdt));

  // PML4[0] -> PDPT; PDPT[0..3] -> PD 0..3; each PD maps 1 GiB in 2 MiB pages.
  constexpr uint64_t kPresentRw = 0x3, kHuge = 0x80;
  TVMM_RETURN_IF_ERROR(mem.WriteObj(kPml4Addr, kPdptAddr | kPresentRw));
  for (uint64_t i = 0; i < 4; i++) {
    TVMM_RETURN_IF_ERROR(mem.WriteObj(kPdptAddr + i * 8, (kPdAddr + i * kPage) | kPresentRw));
    uint64_t pd[512];
    for (uint64_t j = 0; j < 512; j++) pd[j] = ((i << 30) | (j << 21)) | kPresentRw | kHuge;
    TVMM_RETURN_IF_ERROR(mem.WriteObj(kPdAddr + i * kPage, pd));
  }
  return absl::OkStatus();
}

}  // namespace tvmm::x86
