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
bool kvm_sw_tvm_hides_insn_bytes(struct kvm *kvm);
bool kvm_sw_tvm_is_private(struct kvm_vcpu *vcpu, gpa_t gpa);
int kvm_sw_tvm_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			  unsigned long len);
int kvm_sw_tvm_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa, const void *data,
			   unsigned long len);
int kvm_sw_tvm_access_private(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			      unsigned int len, bool write);
int kvm_sw_tvm_cmpxchg_private(struct kvm_vcpu *vcpu, gpa_t gpa, void *old,
			       const void *new, unsigned int size);
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

static inline bool kvm_sw_tvm_hides_insn_bytes(struct kvm *kvm)
{
	return false;
}

static inline bool kvm_sw_tvm_is_private(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	return false;
}

static inline int kvm_sw_tvm_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					void *data, unsigned long len)
{
	return kvm_vcpu_read_guest(vcpu, gpa, data, len);
}

static inline int kvm_sw_tvm_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					 const void *data, unsigned long len)
{
	return kvm_vcpu_write_guest(vcpu, gpa, data, len);
}

static inline int kvm_sw_tvm_access_private(struct kvm_vcpu *vcpu, gpa_t gpa,
					    void *data, unsigned int len,
					    bool write)
{
	return -ENOENT;
}

static inline int kvm_sw_tvm_cmpxchg_private(struct kvm_vcpu *vcpu, gpa_t gpa,
					     void *old, const void *new,
					     unsigned int size)
{
	return -ENOENT;
}
#endif

#endif /* __KVM_X86_SW_TVM_H */
