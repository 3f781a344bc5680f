// SPDX-License-Identifier: GPL-2.0
#include "vmm/run.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arch/machine.h"
#include "devices/bus.h"
#include "kvm/kvm.h"
#include "launch/sw_tvm.h"
#include "memory/backend.h"
#include "memory/guest_memory.h"
#include "util/log.h"
#include "util/status.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "vmm/measure.h"
#include "vmm/terminal.h"

namespace tvmm {
namespace {

const BootTimer::Clock::time_point kProcessStart = BootTimer::Clock::now();

// Signal used to kick vCPU threads out of KVM_RUN.
constexpr int kKickSignal = SIGUSR1;

enum class End { kNone, kReset, kShutdown, kCrash, kError, kSignal };

// Signals that end the VM the orderly way (the terminal restored, devices
// stopped): the input thread reads them from a signalfd, so every thread
// blocks them.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

class KvmIrqLine : public IrqLine {
 public:
  KvmIrqLine(const Vm* vm, uint32_t irq) : vm_(vm), irq_(irq) {}
  // Failures here mean the VM is gone; nothing a device can do about it.
  void Pulse() override {
    (void)vm_->IrqLine(irq_, true);
    (void)vm_->IrqLine(irq_, false);
  }
  void Set(bool high) override { (void)vm_->IrqLine(irq_, high); }

 private:
  const Vm* vm_;
  uint32_t irq_;
};

class KvmIrqLines : public IrqLineFactory {
 public:
  explicit KvmIrqLines(const Vm* vm) : vm_(vm) {}
  IrqLine* Line(uint32_t irq) override {
    std::lock_guard lock(mu_);
    auto& line = lines_[irq];
    if (!line) line = std::make_unique<KvmIrqLine>(vm_, irq);
    return line.get();
  }

 private:
  const Vm* vm_;
  std::mutex mu_;
  std::map<uint32_t, std::unique_ptr<KvmIrqLine>> lines_;
};

int ExitStatusFor(const absl::Status& status) {
  return IsUsageError(status) ? kExitUsage : kExitVmmError;
}

class VmRunner {
 public:
  explicit VmRunner(const VmConfig& config) : config_(config) {}
  ~VmRunner();

  int Run();

 private:
  absl::Status Build();
  void VcpuLoop(Vcpu* vcpu);
  absl::Status HandleExit(Vcpu* vcpu);
  void Stop(End end);
  void InputLoop();
  void ConsoleOutput(absl::string_view s);

