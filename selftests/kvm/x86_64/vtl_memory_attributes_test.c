// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VTL memory attributes (KVM_CAP_VTL_MEMORY_ATTRIBUTES): violations and
 * their exits, isolation between VTLs, hugepage split and re-merge, batches,
 * protection under concurrent updates, memslot moves and deletes, and the
 * rejection of bad input.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include <linux/bitmap.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"
#include "vtl_util.h"

#define TEST_SLOT	10
#define TEST_GPA	0x40000000ULL	/* 1 GiB, 2 MiB and 1 GiB aligned */
#define TEST_SIZE	SZ_4M
#define TEST_PAGES	(TEST_SIZE / PAGE_SIZE)
#define MOVED_GPA	0x80000000ULL
#define HUGE_2M		SZ_2M

#define NR	KVM_MEMORY_ATTRIBUTE_NR
#define NW	KVM_MEMORY_ATTRIBUTE_NW
#define NX	KVM_MEMORY_ATTRIBUTE_NX

#define RET_INSN	0xc3

enum { OP_READ, OP_WRITE, OP_EXEC, OP_READ_ALL };

/* @call must fail with errno @err. */
#define expect_errno(call, err, what)					\
do {									\
	int __r = (call), __err = (err);				\
									\
	TEST_ASSERT(__r == -1 && errno == __err,			\
		    "%s: returned %d, errno %d, expected errno %d",	\
		    what, __r, errno, __err);				\
} while (0)

static int batch_ioctl(struct kvm_vm *vm, struct kvm_vtl_memory_attributes_batch *b)
{
	return __vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, b);
}

static int vcpu_vtl_ioctl(struct kvm_vcpu *vcpu, struct kvm_vcpu_vtl *v)
{
	return __vcpu_ioctl(vcpu, KVM_SET_VCPU_VTL, v);
}

/* Written by the host between runs, read by the guest. */
static uint64_t guest_op;
static uint64_t guest_gpa;
static uint64_t guest_npages;

static void guest_code(void)
{
	uint64_t i;

	for (;;) {
		uint64_t gpa = READ_ONCE(guest_gpa);

		switch (READ_ONCE(guest_op)) {
		case OP_READ:
			(void)READ_ONCE(*(uint64_t *)gpa);
			break;
		case OP_WRITE:
			WRITE_ONCE(*(uint64_t *)(gpa + 8), 0x5a5a5a5aULL);
			break;
		case OP_EXEC:
			((void (*)(void))gpa)();
			break;
		case OP_READ_ALL:
			for (i = 0; i < READ_ONCE(guest_npages); i++)
				(void)READ_ONCE(*(uint64_t *)(gpa + i * PAGE_SIZE));
			break;
		}
		GUEST_SYNC(0);
	}
}

/* Each vCPU writes its id and a pass number to every page, forever. */
static void guest_hammer(uint64_t id)
{
	uint64_t pass, i;

	for (pass = 1;; pass++) {
		for (i = 0; i < TEST_PAGES; i++)
			WRITE_ONCE(*(uint64_t *)(TEST_GPA + i * PAGE_SIZE + 8 * id),
				   pass);
	}
}

static struct kvm_vm *create_vm(unsigned int nr_vtls, unsigned int nr_vcpus,
				struct kvm_vcpu **vcpus, void *code,
				enum vm_mem_backing_src_type src)
{
	struct kvm_vm *vm = vm_create(nr_vcpus);
	struct kvm_vcpu_vtl vtl = {};
	unsigned int i;

	vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, nr_vtls);
	for (i = 0; i < nr_vcpus; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, code);
		vtl.vtl = i % nr_vtls;
		vcpu_ioctl(vcpus[i], KVM_SET_VCPU_VTL, &vtl);
	}
	vm_userspace_mem_region_add(vm, src, TEST_GPA, TEST_SLOT, TEST_PAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	return vm;
}

static int __set_attrs(struct kvm_vm *vm, uint32_t vtl, uint64_t gpa,
		       uint64_t size, uint64_t attrs)
{
	struct kvm_vtl_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attrs, .vtl = vtl,
	};

	return __vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES, &a);
}

static void set_attrs(struct kvm_vm *vm, uint32_t vtl, uint64_t gpa,
		      uint64_t size, uint64_t attrs)
{
	int r = __set_attrs(vm, vtl, gpa, size, attrs);

	TEST_ASSERT(!r, "KVM_SET_VTL_MEMORY_ATTRIBUTES(vtl %u, 0x%lx+0x%lx, 0x%lx): %d errno %d",
		    vtl, gpa, size, attrs, r, errno);
}

static int __set_batch(struct kvm_vm *vm, uint32_t vtl,
		       struct kvm_vtl_memory_attributes_entry *e, uint32_t nr,
		       uint32_t *error_index)
{
	struct kvm_vtl_memory_attributes_batch b = {
		.vtl = vtl, .nr_entries = nr, .entries = (uint64_t)e,
		.error_index = 0xdead,
	};
	int r = batch_ioctl(vm, &b);

	if (error_index)
		*error_index = b.error_index;
	return r;
}

static void guest_do(struct kvm_vm *vm, uint64_t op, uint64_t gpa)
{
	guest_op = op;
	guest_gpa = gpa;
	sync_global_to_guest(vm, guest_op);
	sync_global_to_guest(vm, guest_gpa);
}

