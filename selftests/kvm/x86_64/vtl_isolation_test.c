// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VTL memory attributes attacked from the side: paths that must not walk
 * around a VTL layer.
 *
 *  - nested: a VTL0 kernel that runs an L2 guest with nested NPT.  The
 *    shadow MMU does not apply the layers, so KVM must refuse SVM/VMX in the
 *    CPUID of a VM with layers.  If it does not, the test runs the attack
 *    (L2 reads, then writes, a page that VTL0 may not write) and fails when
 *    the write lands.
 *  - pre-fault: KVM_PRE_FAULT_MEMORY on a gfn that the vCPU's layer makes
 *    unreadable must fail with EFAULT, not spin until a signal.
 *  - batch bounds: a batch cannot make KVM work without bound.  Restricting
 *    entries may cover KVM_VTL_MAX_BATCH_PAGES together (E2BIG beyond),
 *    so alternating "restrict everything"/"clear everything" entries are
 *    refused, and clearing the whole gfn space costs what it clears.  The
 *    largest gfn accepted follows MAXPHYADDR from KVM_GET_SUPPORTED_CPUID.
 *  - emulated: accesses KVM emulates for the guest follow its layer.  "rep
 *    insb" into a page VTL0 may not write, "rep outsb" from one it may not
 *    read, "movsq" from MMIO into a read-only page and a read that straddles
 *    an MMIO page and an unreadable page each end in KVM_EXIT_MEMORY_FAULT with the page
 *    untouched (and nothing leaked to the port or MMIO); once the VMM
 *    lifts the restriction, KVM_RUN restarts the instruction.
 *  - emulated race: an emulated write that passed the check must land
 *    before KVM_SET_VTL_MEMORY_ATTRIBUTES returns.  "rep insb" writes a
 *    page whose host memory is missing under userfaultfd, so KVM's write
 *    blocks after the check; the test then makes the page NW and resolves
 *    the fault 300 ms later.  The ioctl must not return before that.
 *  - page walks: the software walker those emulated accesses use reads
 *    guest page tables and sets their A/D bits like the hardware walker:
 *    "rep insb" to a linear address whose page table sits on a page VTL0
 *    may not write (or read) exits at the page table's gpa, the entry
 *    unchanged; KVM_TRANSLATE of such an address says "invalid" and leaves
 *    kvm_run alone.
 *  - pdptes: KVM_SET_SREGS and KVM_SET_SREGS2 into PAE paging load the
 *    PDPTEs from the page CR3 names; from a page VTL0 may not read they are
 *    not loaded (KVM_GET_SREGS2 never shows its content).
 *  - smm: KVM writes the SMM state-save area on SMI and reads it on RSM.
 *    On a page VTL0 may not write, the SMI kills the VM (EIO) with nothing
 *    written; on a page it may not read, RSM shuts the vCPU down.
 *  - hypercall buffers: an in-kernel Hyper-V hypercall does not read its
 *    input from a page VTL0 may not read (HV_STATUS_INVALID_HYPERCALL_INPUT
 *    instead of success), KVM_HC_CLOCK_PAIRING does not write its result
 *    into a page VTL0 may not write (-KVM_EFAULT).
 *  - pv pages: KVM writes kvmclock, steal time, the Hyper-V reference TSC
 *    page and the like on no VTL's behalf.  Enabling one on a page a layer
 *    makes NW fails (#GP for the guest's WRMSR, KVM_SET_MSRS refuses it),
 *    and a page that holds one cannot be made NW (EBUSY) until the guest
 *    disables it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm_para.h>
#include <linux/sizes.h>
#include <linux/userfaultfd.h>

#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "test_util.h"
#include "ucall_common.h"
#include "hyperv.h"
#include "vtl_util.h"

#define TEST_SLOT	10
#define TEST_GPA	0x40000000ULL	/* 1 GiB */
#define TEST_PAGES	16
#define MARKER		0x1111222233334444ULL
#define L2_VALUE	0xbadbadbadbadbad0ULL

#define NR	KVM_MEMORY_ATTRIBUTE_NR
#define NW	KVM_MEMORY_ATTRIBUTE_NW
#define NX	KVM_MEMORY_ATTRIBUTE_NX

/* Page-table bits of the nested page tables L1 gives L2. */
#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_A		BIT_ULL(5)
#define PTE_D		BIT_ULL(6)
#define PTE_PS		BIT_ULL(7)

static bool host_has_svm;

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, void *code)
{
	struct kvm_vm *vm = vm_create(1);
	struct kvm_vcpu_vtl vtl = { .vtl = 0 };

	vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, 2);
	*vcpu = vm_vcpu_add(vm, 0, code);
	vcpu_ioctl(*vcpu, KVM_SET_VCPU_VTL, &vtl);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA, TEST_SLOT,
				    TEST_PAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	return vm;
}

static void set_attrs(struct kvm_vm *vm, uint32_t vtl, uint64_t gpa,
		      uint64_t size, uint64_t attrs)
{
	struct kvm_vtl_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attrs, .vtl = vtl,
	};

	vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES, &a);
}

/* ---------------------------------------------------------------- nested */

/*
 * Page 0 is unreadable for VTL0, page 1 read-only, page 2 unrestricted.
 * L2 touches page 2 first (the shadow MMU prefetches its neighbours), reads
 * and writes page 1, then copies what it can read of page 0 into page 2.
 */
static void l2_code(void)
{
	uint64_t *p = (uint64_t *)TEST_GPA;

	WRITE_ONCE(p[2 * 512 + 1], READ_ONCE(p[2 * 512]));
	(void)READ_ONCE(p[512]);
	WRITE_ONCE(p[512], L2_VALUE);
	WRITE_ONCE(p[2 * 512 + 1], READ_ONCE(p[0]));
	vmmcall();
}

#define L2_STACK_WORDS	256

