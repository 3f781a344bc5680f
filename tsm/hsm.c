// SPDX-License-Identifier: BSD-2-Clause
/*
 * SBI HSM for a TVM's vCPUs: the TSM answers, because a vCPU's start state
 * is the TVM's business, not the host's.  hart_start sets the target
 * vCPU's entry point and argument as the TVM asked and exits to the host
 * (a forwarded ECALL, the TSM's result) so that it runs that vCPU;
 * hart_stop stops the caller, whose later runs fail until it is started
 * again; hart_get_status answers at once.  A retentive hart_suspend goes
 * to the host as a plain ECALL (it resumes after it, like WFI); a
 * non-retentive one is SBI_ERR_NOT_SUPPORTED.  Other FIDs:
 * SBI_ERR_NOT_SUPPORTED.
 */
#include "vcpu.h"

#define HSM_HART_START		0
#define HSM_HART_STOP		1
#define HSM_HART_GET_STATUS	2
#define HSM_HART_SUSPEND	3

#define HSM_STATE_STARTED	0
#define HSM_STATE_STOPPED	1

#define HSM_SUSPEND_NON_RETENTIVE	0x80000000UL

/*
 * The TSM's answer, then back to the guest or out to the host, which sees
 * the call and the target vCPU (a0) only: where the TVM starts it and with
 * what argument are the TVM's (a kernel address, a per-CPU pointer).
 */
static enum exit_action answer(struct vcpu *v, uint64_t shm, long err,
			       unsigned long value, bool exit)
{
	int i;

	if (exit && !err) {
		for (i = 10; i <= 17; i++)
			nacl_put(shm, NACL_GPR(i), i == 10 || i >= 16 ? v->ctx.gprs[i] : 0);
	}
	v->ctx.gprs[10] = (unsigned long)err;
	v->ctx.gprs[11] = value;
	if (exit && !err) {
		v->resume = RESUME_COVG;	/* step over; the result is set */
		return EXIT_TO_HOST;
	}
	v->pc += 4;
	return EXIT_RESUME;
}

enum exit_action hsm_call(struct tvm *t, struct vcpu *v, uint64_t shm)
{
	unsigned long *r = v->ctx.gprs, target = r[10];
	struct vcpu *tv;

	switch (r[16]) {
	case HSM_HART_START:
		if (target >= TSM_MAX_VCPUS || !t->vcpus[target].present)
			return answer(v, shm, SBI_ERR_INVALID_PARAM, 0, false);
		tv = &t->vcpus[target];
		if (tv->failed)
			return answer(v, shm, SBI_ERR_INVALID_PARAM, 0, false);
		if (tv->started)
			return answer(v, shm, SBI_ERR_ALREADY_AVAILABLE, 0, false);
		vcpu_start(tv, target, r[11], r[12]);
		return answer(v, shm, SBI_SUCCESS, 0, true);
	case HSM_HART_STOP:
		/* The host sees the call; the vCPU runs no more until started. */
		answer(v, shm, SBI_SUCCESS, 0, true);
		v->started = false;
		v->resume = RESUME_NONE;
		return EXIT_TO_HOST;
	case HSM_HART_GET_STATUS:
		if (target >= TSM_MAX_VCPUS || !t->vcpus[target].present)
			return answer(v, shm, SBI_ERR_INVALID_PARAM, 0, false);
		/* A vCPU that ended is stopped for good. */
		tv = &t->vcpus[target];
		return answer(v, shm, SBI_SUCCESS, tv->started && !tv->failed ?
			      HSM_STATE_STARTED : HSM_STATE_STOPPED, false);
	case HSM_HART_SUSPEND:
		/* Types: 0 and 0x10000000-0x7fffffff retentive, 0x80000000
		 * and 0x90000000-0xffffffff not; the rest reserved. */
		if (target >> 32 || (target & 0x7fffffff && (target & 0x7fffffff) < 0x10000000))
			return answer(v, shm, SBI_ERR_INVALID_PARAM, 0, false);
		if (target & HSM_SUSPEND_NON_RETENTIVE)
			return answer(v, shm, SBI_ERR_NOT_SUPPORTED, 0, false);
		return forward_ecall(v, shm);
	default:
		return answer(v, shm, SBI_ERR_NOT_SUPPORTED, 0, false);
	}
}
