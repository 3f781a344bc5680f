// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VTL memory attribute layers.
 *
 * Hyper-V's Virtual Secure Mode gives each Virtual Trust Level (VTL) its own
 * read/write/execute protections for every guest-physical page.  A VM that
 * enables KVM_CAP_VTL_MEMORY_ATTRIBUTES gets one attribute layer per VTL;
 * each vCPU executes at one VTL, the TDP MMU builds separate roots per VTL
 * (the VTL is part of the page role), and the fault path maps a gfn with
 * the permissions the faulting vCPU's layer leaves, or exits to userspace
 * with KVM_EXIT_MEMORY_FAULT when the access is not allowed.
 *
 * Documentation/virt/kvm/x86/vtl-memory-attributes.rst describes the UAPI.
 */

#include <linux/delay.h>
#include <linux/kvm_host.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <asm/hyperv-tlfs.h>
#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>

#include "cpuid.h"
#include "mmu.h"
#include "mmu_internal.h"
#include "tdp_mmu.h"
#include "vtl_fault.h"
#include "spte.h"
#include "x86.h"

#define KVM_VTL_RWX_ATTRS	(KVM_MEMORY_ATTRIBUTE_NR |		\
				 KVM_MEMORY_ATTRIBUTE_NW |		\
				 KVM_MEMORY_ATTRIBUTE_NX)
#define KVM_VTL_NR_HUGE_LEVELS	(KVM_MAX_HUGEPAGE_LEVEL - PG_LEVEL_4K)

/*
 * One VTL's attributes.  @attrs maps a gfn to its attributes (a value entry)
 * and holds only restricted gfns, so an unrestricted layer is an empty
 * xarray.  @uniform[level - PG_LEVEL_2M] marks the hugepage-sized blocks at
 * @level whose gfns all carry the same, non-zero attributes; a block with
 * no restricted gfn is uniform without a mark.  Only a uniform block may be
 * mapped with a hugepage.  A mark that cannot be allocated is simply not
 * there, which costs a hugepage but never a protection.
 */
struct kvm_vtl_layer {
	struct xarray attrs;
	struct xarray uniform[KVM_VTL_NR_HUGE_LEVELS];
};

/*
 * The PV pages KVM writes on a guest's behalf, at an address the guest
 * picked with an MSR (see kvm_vtl_set_pv_msr()).  @pv_regs maps a
 * registration (vCPU and kind, or VM and kind, see kvm_vtl_pv_index()) to
 * its guest-physical address; @pv_gfns maps each gfn that one or more
 * registrations touch to their number.  @pv_lock serializes registrations
 * with the changes of every layer, so that a gfn never holds a PV page and
 * an NR or NW attribute at once.
 */
struct kvm_vtl_attrs {
	/* Orders PV registrations against layer changes. */
	struct mutex pv_lock;
	struct xarray pv_regs;
	struct xarray pv_gfns;
	unsigned int nr_vtls;
	struct kvm_vtl_layer layers[] __counted_by(nr_vtls);
};

/* Kernel view of one change: the UAPI entry plus what applying it did. */
struct kvm_vtl_change {
	gfn_t start, end;
	unsigned long attrs;
	/* The range to zap, widened to hugepage blocks that became uniform. */
	gfn_t zap_start, zap_end;
	bool changed;
};

static struct kvm_vtl_attrs *kvm_vtl_attrs(struct kvm *kvm)
{
	/* Pairs with smp_store_release() in kvm_vtl_enable_cap(). */
	return smp_load_acquire(&kvm->arch.vtl_attrs);
}

static bool kvm_vtl_supported(struct kvm *kvm)
{
	/*
	 * Reduced permissions are applied where the TDP MMU installs a leaf
	 * SPTE; the shadow MMU maps with the guest's own permissions and
	 * prefetches neighbours with full ones.  Only nested NPT/EPT would
	 * bring the shadow MMU back, see kvm_vtl_check_cpuid().
	 */
	if (!tdp_enabled || !tdp_mmu_enabled)
		return false;
	/*
	 * Nor with kvm_intel.allow_smaller_maxphyaddr: VMX then intercepts
	 * #PF and walks the guest page tables again to fix the error code up,
	 * and a walk the layer refuses there has no exit to report it with.
	 */
	if (allow_smaller_maxphyaddr)
		return false;

	return !kvm || kvm->arch.vm_type == KVM_X86_DEFAULT_VM ||
	       kvm->arch.vm_type == KVM_X86_SW_PROTECTED_VM;
}

int kvm_vtl_check_extension(struct kvm *kvm, long ext)
{
	if (ext != KVM_CAP_VTL_MEMORY_ATTRIBUTES)
		return 0;

	return kvm_vtl_supported(kvm) ? KVM_MAX_VTLS : 0;
}

int kvm_vtl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	struct kvm_vtl_attrs *va;
	unsigned int i, level;
	u64 nr = cap->args[0];
	int r;

	if (cap->cap != KVM_CAP_VTL_MEMORY_ATTRIBUTES)
		return -EINVAL;
	if (cap->flags || cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	/* The MMU page role holds the VTL in two bits. */
	BUILD_BUG_ON(KVM_MAX_VTLS > 4);
	if (!kvm_vtl_supported(kvm) || !nr || nr > KVM_MAX_VTLS)
		return -EINVAL;

	va = kzalloc(struct_size(va, layers, nr), GFP_KERNEL_ACCOUNT);
	if (!va)
		return -ENOMEM;

	mutex_init(&va->pv_lock);
	xa_init(&va->pv_regs);
	xa_init(&va->pv_gfns);
	va->nr_vtls = nr;
	for (i = 0; i < nr; i++) {
		xa_init(&va->layers[i].attrs);
		for (level = 0; level < KVM_VTL_NR_HUGE_LEVELS; level++)
			xa_init(&va->layers[i].uniform[level]);
	}

	mutex_lock(&kvm->lock);
	if (kvm->created_vcpus) {
		r = -EBUSY;
	} else if (kvm->arch.vtl_attrs) {
		r = -EEXIST;
	} else {
		/* Pairs with smp_load_acquire() in kvm_vtl_attrs(). */
		smp_store_release(&kvm->arch.vtl_attrs, va);
		va = NULL;
		r = 0;
	}
	mutex_unlock(&kvm->lock);

	kfree(va);
	return r;
}

void kvm_vtl_destroy_vm(struct kvm *kvm)
{
	struct kvm_vtl_attrs *va = kvm->arch.vtl_attrs;
	unsigned int i, level;

	if (!va)
		return;

	for (i = 0; i < va->nr_vtls; i++) {
		xa_destroy(&va->layers[i].attrs);
		for (level = 0; level < KVM_VTL_NR_HUGE_LEVELS; level++)
			xa_destroy(&va->layers[i].uniform[level]);
	}
	xa_destroy(&va->pv_regs);
	xa_destroy(&va->pv_gfns);
	mutex_destroy(&va->pv_lock);
	kfree(va);
	kvm->arch.vtl_attrs = NULL;
}

