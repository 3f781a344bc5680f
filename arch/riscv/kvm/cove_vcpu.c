// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM RISC-V CoVE host driver: running TVM vCPUs.
 *
 * A TVM vCPU's registers are the TSM's.  KVM_RUN enters it with the COVH
 * call run_tvm_vcpu, which returns when the vCPU needs the host: the
 * reason is in the host's scause and stval, the rest (the guest's a0-a7
 * of an ECALL, htval and htinst of a guest page fault, the guest's vsie)
 * in the calling hart's NACL shared memory, where the host also leaves
 * what the next run gives the guest (a0 and a1, hvip).  The shared memory
 * is per hart and the vCPU may move between runs, so what crosses a run
 * is kept with the vCPU (struct cove_vcpu) and copied in and out with
 * interrupts off.
 *
 * The exits: a host interrupt (taken when interrupts are enabled again);
 * an ECALL, answered here (SBI base, timer, IPI, remote fences, HSM's
 * start, stop and suspend, system reset) or forwarded to the VMM as
 * KVM_EXIT_RISCV_SBI (the legacy console, the experimental and vendor
 * ranges); a COVG share or unshare, which the VMM completes as a
 * KVM_EXIT_MEMORY_FAULT; a guest page fault in an MMIO region the TVM
 * declared (the in-kernel MMIO bus, else KVM_EXIT_MMIO); and any other
 * guest page fault, at a private gfn of a guest_memfd memslot (a zero
 * page), or not (KVM_EXIT_MEMORY_FAULT).
 */
#define pr_fmt(fmt) "kvm: CoVE: " fmt

#include <linux/entry-kvm.h>
#include <linux/kvm_host.h>
#include <linux/math64.h>
#include <linux/percpu.h>
#include <linux/version.h>
#include <asm/csr.h>
#include <asm/kvm_cove.h>
#include <asm/kvm_vcpu_sbi.h>
#include <asm/sbi.h>
#include <asm/timex.h>

#include "cove.h"
#include "cove_sbi.h"

/* Each hart's NACL shared memory, registered with the TSM at its first run. */
struct cove_nacl {
	u64 *shmem;
	bool set;
};

static DEFINE_PER_CPU(struct cove_nacl, cove_nacl);

#define COVE_VS_IRQS	(BIT(IRQ_VS_SOFT) | BIT(IRQ_VS_TIMER) | BIT(IRQ_VS_EXT))
/* The longest hrtimer step (a timer further away is re-armed on expiry). */
#define COVE_TIMER_MAX_CYCLES	BIT_ULL(32)

/* What a run leaves for its exit's handler. */
struct cove_trap {
	bool shmem_retried;	/* this KVM_RUN registered the shared memory again */
	unsigned long starts;	/* cove_vcpu.starts before the run */
	struct sbiret ret;
	unsigned long scause;
	unsigned long stval;
	unsigned long htval;
	unsigned long htinst;
	unsigned long a[8];	/* the guest's a0-a7 of an ECALL */
};

static struct cove_vcpu *cove_vcpu_of(struct kvm_vcpu *vcpu)
{
	return &vcpu->kvm->arch.cove->vcpus[vcpu->vcpu_id];
}

/**
 * cove_nacl_init() - Allocate every possible CPU's NACL shared memory
 *
 * Return: 0 or -ENOMEM.
 */
int cove_nacl_init(void)
{
	struct page *page;
	int cpu;

	for_each_possible_cpu(cpu) {
		page = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO,
					COVE_NACL_SHMEM_ORDER);
		if (!page) {
			cove_nacl_exit();
			return -ENOMEM;
		}
		per_cpu(cove_nacl, cpu).shmem = page_address(page);
	}
	return 0;
}

static void cove_nacl_unset(void *unused)
{
	struct cove_nacl *nacl = this_cpu_ptr(&cove_nacl);

	if (nacl->set &&
	    !sbi_ecall(COVE_SBI_EXT_NACL, COVE_NACL_SET_SHMEM, -1UL, -1UL, 0, 0, 0, 0).error)
		nacl->set = false;
}

/**
 * cove_nacl_exit() - Take back and free the NACL shared memory
 *
 * A CPU that is offline keeps its registration, and its memory is leaked.
 */
