/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The TSM's page table of ownership: one entry per 4 KiB page of main
 * memory (pages.c).
 */
#ifndef TSM_PAGES_H
#define TSM_PAGES_H

#include "tsm.h"

/* Main memory the table can describe: 8 GiB. */
#define TSM_MAX_PAGES		(2UL << 20)

enum page_state {
	PAGE_HOST = 0,		/* non-confidential: the host's */
	PAGE_CONVERTING,	/* converted, its fence not complete */
	PAGE_CONFIDENTIAL,	/* converted and fenced, assigned to no TVM */
	PAGE_TVM,		/* assigned to a TVM (owner, use) */
};

#define PAGE_STATE(s)		(1U << (s))

enum page_use {
	USE_NONE = 0,
	USE_PAGE_DIRECTORY,
	USE_TVM_STATE,
	USE_PAGE_TABLE,
	USE_DATA,
	USE_VCPU_STATE,
};

struct page_info {
	uint8_t state;		/* enum page_state */
	/* PAGE_TVM: enum page_use; PAGE_CONVERTING: 1 if the fence in
	 * progress covers it */
	uint8_t use;
	/* PAGE_TVM: the owning TVM's slot + 1; PAGE_HOST: how many TVM
	 * mappings share the page (a shared page cannot be converted) */
	uint16_t owner;
};

void pages_init(void);
/* The entry of the page at @addr, or NULL if it is not main memory the
 * host may name (the TSM's own region is not). */
struct page_info *page_lookup(uint64_t addr);

/* Whether every page of [base, base + num pages) is main memory the host
 * may name and in one of @states (a mask of PAGE_STATE()s). */
bool pages_in_state(uint64_t base, uint64_t num, unsigned int states);

struct sbiret pages_convert(uint64_t base, uint64_t num);
struct sbiret pages_reclaim(uint64_t base, uint64_t num);
struct sbiret pages_global_fence(unsigned long hartid);
struct sbiret pages_local_fence(unsigned long hartid);

/* The error pages_assign() would return for [base, base + num pages), or
 * SBI_SUCCESS. */
long pages_assignable(uint64_t base, uint64_t num);

/* Takes @num confidential pages from @base for TVM @owner as @use (zeroed);
 * all or nothing. */
struct sbiret pages_assign(uint64_t base, uint64_t num, uint16_t owner, uint8_t use);

/* Host pages a TVM maps as shared: counted, so that none is converted
 * while mapped.  pages_share() is all or nothing: SBI_ERR_INVALID_ADDRESS
 * if a page is not the host's, SBI_ERR_FAILED if one is shared 65535 times
 * already. */
long pages_share(uint64_t base, uint64_t num);
void pages_unshare(uint64_t addr);

/* The TVM's page at @addr becomes confidential and unassigned, zeroed. */
void pages_unassign(uint64_t addr);

/* Every page TVM @owner holds becomes confidential and unassigned, zeroed. */
void pages_release(uint16_t owner);

struct tsm_stats;
/* Adds the table's counts to @s (tvmm_ext.c). */
void pages_count(struct tsm_stats *s);

#endif
