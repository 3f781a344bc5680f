/*
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * CoVE TSM-driver, deployment model 1 (docs/cove_tsm_driver.md).
 *
 * A COVH call from any domain but the TSM's (TEECALL) saves the caller's
 * trap registers, its supervisor and hypervisor CSRs and its floating-point
 * registers, makes the TSM's domain the hart's current one (its PMP view
 * includes the TSM's memory, which every other domain's excludes; the hart
 * stays assigned to the caller's domain) and enters the TSM
 * at its entry point with the call in a0-a7.  The TSM answers with TEERET
 * (the OpenSBI firmware extension, FID 0), which restores the caller and
 * returns the TSM's a0/a1 as the call's result.  The TSM is entered afresh
 * on every call: it keeps no stack across calls, so nothing the host does
 * can resume it in the middle of one.
 */

#include <sbi/riscv_asm.h>
#include <sbi/riscv_encoding.h>
#include <sbi/sbi_bitops.h>
#include <sbi/sbi_console.h>
#include <sbi/sbi_cove.h>
#include <sbi/sbi_domain.h>
#include <sbi/sbi_ecall.h>
#include <sbi/sbi_ecall_interface.h>
#include <sbi/sbi_error.h>
#include <sbi/sbi_hart.h>
#include <sbi/sbi_hart_protection.h>
#include <sbi/sbi_hartmask.h>
#include <sbi/sbi_heap.h>
#include <sbi/sbi_platform.h>
#include <sbi/sbi_scratch.h>
#include <sbi/sbi_sse.h>
#include <sbi/sbi_string.h>
#include <sbi/sbi_trap.h>

/* Sstc's virtual supervisor timer compare (riscv_encoding.h lacks it). */
#ifndef CSR_VSTIMECMP
#define CSR_VSTIMECMP			0x24D
#endif

/* Supervisor and hypervisor CSRs one domain's software owns. */
struct cove_csrs {
	unsigned long stvec, sscratch, sepc, scause, stval, satp, sie;
	unsigned long scounteren, senvcfg;
	unsigned long hstatus, hedeleg, hideleg, hie, hvip, hcounteren;
	unsigned long hgeie, htval, htinst, hgatp, henvcfg, htimedelta;
	unsigned long vsstatus, vstvec, vsscratch, vsepc, vscause, vstval;
	unsigned long vsatp, vstimecmp;
};

struct cove_hart {
	/* The caller's trap registers while the TSM runs */
	struct sbi_trap_regs caller_regs;
	struct cove_csrs caller_csrs;
	struct cove_csrs tsm_csrs;
	u64 caller_fp[32];
	unsigned long caller_fcsr;
	/* SSE was unmasked on this hart when the TSM was entered */
	bool sse_unmasked;
};

static struct sbi_domain *tsm_dom;
/* The domain that may call the TSM: the cold-boot hart's at registration. */
static struct sbi_domain *host_dom;
static struct sbi_cove_boot_info *boot_info;
static unsigned long cove_hart_offset;
static bool has_h, has_fp, has_envcfg, has_sstc;

/* Per-hart state, allocated at registration (the scratch area holds a pointer). */
static struct cove_hart *cove_thishart(void)
{
	return sbi_scratch_read_type(sbi_scratch_thishart_ptr(), void *,
				     cove_hart_offset);
}