void cove_nacl_exit(void)
{
	struct cove_nacl *nacl;
	int cpu;

	cpus_read_lock();
	on_each_cpu(cove_nacl_unset, NULL, 1);
	cpus_read_unlock();
	for_each_possible_cpu(cpu) {
		nacl = per_cpu_ptr(&cove_nacl, cpu);
		if (nacl->shmem && !nacl->set)
			free_pages((unsigned long)nacl->shmem, COVE_NACL_SHMEM_ORDER);
		nacl->shmem = NULL;
	}
}

/**
 * kvm_riscv_cove_vcpu() - Whether a vCPU is a TVM's
 * @vcpu: the vCPU
 *
 * Return: true for the vCPUs of a KVM_RISCV_COVE_VM.
 */
bool kvm_riscv_cove_vcpu(struct kvm_vcpu *vcpu)
{
	return !!vcpu->kvm->arch.cove;
}

static u64 cove_cycles_to_ns(struct kvm *kvm, u64 cycles)
{
	struct kvm_guest_timer *gt = &kvm->arch.timer;

	return mul_u64_u32_shr(min(cycles, COVE_TIMER_MAX_CYCLES), gt->nsec_mult,
			       gt->nsec_shift);
}

/* Armed only by cv->vcpu's KVM_RUN, cancelled before that vCPU goes. */
static enum hrtimer_restart cove_timer_expired(struct hrtimer *h)
{
	struct cove_vcpu *cv = container_of(h, struct cove_vcpu, timer);
	u64 now = get_cycles64();

	if (now < cv->next_cycles) {
		hrtimer_forward_now(h, ns_to_ktime(cove_cycles_to_ns(cv->kvm,
								     cv->next_cycles - now)));
		return HRTIMER_RESTART;
	}
	kvm_riscv_vcpu_set_interrupt(cv->vcpu, IRQ_VS_TIMER);
	return HRTIMER_NORESTART;
}

/**
 * cove_vcpu_timer_init() - Set up the timer of a TSM vCPU
 * @kvm: the VM
 * @cv: the TSM vCPU, just created
 */
void cove_vcpu_timer_init(struct kvm *kvm, struct cove_vcpu *cv)
{
	hrtimer_init(&cv->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	cv->timer.function = cove_timer_expired;
	cv->kvm = kvm;
}

/* SBI set_timer: the TVM has no timer of its own; VSTIP comes from here. */
static void cove_set_timer(struct kvm_vcpu *vcpu, struct cove_vcpu *cv, u64 next)
{
	u64 now = get_cycles64();

	hrtimer_cancel(&cv->timer);
	kvm_riscv_vcpu_unset_interrupt(vcpu, IRQ_VS_TIMER);
	cv->vcpu = vcpu;
	cv->next_cycles = next;
	if (next <= now) {
		kvm_riscv_vcpu_set_interrupt(vcpu, IRQ_VS_TIMER);
		return;
	}
	hrtimer_start(&cv->timer, ns_to_ktime(cove_cycles_to_ns(vcpu->kvm, next - now)),
		      HRTIMER_MODE_REL);
}

/**
 * kvm_riscv_cove_vcpu_postcreate() - A TVM vCPU is created
 * @vcpu: the vCPU
 *
 * The TSM runs vCPU 0 from finalize and the others once the TVM starts
 * them with SBI HSM: KVM's MP state follows, whatever the creation order.
 * A vCPU created after finalize may have been started already: it is
 * runnable, and stops at its first run if the TSM has not started it.
 */
void kvm_riscv_cove_vcpu_postcreate(struct kvm_vcpu *vcpu)
{
	if (!kvm_riscv_cove_vcpu(vcpu))
		return;
	if (vcpu->vcpu_id && !READ_ONCE(vcpu->kvm->arch.cove->finalized))
		kvm_riscv_vcpu_power_off(vcpu);
	else
		kvm_riscv_vcpu_power_on(vcpu);
}

/**
 * kvm_riscv_cove_vcpu_destroy() - A TVM vCPU goes away
 * @vcpu: the vCPU
 *
 * Stops its timer.  The TSM's vCPU stays until the TVM is destroyed.
 */
void kvm_riscv_cove_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	struct cove_vcpu *cv;

	if (!kvm_riscv_cove_vcpu(vcpu))
		return;
	/* Not a vCPU whose creation failed: the one that armed the timer. */
	cv = cove_vcpu_of(vcpu);
	if (cv->vcpu == vcpu) {
		hrtimer_cancel(&cv->timer);
		cv->vcpu = NULL;
	}
}