/**
 * kvm_vtl_check_cpuid() - Refuse nested virtualization for VMs with layers
 * @vcpu: the vCPU whose CPUID is being set
 * @entries: the new CPUID entries
 * @nent: their number
 *
 * A nested guest's memory is mapped by the shadow MMU through its
 * hypervisor's NPT or EPT tables, with that hypervisor's permissions and
 * none of the VTL layers.  A VM with layers therefore cannot give its vCPUs
 * SVM or VMX: without them EFER.SVME and CR4.VMXE are reserved, so neither
 * the guest nor KVM_SET_SREGS/KVM_SET_NESTED_STATE can enter guest mode.
 *
 * Nor SGX: KVM emulates ECREATE and EINIT and reads their operands (PAGEINFO,
 * SECS, SIGSTRUCT, token) through the host mapping, bypassing the layers;
 * without SGX in CPUID, ENCLS raises #UD.
 *
 * Return: 0, or -EINVAL if @entries advertise SVM, VMX or SGX on a VM with
 * layers.
 */
int kvm_vtl_check_cpuid(struct kvm_vcpu *vcpu,
			const struct kvm_cpuid_entry2 *entries, int nent)
{
	int i;

	if (!kvm_vtl_attrs(vcpu->kvm))
		return 0;

	for (i = 0; i < nent; i++) {
		const struct kvm_cpuid_entry2 *e = &entries[i];

		if (e->function == 1 && (e->ecx & feature_bit(VMX)))
			return -EINVAL;
		if (e->function == 0x80000001 && (e->ecx & feature_bit(SVM)))
			return -EINVAL;
		/* An entry without a significant index answers every subleaf. */
		if (e->function == 7 && (e->ebx & feature_bit(SGX)) &&
		    (e->index == 0 ||
		     !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return -EINVAL;
	}
	return 0;
}

static struct xarray *kvm_vtl_uniform(struct kvm_vtl_layer *layer, int level)
{
	return &layer->uniform[level - PG_LEVEL_2M];
}

static bool kvm_vtl_has_attrs(struct kvm_vtl_layer *layer, gfn_t start,
			      gfn_t end)
{
	unsigned long index = start;

	return xa_find(&layer->attrs, &index, end - 1, XA_PRESENT);
}

/* The largest level at which @gfn's block is uniform in @layer. */
static u8 kvm_vtl_layer_max_level(struct kvm_vtl_layer *layer, gfn_t gfn,
				  u8 max_level)
{
	int level;

	for (level = max_level; level > PG_LEVEL_4K; level--) {
		gfn_t base = gfn_round_for_level(gfn, level);

		if (!kvm_vtl_has_attrs(layer, base,
				       base + KVM_PAGES_PER_HPAGE(level)))
			break;
		if (xa_load(kvm_vtl_uniform(layer, level),
			    gfn >> KVM_HPAGE_GFN_SHIFT(level)))
			break;
	}
	return level;
}

/* The KVM_EXIT_MEMORY_FAULT flags of a VTL violation. */
static u64 kvm_vtl_access_flags(struct kvm_vcpu *vcpu, u64 access)
{
	return access | KVM_MEMORY_EXIT_FLAG_VTL |
	       ((u64)vcpu->arch.vtl << KVM_MEMORY_EXIT_VTL_SHIFT);
}

static void kvm_vtl_prepare_exit(struct kvm_vcpu *vcpu,
				 struct kvm_page_fault *fault, u64 access)
{
	kvm_mmu_prepare_memory_fault_exit(vcpu, fault);
	vcpu->run->memory_fault.flags |= kvm_vtl_access_flags(vcpu, access);
}

int __kvm_vtl_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm_vtl_attrs *va = vcpu->kvm->arch.vtl_attrs;
	struct kvm_vtl_layer *layer = &va->layers[vcpu->arch.vtl];
	unsigned long attrs;
	u64 access;

	/* RWX restrictions are never set on private gfns. */
	if (fault->is_private || xa_empty(&layer->attrs))
		return RET_PF_CONTINUE;

	attrs = xa_to_value(xa_load(&layer->attrs, fault->gfn));
	if (fault->exec)
		access = KVM_MEMORY_EXIT_FLAG_EXECUTE;
	else if (fault->write)
		access = KVM_MEMORY_EXIT_FLAG_WRITE;
	else
		access = KVM_MEMORY_EXIT_FLAG_READ;

	/*
	 * A forbidden access fails, also when it is a prefetch: retrying
	 * would spin KVM_PRE_FAULT_MEMORY forever, and a prefetch that maps
	 * nothing must say so.  Like a shared/private mismatch, the exit
	 * information is filled in either way.
	 */
	if ((attrs & KVM_MEMORY_ATTRIBUTE_NR) ||
	    ((attrs & KVM_MEMORY_ATTRIBUTE_NW) && fault->write) ||
	    ((attrs & KVM_MEMORY_ATTRIBUTE_NX) && fault->exec)) {
		kvm_vtl_prepare_exit(vcpu, fault, access);
		return -EFAULT;
	}

	if (attrs & KVM_MEMORY_ATTRIBUTE_NW)
		fault->vtl_deny |= ACC_WRITE_MASK;
	if (attrs & KVM_MEMORY_ATTRIBUTE_NX)
		fault->vtl_deny |= ACC_EXEC_MASK;
	return RET_PF_CONTINUE;
}

/*
 * Called with mmu_lock held once the primary MMU's mapping level is known,
 * so that the (up to four) xarray lookups are made only for a fault that
 * could map a huge page at all; for 4K-backed memory a populated layer
 * costs one lookup per fault (__kvm_vtl_faultin()'s).
 */
u8 __kvm_vtl_max_level(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault,
		       u8 level)
{
	struct kvm_vtl_attrs *va = vcpu->kvm->arch.vtl_attrs;
	struct kvm_vtl_layer *layer = &va->layers[vcpu->arch.vtl];

	if (fault->is_private || xa_empty(&layer->attrs))
		return level;
	return kvm_vtl_layer_max_level(layer, fault->gfn, level);
}

/*
 * KVM's own accesses for a vCPU (emulated instructions' operands, software
 * page walks, hypercall buffers, the SMM state-save area) check the layer
 * and then access the page.  A change of the layer must not return while
 * an access allowed by the old attributes can still land, so every check
 * opens a section in the vCPU (vcpu->arch.vtl_access_seq odd) that
 * kvm_vtl_access_end() closes where no allowed access can be pending: after
 * each VM exit is handled, after KVM_RUN completes userspace I/O, when
 * KVM_RUN returns, when an emulation or KVM_TRANSLATE starts or ends.
 * kvm_vtl_wait_accesses() waits for the sections that were open when the
 * new attributes were stored.
 */
static void kvm_vtl_access_begin(struct kvm_vcpu *vcpu)
{
	unsigned long seq = vcpu->arch.vtl_access_seq;

	if (seq & 1)
		return;
	WRITE_ONCE(vcpu->arch.vtl_access_seq, seq + 1);
	/*
	 * Pairs with smp_mb() in kvm_vtl_wait_accesses(): either the writer
	 * sees this section, or the check below sees its attributes.
	 */
	smp_mb();
}

/*
 * Wait until no vCPU of @kvm is in a section that began before the caller
 * stored new attributes.  A section lasts one exit's handling at most, and
 * the caller holds no lock a vCPU could wait for in it.
 */
static void kvm_vtl_wait_accesses(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i, seq;

	/* Pairs with smp_mb() in kvm_vtl_access_begin(). */
	smp_mb();
	kvm_for_each_vcpu(i, vcpu, kvm) {
		seq = READ_ONCE(vcpu->arch.vtl_access_seq);
		if (!(seq & 1))
			continue;
		/*
		 * Acquire: the vCPU's access is visible once it ended.  A
		 * dying caller stops waiting (e.g. for a vCPU stuck on a
		 * userfaultfd that the caller itself would have resolved).
		 */
		while (smp_load_acquire(&vcpu->arch.vtl_access_seq) == seq &&
		       !fatal_signal_pending(current))
			usleep_range(10, 50);
	}
}

/*
 * Whether the vCPU's layer forbids @access (KVM_MEMORY_EXIT_FLAG_READ, _WRITE
 * or _EXECUTE) on @gfn.  As in the fault path, only memory (a memslot) is
 * protected.  An allowed access must follow in the same section, see
 * kvm_vtl_access_begin().
 */
static bool kvm_vtl_forbids(struct kvm_vcpu *vcpu, gfn_t gfn, u64 access)
{
	struct kvm_vtl_attrs *va = vcpu->kvm->arch.vtl_attrs;
	struct kvm_vtl_layer *layer = &va->layers[vcpu->arch.vtl];
	unsigned long attrs, deny = KVM_MEMORY_ATTRIBUTE_NR;

	kvm_vtl_access_begin(vcpu);
	if (xa_empty(&layer->attrs))
		return false;

	if (access & KVM_MEMORY_EXIT_FLAG_WRITE)
		deny |= KVM_MEMORY_ATTRIBUTE_NW;
	if (access & KVM_MEMORY_EXIT_FLAG_EXECUTE)
		deny |= KVM_MEMORY_ATTRIBUTE_NX;
	attrs = xa_to_value(xa_load(&layer->attrs, gfn));
	if (!(attrs & deny))
		return false;

	return kvm_vcpu_gfn_to_memslot(vcpu, gfn);
}

/* Refuse @access to @gpa if the layer forbids it, with the exit prepared. */
static bool kvm_vtl_deny_access(struct kvm_vcpu *vcpu, gpa_t gpa, u64 access)
{
	gfn_t gfn = gpa_to_gfn(gpa);

	if (!kvm_vtl_forbids(vcpu, gfn, access))
		return false;

	/* kvm_run is written only if KVM_RUN exits for it (not KVM_TRANSLATE). */
	vcpu->arch.vtl_exit_gpa = gfn_to_gpa(gfn);
	vcpu->arch.vtl_exit_flags = kvm_vtl_access_flags(vcpu, access);
	return true;
}

/**
 * __kvm_vtl_deny_emulated() - Apply the vCPU's layer to an access KVM makes for it
 * @vcpu: the vCPU whose instruction KVM emulates
 * @gpa: the guest-physical address the instruction accesses
 * @write: whether it writes (a read-modify-write writes)
 *
 * KVM emulates some instructions (string I/O, MMIO, what hardware does not
 * virtualize) and reads or writes their memory operands through the
 * memslot's host mapping, not through the vCPU's page tables.  Such an
 * access is the vCPU's own and follows its layer, as the fault path does:
 * a forbidden one records a KVM_EXIT_MEMORY_FAULT exit with the same
 * flags, and kvm_vtl_take_exit() fills it in and tells the emulator's caller
 * to return -EFAULT from KVM_RUN without completing the instruction.
 *
 * The software page walker uses it too, for the guest page-table entries it
 * reads and the accessed/dirty bits it sets, as the hardware walker's
 * accesses go through the layer's mappings.
 *
 * Return: true if the access is forbidden.
 */
bool __kvm_vtl_deny_emulated(struct kvm_vcpu *vcpu, gpa_t gpa, bool write)
{
	return kvm_vtl_deny_access(vcpu, gpa, write ? KVM_MEMORY_EXIT_FLAG_WRITE :
						      KVM_MEMORY_EXIT_FLAG_READ);
}

/**
 * __kvm_vtl_deny_fetch() - Apply the vCPU's layer to an instruction fetch
 * @vcpu: the vCPU whose instruction KVM decodes
 * @gpa: the guest-physical address of the instruction bytes
 *
 * The emulator fetches the instruction again, through the guest page tables
 * as they are now; another vCPU may have changed them since the vCPU ran
 * it.  A fetch from a page that the layer makes NR or NX is refused like a
 * data access (see __kvm_vtl_deny_emulated()).
 *
 * Return: true if the fetch is forbidden.
 */
bool __kvm_vtl_deny_fetch(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	return kvm_vtl_deny_access(vcpu, gpa, KVM_MEMORY_EXIT_FLAG_EXECUTE);
}

/**
 * __kvm_vtl_check_range() - Whether the running vCPU may access guest memory
 * @kvm: the VM
 * @gpa: the first guest-physical address
 * @len: the number of bytes
 * @write: whether KVM writes them
 *
 * For what KVM reads or writes at a guest-physical address the guest gave it
 * in a hypercall (Hyper-V hypercall input, KVM_HC_CLOCK_PAIRING), and on the
 * running vCPU's behalf (its SMM state-save area): the running vCPU's layer
 * must allow the access on every page of the range.  The caller then fails
 * as it does for an address without memory; no exit is made.  Without a
 * running vCPU of @kvm the access is refused.
 *
 * Return: 0 if allowed, -EFAULT if not.
 */
int __kvm_vtl_check_range(struct kvm *kvm, gpa_t gpa, unsigned long len,
			  bool write)
{
	struct kvm_vcpu *vcpu = kvm_get_running_vcpu();
	u64 access = write ? KVM_MEMORY_EXIT_FLAG_WRITE :
			     KVM_MEMORY_EXIT_FLAG_READ;
	gfn_t gfn, last;

	if (!len)
		return 0;
	if (!vcpu || vcpu->kvm != kvm || gpa + len - 1 < gpa)
		return -EFAULT;

	last = gpa_to_gfn(gpa + len - 1);
	for (gfn = gpa_to_gfn(gpa); gfn <= last; gfn++)
		if (kvm_vtl_forbids(vcpu, gfn, access))
			return -EFAULT;
	return 0;
}

/* ---------------------------------------------------------------- PV pages */

/* Kinds of PV page; one registration per vCPU (or per VM) and kind. */
enum kvm_vtl_pv_kind {
	KVM_VTL_PV_CLOCK,
	KVM_VTL_PV_STEAL_TIME,
	KVM_VTL_PV_ASYNC_PF,
	KVM_VTL_PV_EOI,
	KVM_VTL_PV_HV_SIMP,
	KVM_VTL_PV_HV_SIEFP,
	KVM_VTL_PV_HV_VP_ASSIST,
	KVM_VTL_PV_HV_TSC_PAGE,		/* one per VM */
	KVM_VTL_PV_ONCE,		/* written once, by the MSR write itself */
	KVM_VTL_NR_PV_KINDS,
};

struct kvm_vtl_pv_page {
	enum kvm_vtl_pv_kind kind;
	bool enabled;
	gpa_t gpa;
	unsigned int size;
};

/*
 * The MSRs that make KVM write guest memory.  Each enables its page with
 * bit 0 (KVM_MSR_ENABLED, KVM_ASYNC_PF_ENABLED, HV_*_ENABLE), except those
 * marked @always, which write on every MSR write.
 */
static const struct kvm_vtl_pv_msr {
	u32 msr;
	enum kvm_vtl_pv_kind kind;
	u64 gpa_mask;
	unsigned int size;
	bool always;
} kvm_vtl_pv_msrs[] = {
	{ MSR_KVM_SYSTEM_TIME, KVM_VTL_PV_CLOCK, ~1ULL,
	  sizeof(struct pvclock_vcpu_time_info) },
	{ MSR_KVM_SYSTEM_TIME_NEW, KVM_VTL_PV_CLOCK, ~1ULL,
	  sizeof(struct pvclock_vcpu_time_info) },
	{ MSR_KVM_WALL_CLOCK, KVM_VTL_PV_ONCE, ~0ULL,
	  sizeof(struct pvclock_wall_clock), true },
	{ MSR_KVM_WALL_CLOCK_NEW, KVM_VTL_PV_ONCE, ~0ULL,
	  sizeof(struct pvclock_wall_clock), true },
	{ MSR_KVM_STEAL_TIME, KVM_VTL_PV_STEAL_TIME, KVM_STEAL_VALID_BITS,
	  sizeof(struct kvm_steal_time) },
	{ MSR_KVM_ASYNC_PF_EN, KVM_VTL_PV_ASYNC_PF, ~0x3fULL,
	  sizeof(struct kvm_vcpu_pv_apf_data) },
	{ MSR_KVM_PV_EOI_EN, KVM_VTL_PV_EOI, ~1ULL, sizeof(u8) },
	{ HV_X64_MSR_SIMP, KVM_VTL_PV_HV_SIMP, PAGE_MASK, PAGE_SIZE },
	{ HV_X64_MSR_SIEFP, KVM_VTL_PV_HV_SIEFP, PAGE_MASK, PAGE_SIZE },
	{ HV_X64_MSR_VP_ASSIST_PAGE, KVM_VTL_PV_HV_VP_ASSIST, PAGE_MASK, PAGE_SIZE },
	{ HV_X64_MSR_REFERENCE_TSC, KVM_VTL_PV_HV_TSC_PAGE, PAGE_MASK, PAGE_SIZE },
	{ HV_X64_MSR_HYPERCALL, KVM_VTL_PV_ONCE, PAGE_MASK, PAGE_SIZE },
};

/*
 * Decode a write to an MSR that makes KVM write guest memory.  Returns
 * false for every other MSR.
 */
static bool kvm_vtl_pv_decode(struct kvm_vcpu *vcpu, u32 msr, u64 data,
			      struct kvm_vtl_pv_page *pv)
{
	const struct kvm_vtl_pv_msr *m;

	/* The Xen hypercall page, written on every write of its MSR. */
	if (msr && msr == vcpu->kvm->arch.xen_hvm_config.msr) {
		*pv = (struct kvm_vtl_pv_page) { .kind = KVM_VTL_PV_ONCE,
			.enabled = true, .gpa = data & PAGE_MASK, .size = PAGE_SIZE };
		return true;
	}

	for (m = kvm_vtl_pv_msrs; m < kvm_vtl_pv_msrs + ARRAY_SIZE(kvm_vtl_pv_msrs); m++) {
		if (m->msr != msr)
			continue;
		*pv = (struct kvm_vtl_pv_page) { .kind = m->kind,
			.enabled = m->always || (data & 1), .gpa = data & m->gpa_mask,
			.size = m->size };
		return true;
	}
	return false;
}

static unsigned long kvm_vtl_pv_index(struct kvm_vcpu *vcpu,
				      enum kvm_vtl_pv_kind kind)
{
	/* The reference TSC page is the partition's, whichever vCPU set it. */
	if (kind == KVM_VTL_PV_HV_TSC_PAGE)
		return kind;
	return (unsigned long)(vcpu->vcpu_idx + 1) * KVM_VTL_NR_PV_KINDS + kind;
}

static gfn_t kvm_vtl_pv_end(gpa_t gpa, unsigned int size)
{
	return gpa_to_gfn(gpa + size - 1) + 1;
}

/* Whether any layer has one of @attrs on a gfn in [@start, @end). */
static bool kvm_vtl_any_layer_has(struct kvm_vtl_attrs *va, gfn_t start,
				  gfn_t end, unsigned long attrs)
{
	unsigned long index;
	unsigned int i;
	void *entry;

	for (i = 0; i < va->nr_vtls; i++) {
		xa_for_each_range(&va->layers[i].attrs, index, entry, start, end - 1)
			if (xa_to_value(entry) & attrs)
				return true;
	}
	return false;
}

static int kvm_vtl_pv_add(struct kvm_vtl_attrs *va, gfn_t gfn, long delta)
{
	unsigned long n = xa_to_value(xa_load(&va->pv_gfns, gfn)) + delta;

	return xa_err(xa_store(&va->pv_gfns, gfn, n ? xa_mk_value(n) : NULL,
			       GFP_KERNEL_ACCOUNT));
}

/*
 * Count the gfns of a registration into (@delta 1) or out of (-1)
 * @pv_gfns.  Only counting in allocates; if that fails, nothing changed.
 */
static int kvm_vtl_pv_count(struct kvm_vtl_attrs *va, gpa_t gpa,
			    unsigned int size, long delta)
{
	gfn_t first = gpa_to_gfn(gpa), end = kvm_vtl_pv_end(gpa, size), gfn;
	int r;

	for (gfn = first; gfn < end; gfn++) {
		r = kvm_vtl_pv_add(va, gfn, delta);
		if (r) {
			while (gfn-- > first)
				kvm_vtl_pv_add(va, gfn, -delta);
			return r;
		}
	}
	return 0;
}

/**
 * __kvm_vtl_set_pv_msr() - Keep PV pages off pages a layer protects
 * @vcpu: the vCPU whose MSR is written, by the guest or by the VMM
 * @msr: the MSR
 * @data: the value being written
 *
 * KVM writes the pages of kvmclock, steal time, async PF, PV EOI and the
 * Hyper-V SynIC, VP assist and reference TSC pages whenever it needs to, on
 * no VTL's behalf, and the wall clock and hypercall pages once, when their
 * MSR is written.  None of them may land on a gfn that a layer makes NR or
 * NW: an MSR write that enables one there is refused (the guest gets #GP,
 * KVM_SET_MSRS stops at it), and while a PV page is registered,
 * KVM_SET_VTL_MEMORY_ATTRIBUTES refuses to protect its gfns (-EBUSY).  A
 * registration ends when the MSR is written with its enable bit clear or
 * with another address; a vCPU reset that clears the MSR does not end it.
 *
 * Return: 0 if the write may go on, 1 to fail it.
 */
int __kvm_vtl_set_pv_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data)
{
	struct kvm_vtl_attrs *va = vcpu->kvm->arch.vtl_attrs;
	struct kvm_vtl_pv_page pv;
	unsigned long index;
	void *old;
	int r = 0;

	if (!kvm_vtl_pv_decode(vcpu, msr, data, &pv))
		return 0;
	/* Beyond any memslot (and any MAXPHYADDR): KVM writes nothing there. */
	if (pv.gpa >> 52)
		pv.enabled = false;

	mutex_lock(&va->pv_lock);
	if (pv.enabled &&
	    kvm_vtl_any_layer_has(va, gpa_to_gfn(pv.gpa),
				  kvm_vtl_pv_end(pv.gpa, pv.size),
				  KVM_MEMORY_ATTRIBUTE_NR | KVM_MEMORY_ATTRIBUTE_NW)) {
		r = 1;
		goto out;
	}
	if (pv.kind == KVM_VTL_PV_ONCE)
		goto out;

	/* Replace this vCPU's (or the VM's) registration of the kind. */
	index = kvm_vtl_pv_index(vcpu, pv.kind);
	old = xa_load(&va->pv_regs, index);
	if (pv.enabled && old && xa_to_value(old) == pv.gpa)
		goto out;
	if (pv.enabled) {
		/* Out of memory: refuse rather than lose track. */
		if (kvm_vtl_pv_count(va, pv.gpa, pv.size, 1)) {
			r = 1;
			goto out;
		}
		if (xa_err(xa_store(&va->pv_regs, index, xa_mk_value(pv.gpa),
				    GFP_KERNEL_ACCOUNT))) {
			kvm_vtl_pv_count(va, pv.gpa, pv.size, -1);
			r = 1;
			goto out;
		}
	} else {
		xa_erase(&va->pv_regs, index);
	}
	if (old)
		kvm_vtl_pv_count(va, xa_to_value(old), pv.size, -1);
out:
	mutex_unlock(&va->pv_lock);
	return r;
}

