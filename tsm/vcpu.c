// SPDX-License-Identifier: BSD-2-Clause
/*
 * Running TVM vCPUs (COVH FID 15) and the NACL shared memory their exits
 * are reported through (the NACL extension, which OpenSBI's TSM-driver
 * hands to the TSM).
 *
 * run_tvm_vcpu finishes what the vCPU's last exit left to the host (a
 * forwarded ECALL's a0/a1, an MMIO load's value), loads the vCPU's state
 * and enters the guest with the TSM's lock released.  The guest runs until
 * it traps into HS-mode: an interrupt for the host (the HS-level interrupt
 * enables are set while the guest runs, so the host's timer, IPIs and
 * external interrupts end the call: the TSM is interruptible, and never
 * reentered), an ECALL, a guest page fault, or something the TSM does not
 * handle, which ends the vCPU.  Each entry flushes the hart's G-stage TLB,
 * so a vCPU's trap into the TSM is its part of a TVM fence.
 *
 * The host's shared memory is read once per field and rechecked before
 * each write: the host may change or convert it at any time.
 */
#include "csr.h"
#include "lock.h"
#include "pages.h"
#include "vcpu.h"

#define NACL_FID_PROBE_FEATURE	0
#define NACL_FID_SET_SHMEM	1

/* What the guest handles itself: misaligned fetch, illegal instruction,
 * breakpoint, misaligned load and store, U-mode ECALL, page faults. */
#define HEDELEG_GUEST	((1UL << 0) | (1UL << 2) | (1UL << 3) | (1UL << 4) | \
			 (1UL << 6) | (1UL << 8) | (1UL << 12) | (1UL << 13) | \
			 (1UL << 15))
#define VS_IRQS		((1UL << IRQ_VS_SOFT) | (1UL << IRQ_VS_TIMER) | \
			 (1UL << IRQ_VS_EXT))
#define HOST_IRQS	((1UL << IRQ_S_SOFT) | (1UL << IRQ_S_TIMER) | \
			 (1UL << IRQ_S_EXT))

static struct {
	bool set;
	uint64_t addr;
} nacl[TSM_MAX_HARTS];

void nacl_put(uint64_t shm, unsigned long off, unsigned long val)
{
	*(volatile unsigned long *)(shm + off) = val;
}

unsigned long nacl_get(uint64_t shm, unsigned long off)
{
	return *(volatile unsigned long *)(shm + off);
}

static struct sbiret nacl_set_shmem(unsigned long hartid, unsigned long lo,
				    unsigned long hi, unsigned long flags)
{
	if (flags)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (lo == -1UL && hi == -1UL) {
		nacl[hartid].set = false;
		return sbi_ok(0);
	}
	if (lo & (PAGE_SIZE - 1))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (hi || !tsm_host_buffer_ok(lo, NACL_SHMEM_SIZE))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	nacl[hartid].addr = lo;
	nacl[hartid].set = true;
	return sbi_ok(0);
}

struct sbiret tsm_nacl(struct tsm_call *call)
{
	unsigned long *a = call->a;
	struct sbiret ret;

	tsm_lock(&tsm_big_lock, call->hartid);
	pages_init();
	switch (a[6]) {
	case NACL_FID_PROBE_FEATURE:
		ret = sbi_ok(0);	/* none of sync_csr, sync_hfence, ... */
		break;
	case NACL_FID_SET_SHMEM:
		ret = nacl_set_shmem(call->hartid, a[0], a[1], a[2]);
		break;
	default:
		ret = sbi_err(SBI_ERR_NOT_SUPPORTED);
		break;
	}
	tsm_unlock(&tsm_big_lock);
	return ret;
}

/* This hart's shared memory, if it is set and still the host's. */
static bool nacl_ok(unsigned long hartid, uint64_t *shm)
{
	if (!nacl[hartid].set || !tsm_host_buffer_ok(nacl[hartid].addr, NACL_SHMEM_SIZE))
		return false;
	*shm = nacl[hartid].addr;
	return true;
}

/*
 * Every G-stage translation of the hart, and the VS-stage ones of the VMID
 * hgatp names now: the host's VMs may have used the same VMID.  And the
 * hart's instruction fetches: a TVM's remote fence.i (SBI RFENCE, which the
 * host answers by making the target vCPUs leave the guest) is done by the
 * next entry.
 */
