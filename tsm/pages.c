// SPDX-License-Identifier: BSD-2-Clause
/*
 * Page conversion, fences and reclaim (COVH FIDs 1-4), and the table of
 * ownership the rest of the TSM assigns pages through.
 *
 * A page the host converts is CONVERTING until a global fence that started
 * after the conversion completes, i.e. until every hart has run
 * local_fence since; then it is CONFIDENTIAL and may be assigned to a TVM
 * (zeroed first).  Reclaim returns CONVERTING or CONFIDENTIAL pages to the
 * host, zeroed; a page assigned to a TVM is not reclaimable.  Every call is
 * all or nothing: it checks each page before it changes any.
 */
#include "lock.h"
#include "pages.h"
#include "tvmm_ext.h"

static struct page_info table[TSM_MAX_PAGES];
/* First index of each memory range's pages in the table. */
static uint64_t range_first[TSM_MAX_MEM_RANGES];
static bool table_ready;

static bool fence_active;
static uint64_t fence_pending;	/* hart IDs that have not fenced yet */

void pages_init(void)
{
	uint64_t first = 0;
	uint32_t i;

	if (table_ready)
		return;
	for (i = 0; i < tsm_boot->num_mem_ranges; i++) {
		range_first[i] = first;
		first += tsm_boot->mem[i].size >> PAGE_SHIFT;
	}
	table_ready = true;
}

struct page_info *page_lookup(uint64_t addr)
{
	uint32_t i;

	if (addr & (PAGE_SIZE - 1) || !tsm_host_range_ok(addr, PAGE_SIZE))
		return NULL;
	for (i = 0; i < tsm_boot->num_mem_ranges; i++) {
		uint64_t base = tsm_boot->mem[i].base;
		uint64_t idx;

		if (addr < base || addr - base >= tsm_boot->mem[i].size)
			continue;
		idx = range_first[i] + ((addr - base) >> PAGE_SHIFT);
		return idx < TSM_MAX_PAGES ? &table[idx] : NULL;
	}
	return NULL;
}

static void scrub(uint64_t addr)
{
	memset((void *)addr, 0, PAGE_SIZE);
}

