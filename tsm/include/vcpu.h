/* SPDX-License-Identifier: BSD-2-Clause */
/* Running TVM vCPUs, their exits and COVG (vcpu.c, mmio.c, covg.c). */
#ifndef TSM_VCPU_H
#define TSM_VCPU_H

#include "tvm.h"

/*
 * The NACL shared memory (SBI NACL extension; the CoVE spec's struct
 * nacl_shmem): scratch, whose first 32 words are the guest GPRs CoVE
 * passes, then the CSRs from byte 4096, indexed by {csr[11:10], csr[7:0]}.
 */
#define NACL_SHMEM_SIZE		(3 * PAGE_SIZE)
#define NACL_GPR(n)		(8 * (n))
#define NACL_CSR(csr)		(4096 + 8 * ((((csr) >> 2) & 0x300) | ((csr) & 0xff)))

/* Exception causes. */
#define EXC_VS_ECALL		10
#define EXC_GUEST_INSN_PF	20
#define EXC_GUEST_LOAD_PF	21
#define EXC_GUEST_STORE_PF	23
#define SCAUSE_INTERRUPT	(1UL << 63)

/* A trap out of the guest, as tsm_vcpu_enter() left it. */
struct vcpu_exit {
	unsigned long scause;
	unsigned long stval;
	unsigned long htval;
	unsigned long htinst;
	unsigned long hvip;	/* its VS bits at the exit */
};

/* What handling an exit decided. */
enum exit_action {
	EXIT_RESUME,		/* back into the guest at once */
	EXIT_TO_HOST,		/* a resumable exit: the host handles it */
	EXIT_FATAL,		/* the vCPU cannot go on */
};

/* guest.S */
void tsm_vcpu_enter(struct vcpu_ctx *ctx);

/* vcpu.c */
struct sbiret vcpu_run(struct tsm_call *call, unsigned long id, unsigned long vcpu_id);
/* The vCPU starts afresh at @pc, in VS-mode, a0 = its ID, a1 = @arg. */
void vcpu_start(struct vcpu *v, unsigned long vcpu_id, unsigned long pc,
		unsigned long arg);
/* An ECALL the host handles: it gets a0-a7, and answers in a0 and a1. */
enum exit_action forward_ecall(struct vcpu *v, uint64_t shm);
void nacl_put(uint64_t shm, unsigned long off, unsigned long val);
unsigned long nacl_get(uint64_t shm, unsigned long off);

/* mmio.c: a guest page fault in an MMIO region the TVM defined. */
bool mmio_region(const struct tvm *t, uint64_t gpa);
enum exit_action mmio_exit(struct tvm *t, struct vcpu *v, const struct vcpu_exit *e,
			   uint64_t shm);
void mmio_resume(struct vcpu *v, uint64_t shm);

/* hsm.c: an ECALL to SBI HSM, which the TSM answers for the TVM's vCPUs. */
enum exit_action hsm_call(struct tvm *t, struct vcpu *v, uint64_t shm);

/* covg.c: an ECALL to COVG.  The guest's a0/a1 get the result. */
enum exit_action covg_call(struct tvm *t, struct vcpu *v, uint64_t shm);

#endif
