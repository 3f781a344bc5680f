// SPDX-License-Identifier: GPL-2.0
// One VM: its KVM VM, guest memory, devices and vCPU threads, from Create()
// to its end.  A process (vmm/run.cc) holds one or more; they share
// /dev/kvm and nothing else.
#ifndef TVMM_VMM_VM_INSTANCE_H_
#define TVMM_VMM_VM_INSTANCE_H_

#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arch/machine.h"
#include "cli/config.h"
#include "devices/bus.h"
#include "devices/serial.h"
#include "kvm/kvm.h"
#include "memory/backend.h"
#include "memory/guest_memory.h"
#include "util/fd.h"
#include "util/thread.h"
#include "vmm/irqfd_lines.h"
#include "vmm/queue_notifier.h"

namespace tvmm {

// Signal that kicks a vCPU thread out of KVM_RUN; the process installs an
// empty handler for it (without SA_RESTART) before any VM starts.
inline constexpr int kKickSignal = SIGUSR1;

class VmInstance {
 public:
  // How a VM ended.
  enum class End { kNone, kReset, kShutdown, kCrash, kError, kStopped };
  enum class State { kCreated, kRunning, kPaused, kEnded };

  struct Hooks {
    // The guest's console output, on a vCPU thread.  Returns once written,
    // or early when @stop_fd (an eventfd) is readable: the VM stops.
    std::function<void(absl::string_view data, int stop_fd)> console_output;
    // The VM ended (end() is set): once, on whichever thread ended it.
    std::function<void()> on_end;
    // When the process started: the boot timer's zero.
    std::chrono::steady_clock::time_point start;
    // For tests: runs in Stop() on the thread that ended the VM, once
    // end() is set and before any vCPU thread is kicked.
    std::function<void()> before_kicks;
  };

  // Builds the VM of @config: memory, devices, the guest image (measured
  // for a TVM) and vCPUs, no thread yet.  On error nothing is left behind.
  // @kvm must outlive the instance.  @tag prefixes its messages ("" alone).
  static absl::StatusOr<std::unique_ptr<VmInstance>> Create(const Kvm& kvm,
                                                            const VmConfig& config,
                                                            std::string tag, Hooks hooks);
  // Stops the VM if it runs, joins its threads, then destroys in order:
  // devices (and their threads), interrupt lines, vCPUs, the VM, memory.
  ~VmInstance();
  VmInstance(const VmInstance&) = delete;
  VmInstance& operator=(const VmInstance&) = delete;

  const std::string& name() const { return config_.name; }

  // Starts one thread per vCPU.  If one cannot be created, the VM ends
  // with that error (End::kError) and the threads started run down.
  void Start();
  // Ends the VM (the first end wins); returns at once, any thread.
  void Stop(End end);
  // Every vCPU out of KVM_RUN and waiting; devices go on completing what
  // they were given.  FailedPrecondition if the VM is not running;
  // DeadlineExceeded if a vCPU did not stop within @timeout (one blocked
  // on a stalled console): it pauses when it returns, and the VM reports
  // paused from then on.
  absl::Status Pause(std::chrono::milliseconds timeout);
  // FailedPrecondition unless paused.
  absl::Status Resume();
  // Waits until Stop() has kicked every vCPU thread and each has left the
  // VM's code, then joins them, for at most kThreadExitGrace from then on:
  // a thread whose exit the kernel holds longer (it waits for I/O the
  // thread submitted to storage that does not answer) is left to the
  // kernel.
  void Join();

  End end() const { return end_.load(); }
  State state() const;
  // The error that ended it (end() == kError).
  absl::Status error() const;

  // Console input from the host.
  void ConsoleInput(absl::string_view data);

 private:
  struct Token {};  // for std::make_unique in Create() only

 public:
  VmInstance(Token, const Kvm& kvm, const VmConfig& config, std::string tag, Hooks hooks);

 private:
  absl::Status Build();
  void VcpuLoop(Vcpu* vcpu);
  void WaitWhilePaused(Vcpu* vcpu);
  // Ends the VM with @error (the first error wins).
  void Fail(absl::Status error);
  absl::Status HandleExit(Vcpu* vcpu);
  // A trusted VM's request to convert its memory (ExitServices::convert).
  absl::Status ConvertMemory(uint64_t gpa, uint64_t size, bool to_private);

  const Kvm& kvm_;
  const VmConfig config_;
  const std::string tag_;
  const Hooks hooks_;
  std::unique_ptr<Machine> machine_ = CreateMachine();
  std::optional<Vm> vm_;
  // Shared with the memory map (GuestMemory::owner()): I/O a device left
  // to the kernel keeps it mapped past the instance.
  std::shared_ptr<MemoryBacking> ram_;
  GuestMemory memory_;
  Bus pio_{"pio"};
  Bus mmio_{"mmio"};
  ExitServices exit_services_{&pio_, nullptr};
  std::unique_ptr<IrqfdLines> irqs_;
  // Kicks through ioeventfds, if any: destroyed before the devices (its
  // threads call the transports).
  std::unique_ptr<QueueNotifier> notifier_;
  std::shared_ptr<Serial> console_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<Thread> threads_;     // reserved up front: never reallocated
  std::atomic<size_t> started_{0};  // threads_[0, started_) exist
  std::atomic<End> end_{End::kNone};
  // Set once Stop() has kicked every started vCPU thread: none is joined
  // before, so pthread_kill() never meets a thread that is gone.
  std::atomic<bool> kicked_{false};
  bool joined_ = false;
  UniqueFd stop_event_;

  // Pause: vCPU threads wait on pause_cv_ while pause_requested_.
  mutable std::mutex pause_mu_;
  std::condition_variable pause_cv_;
  // Written under pause_mu_; the vCPU loop reads it without, once per exit.
  std::atomic<bool> pause_requested_{false};
  size_t paused_vcpus_ = 0;

  mutable std::mutex error_mu_;
  absl::Status error_;
};

}  // namespace tvmm

#endif  // TVMM_VMM_VM_INSTANCE_H_