/**
 * kvm_riscv_cove_vcpu_one_reg() - Whether KVM_{GET,SET}_ONE_REG may go on
 * @vcpu: the vCPU
 *
 * Before finalize the registers are the VMM's (vCPU 0's pc and a1 become
 * the TVM's entry point and argument); after, they are the TSM's.
 *
 * Return: -EPERM for a vCPU of a finalized TVM, else 0.
 */
int kvm_riscv_cove_vcpu_one_reg(struct kvm_vcpu *vcpu)
{
	if (kvm_riscv_cove_vcpu(vcpu) && READ_ONCE(vcpu->kvm->arch.cove->finalized))
		return -EPERM;
	return 0;
}

/* What the VMM did with the last exit, for the next run. */
static void cove_complete_exit(struct cove_vcpu *cv, struct kvm_run *run)
{
	u64 val = 0;

	switch (cv->pending) {
	case COVE_PENDING_SBI:
		cv->a0 = run->riscv_sbi.ret[0];
		cv->a1 = run->riscv_sbi.ret[1];
		break;
	case COVE_PENDING_MMIO_LOAD:
		memcpy(&val, run->mmio.data, cv->mmio_len);
		cv->a0 = val;
		break;
	default:
		break;
	}
	/* A conversion stays pending until the TSM lets the vCPU run. */
	if (cv->pending != COVE_PENDING_CONVERT)
		cv->pending = COVE_PENDING_NONE;
}

/*
 * What requests mean for a TVM vCPU: KVM_REQ_SLEEP stops it (HSM, a stopped
 * MP state), KVM_REQ_VM_DEAD ends KVM_RUN; the rest ask for work on the
 * host's G-stage and guest state, which a TVM does not use (its
 * translations are flushed by the TSM on every entry).
 */
static int cove_vcpu_requests(struct kvm_vcpu *vcpu)
{
	struct rcuwait *wait = kvm_arch_vcpu_get_wait(vcpu);

	if (!kvm_request_pending(vcpu))
		return 1;
	if (kvm_check_request(KVM_REQ_VM_DEAD, vcpu))
		return -EIO;
	if (kvm_check_request(KVM_REQ_SLEEP, vcpu)) {
		kvm_vcpu_srcu_read_unlock(vcpu);
		rcuwait_wait_event(wait, !kvm_riscv_vcpu_stopped(vcpu) && !vcpu->arch.pause,
				   TASK_INTERRUPTIBLE);
		kvm_vcpu_srcu_read_lock(vcpu);
		/* Woken for a signal: sleep again after it. */
		if (kvm_riscv_vcpu_stopped(vcpu) || vcpu->arch.pause)
			kvm_make_request(KVM_REQ_SLEEP, vcpu);
	}
	kvm_clear_request(KVM_REQ_UNBLOCK, vcpu);
	kvm_clear_request(KVM_REQ_DIRTY_RING_SOFT_FULL, vcpu);
	kvm_clear_request(KVM_REQ_VCPU_RESET, vcpu);
	kvm_clear_request(KVM_REQ_UPDATE_HGATP, vcpu);
	kvm_clear_request(KVM_REQ_FENCE_I, vcpu);
	kvm_clear_request(KVM_REQ_HFENCE_GVMA_VMID_ALL, vcpu);
	kvm_clear_request(KVM_REQ_HFENCE_VVMA_ALL, vcpu);
	kvm_clear_request(KVM_REQ_HFENCE, vcpu);
	kvm_clear_request(KVM_REQ_STEAL_UPDATE, vcpu);
	return 1;
}

static __always_inline struct sbiret cove_run_ecall(unsigned long tvm_id,
						    unsigned long vcpu_id)
{
	register unsigned long a0 asm("a0") = tvm_id;
	register unsigned long a1 asm("a1") = vcpu_id;
	register unsigned long a6 asm("a6") = SBI_COVH_RUN_TVM_VCPU;
	register unsigned long a7 asm("a7") = SBI_EXT_COVH;

	asm volatile ("ecall" : "+r" (a0), "+r" (a1) : "r" (a6), "r" (a7) : "memory");
	return (struct sbiret){ .error = a0, .value = a1 };
}

/* The TVM runs; the exit's cause is in scause and stval on return. */
static noinstr void cove_enter_exit(unsigned long tvm_id, unsigned long vcpu_id,
				    struct cove_trap *trap)
{
	guest_state_enter_irqoff();
	trap->ret = cove_run_ecall(tvm_id, vcpu_id);
	trap->scause = csr_read(CSR_SCAUSE);
	trap->stval = csr_read(CSR_STVAL);
	guest_state_exit_irqoff();
}

