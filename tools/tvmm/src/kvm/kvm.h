// SPDX-License-Identifier: GPL-2.0
// Thin, owning wrappers over the /dev/kvm, VM and vCPU file descriptors.
// Every ioctl returns absl::Status; nothing here knows about an architecture
// (arch/x86/vcpu.h has x86's register and CPUID ioctls; other architectures
// use ONE_REG).
#ifndef TVMM_KVM_KVM_H_
#define TVMM_KVM_KVM_H_

#include <linux/kvm.h>

#include <cstdint>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "util/fd.h"

namespace tvmm {

class Vcpu {
 public:
  Vcpu(UniqueFd fd, Mapping run, uint32_t id)
      : fd_(std::move(fd)), run_(std::move(run)), id_(id) {}

  uint32_t id() const { return id_; }
  int fd() const { return fd_.get(); }
  kvm_run* run() const { return reinterpret_cast<kvm_run*>(run_.data()); }

  // KVM_RUN.  EINTR (a signal asked us to look around) and EAGAIN are not
  // errors: run()->exit_reason is then KVM_EXIT_INTR.  Nor is the EFAULT
  // that comes with KVM_EXIT_MEMORY_FAULT.
  absl::Status Run();

  absl::Status Ioctl(unsigned long request, void* arg, absl::string_view what) const;

  // KVM_GET_ONE_REG / KVM_SET_ONE_REG: register @id (KVM_REG_*, with its
  // size in the id) from or to @value, which must be that size.
  absl::Status GetOneReg(uint64_t id, void* value) const;
  absl::Status SetOneReg(uint64_t id, const void* value) const;

 private:
  UniqueFd fd_;
  Mapping run_;
  uint32_t id_;
};

class Vm {
 public:
  Vm(UniqueFd fd, int vcpu_mmap_size) : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  int fd() const { return fd_.get(); }

  // KVM_CHECK_EXTENSION on the VM: what this VM supports.
  int CheckExtension(long cap) const;

  absl::StatusOr<Vcpu> CreateVcpu(uint32_t id) const;

  absl::Status SetUserMemoryRegion(uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                                   void* hva, int guest_memfd = -1,
                                   uint64_t guest_memfd_offset = 0) const;
  absl::StatusOr<UniqueFd> CreateGuestMemfd(uint64_t size, uint64_t flags) const;
  absl::Status SetMemoryAttributes(uint64_t gpa, uint64_t size, uint64_t attributes) const;

  absl::Status IrqLine(uint32_t irq, bool level) const;
  // KVM_IOEVENTFD: a guest write of @len bytes equal to @datamatch to MMIO
  // address @addr signals eventfd @fd in the kernel instead of exiting.
  // @assign false removes it again.
  absl::Status IoEventFd(uint64_t addr, uint32_t len, uint64_t datamatch, int fd,
                         bool assign) const;
  // KVM_IRQFD: signalling @fd raises GSI @gsi.  With @resample_fd >= 0 the
  // line is level-triggered: KVM holds it up until the guest's EOI, then
  // lowers it and signals @resample_fd.  @assign false removes it again.
  absl::Status IrqFd(uint32_t gsi, int fd, int resample_fd, bool assign) const;
  absl::Status Ioctl(unsigned long request, void* arg, absl::string_view what) const;
  absl::Status Ioctl(unsigned long request, unsigned long arg, absl::string_view what) const;

 private:
  UniqueFd fd_;
  int vcpu_mmap_size_;
};

class Kvm {
 public:
  // Opens the KVM device and checks its API version.
  static absl::StatusOr<Kvm> Open(const char* path = "/dev/kvm");
  // For tests: @fd as the KVM device, unchecked (another device answers
  // every KVM_CHECK_EXTENSION with 0: a KVM with no capability).  No vCPU
  // can be created through it.
  static Kvm ForTesting(UniqueFd fd) { return Kvm(std::move(fd), 0); }

  int fd() const { return fd_.get(); }
  int CheckExtension(long cap) const;
  absl::StatusOr<Vm> CreateVm(unsigned long type = 0) const;
  absl::Status Ioctl(unsigned long request, void* arg, absl::string_view what) const;

 private:
  explicit Kvm(UniqueFd fd, int vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  int vcpu_mmap_size_;
};

}  // namespace tvmm

#endif  // TVMM_KVM_KVM_H_
