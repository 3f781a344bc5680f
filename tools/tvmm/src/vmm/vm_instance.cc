// SPDX-License-Identifier: GPL-2.0
#include "vmm/vm_instance.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "launch/digest.h"
#include "launch/launch_image.h"
#include "util/log.h"
#include "util/status.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "vmm/measure.h"

namespace tvmm {

VmInstance::VmInstance(Token, const Kvm& kvm, const VmConfig& config, std::string tag, Hooks hooks)
    : kvm_(kvm), config_(config), tag_(std::move(tag)), hooks_(std::move(hooks)) {}

absl::StatusOr<std::unique_ptr<VmInstance>> VmInstance::Create(const Kvm& kvm,
                                                               const VmConfig& config,
                                                               std::string tag, Hooks hooks) {
  auto vm = std::make_unique<VmInstance>(Token{}, kvm, config, std::move(tag), std::move(hooks));
  TVMM_RETURN_IF_ERROR(vm->Build());
  return vm;
}

VmInstance::~VmInstance() {
  Stop(End::kStopped);
  Join();
  notifier_.reset();
  mmio_.Clear();
  pio_.Clear();
  console_.reset();
  irqs_.reset();
  vcpus_.clear();
  vm_.reset();
}

absl::Status VmInstance::Build() {
  stop_event_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event_.valid()) return ErrnoStatus("eventfd");
  // Everything --tvm needs from KVM is asked before a VM exists.
  if (config_.tvm) TVMM_RETURN_IF_ERROR(machine_->CheckTrustedVmSupport(kvm_));
  TVMM_RETURN_IF_ERROR(machine_->Prepare(kvm_, config_));
  TVMM_ASSIGN_OR_RETURN(Vm vm, kvm_.CreateVm(machine_->VmType(config_.tvm)));
  vm_.emplace(std::move(vm));

  // Guest RAM: the user's backend, or guest_memfd if KVM can run from it;
  // a TVM's is always guest_memfd, converting in place.
  MemoryBacking ram;
  if (config_.tvm) {
    TVMM_ASSIGN_OR_RETURN(ram, machine_->CreateTrustedVmBacking(*vm_, config_.memory_bytes));
  } else {
    MemoryBackendKind kind =
        config_.memory_backend_explicit ? config_.memory_backend : MemoryBackendKind::kGuestMemfd;
    std::string note;
    TVMM_ASSIGN_OR_RETURN(ram, CreateBacking(*vm_, kind, config_.memory_backend_explicit,
                                             config_.memory_bytes, &note));
    if (!note.empty()) Log(LogLevel::kInfo, "%s%s", tag_, note);
  }
  ram_ = std::make_shared<MemoryBacking>(std::move(ram));
  memory_.SetOwner(ram_);
  Log(LogLevel::kDebug, "%sguest RAM: %d MiB, %s", tag_, config_.memory_bytes >> 20,
      MemoryBackendName(ram_->kind));
  uint32_t slot = 0;
  for (const RamRange& r : machine_->RamLayout(config_.memory_bytes)) {
    uint8_t* hva = ram_->mapping.data() + r.backing_offset;
    TVMM_RETURN_IF_ERROR(vm_->SetUserMemoryRegion(
        slot++, ram_->is_guest_memfd() ? KVM_MEM_GUEST_MEMFD : 0, r.gpa, r.size, hva,
        ram_->is_guest_memfd() ? ram_->fd.get() : -1, r.backing_offset));
    TVMM_RETURN_IF_ERROR(memory_.AddRegion(r.gpa, {hva, r.size}));
  }