static void cove_csrs_save(struct cove_csrs *c)
{
	c->stvec = csr_read(CSR_STVEC);
	c->sscratch = csr_read(CSR_SSCRATCH);
	c->sepc = csr_read(CSR_SEPC);
	c->scause = csr_read(CSR_SCAUSE);
	c->stval = csr_read(CSR_STVAL);
	c->satp = csr_read(CSR_SATP);
	c->sie = csr_read(CSR_SIE);
	c->scounteren = csr_read(CSR_SCOUNTEREN);
	if (has_envcfg)
		c->senvcfg = csr_read(CSR_SENVCFG);
	if (!has_h)
		return;
	c->hstatus = csr_read(CSR_HSTATUS);
	c->hedeleg = csr_read(CSR_HEDELEG);
	c->hideleg = csr_read(CSR_HIDELEG);
	c->hie = csr_read(CSR_HIE);
	c->hvip = csr_read(CSR_HVIP);
	c->hcounteren = csr_read(CSR_HCOUNTEREN);
	c->hgeie = csr_read(CSR_HGEIE);
	c->htval = csr_read(CSR_HTVAL);
	c->htinst = csr_read(CSR_HTINST);
	c->hgatp = csr_read(CSR_HGATP);
	c->htimedelta = csr_read(CSR_HTIMEDELTA);
	c->vsstatus = csr_read(CSR_VSSTATUS);
	c->vstvec = csr_read(CSR_VSTVEC);
	c->vsscratch = csr_read(CSR_VSSCRATCH);
	c->vsepc = csr_read(CSR_VSEPC);
	c->vscause = csr_read(CSR_VSCAUSE);
	c->vstval = csr_read(CSR_VSTVAL);
	c->vsatp = csr_read(CSR_VSATP);
	if (has_envcfg)
		c->henvcfg = csr_read(CSR_HENVCFG);
	if (has_sstc)
		c->vstimecmp = csr_read(CSR_VSTIMECMP);
}

static void cove_csrs_restore(const struct cove_csrs *c)
{
	csr_write(CSR_STVEC, c->stvec);
	csr_write(CSR_SSCRATCH, c->sscratch);
	csr_write(CSR_SEPC, c->sepc);
	csr_write(CSR_SCAUSE, c->scause);
	csr_write(CSR_STVAL, c->stval);
	csr_write(CSR_SATP, c->satp);
	csr_write(CSR_SIE, c->sie);
	csr_write(CSR_SCOUNTEREN, c->scounteren);
	if (has_envcfg)
		csr_write(CSR_SENVCFG, c->senvcfg);
	if (!has_h)
		return;
	/* hgatp first: no guest translation may run under the other's. */
	csr_write(CSR_HGATP, c->hgatp);
	csr_write(CSR_HSTATUS, c->hstatus);
	csr_write(CSR_HEDELEG, c->hedeleg);
	csr_write(CSR_HIDELEG, c->hideleg);
	csr_write(CSR_HIE, c->hie);
	csr_write(CSR_HVIP, c->hvip);
	csr_write(CSR_HCOUNTEREN, c->hcounteren);
	csr_write(CSR_HGEIE, c->hgeie);
	csr_write(CSR_HTVAL, c->htval);
	csr_write(CSR_HTINST, c->htinst);
	csr_write(CSR_HTIMEDELTA, c->htimedelta);
	csr_write(CSR_VSSTATUS, c->vsstatus);
	csr_write(CSR_VSTVEC, c->vstvec);
	csr_write(CSR_VSSCRATCH, c->vsscratch);
	csr_write(CSR_VSEPC, c->vsepc);
	csr_write(CSR_VSCAUSE, c->vscause);
	csr_write(CSR_VSTVAL, c->vstval);
	csr_write(CSR_VSATP, c->vsatp);
	if (has_envcfg)
		csr_write(CSR_HENVCFG, c->henvcfg);
	if (has_sstc)
		csr_write(CSR_VSTIMECMP, c->vstimecmp);
}

/*
 * The caller's f registers: the TSM does not use them, but the TVMs it runs
 * do.  Saved whatever mstatus.FS says: an S-mode kernel typically runs with
 * FS off while its f registers still hold a task's state.
 */
