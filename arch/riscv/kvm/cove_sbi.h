/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The COVH calls of the CoVE host driver (cove.c): FIDs as the CoVE
 * specification (riscv-ap-tee, "COVE Host Extension") numbers them, with
 * promote_to_tvm at 7; the call's SDID bits [31:26] are 0, the first TSM.
 */
#ifndef __KVM_RISCV_COVE_SBI_H
#define __KVM_RISCV_COVE_SBI_H

#include <linux/types.h>
#include <asm/sbi.h>

#define SBI_EXT_COVH			0x434F5648
/*
 * The other extensions CoVE hosts use, prefixed: later kernels define some
 * of them (SBI_EXT_NACL) in asm/sbi.h.
 */
#define COVE_SBI_EXT_SUPD		0x53555044
#define COVE_SBI_EXT_NACL		0x4E41434C
#define COVE_SBI_EXT_COVG		0x434F5647

/* NACL: the shared memory that carries a TVM vCPU's exits (run_tvm_vcpu). */
#define COVE_NACL_SET_SHMEM		1
#define COVE_NACL_SHMEM_ORDER		2	/* 12 KiB used */
#define COVE_NACL_GPR(n)		(n)	/* u64 index of x<n> */

/* SBI v0.1 extensions a TVM may call (asm/sbi.h has them only with V01). */
#define COVE_SBI_LEGACY_SET_TIMER	0x0
#define COVE_SBI_LEGACY_PUTCHAR		0x1
#define COVE_SBI_LEGACY_GETCHAR		0x2
#define COVE_SBI_LEGACY_SHUTDOWN	0x8

/* SBI 2.0's error for a call made in the wrong state (asm/sbi.h lacks it). */
#define COVE_SBI_ERR_INVALID_STATE	-10

/* COVG FIDs whose exits the host handles. */
#define COVE_COVG_SHARE_MEMORY		2
#define COVE_COVG_UNSHARE_MEMORY	3

enum sbi_covh_fid {
	SBI_COVH_GET_TSM_INFO = 0,
	SBI_COVH_CONVERT_PAGES = 1,
	SBI_COVH_RECLAIM_PAGES = 2,
	SBI_COVH_GLOBAL_FENCE = 3,
	SBI_COVH_LOCAL_FENCE = 4,
	SBI_COVH_CREATE_TVM = 5,
	SBI_COVH_FINALIZE_TVM = 6,
	SBI_COVH_PROMOTE_TO_TVM = 7,
	SBI_COVH_DESTROY_TVM = 8,
	SBI_COVH_ADD_TVM_MEMORY_REGION = 9,
	SBI_COVH_ADD_TVM_PAGE_TABLE_PAGES = 10,
	SBI_COVH_ADD_TVM_MEASURED_PAGES = 11,
	SBI_COVH_ADD_TVM_ZERO_PAGES = 12,
	SBI_COVH_ADD_TVM_SHARED_PAGES = 13,
	SBI_COVH_CREATE_TVM_VCPU = 14,
	SBI_COVH_RUN_TVM_VCPU = 15,
	SBI_COVH_TVM_FENCE = 16,
	SBI_COVH_TVM_INVALIDATE_PAGES = 17,
	SBI_COVH_TVM_VALIDATE_PAGES = 18,
	SBI_COVH_TVM_REMOVE_PAGES = 19,
	/* tvmm's reference TSM only (tsm/README.md), in the unallocated range */
	SBI_COVH_TVMM_GET_STATS = 0xf000,
	SBI_COVH_TVMM_READ_TVM_MEASUREMENT = 0xf001,
};

enum sbi_cove_tsm_state {
	SBI_COVE_TSM_NOT_LOADED = 0,
	SBI_COVE_TSM_LOADED = 1,
	SBI_COVE_TSM_READY = 2,
};

/* get_tsm_info's answer. */
struct sbi_cove_tsm_info {
	u32 tsm_state;
	u32 tsm_impl_id;
	u32 tsm_version;
	u32 reserved;
	u64 tsm_capabilities;
	u64 tvm_state_pages;
	u64 tvm_max_vcpus;
	u64 tvm_vcpu_state_pages;
};

/* create_tvm's parameters. */
struct sbi_cove_tvm_create_params {
	u64 tvm_page_directory_addr;
	u64 tvm_state_addr;
};

/* tvmm's reference TSM: get_stats' answer. */
struct sbi_cove_tvmm_stats {
	u64 converting;
	u64 confidential;
	u64 assigned;
	u64 shared_mapped;
	u64 shared_maps;
	u64 tvms;
	u64 gstage_pool_used;
	u64 gstage_pool_size;
};

/* TVM page-directory size and alignment: Sv48x4's 16 KiB root. */
#define COVE_TVM_PGD_ORDER		2

/* The u64 index of a CSR in the NACL shared memory, after 4 KiB of scratch. */
static inline unsigned int cove_nacl_csr(unsigned int csr)
{
	return 512 + (((csr >> 2) & 0x300) | (csr & 0xff));
}

static inline struct sbiret sbi_covh(enum sbi_covh_fid fid, unsigned long a0,
				     unsigned long a1, unsigned long a2,
				     unsigned long a3, unsigned long a4,
				     unsigned long a5)
{
	return sbi_ecall(SBI_EXT_COVH, fid, a0, a1, a2, a3, a4, a5);
}

#endif /* __KVM_RISCV_COVE_SBI_H */