/* [base, base + num pages): page aligned, num >= 1, no wrap. */
static long range_check(uint64_t base, uint64_t num)
{
	if (base & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	if (!num || num > TSM_MAX_PAGES_PER_CALL)
		return SBI_ERR_INVALID_PARAM;
	if (num > (UINT64_MAX - base) >> PAGE_SHIFT)
		return SBI_ERR_INVALID_ADDRESS;	/* past the end of the address space */
	return SBI_SUCCESS;
}

bool pages_in_state(uint64_t base, uint64_t num, unsigned int states)
{
	uint64_t i;

	for (i = 0; i < num; i++) {
		struct page_info *p = page_lookup(base + (i << PAGE_SHIFT));

		if (!p || !(states & PAGE_STATE(p->state)))
			return false;
	}
	return true;
}

/* Every page of a range pages_in_state() accepted becomes @state. */
static void pages_set(uint64_t base, uint64_t num, uint8_t state, uint8_t use,
		      uint16_t owner, bool zero)
{
	uint64_t i;

	for (i = 0; i < num; i++) {
		uint64_t addr = base + (i << PAGE_SHIFT);
		struct page_info *p = page_lookup(addr);

		if (zero)
			scrub(addr);
		p->state = state;
		p->use = use;
		p->owner = owner;
	}
}

/* The checks every call that changes pages makes, all before any change. */
static long pages_check(uint64_t base, uint64_t num, unsigned int states)
{
	long err = range_check(base, num);

	if (!err && !pages_in_state(base, num, states))
		err = SBI_ERR_INVALID_ADDRESS;
	return err;
}

struct sbiret pages_convert(uint64_t base, uint64_t num)
{
	long err = pages_check(base, num, PAGE_STATE(PAGE_HOST));
	uint64_t i;

	if (err)
		return sbi_err(err);
	/* A page a TVM maps as shared stays the host's until unmapped. */
	for (i = 0; i < num; i++) {
		if (page_lookup(base + (i << PAGE_SHIFT))->owner)
			return sbi_err(SBI_ERR_INVALID_ADDRESS);
	}
	pages_set(base, num, PAGE_CONVERTING, 0, 0, false);
	return sbi_ok(0);
}

struct sbiret pages_reclaim(uint64_t base, uint64_t num)
{
	long err = pages_check(base, num, PAGE_STATE(PAGE_CONVERTING) |
				       PAGE_STATE(PAGE_CONFIDENTIAL));

	if (err)
		return sbi_err(err);
	pages_set(base, num, PAGE_HOST, 0, 0, true);
	return sbi_ok(0);
}

static void local_flush(void)
{
	asm volatile("sfence.vma\n\t"
		     ".insn r 0x73, 0, 0x31, x0, x0, x0\n\t"	/* hfence.gvma */
		     ".insn r 0x73, 0, 0x11, x0, x0, x0"	/* hfence.vvma */
		     ::: "memory");
}

static void fence_complete(void)
{
	uint64_t i;

	for (i = 0; i < TSM_MAX_PAGES; i++) {
		if (table[i].state == PAGE_CONVERTING && table[i].use) {
			table[i].state = PAGE_CONFIDENTIAL;
			table[i].use = 0;
		}
	}
	fence_active = false;
}

struct sbiret pages_global_fence(unsigned long hartid)
{
	uint64_t i;

	if (fence_active)
		return sbi_err(SBI_ERR_ALREADY_STARTED);
	for (i = 0; i < TSM_MAX_PAGES; i++) {
		if (table[i].state == PAGE_CONVERTING)
			table[i].use = 1;
	}
	/* Every other hart the platform has, as OpenSBI's driver lists them,
	 * must call local_fence (the spec); this one fences now. */
	fence_pending = tsm_boot->hart_mask;
	fence_active = true;
	return pages_local_fence(hartid);
}

struct sbiret pages_local_fence(unsigned long hartid)
{
	local_flush();
	if (fence_active && hartid < 64) {
		fence_pending &= ~(1ULL << hartid);
		if (!fence_pending)
			fence_complete();
	}
	return sbi_ok(0);
}

long pages_assignable(uint64_t base, uint64_t num)
{
	return pages_check(base, num, PAGE_STATE(PAGE_CONFIDENTIAL));
}

struct sbiret pages_assign(uint64_t base, uint64_t num, uint16_t owner, uint8_t use)
{
	long err = pages_check(base, num, PAGE_STATE(PAGE_CONFIDENTIAL));

	if (err)
		return sbi_err(err);
	pages_set(base, num, PAGE_TVM, use, owner, true);
	return sbi_ok(0);
}

void pages_release(uint16_t owner)
{
	uint32_t r;
	uint64_t i;

	for (r = 0; r < tsm_boot->num_mem_ranges; r++) {
		uint64_t n = tsm_boot->mem[r].size >> PAGE_SHIFT;

		for (i = 0; i < n && range_first[r] + i < TSM_MAX_PAGES; i++) {
			struct page_info *p = &table[range_first[r] + i];

			if (p->state != PAGE_TVM || p->owner != owner)
				continue;
			scrub(tsm_boot->mem[r].base + (i << PAGE_SHIFT));
			p->state = PAGE_CONFIDENTIAL;
			p->use = USE_NONE;
			p->owner = 0;
		}
	}
}

void pages_unassign(uint64_t addr)
{
	pages_set(addr, 1, PAGE_CONFIDENTIAL, USE_NONE, 0, true);
}

long pages_share(uint64_t base, uint64_t num)
{
	uint64_t i;

	if (range_check(base, num) || !pages_in_state(base, num, PAGE_STATE(PAGE_HOST)))
		return SBI_ERR_INVALID_ADDRESS;
	for (i = 0; i < num; i++) {
		if (page_lookup(base + (i << PAGE_SHIFT))->owner == UINT16_MAX)
			return SBI_ERR_FAILED;	/* shared too often */
	}
	for (i = 0; i < num; i++)
		page_lookup(base + (i << PAGE_SHIFT))->owner++;
	return SBI_SUCCESS;
}

void pages_unshare(uint64_t addr)
{
	struct page_info *p = page_lookup(addr);

	if (p && p->state == PAGE_HOST && p->owner)
		p->owner--;
}

void pages_count(struct tsm_stats *s)
{
	uint64_t i, n = 0;

	for (i = 0; i < tsm_boot->num_mem_ranges; i++)
		n += tsm_boot->mem[i].size >> PAGE_SHIFT;
	for (i = 0; i < n && i < TSM_MAX_PAGES; i++) {
		const struct page_info *p = &table[i];

		switch (p->state) {
		case PAGE_CONVERTING:
			s->converting++;
			break;
		case PAGE_CONFIDENTIAL:
			s->confidential++;
			break;
		case PAGE_TVM:
			s->assigned++;
			break;
		default:
			if (p->owner) {
				s->shared_mapped++;
				s->shared_maps += p->owner;
			}
			break;
		}
	}
}