static void cove_fp_save(struct cove_hart *h)
{
	unsigned long mstatus;

	if (!has_fp)
		return;
	mstatus = csr_read_set(CSR_MSTATUS, MSTATUS_FS);
	asm volatile("fsd f0, 0(%0)\n\tfsd f1, 8(%0)\n\tfsd f2, 16(%0)\n\tfsd f3, 24(%0)\n\t"
		"fsd f4, 32(%0)\n\tfsd f5, 40(%0)\n\tfsd f6, 48(%0)\n\tfsd f7, 56(%0)\n\t"
		"fsd f8, 64(%0)\n\tfsd f9, 72(%0)\n\tfsd f10, 80(%0)\n\tfsd f11, 88(%0)\n\t"
		"fsd f12, 96(%0)\n\tfsd f13, 104(%0)\n\tfsd f14, 112(%0)\n\tfsd f15, 120(%0)\n\t"
		"fsd f16, 128(%0)\n\tfsd f17, 136(%0)\n\tfsd f18, 144(%0)\n\tfsd f19, 152(%0)\n\t"
		"fsd f20, 160(%0)\n\tfsd f21, 168(%0)\n\tfsd f22, 176(%0)\n\tfsd f23, 184(%0)\n\t"
		"fsd f24, 192(%0)\n\tfsd f25, 200(%0)\n\tfsd f26, 208(%0)\n\tfsd f27, 216(%0)\n\t"
		"fsd f28, 224(%0)\n\tfsd f29, 232(%0)\n\tfsd f30, 240(%0)\n\tfsd f31, 248(%0)"
		: : "r"(h->caller_fp) : "memory");
	asm volatile("frcsr %0" : "=r"(h->caller_fcsr));
	csr_write(CSR_MSTATUS, mstatus);
}

static void cove_fp_restore(const struct cove_hart *h)
{
	unsigned long mstatus;

	if (!has_fp)
		return;
	mstatus = csr_read_set(CSR_MSTATUS, MSTATUS_FS);
	asm volatile("fld f0, 0(%0)\n\tfld f1, 8(%0)\n\tfld f2, 16(%0)\n\tfld f3, 24(%0)\n\t"
		"fld f4, 32(%0)\n\tfld f5, 40(%0)\n\tfld f6, 48(%0)\n\tfld f7, 56(%0)\n\t"
		"fld f8, 64(%0)\n\tfld f9, 72(%0)\n\tfld f10, 80(%0)\n\tfld f11, 88(%0)\n\t"
		"fld f12, 96(%0)\n\tfld f13, 104(%0)\n\tfld f14, 112(%0)\n\tfld f15, 120(%0)\n\t"
		"fld f16, 128(%0)\n\tfld f17, 136(%0)\n\tfld f18, 144(%0)\n\tfld f19, 152(%0)\n\t"
		"fld f20, 160(%0)\n\tfld f21, 168(%0)\n\tfld f22, 176(%0)\n\tfld f23, 184(%0)\n\t"
		"fld f24, 192(%0)\n\tfld f25, 200(%0)\n\tfld f26, 208(%0)\n\tfld f27, 216(%0)\n\t"
		"fld f28, 224(%0)\n\tfld f29, 232(%0)\n\tfld f30, 240(%0)\n\tfld f31, 248(%0)\n\t"
		"fscsr %1"
		: : "r"(h->caller_fp), "r"(h->caller_fcsr) : "memory");
	csr_write(CSR_MSTATUS, mstatus);
}

/*
 * The hart's domain becomes @dom for PMP and for the calls it makes, but
 * it stays assigned to the caller's domain: IPIs and remote fences the
 * caller's other harts send it are accepted while it is in the TSM (they
 * are taken in M-mode or stay pending for the caller).
 */
static void cove_move_thishart(struct sbi_domain *dom)
{
	struct sbi_scratch *scratch = sbi_scratch_thishart_ptr();

	sbi_update_hartindex_to_domain(current_hartindex(), dom);
	sbi_hart_protection_unconfigure(scratch);
	/* A hart whose PMP does not match its domain must not run on. */
	if (sbi_hart_protection_configure(scratch)) {
		sbi_printf("cove: hart %u: PMP for domain %s failed\n",
			   current_hartid(), dom->name);
		sbi_hart_hang();
	}
}

static bool cove_in_tsm_domain(void)
{
	return tsm_dom && sbi_domain_thishart_ptr() == tsm_dom;
}

static bool cove_in_host_domain(void)
{
	return tsm_dom && sbi_domain_thishart_ptr() == host_dom;
}