  const VmConfig& config_;
  std::unique_ptr<Machine> machine_ = CreateMachine();
  std::optional<Kvm> kvm_;
  std::optional<Vm> vm_;
  MemoryBacking ram_;
  GuestMemory memory_;
  Bus pio_{"pio"};
  Bus mmio_{"mmio"};
  std::unique_ptr<KvmIrqLines> irqs_;
  std::shared_ptr<Serial> console_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::thread> threads_;  // reserved up front: never reallocated
  std::atomic<size_t> started_{0};    // threads_[0, started_) exist
  std::atomic<End> end_{End::kNone};
  // Set once Stop() has kicked every started vCPU thread: none is joined
  // before, so pthread_kill() never meets a thread that is gone.
  std::atomic<bool> kicked_{false};
  UniqueFd stop_event_;
  UniqueFd signal_fd_;
  int stop_signal_ = 0;  // the signal that ended the VM (input thread only)
  std::mutex error_mu_;
  absl::Status error_;
};

// The shutdown order, once Run() has joined the vCPU and input threads:
// the devices first (each stops its own threads, which may still write
// guest memory and raise interrupts until then), then the interrupt lines
// they raise, the vCPUs and the VM.  Guest memory (ram_, memory_) goes
// after all of them, when the members are destroyed.
VmRunner::~VmRunner() {
  mmio_.Clear();
  pio_.Clear();
  console_.reset();
  irqs_.reset();
  vcpus_.clear();
  vm_.reset();
}

absl::Status VmRunner::Build() {
  TVMM_ASSIGN_OR_RETURN(Kvm kvm, Kvm::Open());
  kvm_.emplace(std::move(kvm));
  // Everything --tvm needs from KVM is asked before a VM exists.
  if (config_.tvm) TVMM_RETURN_IF_ERROR(CheckSwTvmSupport(*kvm_));
  TVMM_RETURN_IF_ERROR(machine_->Prepare(*kvm_, config_));
  TVMM_ASSIGN_OR_RETURN(Vm vm, kvm_->CreateVm(machine_->VmType(config_.tvm)));
  vm_.emplace(std::move(vm));

  // Guest RAM: the user's backend, or guest_memfd if KVM can run from it;
  // a TVM's is always guest_memfd, converting in place.
  if (config_.tvm) {
    TVMM_ASSIGN_OR_RETURN(ram_, CreateTvmBacking(*vm_, config_.memory_bytes));
  } else {
    MemoryBackendKind kind =
        config_.memory_backend_explicit ? config_.memory_backend : MemoryBackendKind::kGuestMemfd;
    std::string note;
    TVMM_ASSIGN_OR_RETURN(ram_, CreateBacking(*vm_, kind, config_.memory_backend_explicit,
                                              config_.memory_bytes, &note));
    if (!note.empty()) Log(LogLevel::kInfo, "%s", note);
  }
  Log(LogLevel::kDebug, "guest RAM: %d MiB, %s", config_.memory_bytes >> 20,
      MemoryBackendName(ram_.kind));
  uint32_t slot = 0;
  for (const RamRange& r : machine_->RamLayout(config_.memory_bytes)) {
    uint8_t* hva = ram_.mapping.data() + r.backing_offset;
    TVMM_RETURN_IF_ERROR(vm_->SetUserMemoryRegion(
        slot++, ram_.is_guest_memfd() ? KVM_MEM_GUEST_MEMFD : 0, r.gpa, r.size, hva,
        ram_.is_guest_memfd() ? ram_.fd.get() : -1, r.backing_offset));
    TVMM_RETURN_IF_ERROR(memory_.AddRegion(r.gpa, {hva, r.size}));
  }

  TVMM_RETURN_IF_ERROR(machine_->SetupVm(*vm_));
  irqs_ = std::make_unique<KvmIrqLines>(&*vm_);
  PlatformHooks hooks;
  hooks.console_output = [this](absl::string_view s) { ConsoleOutput(s); };
  hooks.on_reset = [this] { Stop(End::kReset); };
  hooks.start = kProcessStart;
  hooks.on_boot_time = [](std::chrono::microseconds us) {
    Log(LogLevel::kInfo, "boot time: %d.%03d ms from tvmm start to guest userspace",
        us.count() / 1000, us.count() % 1000);
  };
  TVMM_ASSIGN_OR_RETURN(console_, machine_->AddPlatformDevices(pio_, mmio_, *irqs_, hooks));

  // virtio-mmio devices, which the machine describes to the guest
  // (ACPI on x86).
  // In PlanVirtioSlots()'s order, which `tvmm measure` uses too.
  const std::vector<VirtioSlot> slots = PlanVirtioSlots(*machine_, config_);
  size_t next_slot = 0;
  auto add_virtio = [&](std::unique_ptr<VirtioDevice> device) -> absl::Status {
    const VirtioSlot& slot = slots.at(next_slot++);
    auto transport =
        std::make_shared<VirtioMmio>(std::move(device), &memory_, irqs_->Line(slot.irq));
    return mmio_.Register(slot.base, slot.size, transport);
  };
  // Disks first: the guest names them vda, vdb, ... in this order.
  for (const DiskConfig& disk : config_.disks) {
    // One queue per vCPU; Open() caps the count.
    TVMM_ASSIGN_OR_RETURN(std::unique_ptr<VirtioBlk> blk,
                          VirtioBlk::Open(disk.path, disk.read_only, config_.cpus));
    TVMM_RETURN_IF_ERROR(add_virtio(std::move(blk)));
  }
  if (config_.rng) TVMM_RETURN_IF_ERROR(add_virtio(std::make_unique<VirtioRng>()));
  if (config_.vsock_cid) {
    TVMM_ASSIGN_OR_RETURN(std::unique_ptr<VirtioVsock> vsock,
                          VirtioVsock::Open(*config_.vsock_cid));
    TVMM_RETURN_IF_ERROR(add_virtio(std::move(vsock)));
  }

  if (config_.tvm) {
    // Staged, then measured into private memory; the staging goes away.
    TVMM_ASSIGN_OR_RETURN(std::unique_ptr<LaunchImage> image, StageImage(*machine_, config_));
    TVMM_ASSIGN_OR_RETURN(LaunchDigest digest, LaunchSwTvm(*vm_, *image));
    // Devices must not touch what is now private (SIGBUS): a guest that
    // points them there gets a device error.
    std::vector<std::pair<uint64_t, uint64_t>> private_ranges;
    for (const LaunchRun& run : image->Runs()) private_ranges.emplace_back(run.gpa, run.bytes.size());
    memory_.SetPrivate(std::move(private_ranges));
    Log(LogLevel::kInfo, "launch digest: sha384:%s (%d pages)", HexDigest(digest.digest()),
        digest.pages());
    if (!config_.digest_json.empty())
      TVMM_RETURN_IF_ERROR(WriteDigestJson(config_.digest_json, digest));
  } else {
    TVMM_RETURN_IF_ERROR(
        machine_->LoadGuest(memory_, machine_->KernelCmdline(config_.cmdline), slots));
  }

  for (uint32_t i = 0; i < config_.cpus; i++) {
    TVMM_ASSIGN_OR_RETURN(Vcpu vcpu, vm_->CreateVcpu(i));
    vcpus_.push_back(std::make_unique<Vcpu>(std::move(vcpu)));
    TVMM_RETURN_IF_ERROR(machine_->SetupVcpu(*vcpus_.back()));
  }
  stop_event_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event_.valid()) return ErrnoStatus("eventfd");
  return absl::OkStatus();
}

// On a vCPU thread, under the console's lock.  A stdout nobody reads
// would block the write, and with it the vCPU, for ever: it waits for room
// and for the stop event together (which Stop() sets before it kicks and
// which stays set), so that a VM stopping while its console is stalled
// stops, whichever vCPU holds the lock and wherever the kick lands.
void VmRunner::ConsoleOutput(absl::string_view s) {
  for (size_t done = 0; done < s.size();) {
    if (end_.load() != End::kNone) return;
    pollfd fds[2] = {{STDOUT_FILENO, POLLOUT, 0}, {stop_event_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;  // the VM stops
    if (!(fds[0].revents & POLLOUT)) return;  // the console is gone
    ssize_t n = write(STDOUT_FILENO, s.data() + done, s.size() - done);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // the console is gone (EPIPE: SIGPIPE is ignored)
    }
    done += n;
  }
}

void VmRunner::Stop(End end) {
  End expected = End::kNone;
  if (!end_.compare_exchange_strong(expected, end)) return;
  uint64_t one = 1;
  if (stop_event_.valid()) (void)!write(stop_event_.get(), &one, sizeof(one));
  // Threads not started yet see end_ (or immediate_exit) before KVM_RUN.
  for (auto& vcpu : vcpus_) vcpu->run()->immediate_exit = 1;
  size_t started = started_.load();
  for (size_t i = 0; i < started; i++) pthread_kill(threads_[i].native_handle(), kKickSignal);
  kicked_ = true;
  kicked_.notify_all();
}

absl::Status VmRunner::HandleExit(Vcpu* vcpu) {
  kvm_run* run = vcpu->run();
  switch (run->exit_reason) {
    case KVM_EXIT_INTR:
      return absl::OkStatus();
#if defined(__x86_64__)
    case KVM_EXIT_IO: {
      // The data area is inside the kvm_run mapping, at an offset KVM chose.
      uint8_t* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
      for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        absl::Span<uint8_t> span(data, run->io.size);
        if (run->io.direction == KVM_EXIT_IO_OUT)
          pio_.Write(run->io.port, span);
        else
          pio_.Read(run->io.port, span);
      }
      return absl::OkStatus();
    }
#endif
    case KVM_EXIT_MMIO: {
      absl::Span<uint8_t> data(run->mmio.data, std::min<uint32_t>(run->mmio.len, 8));
      if (run->mmio.is_write)
        mmio_.Write(run->mmio.phys_addr, data);
      else
        mmio_.Read(run->mmio.phys_addr, data);
      return absl::OkStatus();
    }
    case KVM_EXIT_SHUTDOWN:
      Log(LogLevel::kError, "vCPU %d: the guest triple-faulted", vcpu->id());
      Stop(End::kCrash);
      return absl::OkStatus();
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
          Stop(End::kShutdown);
          return absl::OkStatus();
        case KVM_SYSTEM_EVENT_RESET:
          Stop(End::kReset);
          return absl::OkStatus();
        default:
          Log(LogLevel::kError, "vCPU %d: system event %d", vcpu->id(), run->system_event.type);
          Stop(End::kCrash);
          return absl::OkStatus();
      }
    case KVM_EXIT_FAIL_ENTRY:
      Log(LogLevel::kError, "vCPU %d: VM entry failed, reason 0x%x", vcpu->id(),
          run->fail_entry.hardware_entry_failure_reason);
      Stop(End::kCrash);
      return absl::OkStatus();
    case KVM_EXIT_INTERNAL_ERROR: {
      // The data words are suberror-specific (for an emulation failure:
      // the instruction bytes, the exit reason and the GPA): all of them.
      std::string data;
      for (uint32_t i = 0; i < std::min<uint32_t>(run->internal.ndata, 16); i++)
        absl::StrAppend(&data, " 0x", absl::Hex(run->internal.data[i]));
      Log(LogLevel::kError, "vCPU %d: KVM internal error, suberror %d, data:%s", vcpu->id(),
          run->internal.suberror, data.empty() ? " none" : data);
#if defined(__x86_64__)
      kvm_regs regs;
      if (vcpu->GetRegs(&regs).ok())
        Log(LogLevel::kError, "vCPU %d: rip 0x%x rsp 0x%x", vcpu->id(), regs.rip, regs.rsp);
#endif
      Stop(End::kCrash);
      return absl::OkStatus();
    }
    default:
      return absl::InternalError(
          absl::StrCat("vCPU ", vcpu->id(), ": unexpected exit reason ", run->exit_reason));
  }
}

