// SPDX-License-Identifier: BSD-2-Clause
/*
 * TVMs (COVH FIDs 5, 6, 8-12, 14, 16-19): creation from host-donated
 * confidential pages, confidential memory regions, page-table pages,
 * measured and zero pages, vCPUs, finalization, invalidation, fences and
 * removal of pages, and destruction, which gives every page the TVM held
 * back as confidential (zeroed) for other TVMs or reclaim.
 *
 * A TVM's state, its vCPUs' state and its G-stage tables live in the TSM's
 * own memory, which PMP protects; the state, vCPU-state and page-table
 * pages the host must donate are taken and held for the TVM's life,
 * zeroed, so the host cannot use them meanwhile.  TVM IDs are not reused:
 * a stale ID is refused.
 *
 * Measurement (tsm/README.md has the exact byte layout): register 0
 * (TVM_MSMT_PAGES) is extended with each measured page, its GPA first;
 * register 1 (TVM_MSMT_CONFIG) with the boot vCPU's entry PC and argument at
 * finalization.  Each extend is M = SHA-384(M || data), M starting zero.
 */
#include "pages.h"
#include "tvm.h"
#include "vcpu.h"

struct tvm_create_params {
	unsigned long tvm_page_directory_addr;
	unsigned long tvm_state_addr;
};

static struct tvm tvms[TSM_MAX_TVMS];
static unsigned long next_generation;

struct tvm *tvm_lookup(unsigned long id)
{
	struct tvm *t;

	if (!id)
		return NULL;
	t = &tvms[(id - 1) % TSM_MAX_TVMS];
	return t->state != TVM_FREE && t->id == id ? t : NULL;
}

uint64_t tvm_count(void)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < TSM_MAX_TVMS; i++)
		n += tvms[i].state != TVM_FREE;
	return n;
}

static uint16_t tvm_owner(const struct tvm *t)
{
	return (uint16_t)(t - tvms) + 1;
}

/* A leaf's page, leaving the TVM: a shared one is the host's again... */
static void release_shared(uint64_t pa)
{
	const struct page_info *p = page_lookup(pa);

	if (p && p->state == PAGE_HOST)
		pages_unshare(pa);
}

/* ...a confidential one becomes unassigned, zeroed. */
static void release_page(uint64_t pa)
{
	const struct page_info *p = page_lookup(pa);

	if (p && p->state == PAGE_HOST)
		pages_unshare(pa);
	else
		pages_unassign(pa);
}

/* The G-stage VMID: the slot's, as every entry flushes the G-stage TLB. */
uint16_t tvm_vmid(const struct tvm *t)
{
	return tvm_owner(t);
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
	gstage_init(&t->gstage, tvm_owner(t) - 1);
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
	/* Its pages may not go while a hart runs it. */
	if (t->running)
		return sbi_err(SBI_ERR_ALREADY_STARTED);
	gstage_destroy(&t->gstage, release_shared);
	pages_release(tvm_owner(t));
	memset(t, 0, sizeof(*t));
	return sbi_ok(0);
}

struct sbiret tvm_add_memory_region(unsigned long id, unsigned long gpa,
				    unsigned long len)
{
	struct tvm *t = tvm_lookup(id);

	if (!t || t->state != TVM_INITIALIZING)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (gpa & (PAGE_SIZE - 1))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	if (!len || len & (PAGE_SIZE - 1))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (gpa >= (1UL << TSM_GPA_BITS) || len > (1UL << TSM_GPA_BITS) - gpa)
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	if (gpa_ranges_overlap(t->regions, t->num_regions, gpa, len))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
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

	long err;

	if (!t || !num || num > TSM_MAX_PAGES_PER_CALL)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	err = pages_assignable(base, num);
	if (err)
		return sbi_err(err);
	if (!gstage_reserve(&t->gstage, num))
		return sbi_err(SBI_ERR_FAILED);
	return pages_assign(base, num, tvm_owner(t), USE_PAGE_TABLE);
}

static void extend(uint8_t msmt[SHA384_DIGEST_SIZE], const void *a, size_t alen,
		   const void *b, size_t blen)
{
	struct sha384_ctx ctx;

	sha384_init(&ctx);
	sha384_update(&ctx, msmt, SHA384_DIGEST_SIZE);
	sha384_update(&ctx, a, alen);
	sha384_update(&ctx, b, blen);
	sha384_final(&ctx, msmt);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Whether [gpa, gpa + len) lies inside one of @n ranges. */
static bool within(const struct gpa_range *r, uint32_t n, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (gpa >= r[i].gpa && gpa - r[i].gpa < r[i].len &&
		    len <= r[i].len - (gpa - r[i].gpa))
			return true;
	}
	return false;
}

