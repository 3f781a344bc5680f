// SPDX-License-Identifier: GPL-2.0
#include "cli/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "cli/flags.h"
#include "util/status.h"

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
  EXPECT_EQ(out->vms[0].kernel, "k");
  EXPECT_EQ(out->vms[0].memory_backend, "anon");
  EXPECT_THAT(out->vms[0].disks, ::testing::ElementsAre("a,ro", "b"));
  EXPECT_TRUE(out->vms[0].rng);
  EXPECT_EQ(out->vms[0].log_level, "debug");
  EXPECT_EQ(out->vms[0].cpus, "2");
  for (const char* yes : {"--rng=true", "--rng=yes", "--rng=1"})
    EXPECT_TRUE(ParseRunArgs({yes})->vms[0].rng) << yes;
  for (const char* no : {"--rng=false", "--rng=no", "--rng=0"})
    EXPECT_FALSE(ParseRunArgs({no})->vms[0].rng) << no;
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

std::string PlanError(const std::vector<std::string>& args) {
  absl::StatusOr<RunArgs> parsed = ParseRunArgs(args);
  if (!parsed.ok()) return std::string(parsed.status().message());
  absl::StatusOr<RunPlan> plan = ParseRunPlan(*parsed);
  return plan.ok() ? "" : std::string(plan.status().message());
}

TEST(ParseRunPlan, NextStartsAnotherVm) {
  absl::StatusOr<RunArgs> args =
      ParseRunArgs({"--kernel", "a", "--api-socket", "/tmp/s", "--log-level", "debug", "--next",
                    "--kernel", "b", "--name", "second", "--cpus", "2"});
  ASSERT_TRUE(args.ok()) << args.status();
  ASSERT_EQ(args->vms.size(), 2u);
  EXPECT_EQ(args->api_socket, "/tmp/s");
  absl::StatusOr<RunPlan> plan = ParseRunPlan(*args);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->vms.size(), 2u);
  EXPECT_EQ(plan->vms[0].name, "vm0");
  EXPECT_EQ(plan->vms[0].kernel, "a");
  EXPECT_EQ(plan->vms[0].cpus, 1u);
  EXPECT_EQ(plan->vms[1].name, "second");
  EXPECT_EQ(plan->vms[1].kernel, "b");
  EXPECT_EQ(plan->vms[1].cpus, 2u);
  EXPECT_EQ(plan->log_level, LogLevel::kDebug);
  EXPECT_EQ(plan->api_socket, "/tmp/s");
  // Nothing carries over from one VM's flags to the next's.
  EXPECT_THAT(PlanError({"--kernel", "a", "--next"}), HasSubstr("VM 1 (after 1 --next): --kernel"));
}

TEST(ParseRunPlan, ProcessFlagsComeFirst) {
  EXPECT_THAT(PlanError({"--kernel", "a", "--next", "--kernel", "b", "--api-socket", "/s"}),
              HasSubstr("--api-socket: the process's flag"));
  EXPECT_THAT(PlanError({"--kernel", "a", "--next", "--kernel", "b", "--log-level", "debug"}),
              HasSubstr("--log-level: the process's flag"));
  EXPECT_THAT(PlanError({"--kernel", "a", "--api-socket="}), HasSubstr("--api-socket: empty"));
}

TEST(ParseRunPlan, NamesAndCidsAreUnique) {
  EXPECT_THAT(PlanError({"--kernel", "a", "--name", "x", "--next", "--kernel", "b", "--name", "x"}),
              HasSubstr("--name: 'x' names two VMs"));
  // A default name taken by hand.
  EXPECT_THAT(PlanError({"--kernel", "a", "--name", "vm1", "--next", "--kernel", "b"}),
              HasSubstr("'vm1' names two VMs"));
  EXPECT_THAT(PlanError({"--kernel", "a", "--vsock", "3", "--next", "--kernel", "b", "--vsock",
                         "3"}),
              HasSubstr("--vsock: 3 is the CID of both VM 'vm0' and VM 'vm1'"));
  EXPECT_EQ(PlanError({"--kernel", "a", "--vsock", "3", "--next", "--kernel", "b", "--vsock", "4"}),
            "");
}

TEST(ParseRunPlan, NameRules) {
  EXPECT_EQ(PlanError({"--kernel", "a", "--name", "A.b_c-9"}), "");
  for (const char* bad : {"a b", "a/b", "a'b", "\xc3\xa9", "a\nb"})
    EXPECT_THAT(PlanError({"--kernel", "a", "--name", bad}), HasSubstr("--name: ")) << bad;
  EXPECT_THAT(PlanError({"--kernel", "a", "--name", std::string(kMaxNameLength + 1, 'x')}),
              HasSubstr("longer than"));
  EXPECT_EQ(PlanError({"--kernel", "a", "--name", std::string(kMaxNameLength, 'x')}), "");
}

TEST(ParseRunPlan, AtMostMaxVms) {
  std::vector<std::string> args = {"--kernel", "k"};
  for (size_t i = 1; i < kMaxVms; i++) {
    args.push_back("--next");
    args.push_back("--kernel=k");
  }
  EXPECT_EQ(PlanError(args), "");
  args.push_back("--next");
  EXPECT_THAT(PlanError(args), HasSubstr(absl::StrCat("--next: at most ", kMaxVms, " VMs")));
}

// Exit status 2 is for what the user got wrong, named by the flag.  An
// error KVM or the kernel returns is exit 1 whatever its errno: 3385267
// made every EINVAL and ENOENT "bad usage".
TEST(ExitStatus, KernelErrorsAreNotUsageErrors) {
  for (int err : {EINVAL, ENOENT, EEXIST, E2BIG, EFAULT})
    EXPECT_FALSE(IsUsageError(ErrnoStatus("KVM_CREATE_VCPU", err))) << err;
  EXPECT_TRUE(IsUsageError(UsageError(absl::InvalidArgumentError("--cpus: 0"))));
  EXPECT_TRUE(IsUsageError(UsageError(ErrnoStatus("--kernel x: open", ENOENT))));
}

}  // namespace
}  // namespace tvmm