/* Whether a registered PV page touches a gfn of [start, end). */
static bool kvm_vtl_pv_in_range(struct kvm_vtl_attrs *va, gfn_t start,
				gfn_t end)
{
	unsigned long index = start;

	return !xa_empty(&va->pv_gfns) &&
	       xa_find(&va->pv_gfns, &index, end - 1, XA_PRESENT);
}

/**
 * kvm_vtl_range_restricted() - Whether any layer restricts a gfn of a range
 * @kvm: the VM
 * @start: the first gfn
 * @end: the gfn after the last
 *
 * For KVM_SET_MEMORY_ATTRIBUTES: private faults do not consult the layers,
 * so a restricted gfn must not become private (the reverse of the check
 * kvm_vtl_check_entry() makes).  Called with slots_lock held, which every
 * change of a layer holds too.
 *
 * Return: true if some VTL's layer has attributes on a gfn in the range.
 */
bool kvm_vtl_range_restricted(struct kvm *kvm, gfn_t start, gfn_t end)
{
	struct kvm_vtl_attrs *va = kvm_vtl_attrs(kvm);

	lockdep_assert_held(&kvm->slots_lock);
	return va && start < end &&
	       kvm_vtl_any_layer_has(va, start, end, KVM_VTL_RWX_ATTRS);
}

