// SPDX-License-Identifier: GPL-2.0
#include "vmm/run.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arch/machine.h"
#include "kvm/kvm.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/poll.h"
#include "util/status.h"
#include "vmm/api.h"
#include "vmm/console.h"
#include "vmm/terminal.h"
#include "vmm/vm_instance.h"

namespace tvmm {
namespace {

const std::chrono::steady_clock::time_point kProcessStart = std::chrono::steady_clock::now();

// Signals that end the VMs the orderly way (the terminal restored, devices
// stopped): the event loop reads them from a signalfd, so every thread
// blocks them.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// How long `pause` waits for the vCPUs (the event loop waits with it).
constexpr std::chrono::milliseconds kPauseTimeout(2000);

using End = VmInstance::End;

const char* StateName(VmInstance::State state) {
  switch (state) {
    case VmInstance::State::kCreated: return "created";
    case VmInstance::State::kRunning: return "running";
    case VmInstance::State::kPaused: return "paused";
    case VmInstance::State::kEnded: return "ended";
  }
  return "?";
}

// The process: its VMs, the console they share, the control socket and the
// stop signals.  Members are destroyed in reverse: the VMs (each stops and
// joins its threads, then frees its devices and memory) before the console
// they write to and the eventfd they wake the loop with.
class Process : public ApiTarget {
 public:
  explicit Process(const RunPlan& plan) : plan_(plan) {}
  ~Process() override { vms_.clear(); }

  int Run();

  // ApiTarget, on the event loop's thread.
  std::vector<std::pair<std::string, std::string>> List() override;
  absl::Status Pause(absl::string_view name) override;
  absl::Status Resume(absl::string_view name) override;
  absl::Status Stop(absl::string_view name) override;

 private:
  absl::Status Build();
  void EventLoop();
  bool AllEnded() const;
  void StopAll(End end);
  absl::StatusOr<VmInstance*> Find(absl::string_view name);
  // Says how each VM that ended since the last call ended, and records
  // its exit status.
  void ReportEnds();
  // "VM 'b': " with several VMs, "" with one.
  std::string Tag(absl::string_view name) const {
    return plan_.vms.size() > 1 ? absl::StrCat("VM '", name, "': ") : "";
  }

  const RunPlan& plan_;
  UniqueFd wake_;  // an eventfd: a VM ended
  UniqueFd signal_fd_;
  int stop_signal_ = 0;
  std::unique_ptr<ConsoleMux> console_;
  std::unique_ptr<ApiServer> api_;
  std::optional<Kvm> kvm_;
  std::vector<std::unique_ptr<VmInstance>> vms_;
  std::vector<std::optional<int>> status_;  // per VM, once its end was reported
};

absl::Status Process::Build() {
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return ErrnoStatus("eventfd");
  std::vector<std::string> names;
  for (const VmConfig& vm : plan_.vms) names.push_back(vm.name);
  console_ = std::make_unique<ConsoleMux>(STDOUT_FILENO, std::move(names));
  if (!plan_.api_socket.empty()) {
    TVMM_ASSIGN_OR_RETURN(api_, ApiServer::Listen(plan_.api_socket));
  }
  TVMM_ASSIGN_OR_RETURN(Kvm kvm, Kvm::Open());
  kvm_.emplace(std::move(kvm));
  // A VM that cannot be built is reported, named when there are several;
  // the VMs built so far go with the Process: all or nothing.
  auto failed = [this](const VmConfig& config, const absl::Status& error) {
    if (plan_.vms.size() == 1) return error;
    absl::Status s(error.code(), absl::StrCat(Tag(config.name), error.message()));
    return IsUsageError(error) ? UsageError(s) : s;
  };
  // What KVM must offer is asked for every VM before any VM exists.
  const std::unique_ptr<Machine> machine = CreateMachine();
  for (const VmConfig& config : plan_.vms) {
    if (!config.tvm) continue;
    if (absl::Status s = machine->CheckTrustedVmSupport(*kvm_); !s.ok()) return failed(config, s);
  }
  for (size_t i = 0; i < plan_.vms.size(); i++) {
    const VmConfig& config = plan_.vms[i];
    VmInstance::Hooks hooks;
    hooks.console_output = [this, i](absl::string_view s, int stop_fd) {
      console_->Write(i, s, stop_fd);
    };
    hooks.on_end = [this] {
      uint64_t one = 1;
      (void)!write(wake_.get(), &one, sizeof(one));
    };
    hooks.start = kProcessStart;
    absl::StatusOr<std::unique_ptr<VmInstance>> vm =
        VmInstance::Create(*kvm_, config, Tag(config.name), std::move(hooks));
    if (!vm.ok()) return failed(config, vm.status());
    vms_.push_back(*std::move(vm));
  }
  return absl::OkStatus();
}

bool Process::AllEnded() const {
  for (const auto& vm : vms_) {
    if (vm->end() == End::kNone) return false;
  }
  return true;
}

void Process::StopAll(End end) {
  for (const auto& vm : vms_) vm->Stop(end);
}

absl::StatusOr<VmInstance*> Process::Find(absl::string_view name) {
  for (const auto& vm : vms_) {
    if (vm->name() == name) return vm.get();
  }
  return absl::NotFoundError(absl::StrCat("no VM is named '", name.substr(0, kMaxNameLength),
                                          name.size() > kMaxNameLength ? "...'" : "'"));
}

std::vector<std::pair<std::string, std::string>> Process::List() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& vm : vms_) out.emplace_back(vm->name(), StateName(vm->state()));
  return out;
}