/* The VS interrupts to raise, and the answer to the last exit. */
static void cove_shmem_in(struct kvm_vcpu *vcpu, struct cove_vcpu *cv, u64 *shm)
{
	kvm_riscv_vcpu_flush_interrupts(vcpu);
	shm[cove_nacl_csr(CSR_HVIP)] = vcpu->arch.guest_csr.hvip & COVE_VS_IRQS;
	shm[COVE_NACL_GPR(10)] = cv->a0;
	shm[COVE_NACL_GPR(11)] = cv->a1;
}

static void cove_shmem_out(struct kvm_vcpu *vcpu, u64 *shm, struct cove_trap *trap)
{
	struct kvm_vcpu_arch *v = &vcpu->arch;
	unsigned long hvip;
	int i;

	for (i = 0; i < 8; i++)
		trap->a[i] = shm[COVE_NACL_GPR(10 + i)];
	trap->htval = shm[cove_nacl_csr(CSR_HTVAL)];
	trap->htinst = shm[cove_nacl_csr(CSR_HTINST)];
	if (trap->ret.error)
		return;
	/* The guest's vsie, and its own VSSIP (it may clear it). */
	v->guest_csr.vsie = shm[cove_nacl_csr(CSR_VSIE)];
	hvip = shm[cove_nacl_csr(CSR_HVIP)];
	raw_spin_lock(&v->irqs_pending_lock);
	if ((v->guest_csr.hvip ^ hvip) & BIT(IRQ_VS_SOFT)) {
		if (!test_and_set_bit(IRQ_VS_SOFT, v->irqs_pending_mask)) {
			if (hvip & BIT(IRQ_VS_SOFT))
				set_bit(IRQ_VS_SOFT, v->irqs_pending);
			else
				clear_bit(IRQ_VS_SOFT, v->irqs_pending);
		}
	}
	raw_spin_unlock(&v->irqs_pending_lock);
}

static int cove_forward_sbi(struct cove_vcpu *cv, struct kvm_run *run, struct cove_trap *trap)
{
	int i;

	run->exit_reason = KVM_EXIT_RISCV_SBI;
	run->riscv_sbi.extension_id = trap->a[7];
	run->riscv_sbi.function_id = trap->a[6];
	for (i = 0; i < 6; i++)
		run->riscv_sbi.args[i] = trap->a[i];
	run->riscv_sbi.ret[0] = SBI_ERR_NOT_SUPPORTED;
	run->riscv_sbi.ret[1] = 0;
	cv->pending = COVE_PENDING_SBI;
	return 0;
}

static bool cove_sbi_forwarded(unsigned long eid)
{
	return eid == COVE_SBI_LEGACY_PUTCHAR || eid == COVE_SBI_LEGACY_GETCHAR ||
	       (eid >= SBI_EXT_EXPERIMENTAL_START && eid <= SBI_EXT_EXPERIMENTAL_END) ||
	       (eid >= SBI_EXT_VENDOR_START && eid <= SBI_EXT_VENDOR_END);
}

static long cove_sbi_probe(unsigned long eid)
{
	switch (eid) {
	case SBI_EXT_BASE:
	case SBI_EXT_TIME:
	case SBI_EXT_IPI:
	case SBI_EXT_RFENCE:
	case SBI_EXT_HSM:
	case SBI_EXT_SRST:
	case COVE_SBI_EXT_COVG:
		return 1;
	default:
		return cove_sbi_forwarded(eid);
	}
}

/* The vCPUs of an SBI hart mask; false if it names one that is not there. */
static bool cove_hart_mask(struct kvm *kvm, unsigned long hmask, unsigned long hbase,
			   unsigned long *vcpus)
{
	unsigned long i, sent = 0, bit;
	struct kvm_vcpu *tmp;

	kvm_for_each_vcpu(i, tmp, kvm) {
		if (hbase != -1UL) {
			if (tmp->vcpu_id < hbase)
				continue;
			bit = tmp->vcpu_id - hbase;
			if (bit >= BITS_PER_LONG || !(hmask & BIT(bit)))
				continue;
			sent |= BIT(bit);
		}
		__set_bit(i, vcpus);
	}
	return hbase == -1UL || sent == hmask;
}

