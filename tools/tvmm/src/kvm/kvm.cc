// SPDX-License-Identifier: GPL-2.0
#include "kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {

absl::Status Vcpu::Ioctl(unsigned long request, void* arg, absl::string_view what) const {
  if (ioctl(fd_.get(), request, arg) < 0)
    return ErrnoStatus(absl::StrCat(what, " (vCPU ", id_, ")"));
  return absl::OkStatus();
}

absl::Status Vcpu::Run() {
  if (ioctl(fd_.get(), KVM_RUN, 0) == 0) return absl::OkStatus();
  if (errno == EINTR || errno == EAGAIN) {
    run()->exit_reason = KVM_EXIT_INTR;
    return absl::OkStatus();
  }
  // KVM_RUN fails with EFAULT when it fills in a memory fault exit.
  if (errno == EFAULT && run()->exit_reason == KVM_EXIT_MEMORY_FAULT) return absl::OkStatus();
  return ErrnoStatus(absl::StrCat("KVM_RUN (vCPU ", id_, ")"));
}

absl::Status Vcpu::GetOneReg(uint64_t id, void* value) const {
  kvm_one_reg reg = {id, reinterpret_cast<uint64_t>(value)};
  return Ioctl(KVM_GET_ONE_REG, &reg, absl::StrCat("KVM_GET_ONE_REG 0x", absl::Hex(id)));
}

absl::Status Vcpu::SetOneReg(uint64_t id, const void* value) const {
  kvm_one_reg reg = {id, reinterpret_cast<uint64_t>(value)};
  return Ioctl(KVM_SET_ONE_REG, &reg, absl::StrCat("KVM_SET_ONE_REG 0x", absl::Hex(id)));
}

int Vm::CheckExtension(long cap) const {
  int r = ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

absl::Status Vm::Ioctl(unsigned long request, void* arg, absl::string_view what) const {
  if (ioctl(fd_.get(), request, arg) < 0) return ErrnoStatus(what);
  return absl::OkStatus();
}

absl::Status Vm::Ioctl(unsigned long request, unsigned long arg, absl::string_view what) const {
  if (ioctl(fd_.get(), request, arg) < 0) return ErrnoStatus(what);
  return absl::OkStatus();
}

absl::StatusOr<Vcpu> Vm::CreateVcpu(uint32_t id) const {
  UniqueFd fd(ioctl(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id)));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("KVM_CREATE_VCPU ", id));
  TVMM_ASSIGN_OR_RETURN(Mapping run, Mapping::Map(vcpu_mmap_size_, PROT_READ | PROT_WRITE,
                                                   MAP_SHARED, fd.get()));
  return Vcpu(std::move(fd), std::move(run), id);
}

absl::Status Vm::SetUserMemoryRegion(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                                     void* hva, int guest_memfd,
                                     uint64_t guest_memfd_offset) const {
  kvm_userspace_memory_region2 region = {};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(hva);
  if (guest_memfd >= 0) {
    region.guest_memfd = guest_memfd;
    region.guest_memfd_offset = guest_memfd_offset;
  }
  return Ioctl(KVM_SET_USER_MEMORY_REGION2, &region,
               absl::StrCat("KVM_SET_USER_MEMORY_REGION2 (slot ", slot, ")"));
}

absl::StatusOr<UniqueFd> Vm::CreateGuestMemfd(uint64_t size, uint64_t flags) const {
  kvm_create_guest_memfd args = {};
  args.size = size;
  args.flags = flags;
  UniqueFd fd(ioctl(fd_.get(), KVM_CREATE_GUEST_MEMFD, &args));
  if (!fd.valid()) return ErrnoStatus("KVM_CREATE_GUEST_MEMFD");
  return fd;
}

absl::Status Vm::SetMemoryAttributes(uint64_t gpa, uint64_t size, uint64_t attributes) const {
  kvm_memory_attributes attrs = {};
  attrs.address = gpa;
  attrs.size = size;
  attrs.attributes = attributes;
  return Ioctl(KVM_SET_MEMORY_ATTRIBUTES, &attrs, "KVM_SET_MEMORY_ATTRIBUTES");
}

absl::Status Vm::IrqLine(uint32_t irq, bool level) const {
  kvm_irq_level line = {};
  line.irq = irq;
  line.level = level;
  return Ioctl(KVM_IRQ_LINE, &line, "KVM_IRQ_LINE");
}

absl::Status Vm::IoEventFd(uint64_t addr, uint32_t len, uint64_t datamatch, int fd,
                           bool assign) const {
  kvm_ioeventfd args = {};
  args.datamatch = datamatch;
  args.addr = addr;
  args.len = len;
  args.fd = fd;
  args.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
  return Ioctl(KVM_IOEVENTFD, &args,
               absl::StrCat("KVM_IOEVENTFD (0x", absl::Hex(addr), " = ", datamatch, ")"));
}

absl::Status Vm::IrqFd(uint32_t gsi, int fd, int resample_fd, bool assign) const {
  kvm_irqfd args = {};
  args.fd = fd;
  args.gsi = gsi;
  if (!assign) {
    args.flags = KVM_IRQFD_FLAG_DEASSIGN;
  } else if (resample_fd >= 0) {
    args.flags = KVM_IRQFD_FLAG_RESAMPLE;
    args.resamplefd = resample_fd;
  }
  return Ioctl(KVM_IRQFD, &args, absl::StrCat("KVM_IRQFD (GSI ", gsi, ")"));
}

absl::StatusOr<Kvm> Kvm::Open(const char* path) {
  UniqueFd fd(open(path, O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("open ", path));
  int version = ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": KVM API version ", version, ", expected ", KVM_API_VERSION));
  }
  int size = ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < static_cast<int>(sizeof(kvm_run))) return ErrnoStatus("KVM_GET_VCPU_MMAP_SIZE");
  return Kvm(std::move(fd), size);
}

int Kvm::CheckExtension(long cap) const {
  int r = ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

absl::StatusOr<Vm> Kvm::CreateVm(unsigned long type) const {
  UniqueFd fd;
  // KVM_CREATE_VM can fail with EINTR while the mm is being set up.
  do {
    fd.Reset(ioctl(fd_.get(), KVM_CREATE_VM, type));
  } while (!fd.valid() && errno == EINTR);
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("KVM_CREATE_VM (type ", type, ")"));
  return Vm(std::move(fd), vcpu_mmap_size_);
}

absl::Status Kvm::Ioctl(unsigned long request, void* arg, absl::string_view what) const {
  if (ioctl(fd_.get(), request, arg) < 0) return ErrnoStatus(what);
  return absl::OkStatus();
}

}  // namespace tvmm
