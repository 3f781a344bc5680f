// SPDX-License-Identifier: BSD-2-Clause
/*
 * COVG: the TVM's calls to the TSM (CoVE spec, "COVE Guest Extension").
 * The TSM answers in the guest's a0 (error) and a1 (value).  A call that
 * succeeded then exits to the host as the spec says, as a forwarded ECALL
 * (a0-a7 as the guest made the call, in the NACL shared memory), so that
 * it can set up MMIO emulation or convert memory; the TSM decides the
 * result, not the host.  A refused or unknown call goes straight back to
 * the TVM: there is nothing for the host to do.
 *
 * Sharing and unsharing also block the calling vCPU until the host has
 * removed what was mapped in the range: the confidential pages (share) or
 * the shared ones (unshare).
 *
 * Done: add/remove MMIO region (0, 1), share/unshare (2, 3), allow/deny
 * external interrupts (4, 5), attestation capabilities (6), extend and
 * read measurement (7, 10).  Not done, SBI_ERR_NOT_SUPPORTED: evidence and
 * secrets (8, 9), which need an attestation key this TSM does not have.
 */
#include "pages.h"
#include "vcpu.h"

enum covg_fid {
	COVG_ADD_MMIO_REGION = 0,
	COVG_REMOVE_MMIO_REGION = 1,
	COVG_SHARE_MEMORY_REGION = 2,
	COVG_UNSHARE_MEMORY_REGION = 3,
	COVG_ALLOW_EXT_INTERRUPT = 4,
	COVG_DENY_EXT_INTERRUPT = 5,
	COVG_GET_ATTCAPS = 6,
	COVG_EXTEND_MEASUREMENT = 7,
	COVG_READ_MEASUREMENT = 10,
};

/* The spec's struct AttestationCapabilities, with its C layout. */
#define MAX_MEASUREMENT_REGISTERS	(8 + 18)
#define HASH_SHA384			0
#define MEASUREMENT_INITIAL		0
#define MEASUREMENT_RUNTIME		1
#define UNMAPPED_TCG_PCR		0xff

struct msmt_reg_desc {
	uint32_t hash_algorithm;
	uint32_t measurement_type;
	uint8_t tcg_pcr_index;
};

struct attcaps {
	uint64_t tcb_svn;
	uint32_t hash_algorithm;
	uint32_t certificate_formats;	/* none: no evidence */
	uint8_t initial_measurements;
	uint8_t runtime_measurements;
	struct msmt_reg_desc msmt_regs[MAX_MEASUREMENT_REGISTERS];
};

_Static_assert(sizeof(struct attcaps) == 336, "AttestationCapabilities layout");

/* [gpa, gpa + len): 4 KiB granules, not empty, below 2^50. */
static bool gpa_range_ok(uint64_t gpa, uint64_t len)
{
	return !(gpa & (PAGE_SIZE - 1)) && len && !(len & (PAGE_SIZE - 1)) &&
	       gpa < 1UL << TSM_GPA_BITS && len <= (1UL << TSM_GPA_BITS) - gpa;
}

/* MMIO regions may overlap neither each other nor confidential memory. */
static long add_mmio(struct tvm *t, uint64_t gpa, uint64_t len)
{
	if (!gpa_range_ok(gpa, len))
		return SBI_ERR_INVALID_ADDRESS;
	if (gpa_ranges_overlap(t->mmio, t->num_mmio, gpa, len) ||
	    gpa_ranges_overlap(t->regions, t->num_regions, gpa, len))
		return SBI_ERR_INVALID_ADDRESS;
	if (t->num_mmio == TSM_MAX_MMIO_REGIONS)
		return SBI_ERR_FAILED;
	t->mmio[t->num_mmio].gpa = gpa;
	t->mmio[t->num_mmio].len = len;
	t->num_mmio++;
	return SBI_SUCCESS;
}

/* Every MMIO region the range touches goes, whole. */
static long remove_mmio(struct tvm *t, uint64_t gpa, uint64_t len)
{
	uint32_t i = 0;

	if (!gpa_range_ok(gpa, len))
		return SBI_ERR_INVALID_ADDRESS;
	while (i < t->num_mmio) {
		if (ranges_overlap(gpa, len, t->mmio[i].gpa, t->mmio[i].len))
			t->mmio[i] = t->mmio[--t->num_mmio];
		else
			i++;
	}
	return SBI_SUCCESS;
}

/*
 * [gpa, gpa + len) joins the shared ranges, merged with those it touches
 * so that a range shared a page at a time can be unshared (or mapped) in
 * one call.  Fails only if a new range is needed and none is left.
 */
