/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TVM the conformance test runs (run_tvm in cove_tsm_test.c): two
 * measured pages at GPA 0x80000000, this code and a data page, entered in
 * VS-mode with translation off, a0 = vCPU ID, a1 = the entry argument.
 * It reports to the test with ECALLs the TSM forwards (EID TEST_EID, the
 * FID says what), and fails loudly (FID 0xff, a0 = the step) if a COVG
 * answer is not what the TSM's documentation says.
 */
#define GPA_BASE	0x80000000
#define DATA		(GPA_BASE + 0x1000)
#define ZERO_PAGE	(GPA_BASE + 0x2000)	/* added after finalize */
#define DEMAND_PAGE	(GPA_BASE + 0x4000)	/* added when touched */
#define UNMAPPED	(GPA_BASE + 0x5000)
#define SHARED		(GPA_BASE + 0x6000)	/* confidential, then shared, then not */
#define SPLIT		(GPA_BASE + 0x20000)	/* shares merged and unshares split */
#define SHARED_AT_END	(GPA_BASE + 0x30000)	/* shared when the TVM is destroyed */
#define MMIO		0x10000000
#define TEST_EID	0x54534554		/* "TEST" */
#define COVG		0x434F5647
#define SPIN		100000000
#define HSM		0x48534D

/* A COVG call; a0 must then be @err or the payload fails with @step. */
.macro covg fid, arg0, arg1, arg2, err, step
	li	a7, COVG
	li	a6, \fid
	li	a0, \arg0
	li	a1, \arg1
	li	a2, \arg2
	ecall
	li	t6, \err
	li	s11, \step
	bne	a0, t6, fail
.endm

/* A report to the test: FID @fid, a0-a2. */
.macro report fid
	li	a7, TEST_EID
	li	a6, \fid
	ecall
.endm

	.option	norvc
	.text
	.globl	_start
_start:
	mv	s0, a1			/* the entry argument */
	mv	s10, a0			/* the vCPU ID */

	/* 1: the data page's 64-bit sum, with the entry argument and ID. */
	li	t0, DATA
	li	t1, 512
	li	s1, 0
1:	ld	t2, 0(t0)
	add	s1, s1, t2
	addi	t0, t0, 8
	addi	t1, t1, -1
	bnez	t1, 1b
	mv	a0, s1
	mv	a1, s0
	mv	a2, s10
	report	1
	mv	s2, a0			/* a cookie the test hands back */

	/* 2: MMIO: a region, a word loaded (sign-extended), one stored, a
	 * compressed load. */
	covg	0, MMIO, 0x1000, 0, 0, 2
	covg	0, MMIO, 0x1000, 0, -5, 3	/* overlaps itself */
	covg	0, GPA_BASE, 0x1000, 0, -5, 4	/* confidential memory */
	covg	0, MMIO + 0x10000, 0x800, 0, -5, 5	/* not 4 KiB */
	li	t0, MMIO
	lw	s3, 4(t0)
	addi	s4, s3, 1
	sd	s4, 8(t0)
	li	t2, 0xdeadbeef12345678
	sw	t2, 12(t0)		/* the host gets the low 32 bits only */
	.option	rvc
	mv	a4, t0
	c.lw	a5, 16(a4)
	.option	norvc
	mv	a0, s4
	mv	a1, a5
	report	2

	/* 3: both measurement registers, a word at a time. */
	li	s5, 0
2:	li	a7, COVG
	li	a6, 10
	li	a0, ZERO_PAGE
	li	a1, 48
	mv	a2, s5
	ecall
	li	s11, 6
	bnez	a0, fail
	li	s6, 0