bool gpa_ranges_overlap(const struct gpa_range *r, uint32_t n, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (ranges_overlap(gpa, len, r[i].gpa, r[i].len))
			return true;
	}
	return false;
}

bool tvm_range_confidential(const struct tvm *t, uint64_t gpa, uint64_t len)
{
	return within(t->regions, t->num_regions, gpa, len) &&
	       !gpa_ranges_overlap(t->shared, t->num_shared, gpa, len);
}

bool tvm_range_shared(const struct tvm *t, uint64_t gpa, uint64_t len)
{
	return within(t->shared, t->num_shared, gpa, len);
}

/*
 * Whether [gpa, gpa + num pages) may be mapped for @t: page aligned, inside
 * its confidential memory (or, @shared, inside a range the TVM shared), not
 * mapped yet, and the tables it needs within the TVM's page-table quota.
 */
static long map_check(const struct tvm *t, uint64_t gpa, uint64_t num, bool shared)
{
	uint64_t len = num << PAGE_SHIFT;

	if (gpa & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	if (!(shared ? tvm_range_shared(t, gpa, len) : tvm_range_confidential(t, gpa, len)) ||
	    !gstage_unmapped(&t->gstage, gpa, num))
		return SBI_ERR_INVALID_ADDRESS;
	if (gstage_tables_needed(&t->gstage, gpa, num) >
	    t->gstage.quota - t->gstage.used)
		return SBI_ERR_FAILED;	/* donate page-table pages and retry */
	return SBI_SUCCESS;
}

/* The checks measured, zero and shared pages share, before any change. */
static long add_pages_check(const struct tvm *t, enum tvm_state state,
			    unsigned long type, unsigned long num, uint64_t gpa,
			    bool shared)
{
	if (!t || t->state != state)
		return SBI_ERR_INVALID_PARAM;
	if (type != TSM_PAGE_4K || !num || num > TSM_MAX_PAGES_PER_CALL)
		return SBI_ERR_INVALID_PARAM;
	return map_check(t, gpa, num, shared);
}

struct sbiret tvm_add_measured_pages(unsigned long id, unsigned long src,
				     unsigned long dest, unsigned long type,
				     unsigned long num, unsigned long gpa)
{
	struct tvm *t = tvm_lookup(id);
	struct sbiret ret;
	unsigned long i;
	long err;

	err = add_pages_check(t, TVM_INITIALIZING, type, num, gpa, false);
	if (err)
		return sbi_err(err);
	if (src & (PAGE_SIZE - 1) || !tsm_host_buffer_ok(src, num << PAGE_SHIFT))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	ret = pages_assign(dest, num, tvm_owner(t), USE_DATA);
	if (ret.error)
		return ret;
	for (i = 0; i < num; i++) {
		uint64_t off = i << PAGE_SHIFT;
		uint8_t addr[8];

		/* Measure the copy, which the host's later writes to @src miss. */
		memcpy((void *)(dest + off), (const void *)(src + off), PAGE_SIZE);
		put_le64(addr, gpa + off);
		extend(t->msmt[TVM_MSMT_PAGES], addr, sizeof(addr),
		       (const void *)(dest + off), PAGE_SIZE);
		gstage_map(&t->gstage, gpa + off, dest + off, PTE_R | PTE_W | PTE_X);
	}
	return sbi_ok(0);
}

struct sbiret tvm_add_zero_pages(unsigned long id, unsigned long base,
				 unsigned long type, unsigned long num,
				 unsigned long gpa)
{
	struct tvm *t = tvm_lookup(id);
	struct sbiret ret;
	unsigned long i;
	long err;

	err = add_pages_check(t, TVM_RUNNABLE, type, num, gpa, false);
	if (err)
		return sbi_err(err);
	ret = pages_assign(base, num, tvm_owner(t), USE_DATA);	/* zeroes */
	if (ret.error)
		return ret;
	for (i = 0; i < num; i++)
		gstage_map(&t->gstage, gpa + (i << PAGE_SHIFT), base + (i << PAGE_SHIFT),
			   PTE_R | PTE_W | PTE_X);
	return sbi_ok(0);
}

/* Host pages into a range the TVM shared: read and write, never execute. */
struct sbiret tvm_add_shared_pages(unsigned long id, unsigned long base,
				   unsigned long type, unsigned long num,
				   unsigned long gpa)
{
	struct tvm *t = tvm_lookup(id);
	unsigned long i;
	long err;

	err = add_pages_check(t, TVM_RUNNABLE, type, num, gpa, true);
	if (err)
		return sbi_err(err);
	err = pages_share(base, num);
	if (err)
		return sbi_err(err);
	for (i = 0; i < num; i++)
		gstage_map(&t->gstage, gpa + (i << PAGE_SHIFT), base + (i << PAGE_SHIFT),
			   PTE_R | PTE_W);
	return sbi_ok(0);
}

struct sbiret tvm_create_vcpu(unsigned long id, unsigned long vcpu_id,
			      unsigned long state_page)
{
	struct tvm *t = tvm_lookup(id);
	struct sbiret ret;

	if (!t || t->state != TVM_INITIALIZING || vcpu_id >= TSM_MAX_VCPUS ||
	    t->vcpus[vcpu_id].present)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	ret = pages_assign(state_page, 1, tvm_owner(t), USE_VCPU_STATE);
	if (ret.error)
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	t->vcpus[vcpu_id].present = true;
	t->vcpus[vcpu_id].state_page = state_page;
	return sbi_ok(0);
}

struct sbiret tvm_finalize(unsigned long id, unsigned long entry_pc,
			   unsigned long entry_arg, unsigned long identity_addr)
{
	struct tvm *t = tvm_lookup(id);
	uint8_t config[16];

	if (!t || t->state != TVM_INITIALIZING)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (identity_addr &&
	    (identity_addr & (TVM_IDENTITY_SIZE - 1) ||
	     !tsm_host_buffer_ok(identity_addr, TVM_IDENTITY_SIZE)))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (identity_addr) {
		memcpy(t->identity, (const void *)identity_addr, TVM_IDENTITY_SIZE);
		t->has_identity = true;
	}
	put_le64(config, entry_pc);
	put_le64(config + 8, entry_arg);
	extend(t->msmt[TVM_MSMT_CONFIG], config, sizeof(config), NULL, 0);
	t->entry_pc = entry_pc;
	t->entry_arg = entry_arg;
	t->state = TVM_RUNNABLE;
	/* The boot vCPU, if the host made one, starts here. */
	if (t->vcpus[0].present)
		vcpu_start(&t->vcpus[0], 0, entry_pc, entry_arg);
	return sbi_ok(0);
}

/* A GPA range of the invalidate, validate and remove calls. */
static long gpa_range(unsigned long gpa, unsigned long len, uint64_t *num)
{
	if (!len || len & (PAGE_SIZE - 1) ||
	    len > (uint64_t)TSM_MAX_PAGES_PER_CALL << PAGE_SHIFT)
		return SBI_ERR_INVALID_PARAM;
	if (gpa & (PAGE_SIZE - 1) || gpa >= 1UL << TSM_GPA_BITS ||
	    len > (1UL << TSM_GPA_BITS) - gpa)
		return SBI_ERR_INVALID_ADDRESS;
	*num = len >> PAGE_SHIFT;
	return SBI_SUCCESS;
}

struct sbiret tvm_fence(unsigned long id)
{
	struct tvm *t = tvm_lookup(id);

	if (!t)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (t->fence_active)
		return sbi_err(SBI_ERR_ALREADY_STARTED);
	gstage_fence_start(&t->gstage);
	/* Each vCPU in the guest now must trap into the TSM, which flushes
	 * the G-stage TLB before it enters the guest again. */
	t->fence_pending = t->running;
	t->fence_active = true;
	tvm_vcpu_exited(t, TSM_MAX_VCPUS);
	return sbi_ok(0);
}

void tvm_vcpu_exited(struct tvm *t, unsigned long vcpu_id)
{
	if (vcpu_id < TSM_MAX_VCPUS)
		t->fence_pending &= ~(1U << vcpu_id);
	if (t->fence_active && !t->fence_pending) {
		gstage_fence_complete(&t->gstage);
		t->fence_active = false;
	}
}

struct sbiret tvm_change_pages(unsigned long id, unsigned long gpa,
			       unsigned long len, enum tvm_page_change change)
{
	struct tvm *t = tvm_lookup(id);
	uint64_t num;
	long err;

	if (!t)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	err = gpa_range(gpa, len, &num);
	if (err)
		return sbi_err(err);
	switch (change) {
	case TVM_PAGES_INVALIDATE:
		err = gstage_invalidate(&t->gstage, gpa, num);
		break;
	case TVM_PAGES_VALIDATE:
		err = gstage_validate(&t->gstage, gpa, num);
		break;
	default:
		err = gstage_remove(&t->gstage, gpa, num, release_page);
		break;
	}
	return err ? sbi_err(err) : sbi_ok(0);
}
