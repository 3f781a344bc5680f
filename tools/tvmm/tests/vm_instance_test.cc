// SPDX-License-Identifier: GPL-2.0
// A VM's end, on KVM: these tests need /dev/kvm, so they skip on the build
// host, and tvmm_e2e runs them in the test guest.
#include "vmm/vm_instance.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "fake_bzimage.h"
#include "kvm/kvm.h"
#include "util/fd.h"

namespace tvmm {
namespace {

using namespace std::chrono_literals;

// Whether a thread of this process is named @name.
bool HasThreadNamed(const std::string& name) {
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return false;
  bool found = false;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string line;
    if (std::getline(comm, line) && line == name) found = true;
  }
  closedir(dir);
  return found;
}

// A guest whose one vCPU writes port 0x80 for ever: every instruction of
// its loop is an exit to tvmm, so the vCPU thread sees the VM's end on its
// own, without a kick.
class VmInstanceKvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/dev/kvm", R_OK | W_OK))
      GTEST_SKIP() << "no /dev/kvm here (tvmm_e2e runs this in the test guest)";
    auto kvm = Kvm::Open();
    ASSERT_TRUE(kvm.ok()) << kvm.status();
    kvm_ = std::make_unique<Kvm>(std::move(*kvm));
    // As `tvmm run` does before any VM starts.
    struct sigaction sa = {};
    sa.sa_handler = [](int) {};
    sigaction(kKickSignal, &sa, nullptr);

    std::vector<uint8_t> image = FakeBzImage();
    // The protected-mode kernel follows the boot sector and 4 setup
    // sectors; startup_64 is at 0x200 into it: out %al,$0x80; jmp back.
    const uint8_t loop[] = {0xe6, 0x80, 0xeb, 0xfc};
    std::copy(std::begin(loop), std::end(loop), image.begin() + 5 * 512 + 0x200);
    char name[] = "/tmp/tvmm-vm-test-XXXXXX";
    UniqueFd fd(mkstemp(name));
    ASSERT_TRUE(fd.valid());
    kernel_ = name;
    ASSERT_EQ(write(fd.get(), image.data(), image.size()), static_cast<ssize_t>(image.size()));
  }

  void TearDown() override {
    if (!kernel_.empty()) unlink(kernel_.c_str());
  }

  VmConfig Config() const {
    VmConfig config;
    config.name = "test";
    config.kernel = kernel_;
    config.memory_bytes = 32ull << 20;
    config.memory_backend = MemoryBackendKind::kAnon;
    config.memory_backend_explicit = true;
    return config;
  }

  std::unique_ptr<Kvm> kvm_;
  std::string kernel_;
};

// Issue 12, item 4b: Stop() kicks every vCPU thread with pthread_kill().
// A thread that saw the end by itself returns at once; had Join() joined
// it then, Stop()'s kick would name a thread that is gone.  Here Stop() is
// held after setting the end and before its kicks, until the vCPU thread
// has returned: Join() must still be waiting.
TEST_F(VmInstanceKvmTest, JoinWaitsForStopsKicks) {
  absl::Notification stopping, release;
  VmInstance::Hooks hooks;
  hooks.console_output = [](absl::string_view, int) {};
  hooks.start = std::chrono::steady_clock::now();
  hooks.before_kicks = [&] {
    stopping.Notify();
    release.WaitForNotification();
  };
  auto vm = VmInstance::Create(*kvm_, Config(), "", std::move(hooks));
  ASSERT_TRUE(vm.ok()) << vm.status();
  (*vm)->Start();
  ASSERT_EQ((*vm)->state(), VmInstance::State::kRunning);
  ASSERT_TRUE(HasThreadNamed("vcpu0"));

  std::atomic<bool> joined{false};
  {
    std::jthread stopper([&] { (*vm)->Stop(VmInstance::End::kStopped); });
    std::jthread joiner;
    // Released however the checks below end, so both threads finish.
    struct Release {
      absl::Notification& n;
      ~Release() {
        if (!n.HasBeenNotified()) n.Notify();
      }
    } guard{release};

    ASSERT_TRUE(stopping.WaitForNotificationWithTimeout(absl::Seconds(10)));
    // The vCPU thread returns at its next exit; its task then leaves /proc.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (HasThreadNamed("vcpu0") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    ASSERT_FALSE(HasThreadNamed("vcpu0")) << "the vCPU thread never saw the end";

    joiner = std::jthread([&] {
      (*vm)->Join();
      joined = true;
    });
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(joined.load()) << "Join() joined a vCPU thread Stop() had yet to kick";
    release.Notify();
  }
  EXPECT_TRUE(joined.load());
  EXPECT_EQ((*vm)->end(), VmInstance::End::kStopped);
}

}  // namespace
}  // namespace tvmm