  TVMM_RETURN_IF_ERROR(machine_->SetupVm(*vm_));
  // Kicks as MMIO exits and interrupts by KVM_IRQ_LINE, unless
  // TVMM_NOTIFY asks for KVM's eventfds: "eventfd" both (kicks through
  // ioeventfds to QueueNotifier's threads, interrupts through resampling
  // irqfds), "ioeventfd" or "irqfd" one of them.  Not the default: with
  // both, 3 of 11 two-vCPU benchmark runs under nested TCG failed (the
  // guest triple-faulted once, hung once, the test guest's kernel
  // panicked once) and none of the exit path's did (bench/RESULTS.md).
  const char* env = getenv("TVMM_NOTIFY");
  const std::string notify = env ? env : "exit";
  if (notify != "exit" && notify != "eventfd" && notify != "ioeventfd" && notify != "irqfd") {
    return UsageError(absl::InvalidArgumentError(absl::StrCat(
        "TVMM_NOTIFY: '", notify, "' is not exit, eventfd, ioeventfd or irqfd")));
  }
  const bool use_irqfds = notify == "eventfd" || notify == "irqfd";
  const bool use_ioeventfds = notify == "eventfd" || notify == "ioeventfd";
  TVMM_ASSIGN_OR_RETURN(irqs_, IrqfdLines::Create(*vm_, use_irqfds));
  const bool ioeventfds = use_ioeventfds && vm_->CheckExtension(KVM_CAP_IOEVENTFD) > 0;
  // With ioeventfds, TVMM_NOTIFY_THREADS lays out the threads that take
  // the kicks: "queue" (the default) a thread per queue, "loop" one event
  // loop for the VM (QueueNotifier).
  const char* threads_env = getenv("TVMM_NOTIFY_THREADS");
  const std::string threads = threads_env ? threads_env : "queue";
  if (threads != "queue" && threads != "loop") {
    return UsageError(absl::InvalidArgumentError(
        absl::StrCat("TVMM_NOTIFY_THREADS: '", threads, "' is not queue or loop")));
  }
  const bool one_loop = threads == "loop";
  if (ioeventfds) {
    TVMM_ASSIGN_OR_RETURN(
        notifier_,
        QueueNotifier::Create(*vm_, one_loop ? NotifyThreads::kOneLoop : NotifyThreads::kPerQueue));
  }
  Log(LogLevel::kDebug, "%svirtio kicks through %s, interrupts through %s%s", tag_,
      ioeventfds ? "ioeventfds" : "MMIO exits", irqs_->irqfds() ? "irqfds" : "KVM_IRQ_LINE",
      !ioeventfds ? ""
      : one_loop  ? "; one loop takes the kicks"
                  : "; a thread per queue");
  PlatformHooks hooks;
  hooks.console_output = [this](absl::string_view s) {
    if (end_.load() == End::kNone) hooks_.console_output(s, stop_event_.get());
  };
  hooks.on_reset = [this] { Stop(End::kReset); };
  hooks.start = hooks_.start;
  hooks.on_boot_time = [this](std::chrono::microseconds us) {
    Log(LogLevel::kInfo, "%sboot time: %d.%03d ms from tvmm start to guest userspace", tag_,
        us.count() / 1000, us.count() % 1000);
  };
  TVMM_ASSIGN_OR_RETURN(console_, machine_->AddPlatformDevices(pio_, mmio_, *irqs_, hooks));