static void expect_sync(struct kvm_vcpu *vcpu, uint64_t op, uint64_t gpa)
{
	struct ucall uc;

	guest_do(vcpu->vm, op, gpa);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
		    "vCPU %u: op %lu at 0x%lx: expected a sync, got exit %u (ucall %lu)",
		    vcpu->id, op, gpa, vcpu->run->exit_reason, uc.cmd);
}

static void check_fault(struct kvm_vcpu *vcpu, int r, uint64_t gpa,
			uint64_t access, uint32_t vtl)
{
	struct kvm_run *run = vcpu->run;
	uint64_t flags = access | KVM_MEMORY_EXIT_FLAG_VTL |
			 ((uint64_t)vtl << KVM_MEMORY_EXIT_VTL_SHIFT);

	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "vCPU %u: expected -EFAULT at 0x%lx, got %d errno %d exit %u",
		    vcpu->id, gpa, r, errno, run->exit_reason);
	TEST_ASSERT_EQ(run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	TEST_ASSERT_EQ(run->memory_fault.flags, flags);
	TEST_ASSERT_EQ(run->memory_fault.gpa, gpa);
	TEST_ASSERT_EQ(run->memory_fault.size, PAGE_SIZE);
}

static void expect_fault(struct kvm_vcpu *vcpu, uint64_t op, uint64_t gpa,
			 uint64_t access, uint32_t vtl)
{
	guest_do(vcpu->vm, op, gpa);
	check_fault(vcpu, __vcpu_run(vcpu), gpa, access, vtl);
}

static void put_ret(struct kvm_vm *vm, uint64_t gpa)
{
	*(uint8_t *)addr_gpa2hva(vm, gpa) = RET_INSN;
}

static void expect_sync_run(struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);
}

/*
 * Expect @op at @gpa to fault, then let the vCPU finish it by lifting the
 * page's attributes for a moment: the guest retries the same access.
 */
static void fault_and_resume(struct kvm_vcpu *vcpu, uint64_t op, uint64_t gpa,
			     uint64_t access, uint32_t vtl, uint64_t attrs)
{
	expect_fault(vcpu, op, gpa, access, vtl);
	set_attrs(vcpu->vm, vtl, gpa, PAGE_SIZE, 0);
	expect_sync_run(vcpu);
	set_attrs(vcpu->vm, vtl, gpa, PAGE_SIZE, attrs);
}

/*
 * R, W and X violations, each at the VTL that has the restriction only,
 * with the exact exit, and the vCPU resumes once the VMM relaxes the page.
 */
static void test_violations(void)
{
	struct kvm_vcpu *vcpus[2];
	struct kvm_vm *vm;
	uint64_t page;
	int vtl;

	vm = create_vm(2, 2, vcpus, guest_code, VM_MEM_SRC_ANONYMOUS);
	for (page = 0; page < 8; page++)
		put_ret(vm, TEST_GPA + page * PAGE_SIZE);

	for (vtl = 0; vtl < 2; vtl++) {
		struct kvm_vcpu *self = vcpus[vtl], *other = vcpus[!vtl];
		uint64_t base = TEST_GPA + vtl * 4 * PAGE_SIZE;
		uint64_t nw = base, nx = base + PAGE_SIZE, nr = base + 2 * PAGE_SIZE;
		uint64_t nrwx = NR | NW | NX;

		set_attrs(vm, vtl, nw, PAGE_SIZE, NW);
		set_attrs(vm, vtl, nx, PAGE_SIZE, NX);
		set_attrs(vm, vtl, nr, PAGE_SIZE, nrwx);

		/* What the layer still allows. */
		expect_sync(self, OP_READ, nw);
		expect_sync(self, OP_EXEC, nw);
		expect_sync(self, OP_READ, nx);
		expect_sync(self, OP_WRITE, nx);

		/* What it forbids, with the attempted access and the VTL. */
		fault_and_resume(self, OP_WRITE, nw, KVM_MEMORY_EXIT_FLAG_WRITE, vtl, NW);
		fault_and_resume(self, OP_EXEC, nx, KVM_MEMORY_EXIT_FLAG_EXECUTE, vtl, NX);
		fault_and_resume(self, OP_READ, nr, KVM_MEMORY_EXIT_FLAG_READ, vtl, nrwx);
		fault_and_resume(self, OP_WRITE, nr, KVM_MEMORY_EXIT_FLAG_WRITE, vtl, nrwx);
		fault_and_resume(self, OP_EXEC, nr, KVM_MEMORY_EXIT_FLAG_EXECUTE, vtl, nrwx);

		/* The other VTL's layer is untouched. */
		expect_sync(other, OP_WRITE, nw);
		expect_sync(other, OP_EXEC, nx);
		expect_sync(other, OP_READ, nr);
		expect_sync(other, OP_WRITE, nr);
		expect_sync(other, OP_EXEC, nr);

		/* The faulting write completes once relaxed. */
		expect_fault(self, OP_WRITE, nw, KVM_MEMORY_EXIT_FLAG_WRITE, vtl);
		*(uint64_t *)addr_gpa2hva(vm, nw + 8) = 0;
		set_attrs(vm, vtl, nw, PAGE_SIZE, 0);
		expect_sync_run(self);
		TEST_ASSERT_EQ(*(uint64_t *)addr_gpa2hva(vm, nw + 8), 0x5a5a5a5aULL);

		/* Changing restrictions: NR -> NW allows reads, not writes. */
		set_attrs(vm, vtl, nr, PAGE_SIZE, NW);
		expect_sync(self, OP_READ, nr);
		fault_and_resume(self, OP_WRITE, nr, KVM_MEMORY_EXIT_FLAG_WRITE, vtl, NW);
		/* NX -> NW allows execution. */
		set_attrs(vm, vtl, nx, PAGE_SIZE, NW);
		expect_sync(self, OP_EXEC, nx);
		set_attrs(vm, vtl, base, 4 * PAGE_SIZE, 0);
	}

	kvm_vm_free(vm);
	ksft_test_result_pass("violations: R/W/X per VTL, exact exits, isolation, resume\n");
}