/*
 * The TSM has the vCPU stopped: wait for a start, unless one came since
 * the run (the TSM started it again and the host must not lose that).
 */
static void cove_stop(struct kvm_vcpu *vcpu, struct cove_vcpu *cv, struct cove_trap *trap)
{
	spin_lock(&vcpu->arch.mp_state_lock);
	if (cv->starts == trap->starts)
		__kvm_riscv_vcpu_power_off(vcpu);
	spin_unlock(&vcpu->arch.mp_state_lock);
}

static int cove_sbi_ecall(struct kvm_vcpu *vcpu, struct cove_vcpu *cv,
			  struct kvm_run *run, struct cove_trap *trap)
{
	unsigned long eid = trap->a[7], fid = trap->a[6], *a = trap->a;
	DECLARE_BITMAP(vcpus, KVM_MAX_VCPUS) = {};
	struct kvm *kvm = vcpu->kvm;
	long err = SBI_SUCCESS;
	unsigned long val = 0, i;
	struct kvm_vcpu *tmp;

	switch (eid) {
	case COVE_SBI_LEGACY_SET_TIMER:
		cove_set_timer(vcpu, cv, a[0]);
		break;
	case COVE_SBI_LEGACY_SHUTDOWN:
		kvm_riscv_vcpu_sbi_system_reset(vcpu, run, KVM_SYSTEM_EVENT_SHUTDOWN, 0);
		return 0;
	case SBI_EXT_BASE:
		switch (fid) {
		case SBI_EXT_BASE_GET_SPEC_VERSION:
			val = (KVM_SBI_VERSION_MAJOR << SBI_SPEC_VERSION_MAJOR_SHIFT) |
			      KVM_SBI_VERSION_MINOR;
			break;
		case SBI_EXT_BASE_GET_IMP_ID:
			val = KVM_SBI_IMPID;
			break;
		case SBI_EXT_BASE_GET_IMP_VERSION:
			val = (LINUX_VERSION_MAJOR << 16) | (LINUX_VERSION_PATCHLEVEL << 8) |
			      LINUX_VERSION_SUBLEVEL;	/* as KVM's own SBI */
			break;
		case SBI_EXT_BASE_PROBE_EXT:
			val = cove_sbi_probe(a[0]);
			break;
		case SBI_EXT_BASE_GET_MVENDORID:
			val = vcpu->arch.mvendorid;
			break;
		case SBI_EXT_BASE_GET_MARCHID:
			val = vcpu->arch.marchid;
			break;
		case SBI_EXT_BASE_GET_MIMPID:
			val = vcpu->arch.mimpid;
			break;
		default:
			err = SBI_ERR_NOT_SUPPORTED;
		}
		break;
	case SBI_EXT_TIME:
		if (fid == SBI_EXT_TIME_SET_TIMER)
			cove_set_timer(vcpu, cv, a[0]);
		else
			err = SBI_ERR_NOT_SUPPORTED;
		break;
	case SBI_EXT_IPI:
		if (fid != SBI_EXT_IPI_SEND_IPI) {
			err = SBI_ERR_NOT_SUPPORTED;
			break;
		}
		if (!cove_hart_mask(kvm, a[0], a[1], vcpus))
			err = SBI_ERR_INVALID_PARAM;
		kvm_for_each_vcpu(i, tmp, kvm) {
			if (test_bit(i, vcpus))
				kvm_riscv_vcpu_set_interrupt(tmp, IRQ_VS_SOFT);
		}
		break;
	case SBI_EXT_RFENCE:
		/*
		 * The TSM flushes a vCPU's translations whenever it enters
		 * the guest: make the targets leave it, and wait.
		 */
		if (fid > SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID) {
			err = SBI_ERR_NOT_SUPPORTED;
			break;
		}
		if (!cove_hart_mask(kvm, a[0], a[1], vcpus))
			err = SBI_ERR_INVALID_PARAM;
		kvm_make_vcpus_request_mask(kvm, KVM_REQ_OUTSIDE_GUEST_MODE, vcpus);
		break;
	case SBI_EXT_HSM:
		/* The TSM answered the TVM; the host runs or stops vCPUs. */
		switch (fid) {
		case SBI_EXT_HSM_HART_START:
			tmp = kvm_get_vcpu_by_id(kvm, a[0]);
			if (tmp) {
				spin_lock(&tmp->arch.mp_state_lock);
				cove_vcpu_of(tmp)->starts++;
				__kvm_riscv_vcpu_power_on(tmp);
				spin_unlock(&tmp->arch.mp_state_lock);
			}
			return 1;
		case SBI_EXT_HSM_HART_STOP:
			cove_stop(vcpu, cv, trap);
			return 1;
		case SBI_EXT_HSM_HART_SUSPEND:
			kvm_riscv_vcpu_wfi(vcpu);	/* retentive: as WFI */
			break;
		default:
			err = SBI_ERR_NOT_SUPPORTED;
		}
		break;
	case SBI_EXT_SRST:
		if (fid != SBI_EXT_SRST_RESET || a[0] > SBI_SRST_RESET_TYPE_WARM_REBOOT) {
			err = fid != SBI_EXT_SRST_RESET ? SBI_ERR_NOT_SUPPORTED :
							  SBI_ERR_INVALID_PARAM;
			break;
		}
		kvm_riscv_vcpu_sbi_system_reset(vcpu, run,
						a[0] == SBI_SRST_RESET_TYPE_SHUTDOWN ?
						KVM_SYSTEM_EVENT_SHUTDOWN :
						KVM_SYSTEM_EVENT_RESET, a[1]);
		return 0;
	case COVE_SBI_EXT_COVG:
		/* The TSM answered; a share or unshare needs the VMM. */
		if (fid != COVE_COVG_SHARE_MEMORY && fid != COVE_COVG_UNSHARE_MEMORY)
			return 1;
		cv->pending = COVE_PENDING_CONVERT;
		cv->convert_gpa = a[0];
		cv->convert_size = a[1];
		cv->convert_private = fid == COVE_COVG_UNSHARE_MEMORY;
		kvm_prepare_memory_fault_exit(vcpu, a[0], a[1], false, false,
					      cv->convert_private);
		return -EFAULT;
	default:
		if (cove_sbi_forwarded(eid))
			return cove_forward_sbi(cv, run, trap);
		err = SBI_ERR_NOT_SUPPORTED;
	}
	cv->a0 = err;
	cv->a1 = val;
	return 1;
}