  // virtio-mmio devices, which the machine describes to the guest (ACPI on
  // x86), in PlanVirtioSlots()'s order, which `tvmm measure` uses too.
  const std::vector<VirtioSlot> slots = PlanVirtioSlots(*machine_, config_);
  size_t next_slot = 0;
  auto add_virtio = [&](std::unique_ptr<VirtioDevice> device) -> absl::Status {
    const VirtioSlot& slot = slots.at(next_slot++);
    IrqLine* line = irqs_->LevelLine(slot.irq);
    auto transport = std::make_shared<VirtioMmio>(std::move(device), &memory_, line);
    TVMM_RETURN_IF_ERROR(mmio_.Register(slot.base, slot.size, transport));
    if (notifier_) TVMM_RETURN_IF_ERROR(notifier_->Add(slot.base, transport.get()));
    return absl::OkStatus();
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

  if (notifier_) TVMM_RETURN_IF_ERROR(notifier_->Start());
  TVMM_RETURN_IF_ERROR(irqs_->Start());

  if (config_.tvm) {
    // Staged, then measured into private memory; the staging goes away.
    TVMM_ASSIGN_OR_RETURN(std::unique_ptr<LaunchImage> image, StageImage(*machine_, config_));
    TVMM_ASSIGN_OR_RETURN(TrustedLaunch launch, machine_->LaunchTrustedVm(*vm_, *image));
    // Devices must not touch what is now private (SIGBUS): a guest that
    // points them there gets a device error.  The guest converts more
    // itself; GuestMemory keeps tvmm off those pages too.
    memory_.EnableConversions();
    memory_.SetPrivate(std::move(launch.private_ranges));
    exit_services_.convert = [this](uint64_t gpa, uint64_t size, bool to_private) {
      return ConvertMemory(gpa, size, to_private);
    };
    Log(LogLevel::kInfo, "%slaunch digest: sha384:%s (%d pages)", tag_,
        HexDigest(launch.digest.digest()), launch.digest.pages());
    if (!config_.digest_json.empty())
      TVMM_RETURN_IF_ERROR(WriteDigestJson(config_.digest_json, launch.digest));
  } else {
    TVMM_RETURN_IF_ERROR(
        machine_->LoadGuest(memory_, machine_->KernelCmdline(config_.cmdline), slots));
  }

  for (uint32_t i = 0; i < config_.cpus; i++) {
    TVMM_ASSIGN_OR_RETURN(Vcpu vcpu, vm_->CreateVcpu(i));
    vcpus_.push_back(std::make_unique<Vcpu>(std::move(vcpu)));
    TVMM_RETURN_IF_ERROR(machine_->SetupVcpu(*vcpus_.back()));
  }
  return absl::OkStatus();
}

void VmInstance::Start() {
  threads_.reserve(vcpus_.size());
  for (auto& vcpu : vcpus_) {
    absl::StatusOr<Thread> t =
        Thread::Start([this, v = vcpu.get()] { VcpuLoop(v); }, absl::StrCat("vcpu", vcpu->id()));
    if (!t.ok()) {
      Fail(t.status());  // the threads started see the end
      return;
    }
    threads_.push_back(std::move(*t));
    started_++;
  }
}

void VmInstance::Stop(End end) {
  End expected = End::kNone;
  if (!end_.compare_exchange_strong(expected, end)) return;
  uint64_t one = 1;
  if (stop_event_.valid()) (void)!write(stop_event_.get(), &one, sizeof(one));
  // Threads not started yet see end_ (or immediate_exit) before KVM_RUN.
  for (auto& vcpu : vcpus_) vcpu->run()->immediate_exit = 1;
  if (hooks_.before_kicks) hooks_.before_kicks();
  size_t started = started_.load();
  for (size_t i = 0; i < started; i++) pthread_kill(threads_[i].native_handle(), kKickSignal);
  {
    // Paused vCPUs wait under pause_mu_: the lock orders this wakeup after
    // their check of end_.
    std::lock_guard lock(pause_mu_);
    pause_cv_.notify_all();
  }
  kicked_ = true;
  kicked_.notify_all();
  if (hooks_.on_end) hooks_.on_end();
}

void VmInstance::Fail(absl::Status error) {
  {
    std::lock_guard lock(error_mu_);
    if (error_.ok()) error_ = std::move(error);
  }
  Stop(End::kError);
}

void VmInstance::Join() {
  if (joined_) return;
  // A vCPU thread returns only once the VM stops; Stop() may still be
  // kicking the others.
  if (started_.load()) kicked_.wait(false);
  JoinAll(threads_, [this](size_t i) {
    Log(LogLevel::kWarning,
        "%svCPU %d: the thread's exit waits for I/O it submitted that the kernel has not "
        "finished (storage that does not answer?); not waiting for it",
        tag_, i);
  });
  joined_ = true;
}

VmInstance::State VmInstance::state() const {
  if (end_.load() != End::kNone) return State::kEnded;
  if (!started_.load()) return State::kCreated;
  std::lock_guard lock(pause_mu_);
  return pause_requested_.load() ? State::kPaused : State::kRunning;
}

absl::Status VmInstance::error() const {
  std::lock_guard lock(error_mu_);
  return error_;
}

absl::Status VmInstance::Pause(std::chrono::milliseconds timeout) {
  std::unique_lock lock(pause_mu_);
  if (end_.load() != End::kNone) return absl::FailedPreconditionError("the VM has ended");
  if (!started_.load()) return absl::FailedPreconditionError("the VM has not started");
  if (pause_requested_) return absl::FailedPreconditionError("the VM is paused already");
  pause_requested_ = true;
  // As Stop() does: immediate_exit for a thread about to enter KVM_RUN, the
  // signal for one inside.  A paused thread clears immediate_exit again.
  for (auto& vcpu : vcpus_) vcpu->run()->immediate_exit = 1;
  for (size_t i = 0; i < started_.load(); i++)
    pthread_kill(threads_[i].native_handle(), kKickSignal);
  bool all = pause_cv_.wait_for(lock, timeout, [&] {
    return paused_vcpus_ == started_.load() || end_.load() != End::kNone;
  });
  if (end_.load() != End::kNone) return absl::FailedPreconditionError("the VM has ended");
  if (!all) {
    return absl::DeadlineExceededError(
        absl::StrCat(started_.load() - paused_vcpus_, " vCPU(s) of ", started_.load(),
                     " did not stop within ", timeout.count(),
                     " ms (a stalled console?); they pause when they return"));
  }
  return absl::OkStatus();
}

absl::Status VmInstance::Resume() {
  std::lock_guard lock(pause_mu_);
  if (end_.load() != End::kNone) return absl::FailedPreconditionError("the VM has ended");
  if (!pause_requested_) return absl::FailedPreconditionError("the VM is not paused");
  pause_requested_ = false;
  pause_cv_.notify_all();
  return absl::OkStatus();
}

void VmInstance::WaitWhilePaused(Vcpu* vcpu) {
  std::unique_lock lock(pause_mu_);
  paused_vcpus_++;
  pause_cv_.notify_all();
  pause_cv_.wait(lock, [&] { return !pause_requested_ || end_.load() != End::kNone; });
  paused_vcpus_--;
  // Cleared before the loop checks end_ again: a Stop() after this sets it
  // once more, and one before is seen there.
  if (end_.load() == End::kNone) vcpu->run()->immediate_exit = 0;
}

void VmInstance::ConsoleInput(absl::string_view data) {
  if (console_) console_->Receive(data);
}

absl::Status VmInstance::HandleExit(Vcpu* vcpu) {
  kvm_run* run = vcpu->run();
  TVMM_ASSIGN_OR_RETURN(bool handled, machine_->HandleExit(*vcpu, exit_services_));
  if (handled) return absl::OkStatus();
  switch (run->exit_reason) {
    case KVM_EXIT_INTR:
      return absl::OkStatus();
    case KVM_EXIT_MMIO: {
      absl::Span<uint8_t> data(run->mmio.data, std::min<uint32_t>(run->mmio.len, 8));
      if (run->mmio.is_write)
        mmio_.Write(run->mmio.phys_addr, data);
      else
        mmio_.Read(run->mmio.phys_addr, data);
      return absl::OkStatus();
    }
    case KVM_EXIT_SHUTDOWN:
      Log(LogLevel::kError, "%svCPU %d: the guest triple-faulted", tag_, vcpu->id());
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
          Log(LogLevel::kError, "%svCPU %d: system event %d", tag_, vcpu->id(),
              run->system_event.type);
          Stop(End::kCrash);
          return absl::OkStatus();
      }
    case KVM_EXIT_FAIL_ENTRY:
      Log(LogLevel::kError, "%svCPU %d: VM entry failed, reason 0x%x", tag_, vcpu->id(),
          run->fail_entry.hardware_entry_failure_reason);
      Stop(End::kCrash);
      return absl::OkStatus();
    case KVM_EXIT_INTERNAL_ERROR: {
      // The data words are suberror-specific (for an emulation failure:
      // the instruction bytes, the exit reason and the GPA): all of them.
      std::string data;
      for (uint32_t i = 0; i < std::min<uint32_t>(run->internal.ndata, 16); i++)
        absl::StrAppend(&data, " 0x", absl::Hex(run->internal.data[i]));
      Log(LogLevel::kError, "%svCPU %d: KVM internal error, suberror %d, data:%s", tag_,
          vcpu->id(), run->internal.suberror, data.empty() ? " none" : data);
      Log(LogLevel::kError, "%svCPU %d: %s", tag_, vcpu->id(), machine_->DescribeVcpu(*vcpu));
      Stop(End::kCrash);
      return absl::OkStatus();
    }
    case KVM_EXIT_MEMORY_FAULT:
      // KVM could not map guest memory as the guest used it: a TVM's access
      // to a page as the other kind than it is (tvmm converts only what the
      // guest asks for by hypercall), or a page guest_memfd cannot give.
      Log(LogLevel::kError,
          "%svCPU %d: memory fault at 0x%x+0x%x (%s access): KVM cannot map it; %s", tag_,
          vcpu->id(), run->memory_fault.gpa, run->memory_fault.size,
          (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE) ? "private" : "shared",
          machine_->DescribeVcpu(*vcpu));
      Stop(End::kCrash);
      return absl::OkStatus();
    default:
      return absl::InternalError(
          absl::StrCat("vCPU ", vcpu->id(), ": unexpected exit reason ", run->exit_reason));
  }
}