static void hfence_entry(void)
{
	asm volatile(".insn r 0x73, 0, 0x31, x0, x0, x0\n\t"	/* hfence.gvma */
		     ".insn r 0x73, 0, 0x11, x0, x0, x0\n\t"	/* hfence.vvma */
		     ".insn i 0x0f, 1, x0, x0, 0"		/* fence.i */
		     ::: "memory");
}

/*
 * Loads the vCPU, runs the guest until it traps, saves the vCPU.  False,
 * without entering, if the hart does not take the TVM's hgatp as written
 * (a hart without Sv48x4 could turn it into Bare: the guest would then
 * reach all memory the TSM's domain can).
 */
static bool vcpu_enter(struct tvm *t, struct vcpu *v, unsigned long hvip,
		       struct vcpu_exit *e)
{
	unsigned long hstatus, sstatus, hgatp;

	hgatp = HGATP_MODE_SV48X4 | (unsigned long)tvm_vmid(t) << HGATP_VMID_SHIFT |
		(uint64_t)t->gstage.root >> PAGE_SHIFT;
	csr_write(CSR_HGATP, hgatp);
	if (csr_read(CSR_HGATP) != hgatp) {
		csr_write(CSR_HGATP, 0);
		e->hvip = hvip;
		return false;
	}
	hfence_entry();
	csr_write(CSR_HEDELEG, HEDELEG_GUEST);
	csr_write(CSR_HIDELEG, VS_IRQS);
	csr_write(CSR_HCOUNTEREN, 1UL << 1);	/* time */
	/*
	 * None of the host's henvcfg: no Sstc (VSTIP comes from hvip alone),
	 * no Svpbmt, no cache-block operations, whatever the host enabled
	 * for its own guests (OpenSBI gives the host its value back).
	 */
	if (tsm_boot->features & TSM_FEAT_ENVCFG)
		csr_write(CSR_HENVCFG, 0);
	csr_write(CSR_HTIMEDELTA, 0);
	/*
	 * Nor the host's vstimecmp: VSTIP is hvip's alone.  (QEMU 7.2 raises
	 * VSTIP from vstimecmp even while henvcfg.STCE is 0.)
	 */
	if (tsm_boot->features & TSM_FEAT_SSTC)
		csr_write(CSR_VSTIMECMP, -1UL);
	csr_write(CSR_HVIP, hvip);
	csr_write(CSR_HIE, v->hie & VS_IRQS);
	csr_write(CSR_VSSTATUS, v->vsstatus);
	csr_write(CSR_VSTVEC, v->vstvec);
	csr_write(CSR_VSSCRATCH, v->vsscratch);
	csr_write(CSR_VSEPC, v->vsepc);
	csr_write(CSR_VSCAUSE, v->vscause);
	csr_write(CSR_VSTVAL, v->vstval);
	csr_write(CSR_VSATP, v->vsatp);
	/* VS-mode uses these directly: they have no VS copies. */
	csr_write(CSR_SENVCFG, v->senvcfg);
	csr_write(CSR_SCOUNTEREN, v->scounteren);
	hstatus = csr_read(CSR_HSTATUS);
	hstatus &= ~(HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR | HSTATUS_HU |
		     HSTATUS_VGEIN | HSTATUS_GVA);
	csr_write(CSR_HSTATUS, hstatus | HSTATUS_SPV | HSTATUS_SPVP);
	sstatus = csr_read(CSR_SSTATUS) & ~(SSTATUS_SPP | SSTATUS_SPIE | SSTATUS_SIE);
	csr_write(CSR_SSTATUS, sstatus | (v->spp ? SSTATUS_SPP : 0));
	csr_write(CSR_SEPC, v->pc);
	/* The host's interrupts end the run (HS interrupts are always
	 * enabled while V=1). */
	csr_write(CSR_SIE, HOST_IRQS);

	tsm_vcpu_enter(&v->ctx);