/* A load or store in an MMIO region the TVM declared: data in a0. */
static int cove_mmio(struct kvm_vcpu *vcpu, struct cove_vcpu *cv, struct kvm_run *run,
		     struct cove_trap *trap, gpa_t gpa)
{
	unsigned long insn = trap->htinst | 2;	/* a 16-bit one as its 32-bit form */
	unsigned int len = 1U << ((insn >> 12) & 3);
	bool store = (insn & 0x7f) == 0x23;
	u64 data = 0;

	if (!store && (insn & 0x7f) != 0x03)
		return -EIO;
	if (store) {
		data = trap->a[0];
		if (!kvm_io_bus_write(vcpu, KVM_MMIO_BUS, gpa, len, &data))
			return 1;
	} else if (!kvm_io_bus_read(vcpu, KVM_MMIO_BUS, gpa, len, &data)) {
		cv->a0 = data;
		return 1;
	}
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = store;
	memcpy(run->mmio.data, &data, len);
	if (!store) {
		cv->pending = COVE_PENDING_MMIO_LOAD;
		cv->mmio_len = len;
	}
	return 0;
}

/* Faults at a page the TVM has already before the VMM hears of it. */
#define COVE_MAX_FAULT_REPEATS	3

/* A guest page fault outside the MMIO regions. */
static int cove_page_fault(struct kvm_vcpu *vcpu, struct cove_vcpu *cv,
			   struct cove_trap *trap, gpa_t gpa)
{
	struct kvm_cove_tvm *tvm = vcpu->kvm->arch.cove;
	struct kvm_memory_slot *slot;
	gfn_t gfn = gpa_to_gfn(gpa);
	unsigned long mmu_seq;
	bool private = true;
	int ret;

	slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn);
	if (!slot || !cove_gpa_in_region(tvm, gpa))
		goto exit;

	/* Before the attributes: a conversion from now on makes a retry. */
	mmu_seq = vcpu->kvm->mmu_invalidate_seq;
	/* Pairs with the smp_wmb() in kvm_mmu_invalidate_end(). */
	smp_rmb();
	if (!kvm_slot_can_be_private(slot) || !kvm_mem_is_private(vcpu->kvm, gfn)) {
		/* Shared: the memslot's page, if the TVM shared the gfn. */
		ret = cove_fault_in_shared(vcpu->kvm, slot, gfn, mmu_seq);
		if (ret == -EAGAIN) {
			kvm_vcpu_srcu_read_unlock(vcpu);
			ret = cove_more_pt_pages(vcpu->kvm);
			kvm_vcpu_srcu_read_lock(vcpu);
		}
		/* Refused by the TSM: the TVM takes the gfn as private. */
		private = ret == -EINVAL;
	} else {
		kvm_vcpu_srcu_read_unlock(vcpu);
		ret = cove_fault_in_private(vcpu->kvm, gfn);
		kvm_vcpu_srcu_read_lock(vcpu);
		/* Made shared meanwhile: fault again, as a shared page. */
		if (ret == -EINVAL && !kvm_mem_is_private(vcpu->kvm, gfn))
			return 1;
	}
	if (ret == -EEXIST) {
		/* Another vCPU's fault added it; a third time, something is wrong. */
		cv->fault_repeats = cv->fault_gfn == gfn ? cv->fault_repeats + 1 : 1;
		cv->fault_gfn = gfn;
		if (cv->fault_repeats < COVE_MAX_FAULT_REPEATS)
			return 1;
		goto exit;
	}
	cv->fault_repeats = 0;
	if (!ret || ret == -EINTR)
		return 1;	/* a signal is handled before the next entry */
	if (ret != -EINVAL && ret != -EFAULT)
		return ret;
exit:
	cv->fault_repeats = 0;
	kvm_prepare_memory_fault_exit(vcpu, gfn_to_gpa(gfn), PAGE_SIZE,
				      trap->scause == EXC_STORE_GUEST_PAGE_FAULT,
				      trap->scause == EXC_INST_GUEST_PAGE_FAULT, private);
	return -EFAULT;
}

static int cove_handle_exit(struct kvm_vcpu *vcpu, struct cove_vcpu *cv,
			    struct kvm_run *run, struct cove_trap *trap)
{
	gpa_t gpa;

	switch (trap->ret.error) {
	case SBI_SUCCESS:
		break;
	case COVE_SBI_ERR_INVALID_STATE:
		/* The TVM's share or unshare is not complete yet. */
		if (cv->pending != COVE_PENDING_CONVERT)
			return -EIO;
		kvm_prepare_memory_fault_exit(vcpu, cv->convert_gpa, cv->convert_size,
					      false, false, cv->convert_private);
		return -EFAULT;
	case SBI_ERR_INVALID_PARAM:
		/* Not started (yet, or again): wait for HSM start. */
		cove_stop(vcpu, cv, trap);
		return 1;
	default:
		return -EIO;
	}
	if (cv->pending == COVE_PENDING_CONVERT)
		cv->pending = COVE_PENDING_NONE;
	if (trap->ret.value) {
		/* The TSM ended the vCPU: it never runs again. */
		cv->ended = true;
		run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
		run->internal.ndata = 2;
		run->internal.data[0] = trap->scause;
		run->internal.data[1] = trap->stval;
		return 0;
	}
	if (trap->scause & CAUSE_IRQ_FLAG)
		return 1;	/* the host's, taken already */

	/* Faults at a page the TVM has count only in a row. */
	if (trap->scause != EXC_INST_GUEST_PAGE_FAULT &&
	    trap->scause != EXC_LOAD_GUEST_PAGE_FAULT &&
	    trap->scause != EXC_STORE_GUEST_PAGE_FAULT)
		cv->fault_repeats = 0;

	switch (trap->scause) {
	case EXC_SUPERVISOR_SYSCALL:
		vcpu->stat.ecall_exit_stat++;
		return cove_sbi_ecall(vcpu, cv, run, trap);
	case EXC_INST_GUEST_PAGE_FAULT:
	case EXC_LOAD_GUEST_PAGE_FAULT:
	case EXC_STORE_GUEST_PAGE_FAULT:
		gpa = trap->htval << 2 | (trap->stval & 3);
		if (trap->htinst)
			return cove_mmio(vcpu, cv, run, trap, gpa);
		return cove_page_fault(vcpu, cv, trap, gpa);
	default:
		return -EIO;
	}
}

/* Enters the TVM vCPU: 1 if it ran, 0 if work came first, or an errno. */
static int cove_vcpu_enter(struct kvm_vcpu *vcpu, struct cove_vcpu *cv,
			   struct cove_trap *trap)
{
	unsigned long tvm_id = vcpu->kvm->arch.cove->tvm_id;
	struct cove_nacl *nacl;
	phys_addr_t pa;
	int ran = 1;