static void read_block(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t npages)
{
	guest_npages = npages;
	sync_global_to_guest(vcpu->vm, guest_npages);
	expect_sync(vcpu, OP_READ_ALL, gpa);
}

/*
 * A 2 MiB block is mapped huge while it is uniform in the layer, split
 * when a single page inside it changes, and huge again once uniform.
 */
static void test_hugepages(void)
{
	uint64_t blk = TEST_GPA, page = TEST_GPA + 17 * PAGE_SIZE;
	uint64_t npages = HUGE_2M / PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t huge;

	vm = create_vm(1, 1, &vcpu, guest_code, VM_MEM_SRC_ANONYMOUS_THP);
	/*
	 * Populate the block with a writable THP: a read would map the huge
	 * zero page, which the first guest write splits into 4K pages.
	 */
	memset(addr_gpa2hva(vm, blk), 0, HUGE_2M);
	read_block(vcpu, blk, npages);
	huge = vm_get_stat(vm, "pages_2m");
	if (!huge) {
		kvm_vm_free(vm);
		ksft_test_result_skip("hugepages: the host did not back the block with a THP\n");
		return;
	}

	/* One page restricted: the block is mixed, and mapped with 4K. */
	set_attrs(vm, 0, page, PAGE_SIZE, NW);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), huge - 1);
	read_block(vcpu, blk, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), huge - 1);
	TEST_ASSERT(vm_get_stat(vm, "pages_4k") >= npages,
		    "expected the block mapped with 4K pages, pages_4k = %lu",
		    vm_get_stat(vm, "pages_4k"));
	expect_fault(vcpu, OP_WRITE, page, KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, page, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);

	/* Uniform again: re-merged on the next fault. */
	read_block(vcpu, blk, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), huge);

	/* The whole block restricted is uniform too: huge and read-only. */
	set_attrs(vm, 0, blk, HUGE_2M, NW);
	read_block(vcpu, blk, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), huge);
	expect_fault(vcpu, OP_WRITE, page, KVM_MEMORY_EXIT_FLAG_WRITE, 0);

	/* Relax one page of the restricted block: split, then merge. */
	set_attrs(vm, 0, page, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);
	read_block(vcpu, blk, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), huge - 1);
	set_attrs(vm, 0, page, PAGE_SIZE, NW);
	read_block(vcpu, blk, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), huge);

	kvm_vm_free(vm);
	ksft_test_result_pass("hugepages: split on a single-page change, re-merge when uniform\n");
}

#define HUGE_1G		SZ_1G
#define NR_1G_PATH	"/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"

static bool set_1g_pages(int nr)
{
	FILE *f = fopen(NR_1G_PATH, "r+");
	int got = -1;
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%d\n", nr) > 0;
	ok &= !fflush(f);
	rewind(f);
	ok &= fscanf(f, "%d", &got) == 1 && got == nr;
	fclose(f);
	return ok;
}

/* Set by -r: the harness reserved a 1G page, so a missing one is a failure. */
static bool require_hugepages;

static void skip_or_fail(const char *why)
{
	TEST_ASSERT(!require_hugepages, "hugepages 1G: %s", why);
	ksft_test_result_skip("hugepages 1G: %s\n", why);
}

/* The same at 1G: a single page splits the 1G mapping, not its neighbours'. */
static void test_hugepages_1g(void)
{
	uint64_t page = TEST_GPA + HUGE_2M + 3 * PAGE_SIZE;
	uint64_t npages = TEST_PAGES;
	struct kvm_vcpu_vtl vtl = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (!set_1g_pages(1)) {
		set_1g_pages(0);
		skip_or_fail("cannot reserve a 1G hugetlb page");
		return;
	}

	vm = vm_create(1);
	vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, 1);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	vcpu_ioctl(vcpu, KVM_SET_VCPU_VTL, &vtl);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB, TEST_GPA,
				    TEST_SLOT, HUGE_1G / PAGE_SIZE, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, npages);

	read_block(vcpu, TEST_GPA, npages);
	if (vm_get_stat(vm, "pages_1g") != 1) {
		kvm_vm_free(vm);
		set_1g_pages(0);
		skip_or_fail("KVM did not map the region with a 1G page");
		return;
	}

	/* Block 1 is mixed: 4K there, 2M for the uniform blocks around it. */
	set_attrs(vm, 0, page, PAGE_SIZE, NW);
	read_block(vcpu, TEST_GPA, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_1g"), 0);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_2m"), 1);
	fault_and_resume(vcpu, OP_WRITE, page, KVM_MEMORY_EXIT_FLAG_WRITE, 0, NW);

	/* Uniform again (unrestricted): 1G on the next fault. */
	set_attrs(vm, 0, page, PAGE_SIZE, 0);
	read_block(vcpu, TEST_GPA, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_1g"), 1);

	/* Uniformly restricted: 1G, read-only. */
	set_attrs(vm, 0, TEST_GPA, HUGE_1G, NW);
	read_block(vcpu, TEST_GPA, npages);
	TEST_ASSERT_EQ(vm_get_stat(vm, "pages_1g"), 1);
	fault_and_resume(vcpu, OP_WRITE, page, KVM_MEMORY_EXIT_FLAG_WRITE, 0, NW);

	kvm_vm_free(vm);
	set_1g_pages(0);
	ksft_test_result_pass("hugepages 1G: split by a single-page change, re-merged\n");
}