absl::Status VmInstance::ConvertMemory(uint64_t gpa, uint64_t size, bool to_private) {
  absl::Status s = memory_.Convert(gpa, size, to_private, [&]() -> absl::Status {
    absl::Status k =
        vm_->SetMemoryAttributes(gpa, size, to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
    // The guest hears of KVM's refusals (EPERM: a measured page; EBUSY or
    // EAGAIN: a page the kernel still holds); any other error, EINVAL
    // among them, is tvmm's or the host's and ends the VM.
    if (k.ok() || absl::IsPermissionDenied(k) || absl::IsUnavailable(k)) return k;
    return absl::InternalError(k.message());
  });
  Log(LogLevel::kDebug, "%sguest memory 0x%x+0x%x to %s: %s", tag_, gpa, size,
      to_private ? "private" : "shared", s.ok() ? "done" : std::string(s.message()));
  return s;
}

void VmInstance::VcpuLoop(Vcpu* vcpu) {
  while (end_.load() == End::kNone) {
    if (pause_requested_.load()) {
      WaitWhilePaused(vcpu);
      continue;
    }
    absl::Status s = vcpu->Run();
    if (s.ok() && vcpu->run()->exit_reason == KVM_EXIT_INTR && vcpu->run()->immediate_exit) {
      // A pause this thread missed (it timed out while the thread was busy
      // elsewhere) was resumed since: without this, KVM_RUN would return
      // at once for ever.  end_ is looked at again before the next KVM_RUN.
      std::lock_guard lock(pause_mu_);
      if (!pause_requested_.load() && end_.load() == End::kNone) vcpu->run()->immediate_exit = 0;
    }
    if (s.ok()) s = HandleExit(vcpu);
    if (!s.ok()) Fail(s);
  }
}

}  // namespace tvmm
