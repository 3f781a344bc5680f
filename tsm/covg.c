// SPDX-License-Identifier: BSD-2-Clause
/*
 * COVG: the TVM's calls to the TSM (CoVE spec, "COVE Guest Extension").
 * The TSM answers in the guest's a0 (error) and a1 (value).  Adding or
 * removing an MMIO region also exits to the host as a forwarded ECALL (a0-a7
 * as the guest made the call, in the NACL shared memory) so that it can
 * set up emulation; the TSM decides the result, not the host.
 *
 * Done: add/remove MMIO region (0, 1), read measurement (10).  Not yet,
 * SBI_ERR_NOT_SUPPORTED: share/unshare (2, 3), external interrupts (4, 5),
 * attestation capabilities, evidence and secrets (6, 8, 9), extend
 * measurement (7).
 */
#include "vcpu.h"

enum covg_fid {
	COVG_ADD_MMIO_REGION = 0,
	COVG_REMOVE_MMIO_REGION = 1,
	COVG_READ_MEASUREMENT = 10,
};

/* [gpa, gpa + len): 4 KiB granules, not empty, below 2^50. */
static bool gpa_range_ok(uint64_t gpa, uint64_t len)
{
	return !(gpa & (PAGE_SIZE - 1)) && len && !(len & (PAGE_SIZE - 1)) &&
	       gpa < 1UL << TSM_GPA_BITS && len <= (1UL << TSM_GPA_BITS) - gpa;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* MMIO regions may overlap neither each other nor confidential memory. */
static long add_mmio(struct tvm *t, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	if (!gpa_range_ok(gpa, len))
		return SBI_ERR_INVALID_ADDRESS;
	for (i = 0; i < t->num_mmio; i++) {
		if (overlaps(gpa, len, t->mmio[i].gpa, t->mmio[i].len))
			return SBI_ERR_INVALID_ADDRESS;
	}
	for (i = 0; i < t->num_regions; i++) {
		if (overlaps(gpa, len, t->regions[i].gpa, t->regions[i].len))
			return SBI_ERR_INVALID_ADDRESS;
	}
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
		if (overlaps(gpa, len, t->mmio[i].gpa, t->mmio[i].len))
			t->mmio[i] = t->mmio[--t->num_mmio];
		else
			i++;
	}
	return SBI_SUCCESS;
}

/* Into a page of the TVM's confidential memory, which the host cannot
 * have mapped for it: only the TSM maps confidential pages. */
static long read_measurement(struct tvm *t, uint64_t gpa, uint64_t size,
			     uint64_t index)
{
	uint64_t pa;

	if (gpa & (PAGE_SIZE - 1))
		return SBI_ERR_INVALID_ADDRESS;
	if (size < SHA384_DIGEST_SIZE || index >= TVM_MSMT_REGS ||
	    !gstage_translate(&t->gstage, gpa, &pa))
		return SBI_ERR_INVALID_PARAM;
	memcpy((void *)pa, t->msmt[index], SHA384_DIGEST_SIZE);
	return SBI_SUCCESS;
}

enum exit_action covg_call(struct tvm *t, struct vcpu *v, uint64_t shm)
{
	unsigned long *r = v->ctx.gprs;
	unsigned long a0 = r[10], a1 = r[11], a2 = r[12];
	long err;
	int i;

	switch (r[16]) {
	case COVG_ADD_MMIO_REGION:
	case COVG_REMOVE_MMIO_REGION:
		err = r[16] == COVG_ADD_MMIO_REGION ? add_mmio(t, a0, a1) :
						      remove_mmio(t, a0, a1);
		if (err)
			break;
		for (i = 10; i <= 17; i++)
			nacl_put(shm, NACL_GPR(i), r[i]);
		r[10] = SBI_SUCCESS;
		r[11] = 0;
		v->resume = RESUME_COVG;
		return EXIT_TO_HOST;
	case COVG_READ_MEASUREMENT:
		err = read_measurement(t, a0, a1, a2);
		break;
	default:
		err = SBI_ERR_NOT_SUPPORTED;
		break;
	}
	r[10] = (unsigned long)err;
	r[11] = 0;
	v->pc += 4;
	return EXIT_RESUME;
}