/* Whether @gpa's bit is set in a dirty bitmap of TEST_SLOT. */
static bool logged(const unsigned long *bitmap, uint64_t gpa)
{
	return test_bit((gpa - TEST_GPA) / PAGE_SIZE, bitmap);
}

/*
 * Dirty logging and NW combine: with logging on, writes to unrestricted
 * pages are logged, writes to an NW page still exit and are not logged,
 * and relaxing the page lets the write through and into the log.
 */
static void test_dirty_log(void)
{
	uint64_t nw = TEST_GPA + 9 * PAGE_SIZE, ok = TEST_GPA + 10 * PAGE_SIZE;
	unsigned long *bitmap = bitmap_zalloc(TEST_PAGES);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = create_vm(1, 1, &vcpu, guest_code, VM_MEM_SRC_ANONYMOUS);
	expect_sync(vcpu, OP_WRITE, nw);	/* mapped writable before */
	set_attrs(vm, 0, nw, PAGE_SIZE, NW);
	vm_mem_region_set_flags(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES);
	kvm_vm_get_dirty_log(vm, TEST_SLOT, bitmap);	/* start clean */

	expect_sync(vcpu, OP_WRITE, ok);
	expect_fault(vcpu, OP_WRITE, nw, KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	kvm_vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	TEST_ASSERT(logged(bitmap, ok),
		    "the write to an unrestricted page was not logged");
	TEST_ASSERT(!logged(bitmap, nw),
		    "the refused write to the NW page was logged");

	set_attrs(vm, 0, nw, PAGE_SIZE, 0);
	expect_sync_run(vcpu);
	kvm_vm_get_dirty_log(vm, TEST_SLOT, bitmap);
	TEST_ASSERT(logged(bitmap, nw),
		    "the write after relaxing was not logged");

	/* Logging off again: NW still holds. */
	vm_mem_region_set_flags(vm, TEST_SLOT, 0);
	set_attrs(vm, 0, nw, PAGE_SIZE, NW);
	fault_and_resume(vcpu, OP_WRITE, nw, KVM_MEMORY_EXIT_FLAG_WRITE, 0, NW);

	free(bitmap);
	kvm_vm_free(vm);
	ksft_test_result_pass("dirty log: logged writes, refused writes not logged\n");
}

/* A batch applies all of its entries, or none when one is bad. */
static void test_batch(void)
{
	struct kvm_vtl_memory_attributes_entry e[4] = {
		{ .address = TEST_GPA, .size = PAGE_SIZE, .attributes = NW },
		{ .address = TEST_GPA + 2 * PAGE_SIZE, .size = 2 * PAGE_SIZE,
		  .attributes = NW | NX },
		{ .address = TEST_GPA + 5 * PAGE_SIZE + 1, .size = PAGE_SIZE,
		  .attributes = NW },	/* misaligned */
		{ .address = TEST_GPA + 7 * PAGE_SIZE, .size = PAGE_SIZE,
		  .attributes = NR | NW | NX },
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t idx;
	int r;

	vm = create_vm(1, 1, &vcpu, guest_code, VM_MEM_SRC_ANONYMOUS);
	put_ret(vm, TEST_GPA + 3 * PAGE_SIZE);

	expect_errno(__set_batch(vm, 0, e, 4, &idx), EINVAL, "bad batch");
	TEST_ASSERT_EQ(idx, 2);
	/* Nothing applied. */
	expect_sync(vcpu, OP_WRITE, TEST_GPA);
	expect_sync(vcpu, OP_WRITE, TEST_GPA + 3 * PAGE_SIZE);
	expect_sync(vcpu, OP_EXEC, TEST_GPA + 3 * PAGE_SIZE);
	expect_sync(vcpu, OP_READ, TEST_GPA + 7 * PAGE_SIZE);

	e[2].address = TEST_GPA + 5 * PAGE_SIZE;
	r = __set_batch(vm, 0, e, 4, &idx);
	TEST_ASSERT(!r, "good batch: %d errno %d", r, errno);
	TEST_ASSERT_EQ(idx, 4);
	expect_fault(vcpu, OP_WRITE, TEST_GPA, KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	expect_fault(vcpu, OP_WRITE, TEST_GPA + 3 * PAGE_SIZE,
		     KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, TEST_GPA + 3 * PAGE_SIZE, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	expect_fault(vcpu, OP_WRITE, TEST_GPA + 5 * PAGE_SIZE,
		     KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, TEST_GPA + 5 * PAGE_SIZE, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	expect_fault(vcpu, OP_READ, TEST_GPA + 7 * PAGE_SIZE,
		     KVM_MEMORY_EXIT_FLAG_READ, 0);

	/* Later entries win over earlier ones for the same page. */
	e[0] = (struct kvm_vtl_memory_attributes_entry){
		.address = TEST_GPA + 7 * PAGE_SIZE, .size = PAGE_SIZE,
		.attributes = NW };
	e[1] = e[0];
	e[1].attributes = 0;
	TEST_ASSERT(!__set_batch(vm, 0, e, 2, NULL), "overlapping batch");
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);
	expect_sync(vcpu, OP_WRITE, TEST_GPA + 7 * PAGE_SIZE);

	kvm_vm_free(vm);
	ksft_test_result_pass("batch: all or nothing, error_index, order\n");
}

#define STRESS_VCPUS	3
#define STRESS_ROUNDS	150
#define MARKER		0xfeedfacecafef00dULL

struct hammer {
	struct kvm_vcpu *vcpu;
	atomic_ulong faults;		/* faults seen, each at the round's page */
	atomic_ulong bad;		/* faults at another page or exits */
	atomic_ulong round;		/* the round it is allowed to run in */
};

static atomic_ulong stress_page, stress_round;
static atomic_bool stress_stop;

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	struct kvm_run *run = h->vcpu->run;

	while (!atomic_load(&stress_stop)) {
		int r = __vcpu_run(h->vcpu);

		if (atomic_load(&stress_stop))
			break;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EFAULT &&
		    run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		    run->memory_fault.gpa == atomic_load(&stress_page) &&
		    run->memory_fault.flags ==
		    (KVM_MEMORY_EXIT_FLAG_WRITE | KVM_MEMORY_EXIT_FLAG_VTL)) {
			/* Read the round before reporting the fault. */
			unsigned long round = atomic_load(&stress_round);

			atomic_fetch_add(&h->faults, 1);
			/* Wait for the host to relax the page. */
			while (atomic_load(&stress_round) == round &&
			       !atomic_load(&stress_stop))
				sched_yield();
			continue;
		}
		atomic_fetch_add(&h->bad, 1);
		pr_info("vCPU %u: unexpected exit %u r %d errno %d gpa 0x%llx flags 0x%llx\n",
			h->vcpu->id, run->exit_reason, r, errno,
			run->memory_fault.gpa, run->memory_fault.flags);
		break;
	}
	return NULL;
}

/*
 * Several vCPUs write every page in a loop while the host restricts one
 * page at a time: once the ioctl returns, no write may reach the page
 * (the marker the host puts there survives until every vCPU has faulted on
 * it), and every vCPU must fault on it.
 */
/* ------------------------------------------------------------- read-back */

static int get_attrs(struct kvm_vm *vm, struct kvm_vtl_memory_attributes_query *q)
{
	return __vm_ioctl(vm, KVM_GET_VTL_MEMORY_ATTRIBUTES, q);
}

static void expect_run(struct kvm_vtl_memory_attributes_entry *e, uint64_t gpa,
		       uint64_t pages, uint64_t attrs)
{
	TEST_ASSERT(e->address == gpa && e->size == pages * PAGE_SIZE &&
		    e->attributes == attrs && !e->reserved,
		    "run 0x%llx+0x%llx attrs 0x%llx, expected 0x%lx+0x%lx attrs 0x%lx",
		    e->address, e->size, e->attributes, gpa,
		    (uint64_t)(pages * PAGE_SIZE), attrs);
}

static void test_readback(void)
{
	struct kvm_vtl_memory_attributes_entry e[8], *ep = e;
	struct kvm_vtl_memory_attributes_query q, good = {
		.vtl = 1, .address = TEST_GPA, .size = 16 * PAGE_SIZE,
		.nr_entries = 8, .entries = (uint64_t)e,
	};
	struct kvm_vm *vm, *vm2, *plain;
	struct kvm_vcpu *vcpu, *vcpu2;
	uint32_t idx;

	vm = create_vm(2, 1, &vcpu, guest_code, VM_MEM_SRC_ANONYMOUS);
	set_attrs(vm, 1, TEST_GPA, 3 * PAGE_SIZE, NW);
	set_attrs(vm, 1, TEST_GPA + 3 * PAGE_SIZE, PAGE_SIZE, NW | NX);
	set_attrs(vm, 1, TEST_GPA + 5 * PAGE_SIZE, 2 * PAGE_SIZE, NW);
	set_attrs(vm, 1, TEST_GPA + 7 * PAGE_SIZE, PAGE_SIZE, NR | NW | NX);

	/* The whole range: four runs, nothing left. */
	q = good;
	TEST_ASSERT(!get_attrs(vm, &q), "read back: errno %d", errno);
	TEST_ASSERT(q.nr_entries == 4 && !q.size &&
		    q.address == TEST_GPA + 16 * PAGE_SIZE,
		    "read back: %u entries, left 0x%llx+0x%llx", q.nr_entries,
		    q.address, q.size);
	expect_run(&e[0], TEST_GPA, 3, NW);
	expect_run(&e[1], TEST_GPA + 3 * PAGE_SIZE, 1, NW | NX);
	expect_run(&e[2], TEST_GPA + 5 * PAGE_SIZE, 2, NW);
	expect_run(&e[3], TEST_GPA + 7 * PAGE_SIZE, 1, NR | NW | NX);

	/* Two entries at a time: the next call goes on after the last run. */
	q = good;
	q.nr_entries = 2;
	TEST_ASSERT(!get_attrs(vm, &q), "first half: errno %d", errno);
	TEST_ASSERT(q.nr_entries == 2 && q.address == TEST_GPA + 5 * PAGE_SIZE &&
		    q.size == 11 * PAGE_SIZE, "first half: %u entries, left 0x%llx+0x%llx",
		    q.nr_entries, q.address, q.size);
	q.nr_entries = 2;
	TEST_ASSERT(!get_attrs(vm, &q), "second half: errno %d", errno);
	TEST_ASSERT(q.nr_entries == 2 && !q.size, "second half: %u entries, 0x%llx left",
		    q.nr_entries, q.size);
	expect_run(&e[0], TEST_GPA + 5 * PAGE_SIZE, 2, NW);
	expect_run(&e[1], TEST_GPA + 7 * PAGE_SIZE, 1, NR | NW | NX);

	/* Runs are cut at the range's bounds; VTL 0 has none. */
	q = good;
	q.address = TEST_GPA + PAGE_SIZE;
	q.size = PAGE_SIZE;
	TEST_ASSERT(!get_attrs(vm, &q) && q.nr_entries == 1, "sub-range");
	expect_run(&e[0], TEST_GPA + PAGE_SIZE, 1, NW);
	q = good;
	q.vtl = 0;
	TEST_ASSERT(!get_attrs(vm, &q) && !q.nr_entries && !q.size, "VTL 0");

	/* Bad input. */
	q = good; q.flags = 1;
	expect_errno(get_attrs(vm, &q), EINVAL, "flags");
	q = good; q.pad = 1;
	expect_errno(get_attrs(vm, &q), EINVAL, "pad");
	q = good; q.reserved[2] = 1;
	expect_errno(get_attrs(vm, &q), EINVAL, "reserved");
	q = good; q.nr_entries = 0;
	expect_errno(get_attrs(vm, &q), EINVAL, "no entries");
	q = good; q.nr_entries = KVM_VTL_MAX_BATCH_ENTRIES + 1;
	expect_errno(get_attrs(vm, &q), E2BIG, "too many entries");
	q = good; q.vtl = 2;
	expect_errno(get_attrs(vm, &q), EINVAL, "vtl >= nr_vtls");
	q = good; q.address += 1;
	expect_errno(get_attrs(vm, &q), EINVAL, "misaligned address");
	q = good; q.size = 0;
	expect_errno(get_attrs(vm, &q), EINVAL, "size 0");
	q = good; q.address = -PAGE_SIZE;
	expect_errno(get_attrs(vm, &q), EINVAL, "overflow");
	q = good; q.address = 1ULL << 52;
	expect_errno(get_attrs(vm, &q), EINVAL, "beyond the largest gfn");
	q = good; q.entries = 0x10;
	expect_errno(get_attrs(vm, &q), EFAULT, "bad entries pointer");
	expect_errno(ioctl(vm->fd, KVM_GET_VTL_MEMORY_ATTRIBUTES, (void *)0x10),
		     EFAULT, "bad header pointer");
	plain = vm_create_barebones();
	q = good;
	expect_errno(get_attrs(plain, &q), ENXIO, "VM without layers");
	kvm_vm_free(plain);

	/* What is read back sets up a second VM the same way. */
	q = good;
	TEST_ASSERT(!get_attrs(vm, &q) && q.nr_entries == 4, "read back");
	vm2 = create_vm(2, 1, &vcpu2, guest_code, VM_MEM_SRC_ANONYMOUS);
	TEST_ASSERT(!__set_batch(vm2, 1, ep, q.nr_entries, &idx), "batch: errno %d", errno);
	q = good;
	q.entries = (uint64_t)&e[4];
	q.nr_entries = 4;
	TEST_ASSERT(!get_attrs(vm2, &q) && q.nr_entries == 4 &&
		    !memcmp(e, &e[4], 4 * sizeof(e[0])), "round trip");

	kvm_vm_free(vm2);
	kvm_vm_free(vm);
	ksft_test_result_pass("read-back: runs, continuation, bad input, round trip\n");
}

static void test_stress(void)
{
	struct kvm_vcpu *vcpus[STRESS_VCPUS];
	struct hammer h[STRESS_VCPUS] = {};
	pthread_t threads[STRESS_VCPUS];
	unsigned long round, before[STRESS_VCPUS];
	struct kvm_vm *vm;
	int i;

	vm = create_vm(1, STRESS_VCPUS, vcpus, guest_hammer, VM_MEM_SRC_ANONYMOUS);
	for (i = 0; i < STRESS_VCPUS; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		h[i].vcpu = vcpus[i];
		pthread_create(&threads[i], NULL, hammer_thread, &h[i]);
	}

	for (round = 0; round < STRESS_ROUNDS; round++) {
		uint64_t page = TEST_GPA + (round * 37 % TEST_PAGES) * PAGE_SIZE;
		uint64_t *hva = addr_gpa2hva(vm, page);
		bool all;

		for (i = 0; i < STRESS_VCPUS; i++)
			before[i] = atomic_load(&h[i].faults);
		atomic_store(&stress_page, page);
		set_attrs(vm, 0, page, PAGE_SIZE, NW);
		for (i = 0; i < STRESS_VCPUS; i++)
			hva[i] = MARKER;

		do {
			all = true;
			for (i = 0; i < STRESS_VCPUS; i++) {
				TEST_ASSERT(!atomic_load(&h[i].bad),
					    "vCPU %d stopped on an unexpected exit", i);
				if (atomic_load(&h[i].faults) == before[i])
					all = false;
			}
			sched_yield();
		} while (!all);

		for (i = 0; i < STRESS_VCPUS; i++)
			TEST_ASSERT(hva[i] == MARKER,
				    "round %lu: vCPU %d wrote 0x%lx to 0x%lx after it was made read-only",
				    round, i, hva[i], page);

		set_attrs(vm, 0, page, PAGE_SIZE, 0);
		atomic_fetch_add(&stress_round, 1);
	}

	/* Make every page fault so that each vCPU returns and sees the stop. */
	atomic_store(&stress_stop, true);
	set_attrs(vm, 0, TEST_GPA, TEST_SIZE, NR | NW | NX);
	for (i = 0; i < STRESS_VCPUS; i++)
		pthread_join(threads[i], NULL);
	kvm_vm_free(vm);
	ksft_test_result_pass("stress: %d vCPUs, %d rounds, no write after the ioctl returned\n",
			      STRESS_VCPUS, STRESS_ROUNDS);
}

/* Attributes belong to guest-physical addresses, not to memslots. */
static void test_memslots(void)
{
	uint64_t x = TEST_GPA + 5 * PAGE_SIZE, y = MOVED_GPA + 5 * PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = create_vm(1, 1, &vcpu, guest_code, VM_MEM_SRC_ANONYMOUS);
	virt_map(vm, MOVED_GPA, MOVED_GPA, TEST_PAGES);
	set_attrs(vm, 0, x, PAGE_SIZE, NW);
	expect_fault(vcpu, OP_WRITE, x, KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, x, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	set_attrs(vm, 0, x, PAGE_SIZE, NW);

	/* Moved away, the memory is writable at its new address... */
	vm_mem_region_move(vm, TEST_SLOT, MOVED_GPA);
	expect_sync(vcpu, OP_WRITE, y);

	/* ...until attributes are set there. */
	set_attrs(vm, 0, y, PAGE_SIZE, NW | NX);
	expect_fault(vcpu, OP_WRITE, y, KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, y, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);

	/* Moved back, the old restriction is in force again. */
	vm_mem_region_move(vm, TEST_SLOT, TEST_GPA);
	expect_fault(vcpu, OP_WRITE, x, KVM_MEMORY_EXIT_FLAG_WRITE, 0);

	/* And after the slot is deleted and created anew. */
	vm_mem_region_delete(vm, TEST_SLOT);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA, TEST_SLOT,
				    TEST_PAGES, 0);
	check_fault(vcpu, __vcpu_run(vcpu), x, KVM_MEMORY_EXIT_FLAG_WRITE, 0);
	set_attrs(vm, 0, x, PAGE_SIZE, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);

	kvm_vm_free(vm);
	ksft_test_result_pass("memslots: attributes follow the GPA across move and delete\n");
}

static void expect_einval_cap(struct kvm_vm *vm, uint64_t nr, uint64_t arg1,
			      uint32_t flags, int err)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_VTL_MEMORY_ATTRIBUTES, .flags = flags,
		.args = { nr, arg1 },
	};
	int r = __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);

	TEST_ASSERT(r == -1 && errno == err,
		    "ENABLE_CAP(%lu, %lu, flags %u): %d errno %d, expected %d",
		    nr, arg1, flags, r, errno, err);
}