/* TEECALL: the caller's COVH call becomes the TSM's entry. */
static int cove_teecall(struct sbi_trap_regs *regs,
			struct sbi_ecall_return *out)
{
	struct cove_hart *h = cove_thishart();
	unsigned long args[8] = { regs->a0, regs->a1, regs->a2, regs->a3,
				  regs->a4, regs->a5, regs->a6, regs->a7 };
	unsigned long mstatus;

	/* The caller resumes after its ecall, with the TSM's a0/a1. */
	regs->mepc += 4;
	sbi_memcpy(&h->caller_regs, regs, sizeof(*regs));
	cove_csrs_save(&h->caller_csrs);
	cove_fp_save(h);
	/*
	 * No supervisor software event may run the caller's handler while the
	 * hart is in the TSM's domain (it would run with the TSM's memory).
	 */
	h->sse_unmasked = !sbi_sse_hart_mask();

	cove_move_thishart(tsm_dom);
	cove_csrs_restore(&h->tsm_csrs);

	/*
	 * The TSM starts at its entry point in HS-mode with interrupts
	 * disabled, no translation and FP off; nothing of the caller's state
	 * but the call reaches it.
	 */
	mstatus = regs->mstatus;
	mstatus &= ~(MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_SIE | MSTATUS_SPIE |
		     MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_FS |
		     MSTATUS_VS | MSTATUS_SDT | MSTATUS_SPELP | MSTATUS_UBE);
#if __riscv_xlen == 64
	mstatus &= ~(MSTATUS_MPV | MSTATUS_GVA);
#endif
	mstatus |= (unsigned long)PRV_S << MSTATUS_MPP_SHIFT;
	sbi_memset(regs, 0, sizeof(*regs));
	regs->mstatus = mstatus;
	regs->mepc = tsm_dom->next_addr;
	regs->a0 = args[0];
	regs->a1 = args[1];
	regs->a2 = args[2];
	regs->a3 = args[3];
	regs->a4 = args[4];
	regs->a5 = args[5];
	regs->a6 = args[6];
	regs->a7 = args[7];
	regs->t0 = current_hartid();
	regs->t1 = (unsigned long)boot_info;
	out->skip_regs_update = true;
	return 0;
}

/*
 * TEERET: back to the caller with the TSM's a0 (error) and a1 (value);
 * with @exit (TEERET_EXIT), the caller's scause and stval become the TSM's
 * a2 and a3, a TVM's exit as CoVE reports it.
 */
static int cove_teeret(struct sbi_trap_regs *regs,
		       struct sbi_ecall_return *out, bool exit)
{
	struct cove_hart *h = cove_thishart();
	unsigned long error = regs->a0, value = regs->a1;

	cove_csrs_save(&h->tsm_csrs);
	cove_move_thishart(host_dom);
	if (exit) {
		h->caller_csrs.scause = regs->a2;
		h->caller_csrs.stval = regs->a3;
	}
	cove_csrs_restore(&h->caller_csrs);
	cove_fp_restore(h);
	if (h->sse_unmasked)
		sbi_sse_hart_unmask();

	sbi_memcpy(regs, &h->caller_regs, sizeof(*regs));
	regs->a0 = error;
	regs->a1 = value;
	out->skip_regs_update = true;
	return 0;
}

static int sbi_ecall_covh_handler(unsigned long extid, unsigned long funcid,
				  struct sbi_trap_regs *regs,
				  struct sbi_ecall_return *out)
{
	unsigned long sdid = (funcid & SBI_COVE_FID_SDID_MASK) >>
			     SBI_COVE_FID_SDID_SHIFT;

	/* Only the hosting domain calls the TSM; the TSM cannot call itself. */
	if (!cove_in_host_domain())
		return SBI_ERR_DENIED;
	/* FID bits [25:16] are reserved, and so is a6 above bit 31. */
	if (funcid & ~(SBI_COVE_FID_SDID_MASK | SBI_COVE_FID_MASK))
		return SBI_ERR_INVALID_PARAM;
	/* SDID 0 (unspecified) or the TSM's: there is one TSM. */
	if (sdid != 0 && sdid != SBI_COVE_TSM_SDID)
		return SBI_ERR_INVALID_PARAM;
	return cove_teecall(regs, out);
}