static void l1_code(struct svm_test_data *svm, uint64_t npt_gpa, uint64_t attack)
{
	unsigned long l2_stack[L2_STACK_WORDS];

	if (!attack) {
		/* Without SVM in CPUID, EFER.SVME is reserved. */
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME),
				GP_VECTOR);
		GUEST_DONE();
	}

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	generic_svm_setup(svm, l2_code, &l2_stack[L2_STACK_WORDS]);
	svm->vmcb->control.nested_ctl |= SVM_NESTED_CTL_NP_ENABLE;
	svm->vmcb->control.nested_cr3 = npt_gpa;
	run_guest(svm->vmcb, svm->vmcb_gpa);
	GUEST_SYNC(svm->vmcb->control.exit_code);
	GUEST_DONE();
}

/* Identity-map the first 4 GiB with 1G pages, user and writable. */
static uint64_t build_npt(struct kvm_vm *vm)
{
	vm_paddr_t pml4 = vm_phy_pages_alloc(vm, 2, KVM_GUEST_PAGE_TABLE_MIN_PADDR,
					     vm->memslots[MEM_REGION_PT]);
	uint64_t *l4 = addr_gpa2hva(vm, pml4);
	uint64_t *l3 = addr_gpa2hva(vm, pml4 + PAGE_SIZE);
	int i;

	memset(l4, 0, 2 * PAGE_SIZE);
	l4[0] = (pml4 + PAGE_SIZE) | PTE_P | PTE_RW | PTE_US;
	for (i = 0; i < 4; i++)
		l3[i] = ((uint64_t)i << 30) | PTE_P | PTE_RW | PTE_US | PTE_A |
			PTE_D | PTE_PS;
	return pml4;
}

static void test_nested(void)
{
	struct kvm_nested_state *state;
	struct kvm_cpuid2 *cpuid;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t svm_gva;
	struct kvm_vm *vm;
	uint64_t *hva;
	struct ucall uc;
	size_t size;
	int i, r;

	if (!host_has_svm) {
		ksft_test_result_skip("nested: the host has no SVM\n");
		return;
	}

	vm = create_vm(&vcpu, l1_code);
	hva = addr_gpa2hva(vm, TEST_GPA);
	hva[0] = MARKER;
	hva[512] = MARKER;
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, NR | NW | NX);
	set_attrs(vm, 0, TEST_GPA + PAGE_SIZE, PAGE_SIZE, NW);
	vcpu_alloc_svm(vm, &svm_gva);

	/* Give the vCPU SVM: a VM with layers must refuse. */
	cpuid = allocate_kvm_cpuid2(vcpu->cpuid->nent);
	memcpy(cpuid, vcpu->cpuid, kvm_cpuid2_size(vcpu->cpuid->nent));
	for (i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == 0x80000001)
			cpuid->entries[i].ecx |= BIT(2);
	}
	r = __vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);

	if (!r) {
		/* Accepted: show what an L2 guest can do with it. */
		vcpu_args_set(vcpu, 3, svm_gva, build_npt(vm), 1);
		r = __vcpu_run(vcpu);
		ksft_print_msg("KVM_SET_CPUID2 with SVM was accepted on a VM with layers\n");
		ksft_print_msg("KVM_RUN: %d errno %d exit %u\n", r, r ? errno : 0,
			       vcpu->run->exit_reason);
		ksft_test_result_fail("nested: L2 %s the unreadable page, %s the read-only one\n",
				      hva[2 * 512 + 1] == MARKER ? "read" : "did not read",
				      hva[512] == L2_VALUE ? "wrote" : "did not write");
		kvm_vm_free(vm);
		return;
	}
	TEST_ASSERT(errno == EINVAL, "KVM_SET_CPUID2 with SVM: errno %d, expected EINVAL",
		    errno);

	/* VMX in leaf 1 is refused the same way. */
	cpuid = allocate_kvm_cpuid2(vcpu->cpuid->nent);
	memcpy(cpuid, vcpu->cpuid, kvm_cpuid2_size(vcpu->cpuid->nent));
	for (i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == 1)
			cpuid->entries[i].ecx |= BIT(5);
	}
	r = __vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	TEST_ASSERT(r == -1 && errno == EINVAL,
		    "KVM_SET_CPUID2 with VMX: %d errno %d, expected EINVAL", r, errno);

	/* So is SGX (leaf 7.0 EBX bit 2): KVM emulates ECREATE and EINIT. */
	cpuid = allocate_kvm_cpuid2(vcpu->cpuid->nent);
	memcpy(cpuid, vcpu->cpuid, kvm_cpuid2_size(vcpu->cpuid->nent));
	for (i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == 7 && cpuid->entries[i].index == 0)
			cpuid->entries[i].ebx |= BIT(2);
	}
	r = __vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	TEST_ASSERT(r == -1 && errno == EINVAL,
		    "KVM_SET_CPUID2 with SGX: %d errno %d, expected EINVAL", r, errno);
	/* KVM finds leaf 7.0 in an entry of another index without the flag. */
	for (i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function == 7 && cpuid->entries[i].index == 0) {
			cpuid->entries[i].index = 5;
			cpuid->entries[i].flags &= ~KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		}
	}
	r = __vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	TEST_ASSERT(r == -1 && errno == EINVAL,
		    "KVM_SET_CPUID2 with SGX in leaf 7, index 5, no significant index: %d errno %d, expected EINVAL",
		    r, errno);

	/* The host cannot put the vCPU in guest mode either. */
	if (kvm_has_cap(KVM_CAP_NESTED_STATE)) {
		size = sizeof(*state) + sizeof(struct kvm_svm_nested_state_data);
		state = calloc(1, size);
		TEST_ASSERT(state, "calloc");
		state->format = KVM_STATE_NESTED_FORMAT_SVM;
		state->size = size;
		state->flags = KVM_STATE_NESTED_GUEST_MODE;
		state->hdr.svm.vmcb_pa = TEST_GPA;
		r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, state);
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "KVM_SET_NESTED_STATE(guest mode): %d errno %d, expected EINVAL",
			    r, errno);
		free(state);
	}

	/* And the guest cannot turn SVM on. */
	vcpu_args_set(vcpu, 3, svm_gva, 0, 0);
	vcpu_run(vcpu);
	r = get_ucall(vcpu, &uc);
	if (r == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(r, UCALL_DONE);

	kvm_vm_free(vm);
	ksft_test_result_pass("nested: SVM, VMX and SGX refused in CPUID, nested state and EFER.SVME\n");
}