3:	li	t0, ZERO_PAGE
	slli	t1, s6, 3
	add	t0, t0, t1
	ld	a2, 0(t0)
	mv	a0, s5
	mv	a1, s6
	report	3
	addi	s6, s6, 1
	li	t0, 6
	bltu	s6, t0, 3b
	addi	s5, s5, 1
	li	t0, 2
	bltu	s5, t0, 2b

	/* 4: what read_measurement refuses. */
	covg	10, ZERO_PAGE + 8, 48, 0, -5, 7
	covg	10, UNMAPPED, 48, 0, -3, 8
	covg	10, MMIO, 48, 0, -3, 9
	covg	10, ZERO_PAGE, 47, 0, -3, 10
	covg	10, ZERO_PAGE, 48, 6, -3, 11	/* no such register */
	covg	99, 0, 0, 0, -2, 12
	covg	1, MMIO, 0x1000, 0, 0, 13	/* remove it */
	covg	1, MMIO + 8, 0x1000, 0, -5, 14

	/* 5: a confidential page the host adds when it is touched. */
	li	t0, DEMAND_PAGE
	ld	a0, 0(t0)
	li	t1, 0x5a5a
	sd	t1, 8(t0)
	ld	a1, 8(t0)
	report	5

	/* 8: a confidential page made shared: the host removes the page, then
	 * maps one of its own there; then back.  What it holds each time. */
	li	t0, SHARED
	li	t1, 0x77
	sd	t1, 0(t0)		/* a confidential page, on demand */
	covg	2, SHARED + 8, 0x1000, 0, -5, 16	/* not aligned */
	covg	2, SHARED, 0, 0, -3, 17
	covg	2, MMIO, 0x1000, 0, -3, 18	/* not confidential */
	covg	2, GPA_BASE + 0xff000, 0x2000, 0, -3, 19	/* past the region */
	covg	3, SHARED, 0x1000, 0, -3, 20	/* not shared */
	covg	2, SHARED, 0x2000, 0, 0, 21
	covg	2, SHARED, 0x1000, 0, -3, 22	/* shared already */
	li	t0, SHARED
	ld	a0, 0(t0)		/* the host's page now */
	li	t1, 0x99
	sd	t1, 8(t0)
	report	8
	covg	3, SHARED, 0x2000, 0, 0, 23
	li	t0, SHARED
	ld	a0, 0(t0)		/* a fresh confidential page: zero */
	ld	a1, 8(t0)
	report	9

	/* 9b: shares that merge, unshares that split them: the middle, then
	 * each piece; the head, the tail, then the rest. */
	covg	2, SPLIT, 0x1000, 0, 0, 45
	covg	2, SPLIT + 0x1000, 0x2000, 0, 0, 46
	covg	3, SPLIT + 0x1000, 0x1000, 0, 0, 47
	covg	3, SPLIT, 0x2000, 0, -3, 48	/* no longer one range */
	covg	3, SPLIT + 0x2000, 0x1000, 0, 0, 49
	covg	3, SPLIT, 0x1000, 0, 0, 50
	covg	3, SPLIT, 0x1000, 0, -3, 51	/* gone */
	covg	2, SPLIT, 0x3000, 0, 0, 52
	covg	3, SPLIT, 0x1000, 0, 0, 53
	covg	3, SPLIT + 0x2000, 0x1000, 0, 0, 54
	covg	3, SPLIT + 0x1000, 0x1000, 0, 0, 55
	covg	3, SPLIT + 0x1000, 0x1000, 0, -3, 56

	/* 12: attestation capabilities; a runtime register extended with the
	 * digest 00 01 02 ... 2f and read back. */
	li	t0, ZERO_PAGE		/* what the TSM must overwrite */
	li	t1, -1
	sd	t1, 0(t0)
	sd	t1, 8(t0)
	sd	t1, 16(t0)
	sd	t1, 48(t0)
	covg	6, ZERO_PAGE, 0x1000, 0, 0, 24
	li	t0, ZERO_PAGE
	ld	a0, 0(t0)
	ld	a1, 16(t0)
	ld	a2, 48(t0)
	report	12
	li	t0, ZERO_PAGE
	ld	a0, 8(t0)		/* SHA-384, no certificate formats */
	report	23
	covg	6, ZERO_PAGE + 8, 0x1000, 0, -5, 25
	covg	6, ZERO_PAGE, 0x800, 0, -3, 26
	covg	6, UNMAPPED, 0x1000, 0, -3, 27
	li	t0, ZERO_PAGE
	li	t1, 0
