/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM RISC-V CoVE host driver: what cove.c (TVMs, their memory) and
 * cove_vcpu.c (their vCPUs) share.
 */
#ifndef __KVM_RISCV_COVE_INTERNAL_H
#define __KVM_RISCV_COVE_INTERNAL_H

#include <linux/hrtimer.h>
#include <linux/kvm_host.h>
#include <linux/xarray.h>

struct cove_range {
	phys_addr_t pa;
	unsigned long nr;
	bool converted;		/* the TSM holds them */
};

/* Page-table pages given to the TSM, a chunk at a time. */
#define COVE_PT_CHUNK_ORDER		2
#define COVE_PT_CHUNK_PAGES		BIT(COVE_PT_CHUNK_ORDER)
#define COVE_MAX_PT_CHUNKS		256	/* 4 MiB of tables */
#define COVE_MAX_REGIONS		16
/* vCPUs per TVM: the TSM's limit, at most this many. */
#define COVE_MAX_VCPUS			64

/* What the last exit to userspace leaves for the next KVM_RUN to finish. */
enum cove_pending {
	COVE_PENDING_NONE,
	COVE_PENDING_SBI,	/* a0, a1 from run->riscv_sbi.ret */
	COVE_PENDING_MMIO_LOAD,	/* a0 from run->mmio.data */
	COVE_PENDING_CONVERT,	/* a COVG share or unshare */
};

/* A TVM vCPU: the TSM's state pages and what the host keeps of it. */
struct cove_vcpu {
	struct page *state;
	struct cove_range range;	/* the state pages */
	bool created;			/* the TSM's vCPU exists */

	/*
	 * The TVM's SBI timer, set up with the TSM's vCPU (before any KVM
	 * vCPU of this ID is reachable).  It raises VSTIP of @vcpu, the KVM
	 * vCPU whose KVM_RUN armed it, which cancels it when it goes.
	 */
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;
	struct hrtimer timer;
	u64 next_cycles;

	/* HSM starts seen, under the KVM vCPU's mp_state_lock. */
	unsigned long starts;

	/* The rest under the vCPU's mutex. */
	bool ended;			/* the TSM ended it: no more runs */
	u8 fault_repeats;		/* faults at fault_gfn, mapped already */
	gfn_t fault_gfn;
	u8 pending;			/* enum cove_pending */
	u8 mmio_len;
	unsigned long a0, a1;		/* the host's answer, for the next run */
	gpa_t convert_gpa;		/* COVE_PENDING_CONVERT's range */
	u64 convert_size;
	bool convert_private;		/* an unshare */
};

struct kvm_cove_tvm {
	unsigned long tvm_id;
	struct page *pgd;
	struct page *state;
	unsigned int state_order;
	struct cove_range ranges[2];	/* the page directory, the state */
	unsigned int max_vcpus;
	struct cove_vcpu *vcpus;	/* indexed by vCPU ID */

	/* Set under kvm->lock, kvm->slots_lock, vCPU 0's mutex, mmu_lock. */
	bool finalized;
	/*
	 * A measured page was taken back before finalize (under mmu_lock):
	 * the TVM takes no more pages and is never finalized.
	 */
	bool lost_measured;

	/* The rest under kvm->slots_lock. */
	struct xarray pages;		/* gfn -> struct page the TVM holds */
	unsigned long nr_measured;
	struct {
		gpa_t start, end;
	} regions[COVE_MAX_REGIONS];
	unsigned int nr_regions;
	struct page *pt_chunks[COVE_MAX_PT_CHUNKS];
	unsigned int nr_pt_chunks;

	/*
	 * gfn -> the host page the TVM maps there as shared memory, which KVM
	 * holds a reference to until the TSM no longer maps it.  Changed under
	 * kvm->mmu_lock (and its own lock); an entry is there before the TSM
	 * maps the page.
	 */
	struct xarray shared;
};

/* cove.c */
bool cove_gpa_in_region(struct kvm_cove_tvm *tvm, gpa_t gpa);
int cove_fault_in_private(struct kvm *kvm, gfn_t gfn);
int cove_fault_in_shared(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn,
			 unsigned long mmu_seq);
int cove_more_pt_pages(struct kvm *kvm);

/* cove_vcpu.c */
int cove_nacl_init(void);
void cove_nacl_exit(void);
void cove_vcpu_timer_init(struct kvm *kvm, struct cove_vcpu *cv);

#endif /* __KVM_RISCV_COVE_INTERNAL_H */
