/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fault path's side of the per-VTL memory attribute layers, for the MMU
 * only (it needs struct kvm_page_fault and the RET_PF_* values).  See
 * vtl.h for the rest.
 */
#ifndef __KVM_X86_MMU_VTL_FAULT_H
#define __KVM_X86_MMU_VTL_FAULT_H

#include "mmu_internal.h"
#include "vtl.h"

#ifdef CONFIG_X86_64
int __kvm_vtl_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);
u8 __kvm_vtl_max_level(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault,
		       u8 level);

/*
 * Apply the faulting vCPU's VTL layer to a fault on a memslot-backed gfn:
 * exit to userspace on a violation, otherwise narrow the mapping's access
 * and size.  Returns RET_PF_CONTINUE or -EFAULT.
 */
static inline int kvm_vtl_faultin(struct kvm_vcpu *vcpu,
				  struct kvm_page_fault *fault)
{
	if (likely(!vcpu->kvm->arch.vtl_attrs))
		return RET_PF_CONTINUE;
	return __kvm_vtl_faultin(vcpu, fault);
}

/*
 * The largest level, at most @level, at which the faulting vCPU's VTL layer
 * is uniform around the fault's gfn: a huge page must not cover gfns whose
 * attributes differ.
 */
static inline u8 kvm_vtl_max_level(struct kvm_vcpu *vcpu,
				   struct kvm_page_fault *fault, u8 level)
{
	if (likely(!vcpu->kvm->arch.vtl_attrs) || level == PG_LEVEL_4K)
		return level;
	return __kvm_vtl_max_level(vcpu, fault, level);
}
#else
static inline int kvm_vtl_faultin(struct kvm_vcpu *vcpu,
				  struct kvm_page_fault *fault)
{
	return RET_PF_CONTINUE;
}

static inline u8 kvm_vtl_max_level(struct kvm_vcpu *vcpu,
				   struct kvm_page_fault *fault, u8 level)
{
	return level;
}
#endif

#endif /* __KVM_X86_MMU_VTL_FAULT_H */
