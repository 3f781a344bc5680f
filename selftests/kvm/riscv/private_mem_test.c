// SPDX-License-Identifier: GPL-2.0
/*
 * Private memory on KVM RISC-V (KVM_RISCV_SW_PROTECTED_VM): the scenarios of
 * x86's private_mem_conversions_test and private_mem_kvm_exits_test.
 *
 * Conversions: each vCPU owns a 2 MiB guest_memfd memslot whose shared half
 * is anonymous memory.  For several ranges, the guest writes shared memory
 * (the host sees it), asks the host to make the range private, finds fresh
 * private memory zeroed, writes it (the shared backing does not change), asks
 * for it back as shared (the host punches the private pages out) and finds
 * its shared data again; private once more, the range reads as zeroes.
 *
 * Exits: a private gfn whose memslot has no guest_memfd, or no memslot at
 * all, exits with KVM_EXIT_MEMORY_FAULT carrying the PRIVATE flag, the
 * page-aligned GPA and PAGE_SIZE, exactly as on x86.
 *
 * Huge mappings: with a hugetlb-backed shared half, a huge G-stage mapping
 * of the shared backing must never cover a private gfn, neither when the
 * block is mixed at fault time nor when one page of a mapped block is made
 * private afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#ifndef PAGE_SIZE
#define PAGE_SIZE	SZ_4K	/* riscv's processor.h has no PAGE_SIZE */
#endif

#define NR_VCPUS	2
#define REGION_GPA	0x100000000ULL	/* 4 GiB; vCPU i owns region i */
#define REGION_SIZE	SZ_2M
#define REGION_SLOT	10

#define EXIT_GPA	0x180000000ULL
#define EXIT_SLOT	20

#define HUGE_GPA	0x200000000ULL	/* 8 GiB, 2 MiB aligned */
#define HUGE_SLOT	30
#define HUGE_PAGES	(SZ_2M / PAGE_SIZE)
#define MARK		0x6d61726b00000000ULL

enum { CMD_CHECK_SHARED, CMD_TO_PRIVATE, CMD_TO_SHARED };

/* ------------------------------------------------------------- the guest */

static void host_cmd(uint64_t cmd, uint64_t gpa, uint64_t size, uint64_t val)
{
	ucall(UCALL_SYNC, 4, cmd, gpa, size, val);
}

static void guest_fill(uint64_t gpa, uint64_t size, uint8_t val)
{
	uint64_t v = val * 0x0101010101010101ULL, i;

	for (i = 0; i < size; i += 8)
		WRITE_ONCE(*(uint64_t *)(gpa + i), v);
}

static void guest_check(uint64_t gpa, uint64_t size, uint8_t val)
{
	uint64_t v = val * 0x0101010101010101ULL, i;

	for (i = 0; i < size; i += 8)
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(gpa + i)), v);
}

static const struct {
	uint64_t offset, size;
} ranges[] = {
	{ 0, PAGE_SIZE },
	{ 5 * PAGE_SIZE, 3 * PAGE_SIZE },
	{ REGION_SIZE - PAGE_SIZE, PAGE_SIZE },
	{ SZ_1M - PAGE_SIZE, 2 * PAGE_SIZE },
	{ 0, REGION_SIZE },
};

static void guest_conversions(uint64_t base)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(ranges); i++) {
		uint64_t gpa = base + ranges[i].offset, size = ranges[i].size;
		uint8_t p1 = 0x10 + i, p2 = 0x40 + i, p3 = 0x70 + i;

		guest_fill(gpa, size, p1);
		host_cmd(CMD_CHECK_SHARED, gpa, size, p1);

		host_cmd(CMD_TO_PRIVATE, gpa, size, 0);
		guest_check(gpa, size, 0);
		guest_fill(gpa, size, p2);
		guest_check(gpa, size, p2);
		host_cmd(CMD_CHECK_SHARED, gpa, size, p1);

		host_cmd(CMD_TO_SHARED, gpa, size, 0);
		guest_check(gpa, size, p1);
		guest_fill(gpa, size, p3);
		host_cmd(CMD_CHECK_SHARED, gpa, size, p3);

		host_cmd(CMD_TO_PRIVATE, gpa, size, 0);
		guest_check(gpa, size, 0);
		host_cmd(CMD_TO_SHARED, gpa, size, 0);
	}
	GUEST_DONE();
}

static void guest_access(uint64_t gpa, uint64_t write)
{
	if (write)
		WRITE_ONCE(*(uint64_t *)gpa, 1);
	else
		(void)READ_ONCE(*(uint64_t *)gpa);
	GUEST_DONE();
}

static uint64_t guest_gpa;

