/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM RISC-V CoVE host driver: TVMs created and run by a TSM through the
 * COVH SBI extension (deployment model 1).  See
 * Documentation/virt/kvm/riscv/cove.rst.
 */
#ifndef __KVM_RISCV_COVE_H
#define __KVM_RISCV_COVE_H

#include <linux/errno.h>
#include <linux/init.h>
#include <linux/kvm_types.h>
#include <linux/types.h>

struct kvm;
struct kvm_cove_tvm;
struct kvm_gfn_range;
struct kvm_memory_slot;
struct kvm_vcpu;

#ifdef CONFIG_KVM_RISCV_COVE
void __init kvm_riscv_cove_init(void);
void kvm_riscv_cove_exit(void);
void kvm_riscv_cove_debugfs_init(void);
bool kvm_riscv_cove_enabled(void);
int kvm_riscv_cove_check_extension(struct kvm *kvm, long ext);
int kvm_riscv_cove_init_vm(struct kvm *kvm);
void kvm_riscv_cove_destroy_vm(struct kvm *kvm);
int kvm_riscv_cove_vcpu_precreate(struct kvm *kvm, unsigned int id);
void kvm_riscv_cove_vcpu_postcreate(struct kvm_vcpu *vcpu);
void kvm_riscv_cove_vcpu_destroy(struct kvm_vcpu *vcpu);
bool kvm_riscv_cove_vcpu(struct kvm_vcpu *vcpu);
int kvm_riscv_cove_vcpu_run(struct kvm_vcpu *vcpu);
int kvm_riscv_cove_vcpu_one_reg(struct kvm_vcpu *vcpu);
int kvm_riscv_cove_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
int kvm_riscv_cove_check_memory_attributes(struct kvm *kvm, gfn_t start, gfn_t end,
					   unsigned long attributes);
void kvm_riscv_cove_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range);
void kvm_riscv_cove_flush_memslot(struct kvm *kvm, struct kvm_memory_slot *slot);
bool kvm_riscv_cove_pre_set_memory_attributes(struct kvm *kvm, struct kvm_gfn_range *range);
#else
static inline void kvm_riscv_cove_init(void) {}
static inline void kvm_riscv_cove_exit(void) {}
static inline void kvm_riscv_cove_debugfs_init(void) {}
static inline bool kvm_riscv_cove_enabled(void)
{
	return false;
}

static inline int kvm_riscv_cove_check_extension(struct kvm *kvm, long ext)
{
	return 0;
}

static inline int kvm_riscv_cove_init_vm(struct kvm *kvm)
{
	return 0;
}

static inline void kvm_riscv_cove_destroy_vm(struct kvm *kvm) {}
static inline int kvm_riscv_cove_vcpu_precreate(struct kvm *kvm, unsigned int id)
{
	return 0;
}

static inline void kvm_riscv_cove_vcpu_postcreate(struct kvm_vcpu *vcpu) {}
static inline void kvm_riscv_cove_vcpu_destroy(struct kvm_vcpu *vcpu) {}
static inline bool kvm_riscv_cove_vcpu(struct kvm_vcpu *vcpu)
{
	return false;
}

static inline int kvm_riscv_cove_vcpu_run(struct kvm_vcpu *vcpu)
{
	return -EINVAL;
}

static inline int kvm_riscv_cove_vcpu_one_reg(struct kvm_vcpu *vcpu)
{
	return 0;
}

static inline int kvm_riscv_cove_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
					  void __user *argp)
{
	return -EINVAL;
}

static inline int kvm_riscv_cove_check_memory_attributes(struct kvm *kvm, gfn_t start,
							 gfn_t end,
							 unsigned long attributes)
{
	return 0;
}

static inline void kvm_riscv_cove_unmap_gfn_range(struct kvm *kvm,
						  struct kvm_gfn_range *range) {}
static inline void kvm_riscv_cove_flush_memslot(struct kvm *kvm,
						struct kvm_memory_slot *slot) {}

static inline bool kvm_riscv_cove_pre_set_memory_attributes(struct kvm *kvm,
							    struct kvm_gfn_range *range)
{
	return false;
}
#endif

#endif /* __KVM_RISCV_COVE_H */