/* ------------------------------------------------------------- pre-fault */

static void guest_nothing(void)
{
	GUEST_DONE();
}

static void on_alarm(int sig)
{
}

static int prefault(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t size)
{
	struct kvm_pre_fault_memory range = { .gpa = gpa, .size = size };
	int r;

	do {
		r = __vcpu_ioctl(vcpu, KVM_PRE_FAULT_MEMORY, &range);
	} while (r > 0 || (r == 0 && range.size));
	return r;
}

static void test_prefault(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int r;

	if (!kvm_has_cap(KVM_CAP_PRE_FAULT_MEMORY)) {
		ksft_test_result_skip("pre-fault: no KVM_CAP_PRE_FAULT_MEMORY\n");
		return;
	}

	vm = create_vm(&vcpu, guest_nothing);
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, NR | NW | NX);
	set_attrs(vm, 0, TEST_GPA + PAGE_SIZE, PAGE_SIZE, NW);
	set_attrs(vm, 1, TEST_GPA + 2 * PAGE_SIZE, PAGE_SIZE, NR | NW | NX);

	/* A KVM that retries forever is stopped by the alarm (EINTR). */
	TEST_ASSERT(!sigaction(SIGALRM, &sa, NULL), "sigaction");
	alarm(10);
	r = prefault(vcpu, TEST_GPA, PAGE_SIZE);
	alarm(0);
	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "pre-fault of an unreadable gfn: %d errno %d, expected EFAULT", r, errno);

	/* A read-only gfn, and a gfn only another VTL restricts, pre-fault. */
	TEST_ASSERT(!prefault(vcpu, TEST_GPA + PAGE_SIZE, PAGE_SIZE),
		    "pre-fault of a write-protected gfn: errno %d", errno);
	TEST_ASSERT(!prefault(vcpu, TEST_GPA + 2 * PAGE_SIZE, PAGE_SIZE),
		    "pre-fault of a gfn VTL1 restricts: errno %d", errno);

	kvm_vm_free(vm);
	ksft_test_result_pass("pre-fault: EFAULT on an unreadable gfn, others mapped\n");
}

/* -------------------------------------------------------------- emulated */

#define EMUL_PORT	0x3f0
#define MMIO_GPA	0x50000000ULL
/* Virtual pages: MMIO_GPA, then NR_GPA right after it. */
#define SPLIT_GVA	0x60000000ULL
#define NW_GPA		(TEST_GPA + PAGE_SIZE)
#define NR_GPA		(TEST_GPA + 2 * PAGE_SIZE)
/* Mapped to WALK_DATA_GPA through a page table of its own. */
#define WALK_GVA	0x70000000ULL
#define WALK_DATA_GPA	(TEST_GPA + 6 * PAGE_SIZE)
#define SECRET		0x5ec5ec5ec5ec5ec5ULL
#define PORT_BYTE	0xaa
#define MMIO_BYTE	0xbb

enum { OP_INSB, OP_OUTSB, OP_MOVS, OP_SPLIT, OP_INSB_WALK };

static void guest_emulated(int op)
{
	uint64_t nw = NW_GPA, nr = NR_GPA, src = MMIO_GPA, count = 8;
	uint64_t walk = WALK_GVA;

	switch (op) {
	case OP_INSB_WALK:
		asm volatile("cld; rep insb" : "+D"(walk), "+c"(count)
			     : "d"(EMUL_PORT) : "memory");
		break;
	case OP_INSB:
		asm volatile("cld; rep insb" : "+D"(nw), "+c"(count)
			     : "d"(EMUL_PORT) : "memory");
		break;
	case OP_OUTSB:
		asm volatile("cld; rep outsb" : "+S"(nr), "+c"(count)
			     : "d"(EMUL_PORT) : "memory");
		break;
	case OP_MOVS:
		asm volatile("cld; movsq" : "+S"(src), "+D"(nw) : : "memory");
		break;
	case OP_SPLIT:
		/* MMIO faults first; KVM emulates the whole 8-byte read. */
		READ_ONCE(*(uint64_t *)(SPLIT_GVA + PAGE_SIZE - 4));
		break;
	}
	GUEST_DONE();
}

static const struct emul_case {
	const char *name;
	int op;
	uint64_t gpa, attrs, access;
} emul_cases[] = {
	{ "rep insb into a read-only page", OP_INSB, NW_GPA, NW,
	  KVM_MEMORY_EXIT_FLAG_WRITE },
	{ "rep outsb from an unreadable page", OP_OUTSB, NR_GPA, NR | NW | NX,
	  KVM_MEMORY_EXIT_FLAG_READ },
	{ "movsq from MMIO into a read-only page", OP_MOVS, NW_GPA, NW,
	  KVM_MEMORY_EXIT_FLAG_WRITE },
	{ "a read straddling MMIO and an unreadable page", OP_SPLIT, NR_GPA,
	  NR | NW | NX, KVM_MEMORY_EXIT_FLAG_READ },
};

/* gpa 0: the page table that maps WALK_GVA. */
static const struct emul_case walk_cases[] = {
	{ "rep insb whose page table is read-only (A/D bits)", OP_INSB_WALK, 0,
	  NW, KVM_MEMORY_EXIT_FLAG_WRITE },
	{ "rep insb whose page table is unreadable", OP_INSB_WALK, 0,
	  NR | NW | NX, KVM_MEMORY_EXIT_FLAG_READ },
};

/*
 * Run until the guest is done or KVM_RUN fails, serving the port and MMIO
 * reads the instruction makes.  Returns KVM_RUN's errno (0 once done);
 * *leaked counts the bytes that reached the port or MMIO writes.
 */