static bool kvm_vtl_range_has_private(struct kvm *kvm, gfn_t start, gfn_t end)
{
#ifdef CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES
	unsigned long index;
	void *entry;

	if (!kvm_arch_has_private_mem(kvm))
		return false;

	xa_for_each_range(&kvm->mem_attr_array, index, entry, start, end - 1) {
		if (xa_to_value(entry) & KVM_MEMORY_ATTRIBUTE_PRIVATE)
			return true;
	}
#endif
	return false;
}

static int kvm_vtl_check_entry(struct kvm *kvm,
			       const struct kvm_vtl_memory_attributes_entry *e,
			       struct kvm_vtl_change *c)
{
	u64 attrs = e->attributes;

	if (e->reserved || (attrs & ~KVM_VTL_RWX_ATTRS))
		return -EINVAL;
	/* x86 page tables cannot express write or execute without read. */
	if ((attrs & KVM_MEMORY_ATTRIBUTE_NR) &&
	    (attrs & KVM_VTL_RWX_ATTRS) != KVM_VTL_RWX_ATTRS)
		return -EINVAL;
	if (!e->size || e->address + e->size < e->address)
		return -EINVAL;
	if (!PAGE_ALIGNED(e->address) || !PAGE_ALIGNED(e->size))
		return -EINVAL;

