/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TSM entry.  OpenSBI's TSM-driver enters here in HS-mode for every
 * TEECALL, interrupts disabled, with the host's call in a0-a7, the hart ID
 * in t0 and the boot information's address in t1.  The TSM keeps nothing on
 * its stack across calls; its answer goes back with TEERET.
 */
#include "tsm.h"

	.section .text.entry, "ax"
	.globl	_start
_start:
	j	.Lentry
	/* The header OpenSBI's TSM-driver reads (struct sbi_cove_tsm_header). */
	.balign	8
	.dword	TSM_HEADER_MAGIC
	.dword	__bss_start
	.dword	__bss_end
.Lentry:
	li	t2, TSM_MAX_HARTS
	bgeu	t0, t2, .Lno_hart
	/* sp = this hart's stack top; sscratch keeps it for traps. */
	la	sp, tsm_stacks
	addi	t2, t0, 1
	slli	t2, t2, TSM_STACK_SHIFT
	add	sp, sp, t2
	csrw	sscratch, sp
	la	t2, tsm_trap
	csrw	stvec, t2
	addi	sp, sp, -112
	sd	a0, 0(sp)
	sd	a1, 8(sp)
	sd	a2, 16(sp)
	sd	a3, 24(sp)
	sd	a4, 32(sp)
	sd	a5, 40(sp)
	sd	a6, 48(sp)
	sd	a7, 56(sp)
	sd	t0, 64(sp)
	sd	t1, 72(sp)
	sd	zero, 80(sp)
	sd	zero, 88(sp)
	sd	zero, 96(sp)
	mv	a0, sp
	call	tsm_dispatch
	/* a0, a1: the call's struct sbiret; a TVM's exit also sets the
	 * host's scause and stval (TEERET_EXIT). */
	ld	t0, 80(sp)
	beqz	t0, .Lteeret
	ld	a2, 88(sp)
	ld	a3, 96(sp)
	li	a6, 1
	j	.Lreturn
.Lteeret:
	li	a6, 0
.Lreturn:
	li	a7, SBI_EXT_OPENSBI
	ecall
	/* TEERET never returns. */
1:	wfi
	j	1b
.Lno_hart:
	li	a0, SBI_ERR_FAILED
	li	a1, 0
	j	.Lteeret

	/*
	 * An exception in the TSM itself (a bug, or an access the host's
	 * arguments led to that a check missed): the call fails.
	 */
	.align	2
tsm_trap:
	csrr	sp, sscratch
	csrr	a0, scause
	csrr	a1, sepc
	csrr	a2, stval
	mv	a3, sp		/* the hart's stack top: which hart */
	call	tsm_fault
	j	.Lteeret

	.bss
	.align	PAGE_SHIFT
	.globl	tsm_stacks
tsm_stacks:
	.space	TSM_MAX_HARTS << TSM_STACK_SHIFT
