// SPDX-License-Identifier: BSD-2-Clause
/*
 * MMIO exits: a guest load or store page fault in an MMIO region the TVM
 * defined with COVG.  The host sees the access as the CoVE spec
 * recommends: htinst is a transformed load or store whose data register
 * is a0, and a0 in the NACL shared memory is the only GPR it gets (the
 * value stored) or gives (the value loaded).  The TSM truncates and
 * extends what the host loads as the instruction says, writes it into the
 * real destination register and steps over the instruction.
 *
 * The instruction comes from htinst when the hardware transforms it, else
 * from the guest's memory at sepc: through the guest's own page table
 * (Sv39, Sv48, Sv57) when its translation is on, which the TSM walks in
 * software.  Only the TVM's confidential pages are read, tables and
 * instruction alike: what the host can write (a shared page) never decides
 * which register the host gets.  Anything else ends the vCPU.
 */
#include "csr.h"
#include "pages.h"
#include "vcpu.h"

#define OP_LOAD		0x03
#define OP_STORE	0x23
#define REG_A0		10

bool mmio_region(const struct tvm *t, uint64_t gpa)
{
	uint32_t i;

	for (i = 0; i < t->num_mmio; i++) {
		if (gpa >= t->mmio[i].gpa && gpa - t->mmio[i].gpa < t->mmio[i].len)
			return true;
	}
	return false;
}

/* The page of @t at @gpa (page aligned), if it is one of its confidential pages. */
static bool confidential_page(const struct tvm *t, uint64_t gpa, uint64_t *pa)
{
	return gstage_translate(&t->gstage, gpa, pa) && page_lookup(*pa)->state == PAGE_TVM;
}

/*
 * The guest physical address of @gva for an instruction fetch, by the
 * guest's page table (vsatp): only valid, executable leaves, whatever the
 * guest's privilege (it fetched there already).
 */
static bool vs_translate(const struct tvm *t, const struct vcpu *v, uint64_t gva,
			 uint64_t *gpa)
{
	unsigned int levels, level, shift, va_bits;
	uint64_t table = (v->vsatp & ((1UL << 44) - 1)) << PAGE_SHIFT, pte, ppn, pa;

	switch (v->vsatp >> 60) {
	case 0:
		*gpa = gva;
		return true;
	case 8:
		levels = 3;
		break;
	case 9:
		levels = 4;
		break;
	case 10:
		levels = 5;
		break;
	default:
		return false;
	}
	va_bits = PAGE_SHIFT + 9 * levels;
	if ((uint64_t)((int64_t)(gva << (64 - va_bits)) >> (64 - va_bits)) != gva)
		return false;	/* not canonical */
	for (level = levels - 1;; level--) {
		shift = PAGE_SHIFT + 9 * level;
		if (!confidential_page(t, table, &pa))
			return false;
		pte = ((const volatile uint64_t *)pa)[(gva >> shift) & 511];
		if (!(pte & PTE_V))
			return false;
		ppn = (pte >> 10) & ((1UL << 44) - 1);
		if (pte & (PTE_R | PTE_X)) {
			if (!(pte & PTE_X) || ppn & ((1UL << (9 * level)) - 1))
				return false;	/* not executable, or a misaligned superpage */
			*gpa = (ppn << PAGE_SHIFT) + (gva & ((1UL << shift) - 1));
			return true;
		}
		if (!level)
			return false;
		table = ppn << PAGE_SHIFT;
	}
}

/* The 16 bits of guest instruction memory at @gva. */
static bool fetch16(const struct tvm *t, const struct vcpu *v, uint64_t gva, uint16_t *out)
{
	uint64_t gpa, pa;

	if (gva & 1 || !vs_translate(t, v, gva, &gpa) ||
	    !confidential_page(t, gpa & ~(PAGE_SIZE - 1), &pa))
		return false;
	*out = *(const volatile uint16_t *)(pa + (gpa & (PAGE_SIZE - 1)));
	return true;
}