	c->start = e->address >> PAGE_SHIFT;
	c->end = (e->address + e->size) >> PAGE_SHIFT;
	if (c->end - 1 > kvm_mmu_max_gfn())
		return -EINVAL;
	if (attrs && kvm_vtl_range_has_private(kvm, c->start, c->end))
		return -EINVAL;

	c->attrs = attrs;
	c->zap_start = c->start;
	c->zap_end = c->end;
	c->changed = false;
	return 0;
}

/*
 * xa_lock(&layer->attrs) is held across many stores; drop it for a moment
 * every KVM_VTL_LOCK_BATCH gfns.  Reservations keep the stores from
 * allocating, so they never drop the lock themselves.
 */
#define KVM_VTL_LOCK_BATCH	512

static void kvm_vtl_relax_lock(struct xarray *xa, unsigned int *count)
{
	if (++*count < KVM_VTL_LOCK_BATCH)
		return;
	*count = 0;
	xa_unlock(xa);
	cond_resched();
	xa_lock(xa);
}

/* Store the attributes of @nr changes; note which ones changed anything. */
static void kvm_vtl_store(struct kvm_vtl_layer *layer,
			  struct kvm_vtl_change *changes, u32 nr)
{
	struct xarray *xa = &layer->attrs;
	unsigned int count = 0;
	unsigned long index;
	void *entry, *old;
	u32 i;

