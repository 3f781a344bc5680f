// SPDX-License-Identifier: GPL-2.0
#include "memory/backend.h"

#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "util/status.h"

namespace tvmm {
namespace {

constexpr uint64_t kGmemFlags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

absl::StatusOr<MemoryBacking> CreateMemfd(MemoryBackendKind kind, uint64_t size) {
  unsigned int flags = MFD_CLOEXEC;
  if (kind == MemoryBackendKind::kHugetlb) flags |= MFD_HUGETLB | MFD_HUGE_2MB;
  UniqueFd fd(memfd_create("tvmm-guest-ram", flags));
  if (!fd.valid()) return ErrnoStatus("memfd_create");
  if (ftruncate(fd.get(), size) < 0) return ErrnoStatus("ftruncate of the guest RAM memfd");
  absl::StatusOr<Mapping> mapping =
      Mapping::Map(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get());
  if (!mapping.ok()) {
    if (kind == MemoryBackendKind::kHugetlb) {
      return absl::ResourceExhaustedError(
          absl::StrCat("hugetlb: cannot reserve ", size >> 20, " MiB of 2 MiB pages (",
                       mapping.status().message(), "); see /proc/sys/vm/nr_hugepages"));
    }
    return mapping.status();
  }
  return MemoryBacking{kind, std::move(fd), *std::move(mapping)};
}

}  // namespace

absl::Status GuestMemfdSupported(const Vm& vm) {
  int flags = vm.CheckExtension(KVM_CAP_GUEST_MEMFD_FLAGS);
  if ((flags & kGmemFlags) != kGmemFlags) {
    return absl::UnimplementedError(absl::StrCat(
        "this kernel's KVM cannot run a VM from a mapped guest_memfd "
        "(KVM_CAP_GUEST_MEMFD_FLAGS is ", flags,
        ", needs GUEST_MEMFD_FLAG_MMAP and GUEST_MEMFD_FLAG_INIT_SHARED; load tvmm's KVM modules)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MemoryBacking> CreateTvmBacking(const Vm& vm, uint64_t size) {
  constexpr uint64_t kFlags = kGmemFlags | GUEST_MEMFD_FLAG_INPLACE_CONVERSION;
  if (vm.CheckExtension(KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION) != 1 ||
      !(vm.CheckExtension(KVM_CAP_GUEST_MEMFD_FLAGS) & GUEST_MEMFD_FLAG_MMAP)) {
    return UsageError(absl::FailedPreconditionError(
        "--tvm: this VM cannot map a guest_memfd that converts in place (needs the TDP MMU)"));
  }
  TVMM_ASSIGN_OR_RETURN(UniqueFd fd, vm.CreateGuestMemfd(size, kFlags));
  TVMM_ASSIGN_OR_RETURN(Mapping mapping,
                        Mapping::Map(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get()));
  return MemoryBacking{MemoryBackendKind::kGuestMemfd, std::move(fd), std::move(mapping)};
}

absl::StatusOr<MemoryBacking> CreateBacking(const Vm& vm, MemoryBackendKind kind,
                                            bool explicit_choice, uint64_t size,
                                            std::string* note) {
  switch (kind) {
    case MemoryBackendKind::kAnon: {
      TVMM_ASSIGN_OR_RETURN(
          Mapping mapping,
          Mapping::Map(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE));
      return MemoryBacking{kind, UniqueFd(), std::move(mapping)};
    }
    case MemoryBackendKind::kMemfd:
    case MemoryBackendKind::kHugetlb:
      return CreateMemfd(kind, size);
    case MemoryBackendKind::kGuestMemfd: {
      if (absl::Status s = GuestMemfdSupported(vm); !s.ok()) {
        if (explicit_choice) {
          return UsageError(
              absl::Status(s.code(), absl::StrCat("--memory-backend=guest_memfd: ", s.message())));
        }
        if (note) *note = absl::StrCat("guest_memfd unavailable, using anonymous memory: ", s.message());
        return CreateBacking(vm, MemoryBackendKind::kAnon, false, size, nullptr);
      }
      TVMM_ASSIGN_OR_RETURN(UniqueFd fd, vm.CreateGuestMemfd(size, kGmemFlags));
      TVMM_ASSIGN_OR_RETURN(Mapping mapping,
                            Mapping::Map(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get()));
      return MemoryBacking{kind, std::move(fd), std::move(mapping)};
    }
  }
  return absl::InvalidArgumentError("unknown memory backend");
}

}  // namespace tvmm
