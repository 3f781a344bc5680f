// SPDX-License-Identifier: GPL-2.0
// Host memory behind guest RAM: anonymous, memfd, hugetlb (2 MiB pages), or
// a guest_memfd mapped with GUEST_MEMFD_FLAG_MMAP | _INIT_SHARED, in which case
// the VM runs with all of its memory in guest_memfd.
#ifndef TVMM_MEMORY_BACKEND_H_
#define TVMM_MEMORY_BACKEND_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "cli/config.h"
#include "kvm/kvm.h"
#include "util/fd.h"

namespace tvmm {

struct MemoryBacking {
  MemoryBackendKind kind;
  UniqueFd fd;      // memfd, hugetlb memfd or guest_memfd; invalid for anon
  Mapping mapping;  // the whole of guest RAM, in guest-physical order

  bool is_guest_memfd() const { return kind == MemoryBackendKind::kGuestMemfd; }
};

// Whether @vm can run from a mapped guest_memfd; if not, why.
absl::Status GuestMemfdSupported(const Vm& vm);

// Guest RAM of a trusted VM (a VM with private memory): a guest_memfd with
// GUEST_MEMFD_FLAG_INPLACE_CONVERSION, mapped; its pages are shared until
// KVM_SET_MEMORY_ATTRIBUTES makes them private (CheckSwTvmSupport() first).
absl::StatusOr<MemoryBacking> CreateTvmBacking(const Vm& vm, uint64_t size);

// Creates @size bytes of the requested kind.  When @explicit_choice is false
// and guest_memfd is not supported, falls back to anonymous memory (and says
// so in *note).  An explicit choice is never replaced.
absl::StatusOr<MemoryBacking> CreateBacking(const Vm& vm, MemoryBackendKind kind,
                                            bool explicit_choice, uint64_t size,
                                            std::string* note);

}  // namespace tvmm

#endif  // TVMM_MEMORY_BACKEND_H_
