/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_X86_SW_TVM_H
#define __KVM_X86_SW_TVM_H

#include <linux/kvm_host.h>

#ifdef CONFIG_KVM_SW_PROTECTED_VM
int kvm_sw_tvm_check_extension(struct kvm *kvm, long ext);
int kvm_sw_tvm_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
unsigned long kvm_sw_tvm_hypercall(struct kvm_vcpu *vcpu, unsigned long flags);
void kvm_sw_tvm_destroy_vm(struct kvm *kvm);
int kvm_sw_tvm_vcpu_may_run(struct kvm *kvm);
int kvm_sw_tvm_prepare_memory_region(struct kvm *kvm,
				     const struct kvm_memory_slot *old,
				     const struct kvm_memory_slot *new,
				     enum kvm_mr_change change);
#else
static inline int kvm_sw_tvm_check_extension(struct kvm *kvm, long ext)
{
	return 0;
}

static inline int kvm_sw_tvm_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
				      void __user *argp)
{
	return -ENOTTY;
}

static inline unsigned long kvm_sw_tvm_hypercall(struct kvm_vcpu *vcpu,
						 unsigned long flags)
{
	return -KVM_ENOSYS;
}

static inline void kvm_sw_tvm_destroy_vm(struct kvm *kvm)
{
}

static inline int kvm_sw_tvm_vcpu_may_run(struct kvm *kvm)
{
	return 0;
}

static inline int
kvm_sw_tvm_prepare_memory_region(struct kvm *kvm,
				 const struct kvm_memory_slot *old,
				 const struct kvm_memory_slot *new,
				 enum kvm_mr_change change)
{
	return 0;
}
#endif

#endif /* __KVM_X86_SW_TVM_H */
