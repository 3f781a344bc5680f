/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Into a TVM's vCPU and back (vcpu.c).  tsm_vcpu_enter(ctx) keeps the
 * TSM's callee-saved registers in @ctx, points stvec at tsm_guest_trap and
 * sscratch at @ctx, loads the guest's registers and srets into the guest
 * (the caller set sepc, sstatus.SPP, hstatus.SPV and the rest).  The
 * guest's next trap into HS-mode stores its registers in @ctx, puts the
 * TSM's stvec and sscratch back and returns from tsm_vcpu_enter().
 */

#define CTX_GPR(n)	(8 * (n))
#define CTX_RA		(8 * 32)
#define CTX_SP		(8 * 33)
#define CTX_S(n)	(8 * (34 + (n)))
#define CTX_STVEC	(8 * 46)
#define CTX_SSCRATCH	(8 * 47)

	.text
	.globl	tsm_vcpu_enter
tsm_vcpu_enter:
	sd	ra, CTX_RA(a0)
	sd	sp, CTX_SP(a0)
	sd	s0, CTX_S(0)(a0)
	sd	s1, CTX_S(1)(a0)
	sd	s2, CTX_S(2)(a0)
	sd	s3, CTX_S(3)(a0)
	sd	s4, CTX_S(4)(a0)
	sd	s5, CTX_S(5)(a0)
	sd	s6, CTX_S(6)(a0)
	sd	s7, CTX_S(7)(a0)
	sd	s8, CTX_S(8)(a0)
	sd	s9, CTX_S(9)(a0)
	sd	s10, CTX_S(10)(a0)
	sd	s11, CTX_S(11)(a0)
	csrr	t0, stvec
	sd	t0, CTX_STVEC(a0)
	csrr	t0, sscratch
	sd	t0, CTX_SSCRATCH(a0)
	la	t0, tsm_guest_trap
	csrw	stvec, t0
	csrw	sscratch, a0

	ld	x1, CTX_GPR(1)(a0)
	ld	x2, CTX_GPR(2)(a0)
	ld	x3, CTX_GPR(3)(a0)
	ld	x4, CTX_GPR(4)(a0)
	ld	x5, CTX_GPR(5)(a0)
	ld	x6, CTX_GPR(6)(a0)
	ld	x7, CTX_GPR(7)(a0)
	ld	x8, CTX_GPR(8)(a0)
	ld	x9, CTX_GPR(9)(a0)
	ld	x11, CTX_GPR(11)(a0)
	ld	x12, CTX_GPR(12)(a0)
	ld	x13, CTX_GPR(13)(a0)
	ld	x14, CTX_GPR(14)(a0)
	ld	x15, CTX_GPR(15)(a0)
	ld	x16, CTX_GPR(16)(a0)
	ld	x17, CTX_GPR(17)(a0)
	ld	x18, CTX_GPR(18)(a0)
	ld	x19, CTX_GPR(19)(a0)
	ld	x20, CTX_GPR(20)(a0)
	ld	x21, CTX_GPR(21)(a0)
	ld	x22, CTX_GPR(22)(a0)
	ld	x23, CTX_GPR(23)(a0)
	ld	x24, CTX_GPR(24)(a0)
	ld	x25, CTX_GPR(25)(a0)
	ld	x26, CTX_GPR(26)(a0)
	ld	x27, CTX_GPR(27)(a0)
	ld	x28, CTX_GPR(28)(a0)
	ld	x29, CTX_GPR(29)(a0)
	ld	x30, CTX_GPR(30)(a0)
	ld	x31, CTX_GPR(31)(a0)
	ld	x10, CTX_GPR(10)(a0)
	sret

	/* Every trap from the guest into HS-mode lands here. */
	.align	2
tsm_guest_trap:
	csrrw	a0, sscratch, a0	/* a0: ctx; sscratch: the guest's a0 */
	sd	x1, CTX_GPR(1)(a0)
	sd	x2, CTX_GPR(2)(a0)
	sd	x3, CTX_GPR(3)(a0)
	sd	x4, CTX_GPR(4)(a0)
	sd	x5, CTX_GPR(5)(a0)
	sd	x6, CTX_GPR(6)(a0)
	sd	x7, CTX_GPR(7)(a0)
	sd	x8, CTX_GPR(8)(a0)
	sd	x9, CTX_GPR(9)(a0)
	sd	x11, CTX_GPR(11)(a0)
	sd	x12, CTX_GPR(12)(a0)
	sd	x13, CTX_GPR(13)(a0)
	sd	x14, CTX_GPR(14)(a0)
	sd	x15, CTX_GPR(15)(a0)
	sd	x16, CTX_GPR(16)(a0)
	sd	x17, CTX_GPR(17)(a0)
	sd	x18, CTX_GPR(18)(a0)
	sd	x19, CTX_GPR(19)(a0)
	sd	x20, CTX_GPR(20)(a0)
	sd	x21, CTX_GPR(21)(a0)
	sd	x22, CTX_GPR(22)(a0)
	sd	x23, CTX_GPR(23)(a0)
	sd	x24, CTX_GPR(24)(a0)
	sd	x25, CTX_GPR(25)(a0)
	sd	x26, CTX_GPR(26)(a0)
	sd	x27, CTX_GPR(27)(a0)
	sd	x28, CTX_GPR(28)(a0)
	sd	x29, CTX_GPR(29)(a0)
	sd	x30, CTX_GPR(30)(a0)
	sd	x31, CTX_GPR(31)(a0)
	csrr	t0, sscratch
	sd	t0, CTX_GPR(10)(a0)

	ld	t0, CTX_SSCRATCH(a0)
	csrw	sscratch, t0
	ld	t0, CTX_STVEC(a0)
	csrw	stvec, t0
	ld	ra, CTX_RA(a0)
	ld	sp, CTX_SP(a0)
	ld	s0, CTX_S(0)(a0)
	ld	s1, CTX_S(1)(a0)
	ld	s2, CTX_S(2)(a0)
	ld	s3, CTX_S(3)(a0)
	ld	s4, CTX_S(4)(a0)
	ld	s5, CTX_S(5)(a0)
	ld	s6, CTX_S(6)(a0)
	ld	s7, CTX_S(7)(a0)
	ld	s8, CTX_S(8)(a0)
	ld	s9, CTX_S(9)(a0)
	ld	s10, CTX_S(10)(a0)
	ld	s11, CTX_S(11)(a0)
	ret