static int run_emulated(struct kvm_vcpu *vcpu, int *leaked)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int i;

	for (i = 0; i < 64; i++) {
		if (__vcpu_run(vcpu))
			return errno;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == EMUL_PORT) {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			uint32_t n = run->io.size * run->io.count;

			if (run->io.direction == KVM_EXIT_IO_OUT)
				*leaked += n;
			else
				memset(data, PORT_BYTE, n);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			TEST_ASSERT(run->mmio.phys_addr >= MMIO_GPA &&
				    run->mmio.phys_addr < MMIO_GPA + PAGE_SIZE,
				    "MMIO exit at 0x%llx", run->mmio.phys_addr);
			if (run->mmio.is_write)
				*leaked += run->mmio.len;
			else
				memset(run->mmio.data, MMIO_BYTE, run->mmio.len);
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_DONE:
			return 0;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %u (%s)", run->exit_reason,
				  exit_reason_str(run->exit_reason));
		}
	}
	TEST_FAIL("the instruction did not finish in 64 exits");
	return 0;
}

static bool test_emulated_case(const struct emul_case *c)
{
	uint64_t want = c->access | KVM_MEMORY_EXIT_FLAG_VTL;
	uint64_t gpa = c->gpa, before, *watch;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int r, leaked = 0;
	bool ok = true;

	vm = create_vm(&vcpu, guest_emulated);
	vcpu_args_set(vcpu, 1, c->op);
	virt_map(vm, MMIO_GPA, MMIO_GPA, 1);
	virt_map(vm, SPLIT_GVA, MMIO_GPA, 1);
	virt_map(vm, SPLIT_GVA + PAGE_SIZE, NR_GPA, 1);
	virt_map(vm, WALK_GVA, WALK_DATA_GPA, 1);
	if (gpa) {
		/* The operand's page: it must keep its secret. */
		watch = addr_gpa2hva(vm, gpa);
		*watch = SECRET;
	} else {
		/* The page table entry: no A/D bit may appear in it. */
		watch = vm_get_page_table_entry(vm, WALK_GVA);
		*watch &= ~(PTE_A | PTE_D);
		gpa = addr_hva2gpa(vm, watch) & ~(uint64_t)(PAGE_SIZE - 1);
	}
	before = *watch;
	set_attrs(vm, 0, gpa, PAGE_SIZE, c->attrs);

	r = run_emulated(vcpu, &leaked);
	if (r != EFAULT || vcpu->run->exit_reason != KVM_EXIT_MEMORY_FAULT) {
		ksft_print_msg("%s: KVM_RUN %s (errno %d, exit %u), %d bytes out\n",
			       c->name, r ? "failed" : "completed the instruction",
			       r, vcpu->run->exit_reason, leaked);
		ok = false;
	} else if (vcpu->run->memory_fault.gpa != gpa ||
		   vcpu->run->memory_fault.size != PAGE_SIZE ||
		   vcpu->run->memory_fault.flags != want) {
		ksft_print_msg("%s: memory fault gpa 0x%llx size %llu flags 0x%llx\n",
			       c->name, vcpu->run->memory_fault.gpa,
			       vcpu->run->memory_fault.size,
			       vcpu->run->memory_fault.flags);
		ksft_print_msg("%s: expected gpa 0x%lx size %lu flags 0x%lx\n",
			       c->name, gpa, (unsigned long)PAGE_SIZE, want);
		ok = false;
	}
	if (*watch != before || leaked) {
		ksft_print_msg("%s: 0x%lx became 0x%lx, %d bytes reached the port or MMIO\n",
			       c->name, before, *watch, leaked);
		ok = false;
	}

	if (!ok) {
		kvm_vm_free(vm);
		return false;
	}

	/* Lifted, the instruction runs again from the start and completes. */
	set_attrs(vm, 0, gpa, PAGE_SIZE, 0);
	r = run_emulated(vcpu, &leaked);
	TEST_ASSERT(!r, "%s: after lifting: KVM_RUN errno %d", c->name, r);
	if (c->op == OP_INSB || c->op == OP_MOVS) {
		uint64_t v = c->op == OP_INSB ? PORT_BYTE : MMIO_BYTE;

		v *= 0x0101010101010101ULL;
		TEST_ASSERT(*watch == v, "%s: after lifting: page 0x%lx", c->name,
			    *watch);
	} else if (c->op == OP_INSB_WALK) {
		uint64_t *data = addr_gpa2hva(vm, WALK_DATA_GPA);

		TEST_ASSERT(*data == PORT_BYTE * 0x0101010101010101ULL &&
			    (*watch & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
			    "%s: after lifting: data 0x%lx, pte 0x%lx", c->name,
			    *data, *watch);
	}
	kvm_vm_free(vm);
	return true;
}

static void test_emulated(void)
{
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(emul_cases); i++)
		ok &= test_emulated_case(&emul_cases[i]);
	ksft_test_result(ok, "emulated: string I/O and MMIO emulation follow the layer\n");
}

/* --------------------------------------------------------- emulated race */

#define RACE_DELAY_US	300000

