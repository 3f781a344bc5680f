// SPDX-License-Identifier: BSD-2-Clause
/*
 * G-stage Sv48x4 tables for TVMs: a 16 KiB root per TVM slot and a shared
 * pool of 4 KiB table pages, all in the TSM's region.  A TVM draws table
 * pages against the quota its donated page-table pages bought (each
 * donation reserves as many pool pages), so one TVM cannot exhaust the
 * pool under another; every map is checked by the caller before it starts,
 * so a call never half-maps.
 */
#include "gstage.h"
#include "tvm.h"

/* Leaf bits while V is clear, which the hardware then ignores. */
#define PTE_INVALIDATED		(1UL << 8)	/* RSW */
#define PTE_COVERED		(1UL << 9)	/* RSW: a fence in progress covers it */
#define PTE_FENCED		(1UL << 54)
#define PTE_SW_STATE		(PTE_INVALIDATED | PTE_COVERED | PTE_FENCED)

#define LEVELS			4
#define PTES_PER_PAGE		512
#define PTE_PPN_SHIFT		10

static uint64_t roots[TSM_MAX_TVMS][GSTAGE_ROOT_ENTRIES]
	__attribute__((aligned(GSTAGE_ROOT_ENTRIES * 8)));
static uint64_t pool[GSTAGE_POOL_PAGES][PTES_PER_PAGE]
	__attribute__((aligned(PAGE_SIZE)));
static uint16_t free_list[GSTAGE_POOL_PAGES];
static uint32_t free_count;
static uint32_t reserved;
static bool pool_ready;

static void pool_init(void)
{
	uint32_t i;

	if (pool_ready)
		return;
	for (i = 0; i < GSTAGE_POOL_PAGES; i++)
		free_list[i] = (uint16_t)(GSTAGE_POOL_PAGES - 1 - i);
	free_count = GSTAGE_POOL_PAGES;
	pool_ready = true;
}

/* Bit position of the index into a level-@level table (0: leaf level). */
static unsigned int level_shift(int level)
{
	return PAGE_SHIFT + 9 * level;
}

static unsigned int level_index(uint64_t gpa, int level)
{
	uint64_t mask = level == LEVELS - 1 ? GSTAGE_ROOT_ENTRIES - 1 : PTES_PER_PAGE - 1;

	return (gpa >> level_shift(level)) & mask;
}

static uint64_t *pte_table(uint64_t pte)
{
	return (uint64_t *)((pte >> PTE_PPN_SHIFT) << PAGE_SHIFT);
}

/* The page a leaf maps, whether present or invalidated. */
static uint64_t leaf_pa(uint64_t pte)
{
	return (pte >> PTE_PPN_SHIFT & ((1UL << 44) - 1)) << PAGE_SHIFT;
}

/* The level-@level table covering @gpa, or NULL if it is not there yet. */
static uint64_t *table_at(const struct gstage *g, uint64_t gpa, int level)
{
	uint64_t *t = g->root;
	int l;

	if (gpa >> TSM_GPA_BITS)
		return NULL;
	for (l = LEVELS - 1; l > level; l--) {
		uint64_t pte = t[level_index(gpa, l)];

		if (!(pte & PTE_V))
			return NULL;
		t = pte_table(pte);
	}
	return t;
}

void gstage_init(struct gstage *g, unsigned int slot)
{
	pool_init();
	g->root = roots[slot];
	memset(g->root, 0, sizeof(roots[slot]));
	g->quota = 0;
	g->used = 0;
}

bool gstage_reserve(struct gstage *g, uint64_t num)
{
	pool_init();
	if (num > GSTAGE_POOL_PAGES - reserved)
		return false;
	reserved += num;
	g->quota += num;
	return true;
}

uint64_t gstage_tables_needed(const struct gstage *g, uint64_t gpa, uint64_t num)
{
	uint64_t end = gpa + (num << PAGE_SHIFT), need = 0;
	int level;

	/* Each level below the root: one table per span it covers. */
	for (level = 0; level < LEVELS - 1; level++) {
		unsigned int span = level_shift(level + 1);
		uint64_t a;

		for (a = gpa >> span << span; a < end; a += 1UL << span) {
			if (!table_at(g, a, level))
				need++;
		}
	}
	return need;
}

