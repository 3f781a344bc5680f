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

/* Whether @kvm is a software-protected VM (and this kernel has them). */
static inline bool kvm_is_sw_tvm(struct kvm *kvm)
{
	return IS_ENABLED(CONFIG_KVM_SW_PROTECTED_VM) &&
	       kvm->arch.vm_type == KVM_X86_SW_PROTECTED_VM;
}

/*
 * The emulator's accesses to guest memory, see sw_tvm.c.  Other VMs take the
 * usual path without leaving the caller: these run for every emulated access
 * and every level of a guest page-table walk.
 */
bool __kvm_sw_tvm_is_private(struct kvm_vcpu *vcpu, gpa_t gpa);
int __kvm_sw_tvm_rw_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			  unsigned long len, bool write);
int __kvm_sw_tvm_access_private(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
				unsigned int len, bool write);
int __kvm_sw_tvm_cmpxchg_private(struct kvm_vcpu *vcpu, gpa_t gpa, void *old,
				 const void *new, unsigned int size);

/* Whether @gpa is private memory of a sw TVM (a gfn in a guest_memfd slot). */
static inline bool kvm_sw_tvm_is_private(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	return kvm_is_sw_tvm(vcpu->kvm) && __kvm_sw_tvm_is_private(vcpu, gpa);
}

/* kvm_vcpu_read_guest(), with a sw TVM's private gfns from guest_memfd. */
static inline int kvm_sw_tvm_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					void *data, unsigned long len)
{
	if (!kvm_is_sw_tvm(vcpu->kvm))
		return kvm_vcpu_read_guest(vcpu, gpa, data, len);
	return __kvm_sw_tvm_rw_guest(vcpu, gpa, data, len, false);
}

/* kvm_vcpu_write_guest(), with a sw TVM's private gfns in guest_memfd. */
static inline int kvm_sw_tvm_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					 const void *data, unsigned long len)
{
	if (!kvm_is_sw_tvm(vcpu->kvm))
		return kvm_vcpu_write_guest(vcpu, gpa, data, len);
	return __kvm_sw_tvm_rw_guest(vcpu, gpa, (void *)data, len, true);
}

/*
 * Read or write @len bytes (in one page) of a private gfn: 0, -ENOENT if
 * @gpa is not private memory of a sw TVM, or another negative errno.
 */
static inline int kvm_sw_tvm_access_private(struct kvm_vcpu *vcpu, gpa_t gpa,
					    void *data, unsigned int len,
					    bool write)
{
	if (!kvm_is_sw_tvm(vcpu->kvm))
		return -ENOENT;
	return __kvm_sw_tvm_access_private(vcpu, gpa, data, len, write);
}

/*
 * Compare and exchange on a private gfn: 0 if exchanged, 1 if the value was
 * not *@old (which then holds it), -ENOENT if @gpa is not private memory of
 * a sw TVM, or another negative errno.
 */
static inline int kvm_sw_tvm_cmpxchg_private(struct kvm_vcpu *vcpu, gpa_t gpa,
					     void *old, const void *new,
					     unsigned int size)
{
	if (!kvm_is_sw_tvm(vcpu->kvm))
		return -ENOENT;
	return __kvm_sw_tvm_cmpxchg_private(vcpu, gpa, old, new, size);
}

#endif /* __KVM_X86_SW_TVM_H */