struct race {
	struct kvm_vcpu *vcpu;
	int uffd;
	void *page;			/* the host page behind NW_GPA */
	atomic_int faulted;
	double resolved;		/* when the fault was resolved */
	int run_errno;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *race_vcpu(void *arg)
{
	struct race *rc = arg;
	int leaked = 0;

	rc->run_errno = run_emulated(rc->vcpu, &leaked);
	return NULL;
}

/* Wait for KVM's write to fault, hold it RACE_DELAY_US, then resolve it. */
static void *race_uffd(void *arg)
{
	struct race *rc = arg;
	struct pollfd pfd = { .fd = rc->uffd, .events = POLLIN };
	struct uffdio_zeropage zero = {
		.range = { .start = (uint64_t)rc->page, .len = PAGE_SIZE },
	};
	struct uffd_msg msg;

	TEST_ASSERT(poll(&pfd, 1, 10000) == 1, "no userfault within 10 s");
	TEST_ASSERT(read(rc->uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		    msg.event == UFFD_EVENT_PAGEFAULT, "userfaultfd read");
	/* KVM's write into the page, not an earlier touch of it. */
	TEST_ASSERT(msg.arg.pagefault.address == (uint64_t)rc->page &&
		    (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE),
		    "userfault at 0x%llx flags 0x%llx", msg.arg.pagefault.address,
		    msg.arg.pagefault.flags);
	atomic_store(&rc->faulted, 1);
	usleep(RACE_DELAY_US);
	rc->resolved = now();
	TEST_ASSERT(!ioctl(rc->uffd, UFFDIO_ZEROPAGE, &zero), "UFFDIO_ZEROPAGE: %s",
		    strerror(errno));
	return NULL;
}

static void test_emulated_race(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	pthread_t vcpu_thread, uffd_thread;
	struct race rc = { 0 };
	uint64_t *data;
	struct kvm_vm *vm;
	double returned;

	rc.uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (rc.uffd < 0 || ioctl(rc.uffd, UFFDIO_API, &api)) {
		ksft_test_result_skip("emulated race: no userfaultfd (%s)\n",
				      strerror(errno));
		return;
	}
	vm = create_vm(&rc.vcpu, guest_emulated);
	vcpu_args_set(rc.vcpu, 1, OP_INSB);
	rc.page = addr_gpa2hva(vm, NW_GPA);
	/* Missing from the host: KVM's write into it has to wait for us. */
	TEST_ASSERT(!madvise(rc.page, PAGE_SIZE, MADV_DONTNEED), "madvise");
	reg.range.start = (uint64_t)rc.page;
	reg.range.len = PAGE_SIZE;
	TEST_ASSERT(!ioctl(rc.uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER: %s",
		    strerror(errno));

	pthread_create(&uffd_thread, NULL, race_uffd, &rc);
	pthread_create(&vcpu_thread, NULL, race_vcpu, &rc);
	while (!atomic_load(&rc.faulted))
		usleep(1000);

	/* KVM checked the layer (nothing restricted yet) and is writing. */
	set_attrs(vm, 0, NW_GPA, PAGE_SIZE, NW);
	returned = now();

	pthread_join(uffd_thread, NULL);
	pthread_join(vcpu_thread, NULL);
	data = rc.page;
	TEST_ASSERT(!rc.run_errno, "KVM_RUN errno %d", rc.run_errno);
	TEST_ASSERT(*data == PORT_BYTE * 0x0101010101010101ULL,
		    "the emulated write did not complete: 0x%lx", *data);
	if (returned < rc.resolved)
		ksft_print_msg("KVM_SET_VTL_MEMORY_ATTRIBUTES returned %.0f ms before the write it allowed landed\n",
			       (rc.resolved - returned) * 1000);
	ksft_test_result(returned >= rc.resolved,
			 "emulated race: the write in flight landed before the ioctl returned\n");
	kvm_vm_free(vm);
	close(rc.uffd);
}

/*
 * KVM_TRANSLATE walks for the VMM: a walk the layer refuses reports the
 * address as invalid and leaves kvm_run, here a pending KVM_EXIT_IO, alone.
 */
static bool translate_keeps_exit(void)
{
	struct kvm_translation tr = { .linear_address = WALK_GVA };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *pte;
	bool ok;

	vm = create_vm(&vcpu, guest_emulated);
	vcpu_args_set(vcpu, 1, OP_INSB);
	virt_map(vm, WALK_GVA, WALK_DATA_GPA, 1);
	pte = vm_get_page_table_entry(vm, WALK_GVA);
	set_attrs(vm, 0, addr_hva2gpa(vm, pte) & ~(uint64_t)(PAGE_SIZE - 1),
		  PAGE_SIZE, NR | NW | NX);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	vcpu_ioctl(vcpu, KVM_TRANSLATE, &tr);
	ok = !tr.valid && vcpu->run->exit_reason == KVM_EXIT_IO &&
	     vcpu->run->io.port == EMUL_PORT;
	if (!ok)
		ksft_print_msg("KVM_TRANSLATE: valid %u, exit %u after a KVM_EXIT_IO\n",
			       tr.valid, vcpu->run->exit_reason);
	kvm_vm_free(vm);
	return ok;
}

static void test_walks(void)
{
	bool ok = translate_keeps_exit();
	int i;

	for (i = 0; i < ARRAY_SIZE(walk_cases); i++)
		ok &= test_emulated_case(&walk_cases[i]);
	ksft_test_result(ok, "page walks: page-table reads and A/D updates follow the layer\n");
}

/* ---------------------------------------------------------------- pdptes */

#define PDPT_OK_GPA	(TEST_GPA + 8 * PAGE_SIZE)
#define PDPT_NR_GPA	(TEST_GPA + 9 * PAGE_SIZE)

/* Four present PDPTEs, no reserved bit set, that say which page held them. */
static void fill_pdpt(struct kvm_vm *vm, uint64_t gpa, uint64_t tag)
{
	uint64_t *pdpt = addr_gpa2hva(vm, gpa);
	int i;

	for (i = 0; i < 4; i++)
		pdpt[i] = tag + ((uint64_t)(i + 1) << 12) + PTE_P;
}

/*
 * Put the vCPU in 32-bit PAE paging with CR3 at @cr3, by KVM_SET_SREGS2 or
 * KVM_SET_SREGS (both load the PDPTEs from memory), and read back the
 * PDPTEs KVM holds.
 */
static void set_pae(struct kvm_vcpu *vcpu, uint64_t cr3, bool v2,
		    uint64_t pdptrs[4])
{
	struct kvm_sregs2 s2;

	vcpu_ioctl(vcpu, KVM_GET_SREGS2, &s2);
	s2.efer &= ~(EFER_LME | EFER_LMA);
	s2.cs.l = 0;
	s2.cs.db = 1;
	s2.cr3 = cr3;
	s2.flags = 0;
	if (v2) {
		vcpu_ioctl(vcpu, KVM_SET_SREGS2, &s2);
	} else {
		struct kvm_sregs s;

		vcpu_sregs_get(vcpu, &s);
		s.efer = s2.efer;
		s.cs = s2.cs;
		s.cr3 = cr3;
		vcpu_sregs_set(vcpu, &s);
	}
	vcpu_ioctl(vcpu, KVM_GET_SREGS2, &s2);
	TEST_ASSERT(s2.flags & KVM_SREGS2_FLAGS_PDPTRS_VALID,
		    "KVM_GET_SREGS2 reports no PDPTEs in PAE paging");
	memcpy(pdptrs, s2.pdptrs, sizeof(s2.pdptrs));
}

/*
 * KVM_SET_SREGS(2) loads the PDPTEs from the page CR3 names, for the vCPU:
 * a page its VTL may not read is refused like an invalid PDPT, and the
 * PDPTEs KVM holds (KVM_GET_SREGS2, and what the vCPU would translate with)
 * never show its content.  A readable page is loaded, so the test can tell.
 */
static void test_pdptes(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t got[4], *secret;
	bool ok = true;
	int v2;

	if (!kvm_has_cap(KVM_CAP_SREGS2)) {
		ksft_test_result_skip("pdptes: no KVM_CAP_SREGS2\n");
		return;
	}
	for (v2 = 0; v2 <= 1; v2++) {
		const char *how = v2 ? "KVM_SET_SREGS2" : "KVM_SET_SREGS";

		vm = create_vm(&vcpu, guest_nothing);
		fill_pdpt(vm, PDPT_OK_GPA, 0x10000000);
		fill_pdpt(vm, PDPT_NR_GPA, 0x20000000);
		secret = addr_gpa2hva(vm, PDPT_NR_GPA);
		set_attrs(vm, 0, PDPT_NR_GPA, PAGE_SIZE, NR | NW | NX);

		set_pae(vcpu, PDPT_OK_GPA, v2, got);
		TEST_ASSERT(!memcmp(got, addr_gpa2hva(vm, PDPT_OK_GPA), sizeof(got)),
			    "%s: a readable PDPT was not loaded: PDPTE0 0x%lx",
			    how, got[0]);

		set_pae(vcpu, PDPT_NR_GPA, v2, got);
		if (!memcmp(got, secret, sizeof(got))) {
			ksft_print_msg("%s: PDPTEs loaded from a page VTL0 may not read (0x%lx)\n",
				       how, got[0]);
			ok = false;
		}
		kvm_vm_free(vm);
	}
	ksft_test_result(ok, "pdptes: KVM does not load PDPTEs from a page the VTL may not read\n");
}

/* ------------------------------------------------------------------- smm */

/*
 * SMRAM: a memslot of the SMM address space, with SMBASE moved there
 * (KVM_SET_MSRS, as firmware would with RSM): the SMI handler at SMBASE +
 * 0x8000, the state-save area at SMBASE + 0xfe00, on the last page.
 */
#define SMBASE		0x1000000ULL
#define SMRAM_SLOT	((1 << 16) | 1)
#define SMRAM_PAGES	16
#define SMM_SAVE_GPA	(SMBASE + 0xfe00)
#define SMM_SAVE_PAGE	(SMBASE + 0xf000)
#define SMM_PORT	0x80

/* 16-bit: out %al, $SMM_PORT; rsm */
static const uint8_t smm_handler[] = { 0xe6, SMM_PORT, 0x0f, 0xaa };

static struct kvm_vm *smm_vm(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = create_vm(vcpu, guest_nothing);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SMBASE, SMRAM_SLOT,
				    SMRAM_PAGES, 0);
	memset(addr_gpa2hva(vm, SMBASE), 0, SMRAM_PAGES * PAGE_SIZE);
	memcpy(addr_gpa2hva(vm, SMBASE + 0x8000), smm_handler, sizeof(smm_handler));
	vcpu_set_msr(*vcpu, MSR_IA32_SMBASE, SMBASE);
	return vm;
}

static bool smm_save_area_blank(struct kvm_vm *vm)
{
	uint8_t *p = addr_gpa2hva(vm, SMM_SAVE_GPA);
	int i;

	for (i = 0; i < 0x200; i++)
		if (p[i])
			return false;
	return true;
}

/* Enter SMM (KVM_SMI, KVM_RUN); true if the handler ran to its OUT. */
static bool smm_enter(struct kvm_vcpu *vcpu)
{
	vcpu_ioctl(vcpu, KVM_SMI, NULL);
	if (__vcpu_run(vcpu))
		return false;
	return vcpu->run->exit_reason == KVM_EXIT_IO &&
	       vcpu->run->io.port == SMM_PORT;
}

/*
 * KVM writes the SMM state-save area on SMI and reads it on RSM, for the
 * vCPU.  A state-save area on a page VTL0 may not write is not written: the
 * VM is dead (EIO), as for any SMM entry KVM cannot make.  A state-save
 * area VTL0 may not read is not read on RSM: the vCPU shuts down.  With no
 * restriction both work, so the test can tell.
 */
static void test_smm(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	bool ok = true;
	int r;

	if (!kvm_has_cap(KVM_CAP_X86_SMM)) {
		ksft_test_result_skip("smm: no KVM_CAP_X86_SMM\n");
		return;
	}

	/* Unrestricted: the SMI saves state, RSM restores it, the guest ends. */
	vm = smm_vm(&vcpu);
	TEST_ASSERT(smm_enter(vcpu), "SMI: exit %u, errno %d", vcpu->run->exit_reason,
		    errno);
	TEST_ASSERT(!smm_save_area_blank(vm), "SMI: no state saved");
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "RSM: exit %u (%s)",
		    vcpu->run->exit_reason, exit_reason_str(vcpu->run->exit_reason));
	kvm_vm_free(vm);

	/* The state-save area on a page VTL0 may not write: nothing written. */
	vm = smm_vm(&vcpu);
	set_attrs(vm, 0, SMM_SAVE_PAGE, PAGE_SIZE, NW);
	vcpu_ioctl(vcpu, KVM_SMI, NULL);
	r = __vcpu_run(vcpu);
	if (r != -1 || errno != EIO) {
		ksft_print_msg("SMI, save area NW: KVM_RUN %d errno %d exit %u, expected EIO\n",
			       r, errno, vcpu->run->exit_reason);
		ok = false;
	}
	if (!smm_save_area_blank(vm)) {
		ksft_print_msg("SMI: KVM wrote the state-save area on a page VTL0 may not write\n");
		ok = false;
	}
	/* A dead VM refuses the memslot deletions of kvm_vm_free(). */
	kvm_vm_release(vm);

	/* In SMM, the state-save area made unreadable: RSM does not read it. */
	vm = smm_vm(&vcpu);
	TEST_ASSERT(smm_enter(vcpu), "SMI: exit %u, errno %d", vcpu->run->exit_reason,
		    errno);
	set_attrs(vm, 0, SMM_SAVE_PAGE, PAGE_SIZE, NR | NW | NX);
	r = __vcpu_run(vcpu);
	if (r || vcpu->run->exit_reason != KVM_EXIT_SHUTDOWN) {
		ksft_print_msg("RSM, save area NR: KVM_RUN %d errno %d exit %u (%s), expected a shutdown\n",
			       r, r ? errno : 0, vcpu->run->exit_reason,
			       exit_reason_str(vcpu->run->exit_reason));
		ok = false;
	}
	kvm_vm_free(vm);

	ksft_test_result(ok, "smm: the state-save area follows the layer on SMI and RSM\n");
}

/* -------------------------------------------------------------- pv pages */

#define FREE_GPA	(TEST_GPA + 3 * PAGE_SIZE)

static void guest_pv(void)
{
	/* kvmclock on a page VTL0 may not write: refused. */
	GUEST_SYNC(wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, NW_GPA | KVM_MSR_ENABLED));
	/* On a free page it works, and pins the page writable... */
	GUEST_SYNC(wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, FREE_GPA | KVM_MSR_ENABLED));
	/* ... until the guest turns it off. */
	GUEST_SYNC(wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, 0));
	GUEST_DONE();
}