5:	add	t2, t0, t1
	sb	t1, 0(t2)
	addi	t1, t1, 1
	li	t2, 48
	bltu	t1, t2, 5b
	covg	7, ZERO_PAGE, 48, 0, -3, 28	/* an initial register */
	covg	7, ZERO_PAGE, 48, 6, -3, 29	/* no such register */
	covg	7, ZERO_PAGE, 47, 2, -3, 30
	covg	7, ZERO_PAGE + 8, 48, 2, -5, 31
	covg	7, UNMAPPED, 48, 2, -5, 32
	covg	7, ZERO_PAGE, 48, 2, 0, 33
	covg	10, ZERO_PAGE, 48, 2, 0, 34
	li	s6, 0
6:	li	t0, ZERO_PAGE
	slli	t1, s6, 3
	add	t0, t0, t1
	ld	a2, 0(t0)
	li	a0, 2
	mv	a1, s6
	report	3
	addi	s6, s6, 1
	li	t0, 6
	bltu	s6, t0, 6b

	/* 13: COVH from the TVM is an ECALL like any other: the TSM does not
	 * take it, it goes to the host, which answers. */
	li	a7, 0x434F5648
	li	a6, 0
	li	a0, 0
	li	a1, 0
	ecall
	mv	a1, a0
	report	13

	/* 14: vCPU 1, started by this one (SBI HSM, which the TSM answers),
	 * twice: it stops each time. */
	li	a7, HSM
	li	a6, 2			/* get_status: stopped */
	li	a0, 1
	ecall
	li	s11, 35
	bnez	a0, fail
	li	t6, 1
	bne	a1, t6, fail
	li	a7, HSM
	li	a6, 0			/* hart_start(1, secondary, 0xabc) */
	li	a0, 1
	lla	a1, secondary
	li	a2, 0xabc
	ecall
	li	s11, 36
	bnez	a0, fail
	li	a7, HSM
	li	a6, 0			/* again: it has stopped since */
	li	a0, 1
	lla	a1, secondary
	li	a2, 0xabc
	ecall
	li	s11, 37
	bnez	a0, fail
	li	a7, HSM
	li	a6, 0			/* a vCPU the host did not create */
	li	a0, 2
	lla	a1, secondary
	li	a2, 0
	ecall
	li	t6, -3
	li	s11, 38
	bne	a0, t6, fail
	li	a7, HSM
	li	a6, 2			/* stopped again */
	li	a0, 1
	ecall
	li	s11, 59
	li	t6, 1
	bne	a1, t6, fail
	li	a7, HSM
	li	a6, 3			/* suspend: a reserved type */
	li	a0, 1
	ecall
	li	s11, 60
	li	t6, -3
	bne	a0, t6, fail
	li	a7, HSM
	li	a6, 3			/* non-retentive: not supported */
	li	a0, 0x80000000
	ecall
	li	s11, 61
	li	t6, -2
	bne	a0, t6, fail
	li	a7, HSM
	li	a6, 3			/* retentive: the host's, like WFI */
	li	a0, 0
	ecall
	li	s11, 62
	bnez	a0, fail
	li	a7, HSM
	li	a6, 9			/* no such FID */
	ecall
	li	s11, 63
	li	t6, -2
	bne	a0, t6, fail

	/* 10: interrupt state the host sees: its own VSSIP (a self-IPI, with
	 * interrupts off), its sie; the host's attempt to clear the VSSIP. */
	li	t0, 0x20
	csrs	sie, t0
	csrsi	sip, 2
	report	10
	csrr	a0, sip			/* still pending: the host cannot take it */
	csrci	sip, 2			/* the guest can */
	csrr	a2, sip
	csrr	a1, sie
	report	11
	li	t0, 0x20
	csrc	sie, t0

	/* 16: its own timer: SBI set_timer goes to the host, which injects a
	 * VS timer interrupt (hvip.VSTIP) that the TVM's handler takes. */
	lla	t0, vs_trap
	csrw	stvec, t0
	li	t0, 0x20
	csrs	sie, t0			/* STIE */
	li	a7, 0x54494D45		/* TIME */
	li	a6, 0
	li	a0, 12345
	ecall
	li	s7, 0
	csrsi	sstatus, 2		/* SIE */