	csr_write(CSR_SIE, 0);
	e->scause = csr_read(CSR_SCAUSE);
	e->stval = csr_read(CSR_STVAL);
	e->htval = csr_read(CSR_HTVAL);
	e->htinst = csr_read(CSR_HTINST);
	v->pc = csr_read(CSR_SEPC);
	v->spp = !!(csr_read(CSR_SSTATUS) & SSTATUS_SPP);
	v->vsstatus = csr_read(CSR_VSSTATUS);
	v->vstvec = csr_read(CSR_VSTVEC);
	v->vsscratch = csr_read(CSR_VSSCRATCH);
	v->vsepc = csr_read(CSR_VSEPC);
	v->vscause = csr_read(CSR_VSCAUSE);
	v->vstval = csr_read(CSR_VSTVAL);
	v->vsatp = csr_read(CSR_VSATP);
	v->hie = csr_read(CSR_HIE);
	v->senvcfg = csr_read(CSR_SENVCFG);
	v->scounteren = csr_read(CSR_SCOUNTEREN);
	/* The guest may have set or cleared VSSIP (its sip.SSIP). */
	e->hvip = csr_read(CSR_HVIP) & VS_IRQS;
	csr_write(CSR_HVIP, 0);
	csr_write(CSR_HGATP, 0);
	csr_write(CSR_SENVCFG, 0);
	csr_write(CSR_SCOUNTEREN, 0);
	return true;
}

/* The next run finishes what the host did for the last exit. */
static void vcpu_resume(struct vcpu *v, uint64_t shm)
{
	switch (v->resume) {
	case RESUME_ECALL:
		v->ctx.gprs[10] = nacl_get(shm, NACL_GPR(10));
		v->ctx.gprs[11] = nacl_get(shm, NACL_GPR(11));
		v->pc += 4;
		break;
	case RESUME_COVG:
		v->pc += 4;
		break;
	case RESUME_MMIO_LOAD:
	case RESUME_MMIO_STORE:
		mmio_resume(v, shm);
		break;
	default:
		break;
	}
	v->resume = RESUME_NONE;
}

/* An ECALL not for the TSM: the host gets a0-a7. */
enum exit_action forward_ecall(struct vcpu *v, uint64_t shm)
{
	int i;

	for (i = 10; i <= 17; i++)
		nacl_put(shm, NACL_GPR(i), v->ctx.gprs[i]);
	v->resume = RESUME_ECALL;
	return EXIT_TO_HOST;
}

static enum exit_action handle_exit(struct tvm *t, struct vcpu *v,
				    const struct vcpu_exit *e, uint64_t shm)
{
	uint64_t gpa;

	if (e->scause & SCAUSE_INTERRUPT)
		return EXIT_TO_HOST;
	switch (e->scause) {
	case EXC_VS_ECALL:
		if (v->ctx.gprs[17] == SBI_EXT_COVG)
			return covg_call(t, v, shm);
		if (v->ctx.gprs[17] == SBI_EXT_HSM)
			return hsm_call(t, v, shm);
		return forward_ecall(v, shm);
	case EXC_GUEST_INSN_PF:
	case EXC_GUEST_LOAD_PF:
	case EXC_GUEST_STORE_PF:
		gpa = e->htval << 2 | (e->stval & 3);
		if (e->scause != EXC_GUEST_INSN_PF && mmio_region(t, gpa))
			return mmio_exit(t, v, e, shm);
		/* Not present: the host maps it (or gives up); the guest
		 * retries the access. */
		nacl_put(shm, NACL_CSR(CSR_HTVAL), e->htval);
		nacl_put(shm, NACL_CSR(CSR_HTINST), 0);
		return EXIT_TO_HOST;
	default:
		return EXIT_FATAL;
	}
}

static bool page_confidential(uint64_t pa)
{
	return page_lookup(pa)->state == PAGE_TVM;
}

static bool page_shared(uint64_t pa)
{
	return page_lookup(pa)->state == PAGE_HOST;
}

/* A vCPU blocked by its share (unshare) goes on once no confidential
 * (shared) page is mapped in the range, present or invalidated. */
static bool vcpu_unblocked(struct tvm *t, struct vcpu *v)
{
	const struct gpa_range *r = &v->blocked_range;

	if (v->blocked != BLOCKED_NONE &&
	    gstage_any_leaf(&t->gstage, r->gpa, r->len >> PAGE_SHIFT,
			    v->blocked == BLOCKED_SHARE ? page_confidential : page_shared))
		return false;
	v->blocked = BLOCKED_NONE;
	return true;
}

void vcpu_start(struct vcpu *v, unsigned long vcpu_id, unsigned long pc,
		unsigned long arg)
{
	memset(&v->ctx, 0, sizeof(v->ctx));
	v->pc = pc;
	v->spp = 1;
	v->ctx.gprs[10] = vcpu_id;
	v->ctx.gprs[11] = arg;
	v->vsstatus = v->vstvec = v->vsscratch = v->vsepc = 0;
	v->vscause = v->vstval = v->vsatp = v->hie = 0;
	v->senvcfg = v->scounteren = 0;
	v->resume = RESUME_NONE;
	v->blocked = BLOCKED_NONE;
	memset(v->ext_allowed, 0, sizeof(v->ext_allowed));	/* all denied */
	v->ext_all = false;
	v->ext_any = false;
	v->vssip = false;
	v->started = true;
}