static uint64_t run_pv(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_DONE:
		return -1;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected exit %u (%s)", vcpu->run->exit_reason,
			  exit_reason_str(vcpu->run->exit_reason));
	}
	return 0;
}

static int try_attrs(struct kvm_vm *vm, uint64_t gpa, uint64_t attrs)
{
	struct kvm_vtl_memory_attributes a = {
		.address = gpa, .size = PAGE_SIZE, .attributes = attrs, .vtl = 1,
	};

	return __vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES, &a) ? errno : 0;
}

static void test_pv_pages(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *nw, v;
	bool ok = true;
	int r;

	vm = create_vm(&vcpu, guest_pv);
	nw = addr_gpa2hva(vm, NW_GPA);
	*nw = SECRET;
	/* VTL1 protects the page: KVM must not write it for anyone. */
	set_attrs(vm, 1, NW_GPA, PAGE_SIZE, NW);

	v = run_pv(vcpu);
	if (v != GP_VECTOR) {
		ksft_print_msg("kvmclock on an NW page: WRMSR gave vector %lu, expected #GP\n", v);
		ok = false;
	}
	v = run_pv(vcpu);
	TEST_ASSERT(!v, "kvmclock on a free page: vector %lu", v);
	if (*nw != SECRET) {
		ksft_print_msg("KVM wrote 0x%lx into the NW page\n", *nw);
		ok = false;
	}
	r = try_attrs(vm, FREE_GPA, NW);
	if (r != EBUSY) {
		ksft_print_msg("making kvmclock's page NW: errno %d, expected EBUSY\n", r);
		ok = false;
	}
	/* NX alone does not stop KVM's writes: allowed. */
	TEST_ASSERT(!try_attrs(vm, FREE_GPA, NX), "NX on kvmclock's page: errno %d", errno);

	/* The VMM's own KVM_SET_MSRS is held to the same rule. */
	if (_vcpu_set_msr(vcpu, MSR_KVM_STEAL_TIME, NW_GPA | KVM_MSR_ENABLED) != 0) {
		ksft_print_msg("KVM_SET_MSRS put steal time on an NW page\n");
		ok = false;
	}
	if (_vcpu_set_msr(vcpu, HV_X64_MSR_REFERENCE_TSC, NW_GPA | 1) != 0) {
		ksft_print_msg("KVM_SET_MSRS put the reference TSC page on an NW page\n");
		ok = false;
	}

	v = run_pv(vcpu);
	TEST_ASSERT(!v, "turning kvmclock off: vector %lu", v);
	r = try_attrs(vm, FREE_GPA, NW);
	TEST_ASSERT(!r, "NW on the page kvmclock left: errno %d", r);
	TEST_ASSERT(run_pv(vcpu) == (uint64_t)-1, "guest not done");
	kvm_vm_free(vm);
	ksft_test_result(ok, "pv pages: refused on NW pages, their pages kept writable\n");
}