static void expect_set_err(struct kvm_vm *vm, uint32_t vtl, uint64_t gpa,
			   uint64_t size, uint64_t attrs, uint32_t flags, int err)
{
	struct kvm_vtl_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attrs,
		.vtl = vtl, .flags = flags,
	};
	int r = __vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES, &a);

	TEST_ASSERT(r == -1 && errno == err,
		    "SET(vtl %u, 0x%lx+0x%lx, 0x%lx, flags %u): %d errno %d, expected %d",
		    vtl, gpa, size, attrs, flags, r, errno, err);
}

static void test_bad_input(void)
{
	struct kvm_vtl_memory_attributes_entry e[2] = {
		{ .address = TEST_GPA, .size = PAGE_SIZE, .attributes = NW },
		{ .address = TEST_GPA, .size = PAGE_SIZE, .attributes = NW },
	};
	struct kvm_vtl_memory_attributes_batch b = {};
	struct kvm_vcpu_vtl v = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t idx;
	int r;

	/* A VM that has not enabled the layers. */
	vm = vm_create(1);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, NW, 0, ENXIO);
	r = __set_batch(vm, 0, e, 1, &idx);
	TEST_ASSERT(r == -1 && errno == ENXIO && idx == 1,
		    "batch without layers: %d errno %d index %u", r, errno, idx);
	expect_errno(vcpu_vtl_ioctl(vcpu, &v), ENXIO, "vCPU VTL without layers");
	/* Too late: vCPUs exist. */
	expect_einval_cap(vm, 2, 0, 0, EBUSY);
	kvm_vm_free(vm);

	/* Enabling. */
	vm = vm_create(2);
	expect_einval_cap(vm, 0, 0, 0, EINVAL);
	expect_einval_cap(vm, KVM_MAX_VTLS + 1, 0, 0, EINVAL);
	expect_einval_cap(vm, 2, 1, 0, EINVAL);
	expect_einval_cap(vm, 2, 0, 1, EINVAL);
	vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, 2);
	expect_einval_cap(vm, 2, 0, 0, EEXIST);

	/* vCPU VTL. */
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	v.vtl = 2;
	expect_errno(vcpu_vtl_ioctl(vcpu, &v), EINVAL, "vtl 2 of 2");
	v.vtl = 1;
	v.flags = 1;
	expect_errno(vcpu_vtl_ioctl(vcpu, &v), EINVAL, "vCPU VTL flags");
	v.flags = 0;
	vcpu_ioctl(vcpu, KVM_SET_VCPU_VTL, &v);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA, TEST_SLOT,
				    TEST_PAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	expect_sync(vcpu, OP_READ, TEST_GPA);
	expect_errno(vcpu_vtl_ioctl(vcpu, &v), EBUSY, "vCPU VTL after KVM_RUN");

	/* Single set: every field. */
	expect_set_err(vm, 2, TEST_GPA, PAGE_SIZE, NW, 0, EINVAL);
	expect_set_err(vm, KVM_MAX_VTLS, TEST_GPA, PAGE_SIZE, NW, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, NW, 1, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, 1ULL << 4, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, 1ULL << 63, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, NR, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, NR | NW, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, NR | NX, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA + 1, PAGE_SIZE, NW, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE + 1, NW, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA, 0, NW, 0, EINVAL);
	expect_set_err(vm, 0, -PAGE_SIZE, 2 * PAGE_SIZE, NW, 0, EINVAL);
	expect_set_err(vm, 0, 0, -PAGE_SIZE, NW, 0, EINVAL);
	expect_set_err(vm, 0, 1ULL << 52, PAGE_SIZE, NW, 0, EINVAL);
	/* Allowed: NX alone, NW|NX, and ranges without a memslot. */
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, NX);
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, NW | NX);
	set_attrs(vm, 1, MOVED_GPA, PAGE_SIZE, NR | NW | NX);
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, 0);

	/* Batch header. */
	b.vtl = 0;
	b.entries = (uint64_t)e;
	b.nr_entries = 0;
	expect_errno(batch_ioctl(vm, &b), EINVAL, "empty batch");
	b.nr_entries = KVM_VTL_MAX_BATCH_ENTRIES + 1;
	expect_errno(batch_ioctl(vm, &b), E2BIG, "huge batch");
	b.nr_entries = 1;
	b.flags = 1;
	expect_errno(batch_ioctl(vm, &b), EINVAL, "batch flags");
	b.flags = 0;
	b.reserved[2] = 1;
	expect_errno(batch_ioctl(vm, &b), EINVAL, "batch reserved");
	b.reserved[2] = 0;
	b.entries = 8;
	expect_errno(batch_ioctl(vm, &b), EFAULT, "batch entries pointer");
	expect_errno(batch_ioctl(vm, (void *)8), EFAULT, "batch pointer");
	/* No entry is at fault: error_index is nr_entries. */
	r = __set_batch(vm, 2, e, 2, &idx);
	TEST_ASSERT(r == -1 && errno == EINVAL && idx == 2,
		    "batch vtl: %d errno %d index %u", r, errno, idx);
	e[1].reserved = 1;
	r = __set_batch(vm, 0, e, 2, &idx);
	TEST_ASSERT(r == -1 && errno == EINVAL && idx == 1,
		    "entry reserved: %d errno %d index %u", r, errno, idx);
	e[1].reserved = 0;
	e[1].attributes = NR;
	r = __set_batch(vm, 0, e, 2, &idx);
	TEST_ASSERT(r == -1 && errno == EINVAL && idx == 1,
		    "entry NR alone: %d errno %d index %u", r, errno, idx);
	kvm_vm_free(vm);

	ksft_test_result_pass("bad input: capability, vCPU VTL, set and batch\n");
}