absl::Status Process::Pause(absl::string_view name) {
  TVMM_ASSIGN_OR_RETURN(VmInstance * vm, Find(name));
  TVMM_RETURN_IF_ERROR(vm->Pause(kPauseTimeout));
  Log(LogLevel::kInfo, "%spaused through the API socket", Tag(vm->name()));
  return absl::OkStatus();
}

absl::Status Process::Resume(absl::string_view name) {
  TVMM_ASSIGN_OR_RETURN(VmInstance * vm, Find(name));
  TVMM_RETURN_IF_ERROR(vm->Resume());
  Log(LogLevel::kInfo, "%sresumed through the API socket", Tag(vm->name()));
  return absl::OkStatus();
}

absl::Status Process::Stop(absl::string_view name) {
  TVMM_ASSIGN_OR_RETURN(VmInstance * vm, Find(name));
  if (vm->end() != End::kNone) return absl::FailedPreconditionError("the VM has ended");
  vm->Stop(End::kStopped);
  return absl::OkStatus();
}

void Process::ReportEnds() {
  status_.resize(vms_.size());
  for (size_t i = 0; i < vms_.size(); i++) {
    VmInstance& vm = *vms_[i];
    if (status_[i] || vm.end() == End::kNone) continue;
    std::string tag = Tag(vm.name());
    switch (vm.end()) {
      case End::kReset:
        Log(LogLevel::kInfo, "%sthe guest rebooted; VM ended", tag);
        status_[i] = kExitGuestEnded;
        break;
      case End::kShutdown:
        Log(LogLevel::kInfo, "%sthe guest powered off; VM ended", tag);
        status_[i] = kExitGuestEnded;
        break;
      case End::kStopped:
        if (!stop_signal_) Log(LogLevel::kInfo, "%sstopped through the API socket; VM ended", tag);
        status_[i] = kExitGuestEnded;
        break;
      case End::kCrash:
        Log(LogLevel::kInfo, "%sthe guest crashed; VM ended", tag);
        status_[i] = kExitGuestCrashed;
        break;
      default:
        fprintf(stderr, "tvmm run: %s%s\n", tag.c_str(),
                std::string(vm.error().message()).c_str());
        status_[i] = kExitVmmError;
        break;
    }
  }
}

// Console input (to the first VM), the stop signals, the control socket,
// and the wakeup of a VM that ended: until every VM has.
void Process::EventLoop() {
  bool stdin_open = true;
  char buf[64];
  while (!AllEnded()) {
    std::vector<pollfd> fds = {{stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                               {wake_.get(), POLLIN, 0},
                               {signal_fd_.get(), POLLIN, 0}};
    if (api_) api_->AddPollFds(&fds);
    if (PollRetrying(fds.data(), fds.size(), -1) < 0) {
      Log(LogLevel::kError, "poll: %s", strerror(errno));
      StopAll(End::kError);
      return;
    }
    if (fds[1].revents) {
      uint64_t n;
      (void)!read(wake_.get(), &n, sizeof(n));
      ReportEnds();
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(signal_fd_.get(), &si, sizeof(si)) == sizeof(si)) {
        stop_signal_ = static_cast<int>(si.ssi_signo);
        Log(LogLevel::kInfo, "%s: stopping the VM%s", strsignal(stop_signal_),
            vms_.size() > 1 ? "s" : "");
        StopAll(End::kStopped);
        return;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      ssize_t n = fds[0].revents & POLLNVAL ? 0 : read(STDIN_FILENO, buf, sizeof(buf));
      if (n > 0) {
        vms_.front()->ConsoleInput(absl::string_view(buf, n));
      } else if (n == 0 || errno != EINTR) {
        stdin_open = false;  // no more input
      }
    }
    if (api_) api_->Handle(absl::MakeConstSpan(fds).subspan(3), *this);
  }
}

int Process::Run() {
  // A console whose reader went away is not a reason to die: writes fail
  // with EPIPE instead, and the guests run on.
  signal(SIGPIPE, SIG_IGN);
  // The stop signals go to the event loop's signalfd: blocked here, before
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
    return IsUsageError(s) ? kExitUsage : kExitVmmError;
  }

  // An empty handler, without SA_RESTART: the kick only interrupts KVM_RUN
  // and a blocked console write.
  struct sigaction sa = {};
  sa.sa_handler = [](int) {};
  sigaction(kKickSignal, &sa, nullptr);

  RawTerminal terminal;
  auto setup = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - kProcessStart);
  for (size_t i = 0; i < vms_.size(); i++) {
    const VmConfig& config = plan_.vms[i];
    Log(LogLevel::kInfo, "%sVM ready in %d.%03d ms; starting %d vCPU(s)", Tag(config.name),
        setup.count() / 1000, setup.count() % 1000, config.cpus);
    vms_[i]->Start();
  }
  EventLoop();

  for (const auto& vm : vms_) vm->Join();
  ReportEnds();
  int status = kExitGuestEnded;
  for (const std::optional<int>& st : status_) {
    if (status == kExitGuestEnded) status = st.value_or(kExitVmmError);
  }
  return stop_signal_ ? 128 + stop_signal_ : status;
}

}  // namespace

int RunVms(const RunPlan& plan) {
  Process process(plan);
  return process.Run();
}

}  // namespace tvmm