/* ------------------------------------------------------ hypercall buffers */

#define HV_IN_OK_GPA	(TEST_GPA + 4 * PAGE_SIZE)
#define CLOCK_OK_GPA	(TEST_GPA + 5 * PAGE_SIZE)

/* A Hyper-V TLB flush, input on a readable page, then on an NR one. */
static void guest_hv_flush(void)
{
	uint64_t status;

	wrmsr(HV_X64_MSR_GUEST_OS_ID, HYPERV_LINUX_OS_ID);
	GUEST_ASSERT(!__hyperv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
					 HV_IN_OK_GPA, 0, &status));
	GUEST_SYNC(status & 0xffff);
	GUEST_ASSERT(!__hyperv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
					 NR_GPA, 0, &status));
	GUEST_SYNC(status & 0xffff);
	GUEST_DONE();
}

/* KVM_HC_CLOCK_PAIRING into a writable page, then into an NW one. */
static void guest_clock_pairing(void)
{
	GUEST_SYNC(kvm_hypercall(KVM_HC_CLOCK_PAIRING, CLOCK_OK_GPA,
				 KVM_CLOCK_PAIRING_WALLCLOCK, 0, 0));
	GUEST_SYNC(kvm_hypercall(KVM_HC_CLOCK_PAIRING, NW_GPA,
				 KVM_CLOCK_PAIRING_WALLCLOCK, 0, 0));
	GUEST_DONE();
}