struct sbiret vcpu_run(struct tsm_call *call, unsigned long id, unsigned long vcpu_id)
{
	struct tvm *t = tvm_lookup(id);
	unsigned long hvip;
	struct vcpu_exit e;
	bool entered;
	enum exit_action action;
	struct vcpu *v;
	uint64_t shm;

	if (!t || t->state != TVM_RUNNABLE || vcpu_id >= TSM_MAX_VCPUS)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	v = &t->vcpus[vcpu_id];
	/* The boot vCPU (0) starts at finalize, the others when the TVM
	 * starts them (SBI HSM, hsm.c). */
	if (!v->present || v->failed || !v->started)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (v->running)
		return sbi_err(SBI_ERR_ALREADY_STARTED);
	if (!nacl_ok(call->hartid, &shm))
		return sbi_err(SBI_ERR_NO_SHMEM);
	if (!vcpu_unblocked(t, v))
		return sbi_err(SBI_ERR_INVALID_STATE);
	vcpu_resume(v, shm);
	/* The host raises VS interrupts; VSSIP it can raise but not take
	 * back (the guest clears its own), VSEIP only if the TVM allows. */
	hvip = nacl_get(shm, NACL_CSR(CSR_HVIP)) & VS_IRQS;
	if (v->vssip)
		hvip |= 1UL << IRQ_VS_SOFT;
	if (!v->ext_any)
		hvip &= ~(1UL << IRQ_VS_EXT);

	for (;;) {
		v->running = true;
		t->running |= 1U << vcpu_id;
		tsm_unlock(&tsm_big_lock);
		entered = vcpu_enter(t, v, hvip, &e);
		tsm_lock(&tsm_big_lock, call->hartid);
		v->running = false;
		t->running &= ~(1U << vcpu_id);
		tvm_vcpu_exited(t, vcpu_id);
		v->vssip = e.hvip & (1UL << IRQ_VS_SOFT);
		/* A fault on another hart meanwhile: no state is trusted. */
		if (!entered || tsm_is_broken())
			return sbi_err(SBI_ERR_FAILED);

		/* The host may have taken its shared memory back meanwhile:
		 * then the guest repeats what it trapped on, next run. */
		if (!nacl_ok(call->hartid, &shm)) {
			if (!(e.scause & SCAUSE_INTERRUPT) && e.scause != EXC_VS_ECALL &&
			    e.scause != EXC_GUEST_INSN_PF && e.scause != EXC_GUEST_LOAD_PF &&
			    e.scause != EXC_GUEST_STORE_PF) {
				action = EXIT_FATAL;	/* whatever the memory */
				break;
			}
			return sbi_err(SBI_ERR_NO_SHMEM);
		}
		action = handle_exit(t, v, &e, shm);
		if (action != EXIT_RESUME)
			break;
		vcpu_resume(v, shm);
		hvip = e.hvip;
	}
	/* What the host may read on every exit (the spec's NACL table). */
	if (action == EXIT_TO_HOST) {
		/* The guest's own VSSIP (its sip.SSIP); the host's requests
		 * for the other bits stay as it wrote them. */
		nacl_put(shm, NACL_CSR(CSR_HVIP),
			 (nacl_get(shm, NACL_CSR(CSR_HVIP)) & ~(1UL << IRQ_VS_SOFT)) |
			 (v->vssip ? 1UL << IRQ_VS_SOFT : 0));
		/* vsie's bits are the S-level ones: hie's VS bits, shifted. */
		nacl_put(shm, NACL_CSR(CSR_VSIE), (v->hie & VS_IRQS) >> 1);
		nacl_put(shm, NACL_CSR(CSR_HTIMEDELTA), 0);
		nacl_put(shm, NACL_CSR(CSR_VSTIMECMP), 0);
	}
	call->exit = 1;
	call->exit_scause = e.scause;
	call->exit_stval = e.stval & 3;	/* a guest page fault's low GPA bits */
	if (action == EXIT_TO_HOST)
		return sbi_ok(0);
	v->failed = true;
	return sbi_ok(1);
}
