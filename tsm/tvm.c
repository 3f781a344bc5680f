// SPDX-License-Identifier: BSD-2-Clause
/*
 * TVMs (COVH FIDs 5, 8, 9, 10): creation from host-donated confidential
 * pages, confidential memory regions, the page-table page pool, and
 * destruction, which gives every page the TVM held back as confidential
 * (zeroed) for other TVMs or reclaim.
 *
 * A TVM's state lives in the TSM's own memory, which PMP protects; the
 * state pages the host must donate (tsm_info.tvm_state_pages) are taken
 * and held for the TVM's life, zeroed, so the host cannot use them
 * meanwhile.  TVM IDs are not reused: a stale ID is refused.
 */
#include "pages.h"
#include "tvm.h"

enum tvm_state {
	TVM_FREE = 0,
	TVM_INITIALIZING,
	TVM_RUNNABLE,
};

struct tvm {
	uint8_t state;
	unsigned long id;
	uint64_t pgd;
	uint64_t state_page;
	uint32_t num_regions;
	struct {
		uint64_t gpa;
		uint64_t len;
	} regions[TSM_MAX_REGIONS];
};

struct tvm_create_params {
	unsigned long tvm_page_directory_addr;
	unsigned long tvm_state_addr;
};

static struct tvm tvms[TSM_MAX_TVMS];
static unsigned long next_generation;

static struct tvm *tvm_lookup(unsigned long id)
{
	struct tvm *t;

	if (!id)
		return NULL;
	t = &tvms[(id - 1) % TSM_MAX_TVMS];
	return t->state != TVM_FREE && t->id == id ? t : NULL;
}

static uint16_t tvm_owner(const struct tvm *t)
{
	return (uint16_t)(t - tvms) + 1;
}

struct sbiret tvm_create(unsigned long params_addr, unsigned long params_len)
{
	struct tvm_create_params params;
	struct sbiret ret;
	struct tvm *t = NULL;
	unsigned long i;

	if (params_addr & (sizeof(unsigned long) - 1) ||
	    !tsm_host_buffer_ok(params_addr, sizeof(params)))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	if (params_len < sizeof(params))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	/* One copy: the host may change its buffer meanwhile. */
	memcpy(&params, (const void *)params_addr, sizeof(params));

	/* Bad pages in the parameters: the parameters are invalid. */
	if (params.tvm_page_directory_addr & (TSM_PGD_PAGES * PAGE_SIZE - 1) ||
	    params.tvm_state_addr & (PAGE_SIZE - 1))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (params.tvm_state_addr >= params.tvm_page_directory_addr &&
	    params.tvm_state_addr - params.tvm_page_directory_addr <
	    TSM_PGD_PAGES * PAGE_SIZE)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (!pages_in_state(params.tvm_page_directory_addr, TSM_PGD_PAGES,
			    PAGE_STATE(PAGE_CONFIDENTIAL)) ||
	    !pages_in_state(params.tvm_state_addr, 1, PAGE_STATE(PAGE_CONFIDENTIAL)))
		return sbi_err(SBI_ERR_INVALID_PARAM);

	for (i = 0; i < TSM_MAX_TVMS; i++) {
		if (tvms[i].state == TVM_FREE) {
			t = &tvms[i];
			break;
		}
	}
	if (!t)
		return sbi_err(SBI_ERR_FAILED);

	memset(t, 0, sizeof(*t));
	ret = pages_assign(params.tvm_page_directory_addr, TSM_PGD_PAGES,
			   tvm_owner(t), USE_PAGE_DIRECTORY);
	if (!ret.error)
		ret = pages_assign(params.tvm_state_addr, 1, tvm_owner(t),
				   USE_TVM_STATE);
	if (ret.error) {	/* cannot happen: checked above */
		pages_release(tvm_owner(t));
		return sbi_err(SBI_ERR_FAILED);
	}
	next_generation++;
	t->id = next_generation * TSM_MAX_TVMS + (unsigned long)(t - tvms) + 1;
	t->pgd = params.tvm_page_directory_addr;
	t->state_page = params.tvm_state_addr;
	t->state = TVM_INITIALIZING;
	return sbi_ok(t->id);
}

struct sbiret tvm_destroy(unsigned long id)
{
	struct tvm *t = tvm_lookup(id);

	if (!t)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	pages_release(tvm_owner(t));
	memset(t, 0, sizeof(*t));
	return sbi_ok(0);
}

struct sbiret tvm_add_memory_region(unsigned long id, unsigned long gpa,
				    unsigned long len)
{
	struct tvm *t = tvm_lookup(id);
	uint32_t i;

	if (!t || t->state != TVM_INITIALIZING)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (gpa & (PAGE_SIZE - 1))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	if (!len || len & (PAGE_SIZE - 1))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (gpa >= (1UL << TSM_GPA_BITS) || len > (1UL << TSM_GPA_BITS) - gpa)
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	for (i = 0; i < t->num_regions; i++) {
		if (gpa < t->regions[i].gpa + t->regions[i].len &&
		    t->regions[i].gpa < gpa + len)
			return sbi_err(SBI_ERR_INVALID_ADDRESS);
	}
	if (t->num_regions == TSM_MAX_REGIONS)
		return sbi_err(SBI_ERR_FAILED);
	t->regions[t->num_regions].gpa = gpa;
	t->regions[t->num_regions].len = len;
	t->num_regions++;
	return sbi_ok(0);
}

struct sbiret tvm_add_page_table_pages(unsigned long id, unsigned long base,
				       unsigned long num)
{
	struct tvm *t = tvm_lookup(id);

	if (!t || !num)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	return pages_assign(base, num, tvm_owner(t), USE_PAGE_TABLE);
}