static int sbi_ecall_covh_probe(unsigned long extid, unsigned long *out_val)
{
	*out_val = cove_in_host_domain();
	return 0;
}

struct sbi_ecall_extension ecall_covh;

static int sbi_ecall_supd_handler(unsigned long extid, unsigned long funcid,
				  struct sbi_trap_regs *regs,
				  struct sbi_ecall_return *out)
{
	if (!cove_in_host_domain() ||
	    funcid != SBI_EXT_SUPD_GET_ACTIVE_DOMAINS)
		return SBI_ERR_NOT_SUPPORTED;
	/* Domain 0 hosts; the TSM's is the only other. */
	out->value = 1UL | (1UL << SBI_COVE_TSM_SDID);
	return 0;
}

/*
 * NACL: the host's nested-acceleration shared memory is the TSM's business
 * (CoVE reports a TVM's exits through it), so its calls go to the TSM as
 * TEECALLs too.
 */
static int sbi_ecall_nacl_handler(unsigned long extid, unsigned long funcid,
				  struct sbi_trap_regs *regs,
				  struct sbi_ecall_return *out)
{
	if (!cove_in_host_domain())
		return SBI_ERR_NOT_SUPPORTED;
	return cove_teecall(regs, out);
}

static struct sbi_ecall_extension ecall_nacl = {
	.name		= "nacl",
	.extid_start	= SBI_EXT_NACL,
	.extid_end	= SBI_EXT_NACL,
	.probe		= sbi_ecall_covh_probe,
	.handle		= sbi_ecall_nacl_handler,
};

static struct sbi_ecall_extension ecall_supd = {
	.name		= "supd",
	.extid_start	= SBI_EXT_SUPD,
	.extid_end	= SBI_EXT_SUPD,
	.probe		= sbi_ecall_covh_probe,
	.handle		= sbi_ecall_supd_handler,
};

static int sbi_ecall_cove_fw_handler(unsigned long extid,
				     unsigned long funcid,
				     struct sbi_trap_regs *regs,
				     struct sbi_ecall_return *out)
{
	if (!cove_in_tsm_domain())
		return SBI_ERR_NOT_SUPPORTED;
	if (funcid != SBI_EXT_OPENSBI_COVE_TEERET &&
	    funcid != SBI_EXT_OPENSBI_COVE_TEERET_EXIT)
		return SBI_ERR_NOT_SUPPORTED;
	return cove_teeret(regs, out,
			   funcid == SBI_EXT_OPENSBI_COVE_TEERET_EXIT);
}

static int sbi_ecall_cove_fw_probe(unsigned long extid,
				   unsigned long *out_val)
{
	*out_val = cove_in_tsm_domain();
	return 0;
}

static struct sbi_ecall_extension ecall_cove_fw = {
	.name		= "teeret",
	.extid_start	= SBI_EXT_OPENSBI,
	.extid_end	= SBI_EXT_OPENSBI,
	.probe		= sbi_ecall_cove_fw_probe,
	.handle		= sbi_ecall_cove_fw_handler,
};

static int sbi_ecall_covh_register_extensions(void)
{
	int rc;

	if (!tsm_dom)
		return 0;
	rc = sbi_ecall_register_extension(&ecall_covh);
	if (!rc)
		rc = sbi_ecall_register_extension(&ecall_supd);
	if (!rc)
		rc = sbi_ecall_register_extension(&ecall_nacl);
	if (!rc)
		rc = sbi_ecall_register_extension(&ecall_cove_fw);
	return rc;
}

struct sbi_ecall_extension ecall_covh = {
	.name			= "covh",
	.extid_start		= SBI_EXT_COVH,
	.extid_end		= SBI_EXT_COVH,
	.register_extensions	= sbi_ecall_covh_register_extensions,
	.probe			= sbi_ecall_covh_probe,
	.handle			= sbi_ecall_covh_handler,
};

