// SPDX-License-Identifier: GPL-2.0
#include "cli/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/flags.h"

namespace tvmm {
namespace {

using ::testing::HasSubstr;

RunFlags Valid() {
  RunFlags f;
  f.kernel = "bzImage";
  return f;
}

std::string ErrorOf(const RunFlags& f) {
  absl::StatusOr<VmConfig> c = ParseRunFlags(f);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ParseSize, Suffixes) {
  EXPECT_EQ(*ParseSize("512M"), 512ull << 20);
  EXPECT_EQ(*ParseSize("2g"), 2ull << 30);
  EXPECT_EQ(*ParseSize("4096K"), 4ull << 20);
  EXPECT_EQ(*ParseSize("1048576"), 1ull << 20);
}

TEST(ParseSize, Rejects) {
  for (const char* bad : {"", "M", "12X", "-1M", "1.5G", "0x10M", " 1M", "99999999999999999999G"})
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  EXPECT_FALSE(ParseSize("17179869184G").ok());  // overflows 64 bits
}

TEST(ParseRunFlags, Defaults) {
  absl::StatusOr<VmConfig> c = ParseRunFlags(Valid());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->memory_bytes, 512ull << 20);
  EXPECT_EQ(c->cpus, 1u);
  EXPECT_FALSE(c->vsock_cid.has_value());
  EXPECT_FALSE(c->memory_backend_explicit);
}

TEST(ParseRunFlags, EveryFlagNamedInItsError) {
  RunFlags f = Valid();
  f.kernel = "";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--kernel"));

  f = Valid();
  f.memory = "lots";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--memory: 'lots' is not a size"));
  f.memory = "8M";
  EXPECT_THAT(ErrorOf(f), HasSubstr("outside 16M..1024G"));
  f.memory = "2T";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--memory"));
  f.memory = "513M";
  EXPECT_THAT(ErrorOf(f), HasSubstr("multiple of 2M"));

  f = Valid();
  f.cpus = "0";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--cpus: 0 is outside 1..254"));
  f.cpus = "256";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--cpus"));
  f.cpus = "two";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--cpus: 'two' is not a number"));

  f = Valid();
  f.vsock = "2";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--vsock: 2 is not a guest CID"));
  f.vsock = "4294967295";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--vsock"));
  f.vsock = "x";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--vsock: 'x' is not a number"));

  f = Valid();
  f.disks = {"a.img,rw"};
  EXPECT_THAT(ErrorOf(f), HasSubstr("--disk: 'a.img,rw': unknown option 'rw'"));
  f.disks = {",ro"};
  EXPECT_THAT(ErrorOf(f), HasSubstr("--disk"));
  f.disks = std::vector<std::string>(17, "d.img");
  EXPECT_THAT(ErrorOf(f), HasSubstr("at most 16 disks"));

  f = Valid();
  f.memory_backend = "shm";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--memory-backend: 'shm' is not a memory backend"));

  f = Valid();
  f.cmdline = std::string("a\0b", 3);
  EXPECT_THAT(ErrorOf(f), HasSubstr("--cmdline"));
}

TEST(ParseRunFlags, Full) {
  RunFlags f = Valid();
  f.initrd = "initrd";
  f.memory = "1G";
  f.cpus = "4";
  f.disks = {"a.img", "b.img,ro"};
  f.vsock = "3";
  f.rng = true;
  f.memory_backend = "guest_memfd";
  absl::StatusOr<VmConfig> c = ParseRunFlags(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cpus, 4u);
  ASSERT_EQ(c->disks.size(), 2u);
  EXPECT_FALSE(c->disks[0].read_only);
  EXPECT_TRUE(c->disks[1].read_only);
  EXPECT_EQ(*c->vsock_cid, 3u);
  EXPECT_EQ(c->memory_backend, MemoryBackendKind::kGuestMemfd);
  EXPECT_TRUE(c->memory_backend_explicit);
}

std::string ArgsError(const std::vector<std::string>& args) {
  absl::StatusOr<RunArgs> out = ParseRunArgs(args);
  return out.ok() ? "" : std::string(out.status().message());
}

TEST(ParseRunArgs, DashesRepeatedDisksAndBooleans) {
  absl::StatusOr<RunArgs> out =
      ParseRunArgs({"--kernel=k", "--memory-backend", "anon", "--disk", "a,ro", "--disk=b",
                    "--rng", "--log_level=debug", "--cpus", "2"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->help);
  EXPECT_EQ(out->flags.kernel, "k");
  EXPECT_EQ(out->flags.memory_backend, "anon");
  EXPECT_THAT(out->flags.disks, ::testing::ElementsAre("a,ro", "b"));
  EXPECT_TRUE(out->flags.rng);
  EXPECT_EQ(out->flags.log_level, "debug");
  EXPECT_EQ(out->flags.cpus, "2");
  for (const char* yes : {"--rng=true", "--rng=yes", "--rng=1"})
    EXPECT_TRUE(ParseRunArgs({yes})->flags.rng) << yes;
  for (const char* no : {"--rng=false", "--rng=no", "--rng=0"})
    EXPECT_FALSE(ParseRunArgs({no})->flags.rng) << no;
}

TEST(ParseRunArgs, ErrorsNameTheFlag) {
  EXPECT_THAT(ArgsError({"--bogus=1"}), HasSubstr("unknown flag '--bogus=1'"));
  EXPECT_THAT(ArgsError({"vmlinuz"}), HasSubstr("unexpected argument 'vmlinuz'"));
  EXPECT_THAT(ArgsError({"--memory"}), HasSubstr("--memory: missing value"));
  EXPECT_THAT(ArgsError({"--disk"}), HasSubstr("--disk: missing value"));
  EXPECT_THAT(ArgsError({"--rng=maybe"}), HasSubstr("--rng: 'maybe' is not a boolean"));
  // An empty value is a missing one (only --cmdline may be empty).
  for (const char* f : {"--kernel=", "--initrd=", "--vsock=", "--memory-backend=",
                        "--digest-json=", "--disk="})
    EXPECT_THAT(ArgsError({f}), HasSubstr("empty value")) << f;
  EXPECT_EQ(ArgsError({"--cmdline="}), "");
  // Abseil's own flags are not tvmm's.
  for (const char* f : {"--flagfile=/etc/passwd", "--fromenv=x", "--undefok=x", "-kernel=k"})
    EXPECT_THAT(ArgsError({f}), HasSubstr("unknown flag")) << f;
}

TEST(ParseRunArgs, HelpListsExactlyTheFlagsTaken) {
  for (const char* h : {"--help", "-h", "--helpfull", "--helpshort"}) {
    absl::StatusOr<RunArgs> out = ParseRunArgs({h});
    ASSERT_TRUE(out.ok()) << h;
    EXPECT_TRUE(out->help) << h;
  }
  std::string help = RunHelp();
  for (const char* f : {"--kernel", "--initrd", "--cmdline", "--memory", "--cpus", "--disk",
                        "--vsock", "--rng", "--memory-backend", "--log-level", "--tvm",
                        "--digest-json"}) {
    bool boolean = std::string(f) == "--rng" || std::string(f) == "--tvm";
    EXPECT_THAT(help, HasSubstr(f));
    EXPECT_EQ(ArgsError({std::string(f) + (boolean ? "" : "=x")}), "") << f;
  }
  EXPECT_THAT(help, HasSubstr(absl::StrCat("1..", kMaxCpus)));
  EXPECT_THAT(help, ::testing::Not(HasSubstr("flagfile")));
}

TEST(ParseRunFlags, LogLevel) {
  RunFlags f = Valid();
  f.log_level = "debug";
  EXPECT_EQ(ParseRunFlags(f)->log_level, LogLevel::kDebug);
  f.log_level = "loud";
  EXPECT_THAT(ErrorOf(f), HasSubstr("--log-level: 'loud'"));
}

}  // namespace
}  // namespace tvmm
