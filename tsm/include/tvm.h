/* SPDX-License-Identifier: BSD-2-Clause */
/* TVMs: creation, memory regions, page-table pages, destruction (tvm.c). */
#ifndef TSM_TVM_H
#define TSM_TVM_H

#include "gstage.h"
#include "sha384.h"
#include "tsm.h"

#define TSM_MAX_TVMS		16
#define TSM_MAX_REGIONS		16
/* G-stage Sv48x4: guest physical addresses below 2^50. */
#define TSM_GPA_BITS		50
#define TSM_PGD_PAGES		4	/* the 16 KiB root of Sv48x4 */
#define TSM_MAX_VCPUS		8
#define TSM_PAGE_4K		0	/* enum tsm_page_type: the only one mapped */
#define TVM_IDENTITY_SIZE	64

/*
 * Measurement registers: the initial ones, fixed at finalize, then the
 * runtime ones the TVM extends (COVG extend_measurement).  The indexes are
 * COVG's (get_attcaps lists them).
 */
enum {
	TVM_MSMT_PAGES = 0,	/* measured pages, with their GPAs */
	TVM_MSMT_CONFIG = 1,	/* boot vCPU entry PC and argument */
	TVM_MSMT_INITIAL = 2,	/* how many initial registers */
	TVM_MSMT_RUNTIME = 4,	/* how many runtime registers */
	TVM_MSMT_REGS = TVM_MSMT_INITIAL + TVM_MSMT_RUNTIME,
};

#define TSM_MAX_MMIO_REGIONS	16
#define TSM_MAX_SHARED		16

struct gpa_range {
	uint64_t gpa;
	uint64_t len;
};

enum tvm_state {
	TVM_FREE = 0,
	TVM_INITIALIZING,
	TVM_RUNNABLE,
};

/*
 * What a vCPU's guest registers look like while it is out of the guest;
 * guest.S knows the offsets (VCPU_CTX_*).
 */
struct vcpu_ctx {
	unsigned long gprs[32];		/* x0 (unused) to x31 */
	unsigned long tsm_ra;		/* the TSM's, while the guest runs */
	unsigned long tsm_sp;
	unsigned long tsm_s[12];
	unsigned long tsm_stvec;
	unsigned long tsm_sscratch;
};

/* What the next run must finish for the guest before it enters it. */
enum vcpu_resume {
	RESUME_NONE = 0,
	RESUME_ECALL,		/* a forwarded ECALL: a0, a1 from the host */
	RESUME_COVG,		/* a COVG call the TSM answered: step over */
	RESUME_MMIO_LOAD,	/* the loaded value from the host's a0 */
	RESUME_MMIO_STORE,	/* step over */
};

struct vcpu {
	bool present;
	bool started;
	bool failed;		/* exited for good: runs are refused */
	bool running;
	uint64_t state_page;
	struct vcpu_ctx ctx;
	unsigned long pc;
	unsigned long spp;	/* sstatus.SPP: the guest's privilege */
	unsigned long vsstatus, vstvec, vsscratch, vsepc, vscause, vstval;
	unsigned long vsatp, hie, senvcfg, scounteren;
	uint8_t resume;		/* enum vcpu_resume */
	uint8_t mmio_rd;	/* the load's destination register */
	uint8_t mmio_f3;	/* the load's funct3: width and sign */
	uint8_t insn_len;	/* of the trapped instruction */
	/* A COVG share (or unshare) of this range waits for the host to
	 * remove the confidential (or shared) pages mapped there. */
	/* External interrupt IDs the TVM allows the host to inject (COVG 4,
	 * 5).  Without AIA the host can only raise VSEIP, which is let
	 * through if any is allowed. */
	uint64_t ext_allowed[32];	/* IDs 1-2047, a bit each */
	bool ext_all;
	bool ext_any;		/* some ID is allowed */
	bool vssip;		/* its own pending software interrupt */
	uint8_t blocked;	/* enum vcpu_blocked */
	struct gpa_range blocked_range;
};

enum vcpu_blocked {
	BLOCKED_NONE = 0,
	BLOCKED_SHARE,
	BLOCKED_UNSHARE,
};

struct tvm {
	uint8_t state;
	unsigned long id;
	uint64_t pgd;
	uint64_t state_page;
	uint32_t num_regions;
	struct gpa_range regions[TSM_MAX_REGIONS];	/* confidential */
	uint32_t num_mmio;
	struct gpa_range mmio[TSM_MAX_MMIO_REGIONS];
	/* Parts of the confidential regions the TVM made shared. */
	uint32_t num_shared;
	struct gpa_range shared[TSM_MAX_SHARED];
	struct gstage gstage;
	uint8_t msmt[TVM_MSMT_REGS][SHA384_DIGEST_SIZE];
	uint64_t entry_pc;
	uint64_t entry_arg;
	bool has_identity;
	uint8_t identity[TVM_IDENTITY_SIZE];
	struct vcpu vcpus[TSM_MAX_VCPUS];
	uint32_t running;	/* vCPUs in the guest now, a bit each */
	bool fence_active;
	uint32_t fence_pending;	/* vCPUs running when the fence started */
};

/* Whether [gpa, gpa + len) overlaps any of the @n ranges at @r. */
bool gpa_ranges_overlap(const struct gpa_range *r, uint32_t n, uint64_t gpa, uint64_t len);

/* Whether [gpa, gpa + len) is all confidential memory of @t (inside its
 * regions, outside what it shared), or all inside one range it shared. */
bool tvm_range_confidential(const struct tvm *t, uint64_t gpa, uint64_t len);
bool tvm_range_shared(const struct tvm *t, uint64_t gpa, uint64_t len);

/* The TVM with ID @id, NULL if there is none.  Call with the lock held. */
struct tvm *tvm_lookup(unsigned long id);
/* How many TVMs exist. */
uint64_t tvm_count(void);
uint16_t tvm_vmid(const struct tvm *t);
/* A vCPU of @t came out of the guest: its part of a fence is done. */
void tvm_vcpu_exited(struct tvm *t, unsigned long vcpu_id);

struct sbiret tvm_create(unsigned long params_addr, unsigned long params_len);
struct sbiret tvm_destroy(unsigned long id);
struct sbiret tvm_add_memory_region(unsigned long id, unsigned long gpa,
				    unsigned long len);
struct sbiret tvm_add_page_table_pages(unsigned long id, unsigned long base,
				       unsigned long num);
struct sbiret tvm_add_measured_pages(unsigned long id, unsigned long src,
				     unsigned long dest, unsigned long type,
				     unsigned long num, unsigned long gpa);
struct sbiret tvm_add_zero_pages(unsigned long id, unsigned long base,
				 unsigned long type, unsigned long num,
				 unsigned long gpa);
struct sbiret tvm_add_shared_pages(unsigned long id, unsigned long base,
				   unsigned long type, unsigned long num,
				   unsigned long gpa);
struct sbiret tvm_create_vcpu(unsigned long id, unsigned long vcpu_id,
			      unsigned long state_page);
struct sbiret tvm_fence(unsigned long id);
enum tvm_page_change {
	TVM_PAGES_INVALIDATE,	/* COVH FID 17 */
	TVM_PAGES_VALIDATE,	/* 18 */
	TVM_PAGES_REMOVE,	/* 19 */
};
struct sbiret tvm_change_pages(unsigned long id, unsigned long gpa,
			       unsigned long len, enum tvm_page_change change);
struct sbiret tvm_finalize(unsigned long id, unsigned long entry_pc,
			   unsigned long entry_arg, unsigned long identity_addr);

#endif