/*
 * Whether the TSM's domain may read, write and execute every page of its
 * region in S-mode and every other domain may do none of it.  The root
 * domain counts only if a hart is in it: its regions cannot exclude
 * anything once domains are finalized, and no hart enters it again once
 * all have left it (nothing calls sbi_domain_context_exit() then).
 */
static bool cove_region_private(const struct sbi_domain *tsm, u64 base,
				u64 size)
{
	const unsigned long rwx = SBI_DOMAIN_READ | SBI_DOMAIN_WRITE |
				  SBI_DOMAIN_EXECUTE;
	const unsigned long access[] = { SBI_DOMAIN_READ, SBI_DOMAIN_WRITE,
					 SBI_DOMAIN_EXECUTE };
	struct sbi_domain *dom;
	struct sbi_hartmask harts;
	bool root_empty;
	u64 addr;
	int i;

	sbi_domain_get_assigned_hartmask(&root, &harts);
	root_empty = !sbi_hartmask_weight(&harts);
	for (addr = base; addr < base + size; addr += SBI_COVE_PAGE_SIZE) {
		if (!sbi_domain_check_addr(tsm, addr, PRV_S, rwx))
			return false;
		sbi_domain_for_each(dom) {
			if (dom == tsm || (dom == &root && root_empty))
				continue;
			for (i = 0; i < array_size(access); i++) {
				if (sbi_domain_check_addr(dom, addr, PRV_S,
							  access[i]) ||
				    sbi_domain_check_addr(dom, addr, PRV_S,
							  access[i] |
							  SBI_DOMAIN_MMIO))
					return false;
			}
		}
	}
	return true;
}

/* Regions of @dom that its S-mode software cannot both read and write. */
static int cove_exclude(struct sbi_cove_boot_info *info,
			const struct sbi_domain *dom)
{
	struct sbi_domain_memregion *reg;

	sbi_domain_for_each_memregion(dom, reg) {
		if ((reg->flags & SBI_DOMAIN_MEMREGION_MMIO) ||
		    reg->order >= __riscv_xlen)
			continue;
		if ((reg->flags & SBI_DOMAIN_MEMREGION_SU_READABLE) &&
		    (reg->flags & SBI_DOMAIN_MEMREGION_SU_WRITABLE))
			continue;
		if (info->num_excluded >= SBI_COVE_MAX_MEM_RANGES)
			return SBI_ENOSPC;
		info->excluded[info->num_excluded].base = reg->base;
		info->excluded[info->num_excluded].size = BIT_ULL(reg->order);
		info->num_excluded++;
	}
	return 0;
}

/*
 * The TSM image starts with a header (struct sbi_cove_tsm_header at entry
 * + 8) that says where its zero-initialized data is: it is zeroed here, in
 * M-mode, on every boot, since memory keeps its contents across a reset.
 */
static int cove_tsm_image(const struct sbi_domain *dom, u64 tsm_base,
			  u64 tsm_size)
{
	const struct sbi_cove_tsm_header *hdr =
		(const void *)(dom->next_addr + SBI_COVE_TSM_HEADER_OFFSET);
	u64 end = tsm_base + tsm_size - SBI_COVE_PAGE_SIZE;

	if (hdr->magic != SBI_COVE_TSM_HEADER_MAGIC ||
	    hdr->bss_start > hdr->bss_end || hdr->bss_start < dom->next_addr ||
	    hdr->bss_end > end)
		return SBI_EINVAL;
	sbi_memset((void *)(unsigned long)hdr->bss_start, 0,
		   hdr->bss_end - hdr->bss_start);
	return 0;
}