/* The trapped instruction as a standard 32-bit one, and its length. */
static bool trapped_insn(const struct tvm *t, const struct vcpu *v,
			 const struct vcpu_exit *e, uint32_t *insn, uint8_t *len)
{
	uint16_t lo, hi;

	if (e->htinst && !(e->htinst & 1))
		return false;	/* a pseudo-instruction: the guest's page walk */
	if (e->htinst & 1) {	/* transformed: bit 1 clear if it was 16-bit */
		/* An address offset (bits 19:15): a misaligned access across
		 * the region's edge, which is not emulated. */
		if (e->htinst >> 15 & 31)
			return false;
		*len = e->htinst & 2 ? 4 : 2;
		*insn = (uint32_t)e->htinst | 2;
		return true;
	}
	if (!fetch16(t, v, v->pc, &lo))
		return false;
	if ((lo & 3) == 3) {
		if (!fetch16(t, v, v->pc + 2, &hi))
			return false;
		*insn = lo | (uint32_t)hi << 16;
		*len = 4;
		return true;
	}
	/* C.LW, C.LD, C.SW, C.SD: as LW, LD, SW, SD (rd/rs2' = x8 + bits 4:2). */
	*len = 2;
	switch (lo >> 13 | (lo & 3) << 3) {
	case 2:
		*insn = OP_LOAD | 2 << 12 | (8 + (lo >> 2 & 7)) << 7;
		return true;
	case 3:
		*insn = OP_LOAD | 3 << 12 | (8 + (lo >> 2 & 7)) << 7;
		return true;
	case 6:
		*insn = OP_STORE | 2 << 12 | (8 + (lo >> 2 & 7)) << 20;
		return true;
	case 7:
		*insn = OP_STORE | 3 << 12 | (8 + (lo >> 2 & 7)) << 20;
		return true;
	default:
		return false;
	}
}

enum exit_action mmio_exit(struct tvm *t, struct vcpu *v, const struct vcpu_exit *e,
			   uint64_t shm)
{
	uint32_t insn, f3, out;
	uint8_t len;
	bool store = e->scause == EXC_GUEST_STORE_PF;

	if (!trapped_insn(t, v, e, &insn, &len))
		return EXIT_FATAL;
	f3 = insn >> 12 & 7;
	if ((insn & 0x7f) != (store ? OP_STORE : OP_LOAD) || f3 == 7 || (store && f3 > 3))
		return EXIT_FATAL;
	if (store) {
		unsigned long val = v->ctx.gprs[insn >> 20 & 31];

		/* The bytes stored, not the rest of the register. */
		if (f3 < 3)
			val &= (1UL << (8U << f3)) - 1;
		out = OP_STORE | f3 << 12 | REG_A0 << 20;
		nacl_put(shm, NACL_GPR(REG_A0), val);
		v->resume = RESUME_MMIO_STORE;
	} else {
		out = OP_LOAD | f3 << 12 | REG_A0 << 7;
		v->mmio_rd = insn >> 7 & 31;
		v->mmio_f3 = f3;
		v->resume = RESUME_MMIO_LOAD;
	}
	if (len == 2)
		out &= ~2U;
	v->insn_len = len;
	nacl_put(shm, NACL_CSR(CSR_HTVAL), e->htval);
	nacl_put(shm, NACL_CSR(CSR_HTINST), out);
	return EXIT_TO_HOST;
}

void mmio_resume(struct vcpu *v, uint64_t shm)
{
	if (v->resume == RESUME_MMIO_LOAD) {
		unsigned long val = nacl_get(shm, NACL_GPR(REG_A0));
		unsigned int bits = 8U << (v->mmio_f3 & 3);

		if (bits < 64) {
			val &= (1UL << bits) - 1;
			if (!(v->mmio_f3 & 4) && val >> (bits - 1))	/* LB, LH, LW */
				val |= ~((1UL << bits) - 1);
		}
		if (v->mmio_rd)
			v->ctx.gprs[v->mmio_rd] = val;
	}
	v->pc += v->insn_len;
}