bool gstage_unmapped(const struct gstage *g, uint64_t gpa, uint64_t num)
{
	uint64_t i;

	for (i = 0; i < num; i++) {
		uint64_t a = gpa + (i << PAGE_SHIFT);
		const uint64_t *t = table_at(g, a, 0);

		/* Invalidated leaves still hold their page. */
		if (t && t[level_index(a, 0)])
			return false;
	}
	return true;
}

static uint64_t *table_alloc(struct gstage *g)
{
	uint64_t *t = pool[free_list[--free_count]];

	g->used++;
	memset(t, 0, PAGE_SIZE);
	return t;
}

void gstage_map(struct gstage *g, uint64_t gpa, uint64_t pa, uint64_t prot)
{
	uint64_t *t = g->root;
	int l;

	for (l = LEVELS - 1; l > 0; l--) {
		uint64_t *pte = &t[level_index(gpa, l)];

		if (!(*pte & PTE_V))
			*pte = ((uint64_t)table_alloc(g) >> PAGE_SHIFT) << PTE_PPN_SHIFT | PTE_V;
		t = pte_table(*pte);
	}
	t[level_index(gpa, 0)] = (pa >> PAGE_SHIFT) << PTE_PPN_SHIFT | prot |
				 PTE_U | PTE_A | PTE_D | PTE_V;
}

static void table_free(uint64_t *t, int level)
{
	unsigned int i;

	if (level > 0) {
		for (i = 0; i < PTES_PER_PAGE; i++) {
			if (t[i] & PTE_V)
				table_free(pte_table(t[i]), level - 1);
		}
	}
	memset(t, 0, PAGE_SIZE);
	free_list[free_count++] = (uint16_t)((uint64_t (*)[PTES_PER_PAGE])t - pool);
}

static void for_each_leaf(uint64_t *t, int level, void (*fn)(uint64_t *pte));
static void (*destroy_release)(uint64_t pa);

static void release_leaf(uint64_t *pte)
{
	if (*pte)
		destroy_release(leaf_pa(*pte));
}

void gstage_destroy(struct gstage *g, void (*release)(uint64_t pa))
{
	unsigned int i;

	if (!g->root)
		return;
	destroy_release = release;
	for_each_leaf(g->root, LEVELS - 1, release_leaf);
	for (i = 0; i < GSTAGE_ROOT_ENTRIES; i++) {
		if (g->root[i] & PTE_V)
			table_free(pte_table(g->root[i]), LEVELS - 2);
	}
	memset(g->root, 0, GSTAGE_ROOT_ENTRIES * 8);
	reserved -= g->quota;
	g->quota = 0;
	g->used = 0;
}

/* The leaf entry for @gpa, or NULL if no table reaches it. */
static uint64_t *leaf(const struct gstage *g, uint64_t gpa)
{
	uint64_t *t = table_at(g, gpa, 0);

	return t ? &t[level_index(gpa, 0)] : NULL;
}

/* Whether every leaf of the range has all bits of @set and none of @clear. */
static bool leaves_are(const struct gstage *g, uint64_t gpa, uint64_t num,
		       uint64_t set, uint64_t clear)
{
	uint64_t i;

	for (i = 0; i < num; i++) {
		uint64_t *pte = leaf(g, gpa + (i << PAGE_SHIFT));

		if (!pte || (*pte & set) != set || (*pte & clear))
			return false;
	}
	return true;
}

long gstage_invalidate(struct gstage *g, uint64_t gpa, uint64_t num)
{
	uint64_t i;

	if (!leaves_are(g, gpa, num, PTE_V, 0))
		return SBI_ERR_INVALID_ADDRESS;
	for (i = 0; i < num; i++) {
		uint64_t *pte = leaf(g, gpa + (i << PAGE_SHIFT));

		*pte = (*pte & ~PTE_V) | PTE_INVALIDATED;
	}
	return SBI_SUCCESS;
}