static void guest_reader(void)
{
	for (;;)
		GUEST_SYNC(READ_ONCE(*(uint64_t *)READ_ONCE(guest_gpa)));
}

/* --------------------------------------------------------------- the host */

static struct kvm_vm *create_vm(int nr_vcpus, void *guest_code,
				struct kvm_vcpu **vcpus)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = KVM_RISCV_SW_PROTECTED_VM,
	};

	return __vm_create_with_vcpus(shape, nr_vcpus, 0, guest_code, vcpus);
}

static void *run_conversions(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_vm *vm = vcpu->vm;
	uint64_t gpa, size, i;
	struct ucall uc;
	uint8_t *hva;

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}

		gpa = uc.args[1];
		size = uc.args[2];
		switch (uc.args[0]) {
		case CMD_CHECK_SHARED:
			hva = addr_gpa2hva(vm, gpa);
			for (i = 0; i < size; i++)
				TEST_ASSERT(hva[i] == (uint8_t)uc.args[3],
					    "shared gpa 0x%lx: 0x%x, expected 0x%lx",
					    gpa + i, hva[i], uc.args[3]);
			break;
		case CMD_TO_PRIVATE:
			vm_guest_mem_allocate(vm, gpa, size);
			vm_mem_set_private(vm, gpa, size);
			break;
		case CMD_TO_SHARED:
			vm_mem_set_shared(vm, gpa, size);
			vm_guest_mem_punch_hole(vm, gpa, size);
			break;
		default:
			TEST_FAIL("unknown command %lu", uc.args[0]);
		}
	}
}

static void test_conversions(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t threads[NR_VCPUS];
	struct kvm_vm *vm;
	int i;

	vm = create_vm(NR_VCPUS, guest_conversions, vcpus);
	for (i = 0; i < NR_VCPUS; i++) {
		uint64_t base = REGION_GPA + i * REGION_SIZE;

		vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, base, REGION_SLOT + i,
			   REGION_SIZE / PAGE_SIZE, KVM_MEM_GUEST_MEMFD, -1, 0);
		virt_map(vm, base, base, REGION_SIZE / PAGE_SIZE);
		vcpu_args_set(vcpus[i], 1, base);
	}

	for (i = 0; i < NR_VCPUS; i++)
		pthread_create(&threads[i], NULL, run_conversions, vcpus[i]);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(threads[i], NULL);

	kvm_vm_free(vm);
	ksft_test_result_pass("conversions: %d vCPUs, %zu ranges each, contents kept apart\n",
			      NR_VCPUS, ARRAY_SIZE(ranges));
}

static void expect_private_fault(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct kvm_run *run = vcpu->run;
	int r = __vcpu_run(vcpu);

	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "KVM_RUN: %d, errno %d, expected EFAULT", r, errno);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MEMORY_FAULT);
	TEST_ASSERT_EQ(run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	TEST_ASSERT_EQ(run->memory_fault.gpa, gpa);
	TEST_ASSERT_EQ(run->memory_fault.size, PAGE_SIZE);
}

/* A private gfn in a memslot without guest_memfd. */
static void test_exit_memslot_not_private(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int write;

	for (write = 0; write < 2; write++) {
		vm = create_vm(1, guest_access, &vcpu);
		vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, EXIT_GPA, EXIT_SLOT, 1, 0, -1, 0);
		virt_map(vm, EXIT_GPA, EXIT_GPA, 1);
		vm_mem_set_private(vm, EXIT_GPA, PAGE_SIZE);
		vcpu_args_set(vcpu, 2, EXIT_GPA + 8, write);

		expect_private_fault(vcpu, EXIT_GPA);

		/* Shared again, the access completes. */
		vm_mem_set_shared(vm, EXIT_GPA, PAGE_SIZE);
		vcpu_run(vcpu);
		TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_DONE);
		kvm_vm_free(vm);
	}
	ksft_test_result_pass("exit: private gfn in a memslot without guest_memfd\n");
}

/* A private gfn whose memslot is gone. */
static void test_exit_memslot_deleted(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int write;

	for (write = 0; write < 2; write++) {
		vm = create_vm(1, guest_access, &vcpu);
		vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, EXIT_GPA, EXIT_SLOT, 1,
			   KVM_MEM_GUEST_MEMFD, -1, 0);
		virt_map(vm, EXIT_GPA, EXIT_GPA, 1);
		vm_mem_set_private(vm, EXIT_GPA, PAGE_SIZE);
		vm_mem_region_delete(vm, EXIT_SLOT);
		vcpu_args_set(vcpu, 2, EXIT_GPA + 16, write);

		expect_private_fault(vcpu, EXIT_GPA);
		kvm_vm_free(vm);
	}
	ksft_test_result_pass("exit: private gfn without a memslot\n");
}

