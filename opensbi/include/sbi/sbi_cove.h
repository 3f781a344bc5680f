/*
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * CoVE TSM-driver for deployment model 1: the host runs in HS-mode, the TSM
 * runs in HS-mode in its own supervisor domain, and OpenSBI routes the
 * host's COVH calls (TEECALL) to the TSM and the TSM's TEERET back.
 */

#ifndef __SBI_COVE_H__
#define __SBI_COVE_H__

#include <sbi/sbi_bitops.h>
#include <sbi/sbi_types.h>

struct sbi_domain;

/** The supervisor domain ID of the TSM (bit 1 of SUPD's active domains) */
#define SBI_COVE_TSM_SDID		1

/** The FID bits of COVH/COVI/COVG calls that select the supervisor domain */
#define SBI_COVE_FID_SDID_SHIFT		26
#define SBI_COVE_FID_SDID_MASK		(0x3fUL << SBI_COVE_FID_SDID_SHIFT)
#define SBI_COVE_FID_MASK		0xffffUL

#define SBI_COVE_PAGE_SIZE		0x1000UL

/** Largest hart ID a TSM serves (the boot information's hart mask) */
#define SBI_COVE_MAX_HARTID		63

/** Where the TSM image's header is: 8 bytes past its entry point */
#define SBI_COVE_TSM_HEADER_OFFSET	8
#define SBI_COVE_TSM_HEADER_MAGIC	0x3130524448534d54ULL /* "TSMHDR01" */

/**
 * The TSM image's header: its entry point jumps over it.  The TSM-driver
 * zeroes [bss_start, bss_end) on every boot before any S-mode software
 * runs.
 */
struct sbi_cove_tsm_header {
	u64 magic;
	u64 bss_start;
	u64 bss_end;
};

/** Most memory ranges the boot information describes */
#define SBI_COVE_MAX_MEM_RANGES		8

#define SBI_COVE_BOOT_INFO_MAGIC	0x4f464e494d53545fULL /* "_TSMINFO" */
#define SBI_COVE_BOOT_INFO_VERSION	1

/** A physical memory range. */
struct sbi_cove_mem_range {
	u64 base;
	u64 size;
};

/* Boot information features: the harts have henvcfg (priv 1.12), Sstc. */
#define SBI_COVE_FEAT_ENVCFG		BIT(0)
#define SBI_COVE_FEAT_SSTC		BIT(1)

/**
 * What the TSM-driver tells the TSM about the platform.  Written by M-mode
 * into the last 4 KiB of the TSM's memory region before any S-mode software
 * runs; the TSM finds its address in t1 on every entry.  Excluded: memory
 * the TSM's domain or the hosting domain cannot read and write in S-mode.
 */
struct sbi_cove_boot_info {
	u64 magic;
	u32 version;
	u32 num_mem_ranges;
	/** Base and size of the TSM's own memory region */
	u64 tsm_base;
	u64 tsm_size;
	/** Main memory, as the device tree's memory nodes describe it */
	struct sbi_cove_mem_range mem[SBI_COVE_MAX_MEM_RANGES];
	/** Number of harts, the largest hart ID, and a bit per hart ID */
	u32 hart_count;
	u32 max_hartid;
	u64 hart_mask;
	/** Memory in those ranges never to be named by the host */
	u32 num_excluded;
	/** SBI_COVE_FEAT_*: what the harts have that the TSM may use */
	u32 features;
	struct sbi_cove_mem_range excluded[SBI_COVE_MAX_MEM_RANGES];
};

/**
 * sbi_cove_tsm_register() - Make a domain the TSM's supervisor domain.
 * @dom: the domain the TSM runs in; its next_addr is the TSM's entry point
 * @tsm_base: base of the TSM's memory region (no other domain may access it)
 * @tsm_size: its size, at least 8 KiB
 * @mem: main memory ranges
 * @num_mem: how many
 *
 * Must be called during cold boot, after the domains are finalized and
 * before the ecall extensions are initialized (e.g. from a platform's
 * final_init).
 *
 * Return: 0 on success, or a negative SBI error.
 */
int sbi_cove_tsm_register(struct sbi_domain *dom, u64 tsm_base, u64 tsm_size,
			  const struct sbi_cove_mem_range *mem, u32 num_mem);

#endif
