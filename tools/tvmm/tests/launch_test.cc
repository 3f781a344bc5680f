// SPDX-License-Identifier: GPL-2.0
// The launch digest (SHA-384 chained over pages), the staged image's pages,
// a TVM's e820 map, and `tvmm measure` on a fake kernel.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "arch/machine.h"
#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "fake_bzimage.h"
#include "kvm/kvm.h"
#include "launch/digest.h"
#include "launch/launch_image.h"
#include "util/fd.h"
#include "util/status.h"
#include "vmm/measure.h"

namespace tvmm {
namespace {

std::string Hex(absl::StatusOr<Sha384Digest> d) { return d.ok() ? HexDigest(*d) : "error"; }

std::string Sha384Of(const std::string& s) {
  absl::Span<const uint8_t> part(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  return Hex(Sha384({&part, 1}));
}

// FIPS 180-4 examples (and the same values as Python's hashlib).
TEST(Sha384, KnownAnswers) {
  EXPECT_EQ(Sha384Of(""),
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51"
            "ad2f14898b95b");
  EXPECT_EQ(Sha384Of("abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358b"
            "aeca134c825a7");
  EXPECT_EQ(Sha384Of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjkl"
                     "mnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3"
            "e9fa91746039");
  std::string a = "ab", b = "c";
  absl::Span<const uint8_t> parts[] = {
      {reinterpret_cast<const uint8_t*>(a.data()), a.size()},
      {reinterpret_cast<const uint8_t*>(b.data()), b.size()}};
  EXPECT_EQ(Hex(Sha384(parts)), Sha384Of("abc"));
}

// D(n) = SHA-384(D(n-1) || le64(gpa) || le64(4096) || page), from 48 zeros.
TEST(LaunchDigest, ChainsPagesWithTheirAddresses) {
  std::vector<uint8_t> page(kLaunchPageSize, 0x5a);
  LaunchDigest d;
  ASSERT_TRUE(d.AddPage(0x123000, page).ok());
  std::string input(48, '\0');
  const char header[16] = {0, 0x30, 0x12, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0};
  input.append(header, 16);
  input.append(page.begin(), page.end());
  EXPECT_EQ(HexDigest(d.digest()), Sha384Of(input));
  EXPECT_EQ(d.pages(), 1u);

  // Order, address and content each change it.
  LaunchDigest e, f;
  ASSERT_TRUE(e.AddPage(0x124000, page).ok());
  EXPECT_NE(e.digest(), d.digest());
  page[7] ^= 1;
  ASSERT_TRUE(f.AddPage(0x123000, page).ok());
  EXPECT_NE(f.digest(), d.digest());
  EXPECT_FALSE(f.AddPage(0x123001, page).ok());
  EXPECT_FALSE(f.AddPage(0x123000, absl::MakeSpan(page).subspan(1)).ok());
}

TEST(LaunchImage, MeasuresExactlyThePagesWritten) {
  auto image = LaunchImage::Create({{{0, 16 << 20}, {1ull << 32, 2 << 20}}});
  ASSERT_TRUE(image.ok()) << image.status();
  const GuestMemory& mem = (*image)->memory();
  uint8_t b[16] = {1};
  ASSERT_TRUE(mem.Write(0x500, b).ok());
  ASSERT_TRUE(mem.Write(0x7ff8, b).ok());  // crosses into the next page
  ASSERT_TRUE(mem.Write(0x8800, b).ok());  // the same page again
  ASSERT_TRUE(mem.Slice(0x100000, 0x3001).ok());
  ASSERT_TRUE(mem.Write((1ull << 32) + 0x1000, b).ok());
  std::vector<LaunchRun> runs = (*image)->Runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].gpa, 0u);
  EXPECT_EQ(runs[0].bytes.size(), kLaunchPageSize);
  EXPECT_EQ(runs[1].gpa, 0x7000u);
  EXPECT_EQ(runs[1].bytes.size(), 2 * kLaunchPageSize);
  EXPECT_EQ(runs[2].gpa, 0x100000u);
  EXPECT_EQ(runs[2].bytes.size(), 4 * kLaunchPageSize);
  EXPECT_EQ(runs[3].gpa, (1ull << 32) + 0x1000);
  EXPECT_EQ(runs[1].bytes[0xff8], 1);
  auto digest = (*image)->Digest();
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->pages(), 8u);
}

// A TVM's e820 map reserves the kernel file's and the initrd's pages.
TEST(LaunchImage, TvmE820ReservesThePrivateImage) {
  auto image = LaunchImage::Create({{{0, 64 << 20}}});
  ASSERT_TRUE(image.ok());
  std::vector<uint8_t> file = FakeBzImage(0x3100);
  auto bz = *x86::ParseBzImage(file);
  std::vector<uint8_t> initrd(0x2001, 0xab);
  ASSERT_TRUE(x86::LoadLinux((*image)->memory(), bz, LoadSource::FromBytes(initrd), "", 64 << 20,
                             0, /*private_image=*/true)
                  .ok());
  auto params = *(*image)->memory().ReadObj<boot_params>(x86::kZeroPageAddr);
  std::vector<std::tuple<uint64_t, uint64_t, uint32_t>> e820;
  for (int i = 0; i < params.e820_entries; i++)
    e820.emplace_back(uint64_t{params.e820_table[i].addr}, uint64_t{params.e820_table[i].size},
                      uint32_t{params.e820_table[i].type});
  uint64_t initrd_at = params.hdr.ramdisk_image;
  EXPECT_THAT(e820, ::testing::ElementsAre(
                        std::make_tuple(0, x86::kEbdaAddr, 1u),
                        std::make_tuple(x86::kEbdaAddr, x86::kHighMemory - x86::kEbdaAddr, 2u),
                        std::make_tuple(x86::kHighMemory, 0x4000, 2u),
                        std::make_tuple(x86::kHighMemory + 0x4000,
                                        initrd_at - x86::kHighMemory - 0x4000, 1u),
                        std::make_tuple(initrd_at, 0x3000, 2u)));  // at the top
  EXPECT_EQ(initrd_at + 0x3000, 64u << 20);
  // And the staged pages are exactly these, plus the zero page and command line.
  std::vector<LaunchRun> runs = (*image)->Runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].gpa, x86::kZeroPageAddr);
  EXPECT_EQ(runs[1].gpa, x86::kCmdlineAddr);
  EXPECT_EQ(runs[2].gpa, x86::kHighMemory);
  EXPECT_EQ(runs[2].bytes.size(), 0x4000u);
  EXPECT_EQ(runs[3].gpa, initrd_at);
  EXPECT_EQ(runs[3].bytes.size(), 0x3000u);
}

class MeasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/tvmm-measure-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    std::vector<uint8_t> file = FakeBzImage(0x5000);
    for (size_t i = 5 * 512; i < file.size(); i++) file[i] = static_cast<uint8_t>(i * 13);
    FILE* f = fopen((dir_ + "/bzImage").c_str(), "w");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(fwrite(file.data(), 1, file.size(), f), file.size());
    fclose(f);
    config_.kernel = dir_ + "/bzImage";
    config_.memory_bytes = 64 << 20;
  }
  void TearDown() override {
    unlink((dir_ + "/bzImage").c_str());
    unlink((dir_ + "/d.json").c_str());
    rmdir(dir_.c_str());
  }
  // The digest, and a test failure (not a string that differs) on error.
  std::string Measure(const VmConfig& c) {
    auto d = MeasureLaunch(c);
    EXPECT_TRUE(d.ok()) << d.status();
    std::string hex = d.ok() ? HexDigest(d->digest()) : "";
    EXPECT_EQ(hex.size(), 96u);
    return hex;
  }

  std::string dir_;
  VmConfig config_;
};

// Deterministic, and everything in the image changes it: the kernel, the
// command line, the vCPUs (MADT), the devices (DSDT) and the memory (e820).
TEST_F(MeasureTest, EverythingInTheImageCounts) {
  std::string base = Measure(config_);
  ASSERT_EQ(base.size(), 96u) << base;
  EXPECT_EQ(Measure(config_), base);
  VmConfig c = config_;
  c.cmdline = "quiet";
  EXPECT_NE(Measure(c), base);
  c = config_;
  c.cpus = 2;
  EXPECT_NE(Measure(c), base);
  c = config_;
  c.rng = true;
  EXPECT_NE(Measure(c), base);
  c = config_;
  c.memory_bytes = 128 << 20;
  EXPECT_NE(Measure(c), base);
  // A disk's path is not in the image, only that there is a disk.
  VmConfig d1 = config_, d2 = config_;
  d1.disks.push_back({"/a.img", false});
  d2.disks.push_back({"/b.img", true});
  EXPECT_EQ(Measure(d1), Measure(d2));
  EXPECT_NE(Measure(d1), base);
}

TEST_F(MeasureTest, DigestJson) {
  auto d = MeasureLaunch(config_);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(WriteDigestJson(dir_ + "/d.json", *d).ok());
  FILE* f = fopen((dir_ + "/d.json").c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[256] = {};
  fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  EXPECT_EQ(std::string(buf), "{\"algorithm\": \"sha384\", \"digest\": \"" +
                                  HexDigest(d->digest()) + "\", \"pages\": " +
                                  std::to_string(d->pages()) + "}\n");
  EXPECT_TRUE(IsUsageError(WriteDigestJson(dir_ + "/no/such/dir", *d)));
}

// --tvm on a KVM that offers none of what it needs (software-protected VM
// type, measured launch, in-place conversion): a usage error (exit 2) that
// names the flag.  tvmm asks this for every VM before it creates any.
TEST(SwTvmSupport, AKvmWithoutTheCapabilitiesIsRefusedNamingTheFlag) {
  UniqueFd null(open("/dev/null", O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(null.valid());
  absl::Status s = CreateMachine()->CheckTrustedVmSupport(Kvm::ForTesting(std::move(null)));
  EXPECT_TRUE(IsUsageError(s)) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("--tvm: "));
}

}  // namespace
}  // namespace tvmm