void VmRunner::VcpuLoop(Vcpu* vcpu) {
  while (end_.load() == End::kNone) {
    absl::Status s = vcpu->Run();
    if (s.ok()) s = HandleExit(vcpu);
    if (!s.ok()) {
      {
        std::lock_guard lock(error_mu_);
        if (error_.ok()) error_ = s;
      }
      Stop(End::kError);
    }
  }
}

// Console input, the stop signals, and the stop event that ends it.  At
// the end of stdin it goes on watching the signals.
void VmRunner::InputLoop() {
  pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0},
                   {stop_event_.get(), POLLIN, 0},
                   {signal_fd_.get(), POLLIN, 0}};
  char buf[64];
  while (end_.load() == End::kNone) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(signal_fd_.get(), &si, sizeof(si)) == sizeof(si)) {
        stop_signal_ = static_cast<int>(si.ssi_signo);
        Log(LogLevel::kInfo, "%s: stopping the VM", strsignal(stop_signal_));
        Stop(End::kSignal);
        return;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      ssize_t n = fds[0].revents & POLLNVAL ? 0 : read(STDIN_FILENO, buf, sizeof(buf));
      if (n > 0) {
        console_->Receive(absl::string_view(buf, n));
      } else if (n == 0 || errno != EINTR) {
        fds[0].fd = -1;  // no more input
      }
    }
  }
}