	xa_lock(xa);
	for (i = 0; i < nr; i++) {
		struct kvm_vtl_change *c = &changes[i];
		gfn_t gfn;

		if (!c->attrs) {
			xa_for_each_range(xa, index, entry, c->start, c->end - 1) {
				__xa_erase(xa, index);
				c->changed = true;
				kvm_vtl_relax_lock(xa, &count);
			}
			continue;
		}

		/*
		 * The entries were reserved, so a store allocates only when an
		 * earlier change of this batch cleared the same gfn.  A batch
		 * must not fail halfway, hence __GFP_NOFAIL for that rare case.
		 */
		entry = xa_mk_value(c->attrs);
		for (gfn = c->start; gfn < c->end; gfn++) {
			old = __xa_store(xa, gfn, entry,
					 GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
			if (old != entry)
				c->changed = true;
			kvm_vtl_relax_lock(xa, &count);
		}
	}
	xa_unlock(xa);
}

/*
 * Whether all gfns of the block at @base and @level carry the same non-zero
 * attributes, given that the block has at least one restricted gfn.  Levels
 * above 2M are decided from the marks one level down.  Every check exits at
 * the first difference, which for scattered single-page changes is the
 * first lookup.
 */
static bool kvm_vtl_block_uniform(struct kvm_vtl_layer *layer, gfn_t base,
				  int level)
{
	gfn_t end = base + KVM_PAGES_PER_HPAGE(level), next, step;
	void *first = xa_load(&layer->attrs, base);
	unsigned long index;
	void *entry;

	if (!first)
		return false;

	if (level == PG_LEVEL_2M) {
		next = base;
		xa_for_each_range(&layer->attrs, index, entry, base, end - 1) {
			if (index != next || entry != first)
				return false;
			next++;
		}
		return next == end;
	}

	step = KVM_PAGES_PER_HPAGE(level - 1);
	for (next = base; next < end; next += step) {
		if (xa_load(&layer->attrs, next) != first ||
		    !xa_load(kvm_vtl_uniform(layer, level - 1),
			     next >> KVM_HPAGE_GFN_SHIFT(level - 1)))
			return false;
	}
	return true;
}

static void kvm_vtl_mark(struct xarray *marks, unsigned long index,
			 bool uniform)
{
	/* A failed allocation leaves the block non-uniform, which is safe. */
	if (uniform)
		xa_store(marks, index, xa_mk_value(1), GFP_KERNEL_ACCOUNT);
	else if (!xa_empty(marks))
		xa_erase(marks, index);
}

/*
 * Recompute the mark of one block at @level after a change; widen @c's zap
 * range to it if it is now uniform.  Returns whether it is uniform.
 */
static bool kvm_vtl_update_block(struct kvm_vtl_layer *layer,
				 struct kvm_vtl_change *c, gfn_t base, int level)
{
	gfn_t pages = KVM_PAGES_PER_HPAGE(level);
	bool restricted, uniform;

	restricted = kvm_vtl_has_attrs(layer, base, base + pages);
	uniform = !restricted || kvm_vtl_block_uniform(layer, base, level);
	kvm_vtl_mark(kvm_vtl_uniform(layer, level),
		     base >> KVM_HPAGE_GFN_SHIFT(level), restricted && uniform);
	if (uniform) {
		c->zap_start = min(c->zap_start, base);
		c->zap_end = max(c->zap_end, base + pages);
	}
	return uniform;
}

/*
 * After clearing [@c->start, @c->end): the blocks inside the range hold no
 * restricted gfn any more, so their marks go, at a cost proportional to the
 * marks that exist rather than to the range; only the (at most two) blocks
 * the range covers in part per level are looked at.
 */
static void kvm_vtl_clear_uniform(struct kvm_vtl_layer *layer,
				  struct kvm_vtl_change *c)
{
	unsigned long index;
	int level;
	void *entry;

	for (level = PG_LEVEL_2M; level <= KVM_MAX_HUGEPAGE_LEVEL; level++) {
		struct xarray *marks = kvm_vtl_uniform(layer, level);
		gfn_t pages = KVM_PAGES_PER_HPAGE(level);
		gfn_t first = round_up(c->start, pages);
		gfn_t last = round_down(c->end, pages);
		unsigned int shift = KVM_HPAGE_GFN_SHIFT(level);

		if (first < last && !xa_empty(marks)) {
			xa_for_each_range(marks, index, entry, first >> shift,
					  (last >> shift) - 1) {
				xa_erase(marks, index);
				cond_resched();
			}
		}
		/* The blocks of the first and last gfn, if covered in part. */
		first = round_down(c->start, pages);
		last = round_down(c->end - 1, pages);
		if (c->start != first || c->end < first + pages)
			kvm_vtl_update_block(layer, c, first, level);
		if (last != first && c->end < last + pages)
			kvm_vtl_update_block(layer, c, last, level);
	}
}

/*
 * Recompute the uniform marks of every block @c touches, smallest level
 * first, and widen @c's zap range to the blocks that are now uniform so the
 * next fault can map them with a hugepage again.  A block whose sub-block
 * is restricted and mixed is mixed too, without looking further.  A
 * restricting change costs in proportion to its size (bounded by
 * KVM_VTL_MAX_BATCH_PAGES), a clearing one in proportion to what it clears.
 */
static void kvm_vtl_update_uniform(struct kvm_vtl_layer *layer,
				   struct kvm_vtl_change *c)
{
	unsigned int count = 0;
	bool sub_mixed = false;
	int level;
	gfn_t base;

	if (!c->attrs) {
		kvm_vtl_clear_uniform(layer, c);
		return;
	}