7:	beqz	s7, 7b
	csrci	sstatus, 2
	mv	a0, s8
	report	16

	/* 17: external interrupts, denied until the TVM allows them: the host
	 * raises VSEIP, which stays out until then. */
	report	17
	li	t0, 0x200
	csrs	sie, t0			/* SEIE */
	li	s7, 0
	csrsi	sstatus, 2
	li	t1, 1000000
8:	addi	t1, t1, -1
	bnez	t1, 8b
	csrci	sstatus, 2
	mv	a0, s7
	report	18
	covg	4, 0, 0, 0, -3, 41
	covg	4, 2048, 0, 0, -3, 42
	covg	4, -1, 0, 0, 0, 43	/* all of them */
	li	t0, 0x200
	csrs	sie, t0
	csrsi	sstatus, 2
9:	beqz	s7, 9b
	csrci	sstatus, 2
	mv	a0, s8
	report	19
	covg	5, -1, 0, 0, 0, 44
	/* Denied again: the host raises VSEIP, it stays out; one ID allowed
	 * lets it in. */
	report	20
	li	s7, 0
	li	t0, 0x200
	csrs	sie, t0
	csrsi	sstatus, 2
	li	t1, 1000000
10:	addi	t1, t1, -1
	bnez	t1, 10b
	csrci	sstatus, 2
	mv	a0, s7
	report	21
	covg	4, 64, 0, 0, 0, 57
	csrsi	sstatus, 2
11:	beqz	s7, 11b
	csrci	sstatus, 2
	mv	a0, s8
	report	22
	covg	5, 64, 0, 0, 0, 58

	/* 6: long enough for the host's timer to interrupt it. */
	li	t0, SPIN
4:	addi	t0, t0, -1
	bnez	t0, 4b
	mv	a0, s2
	report	6

	/* 24: a page it shares when it ends: destroying the TVM must give
	 * the host its page back. */
	covg	2, SHARED_AT_END, 0x1000, 0, 0, 64
	li	t0, SHARED_AT_END
	ld	a0, 0(t0)
	report	24

	/* 7: an HS CSR from VS-mode: a virtual instruction, which ends the
	 * vCPU. */
	csrr	t0, 0x600
	li	s11, 15
fail:
	mv	a0, s11
	report	0xff
	j	fail

	/* vCPU 0's trap handler: a timer or external interrupt, which it
	 * masks (the host's hvip keeps it pending). */
	.balign	4
vs_trap:
	csrr	s8, scause
	li	s7, 1
	li	t0, 0x220
	csrc	sie, t0
	sret

	/* vCPU 1: its ID and argument, vCPU 0's state, then it stops. */
secondary:
	mv	a2, s9			/* 0: nothing left from its last run */
	report	14
	li	a7, HSM
	li	a6, 0			/* vCPU 0 runs already */
	li	a0, 0
	lla	a1, secondary
	ecall
	li	t6, -6
	li	s11, 40
	bne	a0, t6, fail
	li	a7, HSM
	li	a6, 2
	li	a0, 0
	ecall
	report	15
	li	s9, 0x77
	li	a7, HSM
	li	a6, 1			/* hart_stop */
	ecall
	li	s11, 39
	j	fail

	.balign	4096
data:
	.rept	512
	.dword	0x0123456789abcdef
	.endr