int VmRunner::Run() {
  // A console whose reader went away is not a reason to die: writes fail
  // with EPIPE instead, and the guest runs on.
  signal(SIGPIPE, SIG_IGN);
  // The stop signals go to the input thread's signalfd: blocked here, before
  // any thread starts, so that every thread inherits the mask.
  sigset_t stop;
  sigemptyset(&stop);
  for (int sig : kStopSignals) sigaddset(&stop, sig);
  if (pthread_sigmask(SIG_BLOCK, &stop, nullptr) == 0)
    signal_fd_.Reset(signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_.valid()) {
    fprintf(stderr, "tvmm run: %s\n", std::string(ErrnoStatus("signalfd").message()).c_str());
    return kExitVmmError;
  }

  if (absl::Status s = Build(); !s.ok()) {
    fprintf(stderr, "tvmm run: %s\n", std::string(s.message()).c_str());
    return ExitStatusFor(s);
  }

  // An empty handler, without SA_RESTART: the kick only interrupts KVM_RUN
  // and a blocked console write.
  struct sigaction sa = {};
  sa.sa_handler = [](int) {};
  sigaction(kKickSignal, &sa, nullptr);

  RawTerminal terminal;
  auto setup = std::chrono::duration_cast<std::chrono::microseconds>(BootTimer::Clock::now() -
                                                                     kProcessStart);
  Log(LogLevel::kInfo, "VM ready in %d.%03d ms; starting %d vCPU(s)", setup.count() / 1000,
      setup.count() % 1000, vcpus_.size());
  threads_.reserve(vcpus_.size());
  for (auto& vcpu : vcpus_) {
    threads_.emplace_back(&VmRunner::VcpuLoop, this, vcpu.get());
    started_++;
  }
  std::thread input(&VmRunner::InputLoop, this);
  // A vCPU thread returns only once the VM stops; Stop() may still be
  // kicking the others.
  kicked_.wait(false);
  for (auto& t : threads_) t.join();
  uint64_t one = 1;
  (void)!write(stop_event_.get(), &one, sizeof(one));
  input.join();

  switch (end_.load()) {
    case End::kReset:
      Log(LogLevel::kInfo, "the guest rebooted; VM ended");
      return kExitGuestEnded;
    case End::kShutdown:
      Log(LogLevel::kInfo, "the guest powered off; VM ended");
      return kExitGuestEnded;
    case End::kCrash:
      return kExitGuestCrashed;
    case End::kSignal:
      return 128 + stop_signal_;
    default:
      fprintf(stderr, "tvmm run: %s\n", std::string(error_.message()).c_str());
      return kExitVmmError;
  }
}

}  // namespace

int RunVm(const VmConfig& config) {
  VmRunner runner(config);
  return runner.Run();
}

}  // namespace tvmm
