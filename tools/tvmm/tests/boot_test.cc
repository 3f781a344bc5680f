// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/boot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "arch/x86/bzimage.h"
#include "arch/x86/layout.h"
#include "fake_bzimage.h"

namespace tvmm::x86 {
namespace {

using ::testing::HasSubstr;

using tvmm::FakeBzImage;

TEST(BzImage, Parses) {
  std::vector<uint8_t> file = FakeBzImage();
  auto image = ParseBzImage(file);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->kernel.size(), 0x10000u);
  EXPECT_EQ(image->header.cmdline_size, 2047u);
}

TEST(BzImage, RejectsWhatIsNot) {
  EXPECT_THAT(std::string(ParseBzImage(std::vector<uint8_t>(100)).status().message()),
              HasSubstr("too small"));
  auto f = FakeBzImage();
  f[0x1fe] = 0;
  EXPECT_THAT(std::string(ParseBzImage(f).status().message()), HasSubstr("0xAA55"));
  f = FakeBzImage();
  f[0x202] = 'X';
  EXPECT_THAT(std::string(ParseBzImage(f).status().message()), HasSubstr("HdrS"));
  EXPECT_THAT(std::string(ParseBzImage(FakeBzImage(0x1000, 0x020a)).status().message()),
              HasSubstr("2.12 or later"));
  f = FakeBzImage();
  f[0x1f1 + offsetof(setup_header, xloadflags)] = 0;
  EXPECT_THAT(std::string(ParseBzImage(f).status().message()), HasSubstr("64-bit"));
  f = FakeBzImage();
  f.resize(5 * 512 + 0x100);  // syssize says 64 KiB
  EXPECT_THAT(std::string(ParseBzImage(f).status().message()), HasSubstr("truncated"));
  f = FakeBzImage();
  f[0x1f1] = 200;  // setup sectors beyond the file
  EXPECT_FALSE(ParseBzImage(f).ok());
  f = FakeBzImage();
  f.resize(0x260);  // the jump at 0x200 says the header runs to 0x268
  EXPECT_THAT(std::string(ParseBzImage(f).status().message()), HasSubstr("truncated setup"));
}

// From a file, the kernel and initrd are read straight into guest memory.
TEST(BzImage, LoadsFromFiles) {
  char dir[] = "/tmp/tvmm-boot-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string kernel = std::string(dir) + "/bzImage";
  std::vector<uint8_t> file = FakeBzImage(0x3000);
  for (size_t i = 5 * 512; i < file.size(); i++) file[i] = static_cast<uint8_t>(i * 7);
  FILE* f = fopen(kernel.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fwrite(file.data(), 1, file.size(), f), file.size());
  fclose(f);

  auto image = LoadBzImage(kernel);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->kernel.size(), 0x3000u);
  std::vector<uint8_t> ram(16 << 20);
  GuestMemory mem;
  ASSERT_TRUE(mem.AddRegion(0, absl::MakeSpan(ram)).ok());
  std::vector<uint8_t> initrd(0x2000, 0x5a);
  ASSERT_TRUE(LoadLinux(mem, *image, LoadSource::FromBytes(initrd), "", 16 << 20, 0).ok());
  EXPECT_TRUE(std::equal(file.begin() + 5 * 512, file.end(), ram.begin() + kHighMemory));

  EXPECT_THAT(std::string(LoadBzImage(std::string(dir) + "/none").status().message()),
              HasSubstr("--kernel: cannot open"));
  EXPECT_THAT(std::string(LoadBzImage(dir).status().message()), HasSubstr("not a regular file"));
  unlink(kernel.c_str());
  rmdir(dir);
}

TEST(E820, LayoutAroundTheHole) {
  auto small = BuildE820(SplitRam(512ull << 20));
  ASSERT_EQ(small.size(), 3u);
  EXPECT_EQ(small[0].addr, 0u);
  EXPECT_EQ(small[0].size, kEbdaAddr);
  EXPECT_EQ(small[1].type, 2u);
  EXPECT_EQ(small[2].addr + small[2].size, 512ull << 20);

  auto big = BuildE820(SplitRam(4ull << 30));
  ASSERT_EQ(big.size(), 4u);
  EXPECT_EQ(big[2].addr + big[2].size, kMmioHoleStart);
  EXPECT_EQ(big[3].addr, k4G);
  EXPECT_EQ(big[3].size, (4ull << 30) - kMmioHoleStart);
}

