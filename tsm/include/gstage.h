/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A TVM's G-stage page table, Sv48x4 (gstage.c).  The tables live in the
 * TSM's own PMP-protected region, not in the pages the host donates: the
 * host can write any page it donated (no Smmpt here), and a table it could
 * write would let it map the TSM's memory into a TVM it controls.
 */
#ifndef TSM_GSTAGE_H
#define TSM_GSTAGE_H

#include "tsm.h"

/* Table pages all TVMs together may hold, beside their roots. */
#define GSTAGE_POOL_PAGES	768
#define GSTAGE_ROOT_ENTRIES	2048	/* 16 KiB: GPA bits 49:39 */

#define PTE_V	(1UL << 0)
#define PTE_R	(1UL << 1)
#define PTE_W	(1UL << 2)
#define PTE_X	(1UL << 3)
#define PTE_U	(1UL << 4)
#define PTE_A	(1UL << 6)
#define PTE_D	(1UL << 7)

struct gstage {
	uint64_t *root;
	uint32_t quota;		/* table pages the TVM has donated */
	uint32_t used;		/* table pages it holds */
};

/* The TVM in slot @slot gets its (zeroed) root. */
void gstage_init(struct gstage *g, unsigned int slot);
/* Reserves @num pool pages for @g; false if the pool cannot hold them. */
bool gstage_reserve(struct gstage *g, uint64_t num);
/* Table pages mapping [gpa, gpa + num pages) would add. */
uint64_t gstage_tables_needed(const struct gstage *g, uint64_t gpa, uint64_t num);
/* Whether no page of [gpa, gpa + num pages) is mapped, invalidated or not. */
bool gstage_unmapped(const struct gstage *g, uint64_t gpa, uint64_t num);
/* Maps @gpa to @pa; the caller checked gstage_tables_needed() against the
 * quota and that @gpa is unmapped. */
void gstage_map(struct gstage *g, uint64_t gpa, uint64_t pa, uint64_t prot);
/* The page a present leaf maps @gpa (page aligned) to; false if none. */
bool gstage_translate(const struct gstage *g, uint64_t gpa, uint64_t *pa);
/* Gives every table page and the reservation back, after @release has
 * seen the page of every leaf (present or invalidated). */
void gstage_destroy(struct gstage *g, void (*release)(uint64_t pa));
/* Whether a leaf (present or invalidated) of [gpa, gpa + num pages) maps a
 * page @pred accepts. */
bool gstage_any_leaf(const struct gstage *g, uint64_t gpa, uint64_t num,
		     bool (*pred)(uint64_t pa));

/*
 * Invalidation (COVH FIDs 16-19).  An invalidated leaf keeps its PPN and
 * permissions with V clear, and software bits say how far its fence got:
 * invalidated; covered by a TVM fence in progress; fenced.  Each call
 * checks every page of [gpa, gpa + num pages) before it changes one and
 * returns SBI_ERR_INVALID_ADDRESS if a page is not in the state it needs.
 */
long gstage_invalidate(struct gstage *g, uint64_t gpa, uint64_t num);
long gstage_validate(struct gstage *g, uint64_t gpa, uint64_t num);
/* Clears fenced leaves and calls @release with each page they mapped. */
long gstage_remove(struct gstage *g, uint64_t gpa, uint64_t num,
		   void (*release)(uint64_t pa));
/* A TVM fence starts: it covers the leaves invalidated so far... */
void gstage_fence_start(struct gstage *g);
/* ...and when it completes they are fenced. */
void gstage_fence_complete(struct gstage *g);

/* Table pages in use, of GSTAGE_POOL_PAGES. */
uint64_t gstage_pool_used(void);

#endif