	for (level = PG_LEVEL_2M; level <= KVM_MAX_HUGEPAGE_LEVEL; level++) {
		struct xarray *marks = kvm_vtl_uniform(layer, level);
		gfn_t pages = KVM_PAGES_PER_HPAGE(level);
		bool single = gfn_round_for_level(c->start, level) ==
			      gfn_round_for_level(c->end - 1, level);
		bool uniform = false;

		for (base = gfn_round_for_level(c->start, level); base < c->end;
		     base += pages) {
			unsigned long index = base >> KVM_HPAGE_GFN_SHIFT(level);

			/*
			 * The change restricts the block, which is uniform
			 * only if every gfn in it has the same attributes.
			 */
			uniform = !(single && sub_mixed) &&
				  kvm_vtl_block_uniform(layer, base, level);
			kvm_vtl_mark(marks, index, uniform);

			if (uniform) {
				c->zap_start = min(c->zap_start, base);
				c->zap_end = max(c->zap_end, base + pages);
			}
			if (++count % 64 == 0)
				cond_resched();
		}
		/* Only a change within one block lets the next level skip. */
		sub_mixed = single && !uniform;
	}
}

/*
 * Drop the reservations of @changes[0 .. @nr) up to, not including, @stop in
 * the last one; entries that hold a value are left alone.
 */
static void kvm_vtl_unreserve(struct kvm_vtl_layer *layer,
			      const struct kvm_vtl_change *changes, u32 nr,
			      gfn_t stop)
{
	struct xarray *xa = &layer->attrs;
	unsigned int count = 0;
	gfn_t gfn, end;
	u32 i;

	xa_lock(xa);
	for (i = 0; i < nr; i++) {
		const struct kvm_vtl_change *c = &changes[i];

		if (!c->attrs)
			continue;
		end = i == nr - 1 ? stop : c->end;
		for (gfn = c->start; gfn < end; gfn++) {
			__xa_cmpxchg(xa, gfn, XA_ZERO_ENTRY, NULL, 0);
			kvm_vtl_relax_lock(xa, &count);
		}
	}
	xa_unlock(xa);
}

/*
 * Reserve the attribute entries @nr changes will store.  On failure
 * (-ENOMEM, or -EINTR for a fatal signal) no reservation is left behind.
 */
static int kvm_vtl_reserve(struct kvm_vtl_layer *layer,
			   const struct kvm_vtl_change *changes, u32 nr)
{
	struct xarray *xa = &layer->attrs;
	unsigned int count = 0;
	int r = 0;
	gfn_t gfn = 0;
	u32 i;

	xa_lock(xa);
	for (i = 0; i < nr && !r; i++) {
		const struct kvm_vtl_change *c = &changes[i];

		if (!c->attrs)
			continue;
		for (gfn = c->start; gfn < c->end; gfn++) {
			/* Like xa_reserve(), under the lock already held. */
			r = __xa_insert(xa, gfn, NULL, GFP_KERNEL_ACCOUNT);
			if (r == -EBUSY)	/* already present or reserved */
				r = 0;
			if (r)
				break;
			if (++count % KVM_VTL_LOCK_BATCH)
				continue;
			xa_unlock(xa);
			if (fatal_signal_pending(current))
				r = -EINTR;
			cond_resched();
			xa_lock(xa);
			if (r) {
				gfn++;
				break;
			}
		}
	}
	xa_unlock(xa);

	/* The loop stopped in entry i - 1, at gfn. */
	if (r)
		kvm_vtl_unreserve(layer, changes, i, gfn);
	return r;
}

/*
 * Apply @nr entries to @vtl's layer, all or nothing: every entry is checked
 * and every allocation made before the first one is applied.  On failure
 * *@error_index is the entry at fault, or @nr if none is; on success it is
 * @nr.  The entries that restrict may cover at most KVM_VTL_MAX_BATCH_PAGES
 * together, which bounds the part that cannot be interrupted.
 */
static int kvm_vtl_set(struct kvm *kvm, u32 vtl,
		       const struct kvm_vtl_memory_attributes_entry *entries,
		       u32 nr, u32 *error_index)
{
	struct kvm_vtl_attrs *va = kvm_vtl_attrs(kvm);
	struct kvm_tdp_mmu_zap_range *zaps = NULL;
	struct kvm_vtl_change *changes, *c;
	struct kvm_vtl_layer *layer;
	u64 set_pages = 0;
	u32 i, nr_zaps;
	bool flush = false, restricted = false;
	int r;

	/* No entry is at fault unless one is named below. */
	*error_index = nr;
	if (!va)
		return -ENXIO;
	if (vtl >= va->nr_vtls)
		return -EINVAL;
	layer = &va->layers[array_index_nospec(vtl, va->nr_vtls)];

	changes = kvmalloc_array(nr, sizeof(*changes), GFP_KERNEL_ACCOUNT);
	zaps = kvmalloc_array(nr, sizeof(*zaps), GFP_KERNEL_ACCOUNT);
	if (!changes || !zaps) {
		r = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&kvm->slots_lock);
	mutex_lock(&va->pv_lock);

	for (i = 0; i < nr; i++) {
		r = kvm_vtl_check_entry(kvm, &entries[i], &changes[i]);
		if (r)
			goto out_unlock;
		/* KVM writes PV pages on no VTL's behalf; keep them writable. */
		if ((changes[i].attrs & (KVM_MEMORY_ATTRIBUTE_NR |
					 KVM_MEMORY_ATTRIBUTE_NW)) &&
		    kvm_vtl_pv_in_range(va, changes[i].start, changes[i].end)) {
			r = -EBUSY;
			goto out_unlock;
		}
		/* Bound the work (and memory) of one call. */
		if (changes[i].attrs)
			set_pages += changes[i].end - changes[i].start;
		if (set_pages > KVM_VTL_MAX_BATCH_PAGES) {
			r = -E2BIG;
			goto out_unlock;
		}
	}
	r = kvm_vtl_reserve(layer, changes, nr);
	if (r) {
		i = nr;	/* not an entry's fault */
		goto out_unlock;
	}

	/*
	 * Faults on the ranges retry from here until the invalidation ends,
	 * so none can install an SPTE from attributes read before the store.
	 */
	write_lock(&kvm->mmu_lock);
	kvm_mmu_invalidate_begin(kvm);
	for (i = 0; i < nr; i++)
		kvm_mmu_invalidate_range_add(kvm, changes[i].start,
					     changes[i].end);
	write_unlock(&kvm->mmu_lock);

	kvm_vtl_store(layer, changes, nr);
	for (i = 0; i < nr; i++) {
		if (changes[i].changed)
			kvm_vtl_update_uniform(layer, &changes[i]);
	}

	for (i = 0, nr_zaps = 0; i < nr; i++) {
		c = &changes[i];
		if (!c->changed)
			continue;
		zaps[nr_zaps++] = (struct kvm_tdp_mmu_zap_range) {
			.start = c->zap_start, .end = c->zap_end,
		};
		restricted |= !!c->attrs;
	}

	write_lock(&kvm->mmu_lock);
	if (nr_zaps)
		flush = kvm_tdp_mmu_zap_vtl_leafs(kvm, vtl, zaps, nr_zaps, false);
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	kvm_mmu_invalidate_end(kvm);
	write_unlock(&kvm->mmu_lock);

	i = nr;
	r = 0;

out_unlock:
	mutex_unlock(&va->pv_lock);
	mutex_unlock(&kvm->slots_lock);
	*error_index = i;
	/*
	 * No access that KVM makes for a vCPU and that the old attributes
	 * allowed may land after this call returns.  Not under pv_lock or
	 * slots_lock: a vCPU may wait for them while its section is open.
	 */
	if (restricted)
		kvm_vtl_wait_accesses(kvm);
out_free:
	kvfree(zaps);
	kvfree(changes);
	return r;
}

static int kvm_vtl_ioctl_set(struct kvm *kvm,
			     struct kvm_vtl_memory_attributes __user *argp)
{
	struct kvm_vtl_memory_attributes_entry entry = {};
	struct kvm_vtl_memory_attributes attrs;
	u32 error_index;