int sbi_cove_tsm_register(struct sbi_domain *dom, u64 tsm_base, u64 tsm_size,
			  const struct sbi_cove_mem_range *mem, u32 num_mem)
{
	struct sbi_scratch *scratch = sbi_scratch_thishart_ptr();
	struct sbi_cove_boot_info *info;
	u32 i;
	int rc;

	if (tsm_dom)
		return SBI_EALREADY;
	if (!dom || dom == &root || !num_mem ||
	    num_mem > SBI_COVE_MAX_MEM_RANGES ||
	    tsm_size < 2 * SBI_COVE_PAGE_SIZE ||
	    (tsm_base & (SBI_COVE_PAGE_SIZE - 1)) ||
	    (tsm_size & (SBI_COVE_PAGE_SIZE - 1)) ||
	    dom->next_addr < tsm_base ||
	    dom->next_addr >= tsm_base + tsm_size - SBI_COVE_PAGE_SIZE ||
	    dom->next_mode != PRV_S)
		return SBI_EINVAL;
	if (!cove_region_private(dom, tsm_base, tsm_size)) {
		sbi_printf("cove: the TSM's memory is not the TSM domain's alone\n");
		return SBI_EINVAL;
	}
	/* Vector state is not switched yet: refuse rather than leak it. */
	if (misa_extension('V') ||
	    (misa_extension('F') && !misa_extension('D'))) {
		sbi_printf("cove: only F+D state is switched, not V or F alone\n");
		return SBI_ENOTSUPP;
	}
	sbi_for_each_hartindex(i) {
		if (sbi_hartindex_to_hartid(i) > SBI_COVE_MAX_HARTID)
			return SBI_ENOTSUPP;
	}
	rc = cove_tsm_image(dom, tsm_base, tsm_size);
	if (rc) {
		sbi_printf("cove: no TSM image header at 0x%lx\n", dom->next_addr);
		return rc;
	}

	cove_hart_offset = sbi_scratch_alloc_type_offset(void *);
	if (!cove_hart_offset)
		return SBI_ENOMEM;
	sbi_for_each_hartindex(i) {
		struct sbi_scratch *s = sbi_hartindex_to_scratch(i);
		struct cove_hart *h;

		if (!s)
			continue;
		h = sbi_zalloc(sizeof(*h));
		if (!h)
			return SBI_ENOMEM;
		sbi_scratch_write_type(s, void *, cove_hart_offset, h);
	}

	has_h = misa_extension('H');
	has_fp = misa_extension('D');
	has_envcfg = sbi_hart_priv_version(scratch) >= SBI_HART_PRIV_VER_1_12;
	has_sstc = has_h && sbi_hart_has_extension(scratch, SBI_HART_EXT_SSTC);

	info = (void *)(unsigned long)(tsm_base + tsm_size - SBI_COVE_PAGE_SIZE);
	sbi_memset(info, 0, SBI_COVE_PAGE_SIZE);
	info->magic = SBI_COVE_BOOT_INFO_MAGIC;
	info->version = SBI_COVE_BOOT_INFO_VERSION;
	info->tsm_base = tsm_base;
	info->tsm_size = tsm_size;
	info->num_mem_ranges = num_mem;
	for (i = 0; i < num_mem; i++)
		info->mem[i] = mem[i];
	/* What either side cannot use: neither may name it to the TSM. */
	rc = cove_exclude(info, dom);
	if (!rc)
		rc = cove_exclude(info, sbi_domain_thishart_ptr());
	if (rc)
		return rc;
	info->features = (has_envcfg ? SBI_COVE_FEAT_ENVCFG : 0) |
			 (has_sstc ? SBI_COVE_FEAT_SSTC : 0);
	info->hart_count = sbi_hart_count();
	sbi_for_each_hartindex(i) {
		u32 id = sbi_hartindex_to_hartid(i);

		info->hart_mask |= 1ULL << id;
		if (id > info->max_hartid)
			info->max_hartid = id;
	}
	host_dom = sbi_domain_thishart_ptr();
	boot_info = info;
	tsm_dom = dom;
	sbi_printf("cove: TSM in domain %s at 0x%lx, memory 0x%lx-0x%lx\n",
		   dom->name, dom->next_addr, (unsigned long)tsm_base,
		   (unsigned long)(tsm_base + tsm_size - 1));
	return 0;
}