static long merge_shared(struct tvm *t, uint64_t gpa, uint64_t len)
{
	uint32_t i = 0;

	while (i < t->num_shared) {
		struct gpa_range *r = &t->shared[i];

		if (r->gpa + r->len == gpa || gpa + len == r->gpa) {
			if (r->gpa < gpa)
				gpa = r->gpa;
			len += r->len;
			*r = t->shared[--t->num_shared];	/* and look again */
			i = 0;
			continue;
		}
		i++;
	}
	if (t->num_shared == TSM_MAX_SHARED)
		return SBI_ERR_FAILED;
	t->shared[t->num_shared].gpa = gpa;
	t->shared[t->num_shared].len = len;
	t->num_shared++;
	return SBI_SUCCESS;
}

/* A confidential range becomes shared: it must lie in one confidential
 * region, outside anything shared already. */
static long share(struct tvm *t, uint64_t gpa, uint64_t len)
{
	if (gpa & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	if (!len || len & (PAGE_SIZE - 1) || !tvm_range_confidential(t, gpa, len))
		return SBI_ERR_INVALID_PARAM;
	return merge_shared(t, gpa, len);
}

/* A shared range becomes confidential again: all inside one shared range,
 * which it may split in two. */
static long unshare(struct tvm *t, uint64_t gpa, uint64_t len)
{
	struct gpa_range *r = t->shared;
	uint64_t end = gpa + len;

	if (gpa & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	if (!len || len & (PAGE_SIZE - 1) || !tvm_range_shared(t, gpa, len))
		return SBI_ERR_INVALID_PARAM;
	/* The one that holds it (tvm_range_shared() found it). */
	while (gpa < r->gpa || gpa - r->gpa >= r->len)
		r++;
	if (gpa > r->gpa && end < r->gpa + r->len) {	/* a hole in the middle */
		if (t->num_shared == TSM_MAX_SHARED)
			return SBI_ERR_FAILED;
		t->shared[t->num_shared].gpa = end;
		t->shared[t->num_shared].len = r->gpa + r->len - end;
		t->num_shared++;
		r->len = gpa - r->gpa;
	} else if (gpa > r->gpa) {			/* its tail */
		r->len = gpa - r->gpa;
	} else if (end < r->gpa + r->len) {		/* its head */
		r->len -= len;
		r->gpa = end;
	} else {					/* all of it */
		*r = t->shared[--t->num_shared];
	}
	return SBI_SUCCESS;
}

#define EXT_ID_MAX	2047	/* the largest AIA interrupt identity */

static void ext_update_any(struct vcpu *v)
{
	unsigned int i;

	v->ext_any = v->ext_all;
	for (i = 0; i < ARRAY_SIZE(v->ext_allowed) && !v->ext_any; i++)
		v->ext_any = v->ext_allowed[i] != 0;
}

/* Interrupt ID @id (1-2047, or all ones for every one) allowed or denied. */
static long ext_interrupt(struct vcpu *v, uint64_t id, bool allow)
{
	uint64_t *word;

	if (id == -1UL) {
		v->ext_all = allow;
		memset(v->ext_allowed, allow ? 0xff : 0, sizeof(v->ext_allowed));
		v->ext_allowed[0] &= ~1UL;	/* ID 0 is no interrupt */
		ext_update_any(v);
		return SBI_SUCCESS;
	}
	if (!id || id > EXT_ID_MAX)
		return SBI_ERR_INVALID_PARAM;
	word = &v->ext_allowed[id / 64];
	if (allow)
		*word |= 1UL << (id % 64);
	else
		*word &= ~(1UL << (id % 64));
	v->ext_all = false;
	ext_update_any(v);
	return SBI_SUCCESS;
}

/* The page at @gpa (4 KiB aligned) if it is a present page of the TVM's
 * confidential memory: not a shared page, which is the host's. */
static bool confidential_page(const struct tvm *t, uint64_t gpa, uint64_t *pa)
{
	return gstage_translate(&t->gstage, gpa, pa) && page_lookup(*pa)->state == PAGE_TVM;
}

static long get_attcaps(struct tvm *t, uint64_t gpa, uint64_t size)
{
	struct attcaps caps = {
		.tcb_svn = TSM_VERSION,
		.hash_algorithm = HASH_SHA384,
		.initial_measurements = TVM_MSMT_INITIAL,
		.runtime_measurements = TVM_MSMT_RUNTIME,
	};
	uint64_t pa;
	int i;

	if (gpa & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	/* One page holds it: only that page needs to be there. */
	if (!size || size & (PAGE_SIZE - 1) || size > (1UL << TSM_GPA_BITS) ||
	    !tvm_range_confidential(t, gpa, size) || !confidential_page(t, gpa, &pa))
		return SBI_ERR_INVALID_PARAM;
	/* Past the registers there are none: described as unmapped. */
	for (i = 0; i < MAX_MEASUREMENT_REGISTERS; i++) {
		caps.msmt_regs[i].hash_algorithm = HASH_SHA384;
		caps.msmt_regs[i].measurement_type =
			i < TVM_MSMT_INITIAL ? MEASUREMENT_INITIAL : MEASUREMENT_RUNTIME;
		caps.msmt_regs[i].tcg_pcr_index = UNMAPPED_TCG_PCR;
	}
	memcpy((void *)pa, &caps, sizeof(caps));
	return SBI_SUCCESS;
}

/* A runtime register: M = SHA-384(M || the TVM's 48-byte digest). */
static long extend_measurement(struct tvm *t, uint64_t gpa, uint64_t len,
			       uint64_t index)
{
	uint8_t digest[SHA384_DIGEST_SIZE];
	struct sha384_ctx ctx;
	uint64_t pa;

	if (gpa & (PAGE_SIZE - 1) || !confidential_page(t, gpa, &pa))
		return SBI_ERR_INVALID_ADDRESS;
	if (len != SHA384_DIGEST_SIZE || index < TVM_MSMT_INITIAL || index >= TVM_MSMT_REGS)
		return SBI_ERR_INVALID_PARAM;
	memcpy(digest, (const void *)pa, sizeof(digest));
	sha384_init(&ctx);
	sha384_update(&ctx, t->msmt[index], SHA384_DIGEST_SIZE);
	sha384_update(&ctx, digest, sizeof(digest));
	sha384_final(&ctx, t->msmt[index]);
	return SBI_SUCCESS;
}

/* Into a present page of the TVM's confidential memory. */
static long read_measurement(struct tvm *t, uint64_t gpa, uint64_t size,
			     uint64_t index)
{
	uint64_t pa;

	if (gpa & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	if (size < SHA384_DIGEST_SIZE || index >= TVM_MSMT_REGS ||
	    !confidential_page(t, gpa, &pa))
		return SBI_ERR_INVALID_PARAM;
	memcpy((void *)pa, t->msmt[index], SHA384_DIGEST_SIZE);
	return SBI_SUCCESS;
}

/*
 * @v's share or unshare of [gpa, gpa + len) supersedes what other vCPUs
 * waited for there: their calls are done, and undone.
 */
static void unblock_others(struct tvm *t, struct vcpu *v, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < TSM_MAX_VCPUS; i++) {
		struct vcpu *o = &t->vcpus[i];

		if (o != v && o->blocked && ranges_overlap(gpa, len, o->blocked_range.gpa,
						     o->blocked_range.len))
			o->blocked = BLOCKED_NONE;
	}
}

enum exit_action covg_call(struct tvm *t, struct vcpu *v, uint64_t shm)
{
	unsigned long *r = v->ctx.gprs;
	unsigned long a0 = r[10], a1 = r[11], a2 = r[12];
	long err;
	int i;

	/* a6: FID in bits 15:0, SDID in 31:26 (0, or 1: this TSM), the rest 0. */
	if (r[16] >> 32 || r[16] >> 16 & 0x3ff || r[16] >> 26 > 1)
		err = SBI_ERR_INVALID_PARAM;
	else
		switch (r[16] & 0xffff) {
		case COVG_ADD_MMIO_REGION:
			err = add_mmio(t, a0, a1);
			break;
		case COVG_REMOVE_MMIO_REGION:
			err = remove_mmio(t, a0, a1);
			break;
		case COVG_SHARE_MEMORY_REGION:
			err = share(t, a0, a1);
			if (!err)
				v->blocked = BLOCKED_SHARE;
			break;
		case COVG_UNSHARE_MEMORY_REGION:
			err = unshare(t, a0, a1);
			if (!err)
				v->blocked = BLOCKED_UNSHARE;
			break;
		case COVG_ALLOW_EXT_INTERRUPT:
		case COVG_DENY_EXT_INTERRUPT:
			err = ext_interrupt(v, a0, (r[16] & 0xffff) == COVG_ALLOW_EXT_INTERRUPT);
			break;
		case COVG_GET_ATTCAPS:
			err = get_attcaps(t, a0, a1);
			break;
		case COVG_EXTEND_MEASUREMENT:
			err = extend_measurement(t, a0, a1, a2);
			break;
		case COVG_READ_MEASUREMENT:
			err = read_measurement(t, a0, a1, a2);
			break;
		default:
			err = SBI_ERR_NOT_SUPPORTED;
			break;
		}
	r[10] = (unsigned long)err;
	r[11] = 0;
	if (!err && v->blocked)
		unblock_others(t, v, a0, a1);
	if (err) {		/* nothing for the host to do */
		v->pc += 4;
		return EXIT_RESUME;
	}
	/* Done: the host sees the call as the guest made it. */
	v->blocked_range.gpa = a0;
	v->blocked_range.len = a1;
	for (i = 10; i <= 17; i++)
		nacl_put(shm, NACL_GPR(i), i == 10 ? a0 : i == 11 ? a1 : r[i]);
	v->resume = RESUME_COVG;
	return EXIT_TO_HOST;
}
