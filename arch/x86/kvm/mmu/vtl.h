/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-VTL memory attribute layers (Hyper-V VSM Virtual Trust Levels).
 * See Documentation/virt/kvm/x86/vtl-memory-attributes.rst.
 */
#ifndef __KVM_X86_MMU_VTL_H
#define __KVM_X86_MMU_VTL_H

#include <linux/kvm_host.h>

#ifdef CONFIG_X86_64
int kvm_vtl_check_extension(struct kvm *kvm, long ext);
int kvm_vtl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvm_vtl_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
int kvm_vtl_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
		       void __user *argp);
void kvm_vtl_destroy_vm(struct kvm *kvm);
int kvm_vtl_check_cpuid(struct kvm_vcpu *vcpu,
			const struct kvm_cpuid_entry2 *entries, int nent);
bool kvm_vtl_range_restricted(struct kvm *kvm, gfn_t start, gfn_t end);

bool __kvm_vtl_deny_emulated(struct kvm_vcpu *vcpu, gpa_t gpa, bool write);
bool __kvm_vtl_deny_fetch(struct kvm_vcpu *vcpu, gpa_t gpa);
int __kvm_vtl_check_range(struct kvm *kvm, gpa_t gpa, unsigned long len,
			  bool write);
int __kvm_vtl_set_pv_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data);

/*
 * Before an MSR write: 1 if it would put a PV page that KVM writes on a
 * gfn a layer makes NR or NW (see __kvm_vtl_set_pv_msr()), else 0.
 */
static inline int kvm_vtl_set_pv_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data)
{
	if (likely(!vcpu->kvm->arch.vtl_attrs))
		return 0;
	return __kvm_vtl_set_pv_msr(vcpu, msr, data);
}

/*
 * Whether the vCPU's layer forbids an access that KVM emulates for it; if
 * so, a KVM_EXIT_MEMORY_FAULT exit is prepared for kvm_vtl_take_exit().
 */
static inline bool kvm_vtl_deny_emulated(struct kvm_vcpu *vcpu, gpa_t gpa,
					 bool write)
{
	if (likely(!vcpu->kvm->arch.vtl_attrs))
		return false;
	return __kvm_vtl_deny_emulated(vcpu, gpa, write);
}

/* The same for the emulator's instruction fetch (NR or NX forbid it). */
static inline bool kvm_vtl_deny_fetch(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	if (likely(!vcpu->kvm->arch.vtl_attrs))
		return false;
	return __kvm_vtl_deny_fetch(vcpu, gpa);
}

/*
 * kvm_read_guest() and kvm_write_guest() for a buffer a hypercall of the
 * running vCPU names (and for its SMM state-save area): -EFAULT, as for a
 * gpa without memory, when the vCPU's layer forbids the access on one of
 * its pages.
 */
static inline int kvm_vtl_read_guest(struct kvm *kvm, gpa_t gpa, void *data,
				     unsigned long len)
{
	if (unlikely(kvm->arch.vtl_attrs) &&
	    __kvm_vtl_check_range(kvm, gpa, len, false))
		return -EFAULT;
	return kvm_read_guest(kvm, gpa, data, len);
}

static inline int kvm_vtl_vcpu_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					  void *data, unsigned long len)
{
	if (unlikely(vcpu->kvm->arch.vtl_attrs) &&
	    __kvm_vtl_check_range(vcpu->kvm, gpa, len, false))
		return -EFAULT;
	return kvm_vcpu_read_guest(vcpu, gpa, data, len);
}

static inline int kvm_vtl_write_guest(struct kvm *kvm, gpa_t gpa,
				      const void *data, unsigned long len)
{
	if (unlikely(kvm->arch.vtl_attrs) &&
	    __kvm_vtl_check_range(kvm, gpa, len, true))
		return -EFAULT;
	return kvm_write_guest(kvm, gpa, data, len);
}

static inline int kvm_vtl_vcpu_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					   const void *data, unsigned long len)
{
	if (unlikely(vcpu->kvm->arch.vtl_attrs) &&
	    __kvm_vtl_check_range(vcpu->kvm, gpa, len, true))
		return -EFAULT;
	return kvm_vcpu_write_guest(vcpu, gpa, data, len);
}
#else
static inline bool kvm_vtl_deny_fetch(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	return false;
}

static inline int kvm_vtl_read_guest(struct kvm *kvm, gpa_t gpa, void *data,
				     unsigned long len)
{
	return kvm_read_guest(kvm, gpa, data, len);
}

static inline int kvm_vtl_vcpu_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					  void *data, unsigned long len)
{
	return kvm_vcpu_read_guest(vcpu, gpa, data, len);
}

static inline int kvm_vtl_write_guest(struct kvm *kvm, gpa_t gpa,
				      const void *data, unsigned long len)
{
	return kvm_write_guest(kvm, gpa, data, len);
}

static inline int kvm_vtl_vcpu_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa,
					   const void *data, unsigned long len)
{
	return kvm_vcpu_write_guest(vcpu, gpa, data, len);
}

static inline bool kvm_vtl_deny_emulated(struct kvm_vcpu *vcpu, gpa_t gpa,
					 bool write)
{
	return false;
}

static inline int kvm_vtl_set_pv_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data)
{
	return 0;
}

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

static inline bool kvm_vtl_range_restricted(struct kvm *kvm, gfn_t start,
					    gfn_t end)
{
	return false;
}

static inline int kvm_vtl_check_cpuid(struct kvm_vcpu *vcpu,
				      const struct kvm_cpuid_entry2 *entries,
				      int nent)
{
	return 0;
}
#endif

/*
 * Whether an emulated access was refused since the last call (see
 * kvm_vtl_deny_emulated()); if so, the KVM_EXIT_MEMORY_FAULT is filled in
 * and the caller returns -EFAULT, which makes KVM_RUN return with it.
 */
static inline bool kvm_vtl_take_exit(struct kvm_vcpu *vcpu)
{
	u64 flags = vcpu->arch.vtl_exit_flags;

	if (likely(!flags))
		return false;
	vcpu->arch.vtl_exit_flags = 0;
	kvm_prepare_memory_fault_exit(vcpu, vcpu->arch.vtl_exit_gpa, PAGE_SIZE,
				      false, false, false);
	vcpu->run->memory_fault.flags = flags;
	return true;
}

/*
 * End the vCPU's checked-access section (see kvm_vtl_access_begin() in
 * vtl.c): called where no access that passed a check of the layer can still
 * be pending, so that KVM_SET_VTL_MEMORY_ATTRIBUTES need not wait for it.
 */
static inline void kvm_vtl_access_end(struct kvm_vcpu *vcpu)
{
	unsigned long seq = vcpu->arch.vtl_access_seq;

	if (unlikely(seq & 1)) {
		/* Orders the allowed access before the end the writer waits for. */
		smp_store_release(&vcpu->arch.vtl_access_seq, seq + 1);
	}
}

/*
 * Drop a refusal that no exit will report (KVM_TRANSLATE, a new emulation,
 * a new VM exit); no checked access is pending there either.
 */
static inline void kvm_vtl_forget_exit(struct kvm_vcpu *vcpu)
{
	vcpu->arch.vtl_exit_flags = 0;
	kvm_vtl_access_end(vcpu);
}

#endif /* __KVM_X86_MMU_VTL_H */
