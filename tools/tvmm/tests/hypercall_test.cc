// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/hypercall.h"

#include <gtest/gtest.h>
#include <linux/kvm_para.h>

#include <vector>

namespace tvmm::x86 {
namespace {

struct Call {
  uint64_t gpa, size;
  bool to_private;
};

// KVM_HC_MAP_GPA_RANGE as the guest sees it: what reaches the conversion,
// and the value in RAX for each answer.
TEST(MapGpaRange, ChecksTheAttributesAndMapsEachAnswer) {
  std::vector<Call> calls;
  absl::Status answer;
  ExitServices services{nullptr, [&](uint64_t gpa, uint64_t size, bool to_private) {
                          calls.push_back({gpa, size, to_private});
                          return answer;
                        }};
  auto rax = [&](uint64_t gpa, uint64_t npages, uint64_t attrs) {
    const uint64_t args[] = {gpa, npages, attrs, 0, 0, 0};
    absl::StatusOr<uint64_t> r = HandleHypercall(KVM_HC_MAP_GPA_RANGE, args, services);
    EXPECT_TRUE(r.ok()) << r.status();
    return static_cast<int64_t>(r.value_or(0));
  };
  EXPECT_EQ(rax(0x10000, 2, KVM_MAP_GPA_RANGE_ENCRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_2M), 0);
  EXPECT_EQ(rax(0x10000, 1, 0), 0);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].gpa, 0x10000u);
  EXPECT_EQ(calls[0].size, 0x2000u);
  EXPECT_TRUE(calls[0].to_private);
  EXPECT_FALSE(calls[1].to_private);

  // Refused before any conversion.
  EXPECT_EQ(rax(0x10000, 1, 1 << 5), -KVM_EINVAL);
  EXPECT_EQ(rax(0x10000, 1, KVM_MAP_GPA_RANGE_PAGE_SZ_2M | KVM_MAP_GPA_RANGE_PAGE_SZ_1G),
            -KVM_EINVAL);
  EXPECT_EQ(rax(0x10000, uint64_t{1} << 52, 0), -KVM_EINVAL);  // bytes overflow
  EXPECT_EQ(calls.size(), 2u);

  answer = absl::InvalidArgumentError("not RAM");
  EXPECT_EQ(rax(0x10000, 1, 0), -KVM_EINVAL);
  answer = absl::PermissionDeniedError("measured");
  EXPECT_EQ(rax(0x10000, 1, 0), -KVM_EPERM);
  answer = absl::UnavailableError("in use");
  EXPECT_EQ(rax(0x10000, 1, KVM_MAP_GPA_RANGE_ENCRYPTED), kHypercallBusy);
  EXPECT_EQ(kHypercallBusy, -16);

  // Anything else ends the VM.
  answer = absl::ResourceExhaustedError("KVM_SET_MEMORY_ATTRIBUTES: ENOMEM");
  const uint64_t args[] = {0x10000, 1, 0, 0, 0, 0};
  EXPECT_FALSE(HandleHypercall(KVM_HC_MAP_GPA_RANGE, args, services).ok());
}

TEST(MapGpaRange, OtherHypercallsAndNoConversionsAreEnosys) {
  const uint64_t args[] = {0x10000, 1, 0, 0, 0, 0};
  ExitServices none{nullptr, nullptr};
  EXPECT_EQ(*HandleHypercall(KVM_HC_MAP_GPA_RANGE, args, none), static_cast<uint64_t>(-KVM_ENOSYS));
  ExitServices services{nullptr, [](uint64_t, uint64_t, bool) { return absl::OkStatus(); }};
  EXPECT_EQ(*HandleHypercall(KVM_HC_SEND_IPI, args, services), static_cast<uint64_t>(-KVM_ENOSYS));
  EXPECT_EQ(*HandleHypercall(KVM_HC_MAP_GPA_RANGE, absl::MakeConstSpan(args, 2), services),
            static_cast<uint64_t>(-KVM_ENOSYS));
}

}  // namespace
}  // namespace tvmm::x86