	if (copy_from_user(&attrs, argp, sizeof(attrs)))
		return -EFAULT;
	if (attrs.flags)
		return -EINVAL;

	entry.address = attrs.address;
	entry.size = attrs.size;
	entry.attributes = attrs.attributes;
	return kvm_vtl_set(kvm, attrs.vtl, &entry, 1, &error_index);
}

static int kvm_vtl_ioctl_set_batch(struct kvm *kvm,
				   struct kvm_vtl_memory_attributes_batch __user *argp)
{
	struct kvm_vtl_memory_attributes_entry *entries;
	struct kvm_vtl_memory_attributes_batch batch;
	u32 error_index;
	int r;

	if (copy_from_user(&batch, argp, sizeof(batch)))
		return -EFAULT;

	error_index = batch.nr_entries;
	if (batch.flags || memchr_inv(batch.reserved, 0, sizeof(batch.reserved)) ||
	    !batch.nr_entries) {
		r = -EINVAL;
	} else if (batch.nr_entries > KVM_VTL_MAX_BATCH_ENTRIES) {
		r = -E2BIG;
	} else {
		entries = vmemdup_array_user(u64_to_user_ptr(batch.entries),
					     batch.nr_entries, sizeof(*entries));
		if (IS_ERR(entries)) {
			r = PTR_ERR(entries);
		} else {
			r = kvm_vtl_set(kvm, batch.vtl, entries,
					batch.nr_entries, &error_index);
			kvfree(entries);
		}
	}

	if (put_user(error_index, &argp->error_index))
		return -EFAULT;
	return r;
}

/*
 * Read back the range's restricted gfns as maximal runs of equal attributes,
 * in ascending order, into @buf (at most @cap).  Returns the number of runs
 * and sets *@next to the gfn where a further call continues (@end when the
 * range is done), or -EINTR.  slots_lock keeps writers out.
 */
static long kvm_vtl_read_runs(struct kvm_vtl_layer *layer, gfn_t start,
			      gfn_t end, struct kvm_vtl_memory_attributes_entry *buf,
			      u32 cap, gfn_t *next)
{
	gfn_t run_end = 0;
	unsigned long index;
	unsigned int count = 0;
	void *entry;
	u32 n = 0;

	*next = end;
	xa_for_each_range(&layer->attrs, index, entry, start, end - 1) {
		u64 attrs = xa_to_value(entry);

		if (n && index == run_end && attrs == buf[n - 1].attributes) {
			run_end++;
		} else {
			if (n)
				buf[n - 1].size = gfn_to_gpa(run_end) - buf[n - 1].address;
			if (n == cap) {
				*next = index;
				return n;
			}
			buf[n].address = gfn_to_gpa(index);
			buf[n].attributes = attrs;
			buf[n].reserved = 0;
			run_end = index + 1;
			n++;
		}
		if (!(++count % 1024)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	if (n)
		buf[n - 1].size = gfn_to_gpa(run_end) - buf[n - 1].address;
	return n;
}

static int kvm_vtl_ioctl_get(struct kvm *kvm,
			     struct kvm_vtl_memory_attributes_query __user *argp)
{
	struct kvm_vtl_attrs *va = kvm_vtl_attrs(kvm);
	struct kvm_vtl_memory_attributes_entry *buf;
	struct kvm_vtl_memory_attributes_query q;
	gfn_t start, end, next;
	long n;

	if (copy_from_user(&q, argp, sizeof(q)))
		return -EFAULT;
	if (!va)
		return -ENXIO;
	if (q.flags || q.pad || memchr_inv(q.reserved, 0, sizeof(q.reserved)) ||
	    !q.nr_entries || q.vtl >= va->nr_vtls)
		return -EINVAL;
	if (q.nr_entries > KVM_VTL_MAX_BATCH_ENTRIES)
		return -E2BIG;
	if (!q.size || q.address + q.size < q.address ||
	    !PAGE_ALIGNED(q.address) || !PAGE_ALIGNED(q.size))
		return -EINVAL;
	start = gpa_to_gfn(q.address);
	end = gpa_to_gfn(q.address + q.size);
	if (end - 1 > kvm_mmu_max_gfn())
		return -EINVAL;

	buf = kvmalloc_array(q.nr_entries, sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	mutex_lock(&kvm->slots_lock);
	n = kvm_vtl_read_runs(&va->layers[array_index_nospec(q.vtl, va->nr_vtls)],
			      start, end, buf, q.nr_entries, &next);
	mutex_unlock(&kvm->slots_lock);

	if (n >= 0) {
		if (copy_to_user(u64_to_user_ptr(q.entries), buf, n * sizeof(*buf))) {
			n = -EFAULT;
		} else {
			q.nr_entries = n;
			q.address = gfn_to_gpa(next);
			q.size = gfn_to_gpa(end - next);
			if (copy_to_user(argp, &q, sizeof(q)))
				n = -EFAULT;
		}
	}
	kvfree(buf);
	return n < 0 ? n : 0;
}

int kvm_vtl_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_SET_VTL_MEMORY_ATTRIBUTES:
		return kvm_vtl_ioctl_set(kvm, argp);
	case KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH:
		return kvm_vtl_ioctl_set_batch(kvm, argp);
	case KVM_GET_VTL_MEMORY_ATTRIBUTES:
		return kvm_vtl_ioctl_get(kvm, argp);
	default:
		return -ENOTTY;
	}
}

static int kvm_vtl_ioctl_set_vcpu_vtl(struct kvm_vcpu *vcpu,
				      struct kvm_vcpu_vtl __user *argp)
{
	struct kvm_vtl_attrs *va = kvm_vtl_attrs(vcpu->kvm);
	struct kvm_vcpu_vtl v;

	if (copy_from_user(&v, argp, sizeof(v)))
		return -EFAULT;
	if (v.flags)
		return -EINVAL;
	if (!va)
		return -ENXIO;
	if (v.vtl >= va->nr_vtls)
		return -EINVAL;
	if (kvm_vcpu_has_run(vcpu))
		return -EBUSY;

	vcpu->arch.vtl = array_index_nospec(v.vtl, va->nr_vtls);
	/* The VTL is part of the root's role: rebuild the MMU context. */
	kvm_mmu_reset_context(vcpu);
	return 0;
}

int kvm_vtl_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
		       void __user *argp)
{
	switch (ioctl) {
	case KVM_SET_VCPU_VTL:
		return kvm_vtl_ioctl_set_vcpu_vtl(vcpu, argp);
	default:
		return -EINVAL;
	}
}