static uint64_t guest_read(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct ucall uc;

	guest_gpa = gpa;
	sync_global_to_guest(vcpu->vm, guest_gpa);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, UCALL_SYNC);
	return uc.args[1];
}

/* Page @i of the 2 MiB block, as the guest reads it. */
static uint64_t read_page(struct kvm_vcpu *vcpu, int i)
{
	return guest_read(vcpu, HUGE_GPA + i * PAGE_SIZE);
}

/* -r: the harness reserved 2 MiB hugetlb pages, so their absence fails. */
static bool require_hugepages;

static long free_huge_2mb_pages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	long n = 0;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

static void test_huge_mappings(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *hva;
	int i;

	if (free_huge_2mb_pages() < 2) {
		TEST_ASSERT(!require_hugepages, "-r: fewer than two free 2 MiB hugetlb pages");
		ksft_test_result_skip("huge mappings: no free 2 MiB hugetlb pages\n");
		return;
	}

	vm = create_vm(1, guest_reader, &vcpu);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB, HUGE_GPA, HUGE_SLOT, HUGE_PAGES,
		   KVM_MEM_GUEST_MEMFD, -1, 0);
	virt_map(vm, HUGE_GPA, HUGE_GPA, HUGE_PAGES);
	hva = addr_gpa2hva(vm, HUGE_GPA);
	for (i = 0; i < HUGE_PAGES; i++)
		hva[i * PAGE_SIZE / 8] = MARK + i;

	/* A block that is mixed when the guest first touches it. */
	vm_mem_set_private(vm, HUGE_GPA + PAGE_SIZE, PAGE_SIZE);
	TEST_ASSERT_EQ(read_page(vcpu, 0), MARK);
	TEST_ASSERT(read_page(vcpu, 1) == 0,
		    "a private page read the shared backing through a huge mapping");

	/* One page of a block mapped huge goes private. */
	vm_mem_set_shared(vm, HUGE_GPA + PAGE_SIZE, PAGE_SIZE);
	vm_guest_mem_punch_hole(vm, HUGE_GPA + PAGE_SIZE, PAGE_SIZE);
	TEST_ASSERT_EQ(read_page(vcpu, 2), MARK + 2);
	TEST_ASSERT_EQ(read_page(vcpu, 1), MARK + 1);
	vm_mem_set_private(vm, HUGE_GPA + 3 * PAGE_SIZE, PAGE_SIZE);
	TEST_ASSERT(read_page(vcpu, 3) == 0,
		    "a page made private still read the shared backing");
	TEST_ASSERT_EQ(read_page(vcpu, 4), MARK + 4);

	kvm_vm_free(vm);
	ksft_test_result_pass("huge mappings: never cover a private gfn\n");
}

static void test_vm_types(void)
{
	uint64_t types = kvm_check_cap(KVM_CAP_VM_TYPES);
	struct kvm_vm *vm;
	int fd;

	/* KVM_RISCV_COVE_VM too, with a CoVE TSM (riscv/cove_tvm_test). */
	TEST_ASSERT_EQ(types & ~BIT(KVM_RISCV_COVE_VM),
		       BIT(KVM_RISCV_DEFAULT_VM) | BIT(KVM_RISCV_SW_PROTECTED_VM));
	fd = __kvm_ioctl(open_kvm_dev_path_or_exit(), KVM_CREATE_VM, (void *)3UL);
	TEST_ASSERT(fd == -1 && errno == EINVAL, "unknown VM type: %d, errno %d", fd, errno);
	fd = __kvm_ioctl(open_kvm_dev_path_or_exit(), KVM_CREATE_VM, (void *)64UL);
	TEST_ASSERT(fd == -1 && errno == EINVAL, "VM type 64: %d, errno %d", fd, errno);

	vm = vm_create_barebones();
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES), 0);
	kvm_vm_free(vm);
	vm = vm_create_barebones_type(KVM_RISCV_SW_PROTECTED_VM);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES),
		       KVM_MEMORY_ATTRIBUTE_PRIVATE);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD), 1);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_MEMORY_FAULT_INFO), 1);
	kvm_vm_free(vm);
	ksft_test_result_pass("VM types: default and software-protected, others refused\n");
}

int main(int argc, char *argv[])
{
	require_hugepages = argc > 1 && !strcmp(argv[1], "-r");
	ksft_print_header();
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_RISCV_SW_PROTECTED_VM));

	ksft_set_plan(5);
	test_vm_types();
	test_exit_memslot_not_private();
	test_exit_memslot_deleted();
	test_huge_mappings();
	test_conversions();
	ksft_finished();
}
