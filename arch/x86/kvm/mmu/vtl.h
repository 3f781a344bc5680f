/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-VTL memory attribute layers (Hyper-V VSM Virtual Trust Levels).
 * See Documentation/virt/kvm/x86/vtl-memory-attributes.rst.
 */
#ifndef __KVM_X86_MMU_VTL_H
#define __KVM_X86_MMU_VTL_H

#include <linux/kvm_host.h>

struct kvm_page_fault;

#ifdef CONFIG_X86_64
int kvm_vtl_check_extension(struct kvm *kvm, long ext);
int kvm_vtl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvm_vtl_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
int kvm_vtl_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
		       void __user *argp);
void kvm_vtl_destroy_vm(struct kvm *kvm);
int kvm_vtl_check_cpuid(struct kvm_vcpu *vcpu,
			const struct kvm_cpuid_entry2 *entries, int nent);
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
		return 0;	/* RET_PF_CONTINUE */
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
static inline int kvm_vtl_check_extension(struct kvm *kvm, long ext)
{
	return 0;
}

static inline int kvm_vtl_enable_cap(struct kvm *kvm,
				     struct kvm_enable_cap *cap)
{
	return -EINVAL;
}

static inline int kvm_vtl_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
				   void __user *argp)
{
	return -ENOTTY;
}

static inline int kvm_vtl_vcpu_ioctl(struct kvm_vcpu *vcpu,
				     unsigned int ioctl, void __user *argp)
{
	return -EINVAL;
}

static inline void kvm_vtl_destroy_vm(struct kvm *kvm) {}

static inline int kvm_vtl_check_cpuid(struct kvm_vcpu *vcpu,
				      const struct kvm_cpuid_entry2 *entries,
				      int nent)
{
	return 0;
}

static inline int kvm_vtl_faultin(struct kvm_vcpu *vcpu,
				  struct kvm_page_fault *fault)
{
	return 0;
}

static inline u8 kvm_vtl_max_level(struct kvm_vcpu *vcpu,
				   struct kvm_page_fault *fault, u8 level)
{
	return level;
}
#endif

#endif /* __KVM_X86_MMU_VTL_H */