TEST(Initrd, PlacedHighAndChecked) {
  std::vector<uint8_t> file = FakeBzImage();
  auto image = *ParseBzImage(file);
  auto at = PlaceInitrd(image.header, image.kernel.size(), 64ull << 20, 0x1800);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(*at, (64ull << 20) - 0x2000);  // page aligned, as high as possible
  // Capped by initrd_addr_max.
  image.header.initrd_addr_max = 0x1ffffff;
  EXPECT_EQ(*PlaceInitrd(image.header, image.kernel.size(), 64ull << 20, 0x1000), 0x1fff000u);
  // Does not fit above the kernel (1 MiB + init_size 2 MiB).
  EXPECT_THAT(
      std::string(
          PlaceInitrd(image.header, image.kernel.size(), 4ull << 20, 0x200000).status().message()),
      HasSubstr("--initrd"));
  EXPECT_FALSE(PlaceInitrd(image.header, image.kernel.size(), 4ull << 20, UINT64_MAX).ok());
}

TEST(ValidateBoot, CmdlineAndMemory) {
  std::vector<uint8_t> file = FakeBzImage();
  auto image = *ParseBzImage(file);
  EXPECT_TRUE(ValidateBoot(image, 0, std::string(2047, 'x'), 64ull << 20).ok());
  EXPECT_THAT(std::string(ValidateBoot(image, 0, std::string(2048, 'x'), 64ull << 20).message()),
              HasSubstr("--cmdline"));
  EXPECT_THAT(std::string(ValidateBoot(image, 0, "", 2ull << 20).message()), HasSubstr("--memory"));
}

class GuestRam : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_.AddRegion(0, absl::MakeSpan(ram_)).ok()); }
  std::vector<uint8_t> ram_ = std::vector<uint8_t>(16 << 20);
  GuestMemory mem_;
};

TEST_F(GuestRam, LoadLinuxFillsTheZeroPage) {
  std::vector<uint8_t> file = FakeBzImage();
  auto image = *ParseBzImage(file);
  std::vector<uint8_t> initrd(0x3000, 0xab);
  ASSERT_TRUE(
      LoadLinux(mem_, image, LoadSource::FromBytes(initrd), "console=ttyS0", 16 << 20, kAcpiAddr)
          .ok());
  auto params = *mem_.ReadObj<boot_params>(kZeroPageAddr);
  EXPECT_EQ(params.hdr.header, 0x53726448u);
  EXPECT_EQ(params.hdr.type_of_loader, 0xff);
  EXPECT_EQ(params.hdr.cmd_line_ptr, kCmdlineAddr);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram_.data() + kCmdlineAddr)), "console=ttyS0");
  EXPECT_EQ(params.hdr.ramdisk_size, 0x3000u);
  EXPECT_EQ(params.hdr.ramdisk_image, (16u << 20) - 0x3000);
  EXPECT_EQ(ram_[params.hdr.ramdisk_image], 0xab);
  EXPECT_EQ(params.acpi_rsdp_addr, kAcpiAddr);
  EXPECT_EQ(params.e820_entries, 3);
  EXPECT_EQ(ram_[kHighMemory], 0x90);  // the kernel
}

TEST_F(GuestRam, PageTablesIdentityMap4G) {
  ASSERT_TRUE(WriteGdtAndPageTables(mem_).ok());
  EXPECT_EQ(*mem_.ReadObj<uint64_t>(kPml4Addr) & ~0xfffull, kPdptAddr);
  for (uint64_t gib = 0; gib < 4; gib++) {
    uint64_t pd = *mem_.ReadObj<uint64_t>(kPdptAddr + gib * 8) & ~0xfffull;
    uint64_t last = *mem_.ReadObj<uint64_t>(pd + 511 * 8);
    EXPECT_EQ(last & ~0x1fffffull, (gib << 30) | (511ull << 21));
    EXPECT_TRUE(last & 0x80);  // 2 MiB page
  }
  EXPECT_EQ(*mem_.ReadObj<uint64_t>(kGdtAddr + kBootCs), 0x00af9b000000ffffull);
}

}  // namespace
}  // namespace tvmm::x86