/* Private gfns cannot carry RWX restrictions; shared ones in a guest_memfd slot can. */
static void test_private(void)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = KVM_X86_SW_PROTECTED_VM,
	};
	struct kvm_memory_attributes to_private = {
		.address = TEST_GPA + 3 * PAGE_SIZE, .size = 2 * PAGE_SIZE,
		.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (!(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM))) {
		ksft_test_result_skip("private: no KVM_X86_SW_PROTECTED_VM\n");
		return;
	}

	vm = __vm_create(shape, 1, 0);
	vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, 1);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA, TEST_SLOT, TEST_PAGES,
		   KVM_MEM_GUEST_MEMFD, -1, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);

	vm_mem_set_private(vm, TEST_GPA, 2 * PAGE_SIZE);
	expect_set_err(vm, 0, TEST_GPA, PAGE_SIZE, NW, 0, EINVAL);
	expect_set_err(vm, 0, TEST_GPA + PAGE_SIZE, 4 * PAGE_SIZE, NX, 0, EINVAL);
	/* Clearing is always allowed. */
	set_attrs(vm, 0, TEST_GPA, PAGE_SIZE, 0);

	set_attrs(vm, 0, TEST_GPA + 4 * PAGE_SIZE, PAGE_SIZE, NW);
	expect_sync(vcpu, OP_READ, TEST_GPA + 4 * PAGE_SIZE);
	expect_fault(vcpu, OP_WRITE, TEST_GPA + 4 * PAGE_SIZE,
		     KVM_MEMORY_EXIT_FLAG_WRITE, 0);

	/*
	 * The other order: a restricted gfn cannot become private, where the
	 * layer would no longer apply (a guest asks with MAP_GPA_RANGE).
	 */
	expect_errno(__vm_ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &to_private),
		     EINVAL, "making a restricted gfn private");
	set_attrs(vm, 0, TEST_GPA + 4 * PAGE_SIZE, PAGE_SIZE, 0);
	vm_mem_set_private(vm, TEST_GPA + 3 * PAGE_SIZE, 2 * PAGE_SIZE);

	kvm_vm_free(vm);
	ksft_test_result_pass("private: RWX refused on private gfns and vice versa, enforced on shared ones\n");
}

int main(int argc, char *argv[])
{
	int nr = kvm_check_cap(KVM_CAP_VTL_MEMORY_ATTRIBUTES);

	require_hugepages = argc > 1 && !strcmp(argv[1], "-r");
	ksft_print_header();
	TEST_REQUIRE(nr);
	TEST_ASSERT_EQ(nr, KVM_MAX_VTLS);

	vtl_supported_cpuid_without_nested();
	ksft_set_plan(10);
	test_bad_input();
	test_violations();
	test_hugepages();
	test_hugepages_1g();
	test_batch();
	test_readback();
	test_memslots();
	test_dirty_log();
	test_private();
	test_stress();
	ksft_finished();
}