	preempt_disable();
	nacl = this_cpu_ptr(&cove_nacl);
	if (!nacl->set) {
		pa = virt_to_phys(nacl->shmem);
		if (sbi_ecall(COVE_SBI_EXT_NACL, COVE_NACL_SET_SHMEM, pa, 0, 0, 0, 0, 0).error) {
			preempt_enable();
			return -EIO;
		}
		nacl->set = true;
	}
	local_irq_disable();

	/* As kvm_arch_vcpu_ioctl_run(): see Documentation/virt/kvm/vcpu-requests.rst */
	vcpu->mode = IN_GUEST_MODE;
	kvm_vcpu_srcu_read_unlock(vcpu);
	smp_mb__after_srcu_read_unlock();
	if (kvm_request_pending(vcpu) || xfer_to_guest_mode_work_pending()) {
		vcpu->mode = OUTSIDE_GUEST_MODE;
		local_irq_enable();
		preempt_enable();
		kvm_vcpu_srcu_read_lock(vcpu);
		return 0;
	}

	cove_shmem_in(vcpu, cv, nacl->shmem);
	trap->starts = READ_ONCE(cv->starts);
	guest_timing_enter_irqoff();
	cove_enter_exit(tvm_id, vcpu->vcpu_id, trap);
	vcpu->mode = OUTSIDE_GUEST_MODE;
	vcpu->stat.exits++;
	/*
	 * Someone else took this CPU's shared memory from the TSM (the TSM
	 * checks it before the guest runs): register it again, once.
	 */
	if (trap->ret.error == SBI_ERR_NO_SHMEM && !trap->shmem_retried) {
		nacl->set = false;
		trap->shmem_retried = true;
		ran = 0;
	} else {
		cove_shmem_out(vcpu, nacl->shmem, trap);
	}
	/*
	 * kvm_arch_vcpu_put() saves these from the CSRs, which the TVM never
	 * used: give them the values it must save.
	 */
	csr_write(CSR_HVIP, vcpu->arch.guest_csr.hvip);
	csr_write(CSR_VSIE, vcpu->arch.guest_csr.vsie);

	/* Take the host interrupt that ended the run, as guest time. */
	local_irq_enable();
	local_irq_disable();
	guest_timing_exit_irqoff();
	local_irq_enable();
	preempt_enable();
	kvm_vcpu_srcu_read_lock(vcpu);
	return ran;
}

/**
 * kvm_riscv_cove_vcpu_run() - KVM_RUN for a TVM vCPU
 * @vcpu: the vCPU, with its mutex held
 *
 * Return: 0 with an exit for the VMM in vcpu->run; -EFAULT with
 * KVM_EXIT_MEMORY_FAULT; -EINTR for a signal (KVM_EXIT_INTR); -EPERM
 * before KVM_TVM_FINALIZE; -EIO once the TSM ended the vCPU, or if the
 * TSM failed; an errno of a page fault in (-ENOSPC, -ENOMEM, -EBUSY).
 */
int kvm_riscv_cove_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct cove_vcpu *cv = cove_vcpu_of(vcpu);
	struct kvm_run *run = vcpu->run;
	struct cove_trap trap = {};
	int ret;

	if (!READ_ONCE(vcpu->kvm->arch.cove->finalized))
		return -EPERM;
	if (cv->ended)
		return -EIO;
	cove_complete_exit(cv, run);
	if (!vcpu->wants_to_run)
		return -EINTR;

	kvm_vcpu_srcu_read_lock(vcpu);
	vcpu_load(vcpu);
	kvm_sigset_activate(vcpu);
	run->exit_reason = KVM_EXIT_UNKNOWN;
	ret = 1;
	while (ret > 0) {
		ret = xfer_to_guest_mode_handle_work(vcpu);
		if (ret)
			continue;
		ret = cove_vcpu_requests(vcpu);
		if (ret <= 0)
			continue;
		ret = cove_vcpu_enter(vcpu, cv, &trap);
		if (ret > 0)
			ret = cove_handle_exit(vcpu, cv, run, &trap);
		else if (!ret)
			ret = 1;
	}
	kvm_sigset_deactivate(vcpu);
	vcpu_put(vcpu);
	kvm_vcpu_srcu_read_unlock(vcpu);
	return ret;
}