long gstage_validate(struct gstage *g, uint64_t gpa, uint64_t num)
{
	uint64_t i;

	if (!leaves_are(g, gpa, num, PTE_INVALIDATED, PTE_V))
		return SBI_ERR_INVALID_ADDRESS;
	for (i = 0; i < num; i++) {
		uint64_t *pte = leaf(g, gpa + (i << PAGE_SHIFT));

		*pte = (*pte & ~PTE_SW_STATE) | PTE_V;
	}
	return SBI_SUCCESS;
}

long gstage_remove(struct gstage *g, uint64_t gpa, uint64_t num,
		   void (*release)(uint64_t pa))
{
	uint64_t i;

	if (!leaves_are(g, gpa, num, PTE_INVALIDATED | PTE_FENCED, PTE_V))
		return SBI_ERR_INVALID_ADDRESS;
	for (i = 0; i < num; i++) {
		uint64_t *pte = leaf(g, gpa + (i << PAGE_SHIFT));
		uint64_t pa = leaf_pa(*pte);

		*pte = 0;
		release(pa);
	}
	return SBI_SUCCESS;
}

/* Calls @fn on every leaf entry of @t, a level-@level table. */
static void for_each_leaf(uint64_t *t, int level, void (*fn)(uint64_t *pte))
{
	unsigned int i, n = level == LEVELS - 1 ? GSTAGE_ROOT_ENTRIES : PTES_PER_PAGE;

	for (i = 0; i < n; i++) {
		if (!level)
			fn(&t[i]);
		else if (t[i] & PTE_V)
			for_each_leaf(pte_table(t[i]), level - 1, fn);
	}
}

static void cover(uint64_t *pte)
{
	if ((*pte & PTE_SW_STATE) == PTE_INVALIDATED)
		*pte |= PTE_COVERED;
}

static void fence(uint64_t *pte)
{
	if (*pte & PTE_COVERED)
		*pte = (*pte & ~PTE_COVERED) | PTE_FENCED;
}

void gstage_fence_start(struct gstage *g)
{
	for_each_leaf(g->root, LEVELS - 1, cover);
}

void gstage_fence_complete(struct gstage *g)
{
	for_each_leaf(g->root, LEVELS - 1, fence);
}

bool gstage_translate(const struct gstage *g, uint64_t gpa, uint64_t *pa)
{
	const uint64_t *pte = leaf(g, gpa);

	if (!pte || !(*pte & PTE_V))
		return false;
	*pa = leaf_pa(*pte);
	return true;
}

/* Below the level-@level table @t, over [gpa, end): only tables that exist
 * are visited, so a huge range costs no more than the tables it has. */
static bool any_leaf_in(const uint64_t *t, int level, uint64_t gpa, uint64_t end,
			bool (*pred)(uint64_t pa))
{
	unsigned int shift = level_shift(level);

	while (gpa < end) {
		uint64_t next = ((gpa >> shift) + 1) << shift;
		uint64_t pte = t[level_index(gpa, level)];

		if (!level) {
			if (pte && pred(leaf_pa(pte)))
				return true;
		} else if (pte & PTE_V &&
			   any_leaf_in(pte_table(pte), level - 1, gpa,
				       next < end ? next : end, pred)) {
			return true;
		}
		gpa = next;
	}
	return false;
}

bool gstage_any_leaf(const struct gstage *g, uint64_t gpa, uint64_t num,
		     bool (*pred)(uint64_t pa))
{
	if (gpa >> TSM_GPA_BITS || num > ((1UL << TSM_GPA_BITS) - gpa) >> PAGE_SHIFT)
		return false;
	return any_leaf_in(g->root, LEVELS - 1, gpa, gpa + (num << PAGE_SHIFT), pred);
}

uint64_t gstage_pool_used(void)
{
	pool_init();
	return GSTAGE_POOL_PAGES - free_count;
}