static bool test_hv_flush(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *in, st;
	bool ok = true;

	vm = create_vm(&vcpu, guest_hv_flush);
	vcpu_set_hv_cpuid(vcpu);

	/* Address space 0, all processors and all address spaces. */
	in = addr_gpa2hva(vm, HV_IN_OK_GPA);
	in[0] = 0;
	in[1] = BIT(0) | BIT(1);
	in[2] = 0;
	memcpy(addr_gpa2hva(vm, NR_GPA), in, 3 * sizeof(*in));
	set_attrs(vm, 0, NR_GPA, PAGE_SIZE, NR | NW | NX);

	st = run_pv(vcpu);
	TEST_ASSERT(st == HV_STATUS_SUCCESS, "TLB flush, readable input: status %lu", st);
	st = run_pv(vcpu);
	if (st != HV_STATUS_INVALID_HYPERCALL_INPUT) {
		ksft_print_msg("TLB flush with its input on an NR page: status %lu, expected %u\n",
			       st, HV_STATUS_INVALID_HYPERCALL_INPUT);
		ok = false;
	}
	TEST_ASSERT(run_pv(vcpu) == (uint64_t)-1, "guest not done");
	kvm_vm_free(vm);
	return ok;
}

static bool test_clock_pairing(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool ok = true;
	int64_t ret;
	uint64_t *nw;

	vm = create_vm(&vcpu, guest_clock_pairing);
	nw = addr_gpa2hva(vm, NW_GPA);
	*nw = SECRET;
	set_attrs(vm, 0, NW_GPA, PAGE_SIZE, NW);

	ret = run_pv(vcpu);
	if (ret == -KVM_EOPNOTSUPP)
		ksft_print_msg("KVM_HC_CLOCK_PAIRING: unsupported (host clock not TSC)\n");
	else
		TEST_ASSERT(!ret, "clock pairing into a writable page: %ld", ret);
	ret = run_pv(vcpu);
	if ((ret != -KVM_EFAULT && ret != -KVM_EOPNOTSUPP) || *nw != SECRET) {
		ksft_print_msg("clock pairing into an NW page: %ld, page 0x%lx\n", ret, *nw);
		ok = false;
	}
	TEST_ASSERT(run_pv(vcpu) == (uint64_t)-1, "guest not done");
	kvm_vm_free(vm);
	return ok;
}

static void test_hypercalls(void)
{
	bool ok = test_hv_flush();

	ok &= test_clock_pairing();
	ksft_test_result(ok, "hypercall buffers: Hyper-V input, clock pairing follow the layer\n");
}

/* ---------------------------------------------------------- batch bounds */

static int set_batch(struct kvm_vm *vm, struct kvm_vtl_memory_attributes_entry *e,
		     uint32_t nr, uint32_t *error_index)
{
	struct kvm_vtl_memory_attributes_batch b = {
		.vtl = 0, .nr_entries = nr, .entries = (uint64_t)e,
		.error_index = 0xdead,
	};
	int r = __vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, &b);

	*error_index = b.error_index;
	return r;
}

static void test_batch_bounds(void)
{
	const uint64_t span = KVM_VTL_MAX_BATCH_PAGES * PAGE_SIZE;
	struct kvm_vtl_memory_attributes_entry *e;
	uint64_t max_gpa;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t idx, i, n = 64;
	double t;
	int r;

	vm = create_vm(&vcpu, guest_nothing);
	max_gpa = 1ULL << kvm_cpu_property(X86_PROPERTY_MAX_PHY_ADDR);
	e = calloc(n, sizeof(*e));
	TEST_ASSERT(e, "calloc");

	/* Restrict everything, clear everything, again and again: refused. */
	for (i = 0; i < n; i++)
		e[i] = (struct kvm_vtl_memory_attributes_entry){
			.address = 0, .size = span, .attributes = i % 2 ? 0 : NW,
		};
	r = set_batch(vm, e, n, &idx);
	TEST_ASSERT(r == -1 && errno == E2BIG && idx == 2,
		    "alternating batch: %d errno %d index %u, expected E2BIG at 2",
		    r, errno, idx);

	/* Restricting entries that add up to one page over the limit. */
	e[0] = (struct kvm_vtl_memory_attributes_entry){
		.address = TEST_GPA, .size = span / 2, .attributes = NW,
	};
	e[1] = (struct kvm_vtl_memory_attributes_entry){
		.address = TEST_GPA + span, .size = span / 2 + PAGE_SIZE, .attributes = NX,
	};
	r = set_batch(vm, e, 2, &idx);
	TEST_ASSERT(r == -1 && errno == E2BIG && idx == 1,
		    "one page over: %d errno %d index %u", r, errno, idx);

	/* A few restricted pages, then clear the whole gfn space at once. */
	set_attrs(vm, 0, TEST_GPA, 4 * PAGE_SIZE, NW);
	set_attrs(vm, 0, max_gpa - PAGE_SIZE, PAGE_SIZE, NX);
	e[0] = (struct kvm_vtl_memory_attributes_entry){
		.address = 0, .size = max_gpa, .attributes = 0,
	};
	t = now();
	r = set_batch(vm, e, 1, &idx);
	t = now() - t;
	TEST_ASSERT(!r, "clearing the whole gfn space: errno %d", errno);
	TEST_ASSERT(t < 10, "clearing the whole gfn space took %.1f s", t);

	/* The limit of the address space is MAXPHYADDR. */
	e[0] = (struct kvm_vtl_memory_attributes_entry){
		.address = max_gpa, .size = PAGE_SIZE, .attributes = NW,
	};
	r = set_batch(vm, e, 1, &idx);
	TEST_ASSERT(r == -1 && errno == EINVAL && idx == 0,
		    "beyond MAXPHYADDR: %d errno %d index %u", r, errno, idx);

	free(e);
	kvm_vm_free(vm);
	ksft_test_result_pass("batch bounds: E2BIG past the limit, clearing all took %.2f s\n", t);
}

int main(int argc, char *argv[])
{
	ksft_print_header();
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VTL_MEMORY_ATTRIBUTES));
	host_has_svm = kvm_cpu_has(X86_FEATURE_SVM);
	vtl_supported_cpuid_without_nested();

	ksft_set_plan(10);
	test_nested();
	test_prefault();
	test_emulated();
	test_emulated_race();
	test_walks();
	test_pdptes();
	test_smm();
	test_pv_pages();
	test_hypercalls();
	test_batch_bounds();
	ksft_finished();
}
