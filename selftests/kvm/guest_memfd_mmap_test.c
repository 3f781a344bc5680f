// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd mapped by the host (GUEST_MEMFD_FLAG_MMAP, _INIT_SHARED):
 * flags and bad input, host access to shared and private pages, a VM whose
 * only memory is a guest_memfd, in-place conversions that keep the content,
 * conversions refused while a page is pinned, and conversions racing a vCPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#ifndef PAGE_SIZE
#define PAGE_SIZE	SZ_4K	/* riscv's processor.h has no PAGE_SIZE */
#endif

#if defined(__x86_64__)
#define SW_PROTECTED_VM	KVM_X86_SW_PROTECTED_VM
#elif defined(__riscv)
#define SW_PROTECTED_VM	KVM_RISCV_SW_PROTECTED_VM
#endif

#define MMAP		GUEST_MEMFD_FLAG_MMAP
#define INIT_SHARED	GUEST_MEMFD_FLAG_INIT_SHARED
#define INPLACE		GUEST_MEMFD_FLAG_INPLACE_CONVERSION

#define DATA_SLOT	10
#define DATA_GPA	0x100000000ULL	/* 4 GiB */
#define DATA_SIZE	SZ_2M
#define DATA_PAGES	(DATA_SIZE / PAGE_SIZE)

#define expect_errno(call, err, what)					\
do {									\
	long __r = (long)(call);					\
	int __err = (err);						\
									\
	TEST_ASSERT(__r == -1 && errno == __err,			\
		    "%s: returned %ld, errno %d, expected errno %d",	\
		    what, __r, errno, __err);				\
} while (0)

/* ---------------------------------------------------------------- helpers */

static sigjmp_buf sigbus_env;

static void sigbus_handler(int sig)
{
	siglongjmp(sigbus_env, 1);
}

/* Touch @p from the host; true if that raised SIGBUS. */
static bool host_touch_faults(uint64_t *p, bool write)
{
	struct sigaction sa = { .sa_handler = sigbus_handler }, old;
	bool faulted;

	TEST_ASSERT(!sigaction(SIGBUS, &sa, &old), "sigaction");
	/* Assigned again when the handler jumps back, so no volatile needed. */
	faulted = sigsetjmp(sigbus_env, 1);
	if (!faulted) {
		if (write)
			WRITE_ONCE(*p, 0x5ca1ab1e);
		else
			(void)READ_ONCE(*p);
	}
	TEST_ASSERT(!sigaction(SIGBUS, &old, NULL), "sigaction");
	return faulted;
}

static void *map_gmem(int fd, size_t size, off_t offset)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);

	TEST_ASSERT(p != MAP_FAILED, "mmap(guest_memfd): %s", strerror(errno));
	return p;
}

static int set_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attributes)
{
	struct kvm_memory_attributes attr = {
		.address = gpa, .size = size, .attributes = attributes,
	};

	return __vm_ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &attr);
}

/* -------------------------------------------------------------- the guest */

enum { OP_READ, OP_WRITE, OP_COUNT };

static uint64_t guest_op;
static uint64_t guest_gva;
static uint64_t guest_val;
static uint64_t guest_stop;	/* written by the host while OP_COUNT runs */

static void guest_code(void)
{
	for (;;) {
		uint64_t *p = (uint64_t *)READ_ONCE(guest_gva);
		uint64_t i;

		switch (READ_ONCE(guest_op)) {
		case OP_READ:
			GUEST_SYNC(READ_ONCE(*p));
			break;
		case OP_WRITE:
			WRITE_ONCE(*p, READ_ONCE(guest_val));
			GUEST_SYNC(0);
			break;
		case OP_COUNT:
			for (i = READ_ONCE(guest_val); !READ_ONCE(guest_stop); i++) {
				WRITE_ONCE(*p, i);
				GUEST_ASSERT_EQ(READ_ONCE(*p), i);
			}
			GUEST_SYNC(i);
			break;
		}
	}
}

static void guest_set_op(struct kvm_vcpu *vcpu, uint64_t op, uint64_t gva,
			 uint64_t val)
{
	struct kvm_vm *vm = vcpu->vm;

	guest_op = op;
	guest_gva = gva;
	guest_val = val;
	sync_global_to_guest(vm, guest_op);
	sync_global_to_guest(vm, guest_gva);
	sync_global_to_guest(vm, guest_val);
}

static uint64_t guest_result(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected exit %s", exit_reason_str(vcpu->run->exit_reason));
	}
	return 0;
}

static uint64_t guest_do(struct kvm_vcpu *vcpu, uint64_t op, uint64_t gva,
			 uint64_t val)
{
	guest_set_op(vcpu, op, gva, val);
	vcpu_run(vcpu);
	return guest_result(vcpu);
}

/*
 * A software-protected VM with one vCPU and DATA_SIZE of in-place
 * conversion guest_memfd at DATA_GPA, mapped by the host at *hva and used as the
 * memslot's userspace_addr (shared and private pages are the same memory).
 */
static struct kvm_vm *create_inplace_vm(struct kvm_vcpu **vcpu, int *fd,
					uint64_t **hva)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = SW_PROTECTED_VM,
	};
	struct kvm_vm *vm = __vm_create_with_vcpus(shape, 1, 0, guest_code, vcpu);

	*fd = vm_create_guest_memfd(vm, DATA_SIZE, MMAP | INIT_SHARED | INPLACE);
	*hva = map_gmem(*fd, DATA_SIZE, 0);
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   DATA_SIZE, *hva, *fd, 0);
	virt_map(vm, DATA_GPA, DATA_GPA, DATA_PAGES);
	return vm;
}

static void destroy_inplace_vm(struct kvm_vm *vm, int fd, uint64_t *hva)
{
	kvm_vm_free(vm);
	munmap(hva, DATA_SIZE);
	close(fd);
}

/* ------------------------------------------------------------------ tests */

static void test_bad_input(void)
{
	uint64_t all = MMAP | INIT_SHARED, bit;
	struct kvm_vm *vm, *sw;
	char *p;
	int fd;

	/* Upstream's capability, upstream's meaning; ours beside it. */
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS), all);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION), 1);

	vm = vm_create_barebones();
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD), 1);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS), all);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION), 0);
	sw = vm_create_barebones_type(SW_PROTECTED_VM);
	TEST_ASSERT_EQ(vm_check_cap(sw, KVM_CAP_GUEST_MEMFD_FLAGS), MMAP);
	TEST_ASSERT_EQ(vm_check_cap(sw, KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION), 1);

	for (bit = 1; bit; bit <<= 1) {
		if (bit & all)
			continue;
		expect_errno(__vm_create_guest_memfd(vm, PAGE_SIZE, bit), EINVAL,
			     "unknown guest_memfd flag");
	}
	expect_errno(__vm_create_guest_memfd(vm, PAGE_SIZE, INIT_SHARED), EINVAL,
		     "INIT_SHARED without MMAP");
	expect_errno(__vm_create_guest_memfd(vm, PAGE_SIZE, MMAP | INIT_SHARED | INPLACE),
		     EINVAL, "in-place conversion for a VM without private memory");

	/* As upstream, no INIT_SHARED for private memory; ours needs both. */
	expect_errno(__vm_create_guest_memfd(sw, PAGE_SIZE, MMAP | INIT_SHARED), EINVAL,
		     "INIT_SHARED for a VM with private memory");
	expect_errno(__vm_create_guest_memfd(sw, PAGE_SIZE, MMAP | INPLACE), EINVAL,
		     "INPLACE_CONVERSION without INIT_SHARED");
	expect_errno(__vm_create_guest_memfd(sw, PAGE_SIZE, INIT_SHARED | INPLACE), EINVAL,
		     "INPLACE_CONVERSION without MMAP");
	close(vm_create_guest_memfd(sw, PAGE_SIZE, MMAP | INIT_SHARED | INPLACE));

	/* No mmap() without GUEST_MEMFD_FLAG_MMAP, nor private mappings. */
	fd = vm_create_guest_memfd(vm, PAGE_SIZE, 0);
	expect_errno(mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0), ENODEV,
		     "mmap of a guest_memfd without MMAP");
	close(fd);
	fd = vm_create_guest_memfd(vm, 2 * PAGE_SIZE, MMAP | INIT_SHARED);
	expect_errno(mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0),
		     EINVAL, "MAP_PRIVATE of a guest_memfd");

	/* Beyond the end of the file: SIGBUS, as for any file. */
	p = mmap(NULL, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap past EOF");
	TEST_ASSERT(!host_touch_faults((uint64_t *)(p + PAGE_SIZE), true), "in bounds");
	TEST_ASSERT(host_touch_faults((uint64_t *)(p + 2 * PAGE_SIZE), false),
		    "a read past EOF must raise SIGBUS");
	munmap(p, 3 * PAGE_SIZE);
	close(fd);

	kvm_vm_free(sw);
	kvm_vm_free(vm);
	ksft_test_result_pass("bad input: flags, capabilities, mmap modes\n");
}

/*
 * Upstream's semantics for an mmap()able file without in-place conversion,
 * on both VM types: it backs all of its memslot's memory, shared pages
 * too (userspace_addr, a decoy here, is not used), and without INIT_SHARED
 * the host cannot touch it.
 */
static bool mmap_only_file(unsigned long type)
{
	const struct vm_shape shape = { .mode = VM_MODE_DEFAULT, .type = type };
	const uint64_t fill = 0xd0d0d0d0d0d0d0d0ULL;
	uint64_t *decoy, *hva, v;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool ok = true;
	int fd, r;

	vm = __vm_create_with_vcpus(shape, 1, 0, guest_code, &vcpu);
	fd = vm_create_guest_memfd(vm, DATA_SIZE, MMAP);
	decoy = mmap(NULL, DATA_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(decoy != MAP_FAILED, "mmap");
	decoy[0] = fill;
	r = __vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
					 DATA_SIZE, decoy, fd, 0);
	if (r) {
		ksft_print_msg("VM type %lu: binding an MMAP file failed, errno %d\n",
			       type, errno);
		ok = false;
		goto out;
	}
	virt_map(vm, DATA_GPA, DATA_GPA, DATA_PAGES);

	v = guest_do(vcpu, OP_READ, DATA_GPA, 0);
	guest_do(vcpu, OP_WRITE, DATA_GPA, 0x1234);
	if (v || decoy[0] != fill || guest_do(vcpu, OP_READ, DATA_GPA, 0) != 0x1234) {
		ksft_print_msg("VM type %lu: guest read 0x%lx first, decoy now 0x%lx\n",
			       type, v, decoy[0]);
		ok = false;
	}
	hva = map_gmem(fd, DATA_SIZE, 0);
	if (!host_touch_faults(hva, false)) {
		ksft_print_msg("VM type %lu: the host read 0x%lx\n", type, *hva);
		ok = false;
	}
	munmap(hva, DATA_SIZE);
out:
	kvm_vm_free(vm);
	munmap(decoy, DATA_SIZE);
	close(fd);
	return ok;
}

static void test_mmap_only(void)
{
	bool ok = mmap_only_file(VM_TYPE_DEFAULT);

	ok &= mmap_only_file(SW_PROTECTED_VM);
	ksft_test_result(ok, "MMAP without INIT_SHARED: all memory from the file, none for the host\n");
}

static void test_host_access(void)
{
	struct kvm_vm *vm = vm_create_barebones();
	uint64_t *a, *b;
	int fd;

	/* Without INIT_SHARED everything is private to the host. */
	fd = vm_create_guest_memfd(vm, SZ_64K, MMAP);
	a = map_gmem(fd, SZ_64K, 0);
	TEST_ASSERT(host_touch_faults(a, false), "read of a private page");
	TEST_ASSERT(host_touch_faults(a, true), "write of a private page");
	munmap(a, SZ_64K);
	close(fd);

	/* Shared: zeroed on first touch, one page for every mapping. */
	fd = vm_create_guest_memfd(vm, SZ_64K, MMAP | INIT_SHARED);
	a = map_gmem(fd, SZ_64K, 0);
	b = map_gmem(fd, SZ_32K, SZ_32K);
	TEST_ASSERT_EQ(a[SZ_32K / 8], 0);
	a[SZ_32K / 8] = 0x1122334455667788ULL;
	TEST_ASSERT_EQ(b[0], 0x1122334455667788ULL);
	b[1] = 42;
	TEST_ASSERT_EQ(a[SZ_32K / 8 + 1], 42);

	/* Punching a hole frees the page; the next touch sees zeroes. */
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       SZ_32K, PAGE_SIZE), "punch hole");
	TEST_ASSERT_EQ(a[SZ_32K / 8], 0);
	TEST_ASSERT_EQ(b[1], 0);
	/* Preallocation still works and keeps content. */
	a[0] = 7;
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, SZ_64K), "fallocate");
	TEST_ASSERT_EQ(a[0], 7);

	munmap(b, SZ_32K);
	munmap(a, SZ_64K);
	close(fd);
	kvm_vm_free(vm);
	ksft_test_result_pass("host access: SIGBUS on private, coherent shared pages, holes\n");
}

/*
 * A default VM whose only memory is a guest_memfd.  Its userspace_addr is a
 * different (anonymous) mapping on purpose: KVM must fault a gmem-only
 * memslot from the file.  The payload, at 0x1000 and run with paging off,
 * reads the 16-bit word at 0x2000, stores it plus one at 0x2002 and reports
 * the low byte of the sum to the VMM (x86: OUT to port 0x10, then HLT;
 * RISC-V: a byte store to the unbacked address 0x10000000).
 */
#if defined(__x86_64__)
static const uint8_t payload[] = {
	0xa1, 0x00, 0x20,	/* mov ax, [0x2000] */
	0x05, 0x01, 0x00,	/* add ax, 1 */
	0xa3, 0x02, 0x20,	/* mov [0x2002], ax */
	0xe6, 0x10,		/* out 0x10, al */
	0xf4,			/* hlt */
};

static void run_payload(struct kvm_vcpu *vcpu, uint8_t expect)
{
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_set(vcpu, &regs);

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, 0x10);
	TEST_ASSERT_EQ(*((uint8_t *)vcpu->run + vcpu->run->io.data_offset), expect);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_HLT);
}
#elif defined(__riscv)
static const uint32_t payload[] = {
	0x000022b7,		/* lui	t0, 0x2 */
	0x0002d303,		/* lhu	t1, 0(t0) */
	0x00130313,		/* addi	t1, t1, 1 */
	0x00629123,		/* sh	t1, 2(t0) */
	0x100003b7,		/* lui	t2, 0x10000 */
	0x00638023,		/* sb	t1, 0(t2) */
	0x0000006f,		/* j	. */
};

static void run_payload(struct kvm_vcpu *vcpu, uint8_t expect)
{
	/* Only vCPU 0 starts running; SBI HSM keeps the others stopped. */
	struct kvm_mp_state mp_state = { .mp_state = KVM_MP_STATE_RUNNABLE };

	vcpu_mp_state_set(vcpu, &mp_state);
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.pc), 0x1000);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, 0x10000000);
	TEST_ASSERT(vcpu->run->mmio.is_write && vcpu->run->mmio.len == 1,
		    "expected a 1-byte MMIO write");
	TEST_ASSERT_EQ(vcpu->run->mmio.data[0], expect);
}
#endif

static void test_gmem_only_vm(void)
{
	struct kvm_vm *vm = vm_create_barebones();
	uint8_t *mem, *decoy;
	int fd;

	fd = vm_create_guest_memfd(vm, SZ_2M, MMAP | INIT_SHARED);
	mem = map_gmem(fd, SZ_2M, 0);
	decoy = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(decoy != MAP_FAILED, "mmap");
	memset(decoy, 0xff, SZ_2M);	/* not a valid payload on either arch */
	vm_set_user_memory_region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0, SZ_2M,
				   decoy, fd, 0);

	memcpy(mem + 0x1000, payload, sizeof(payload));
	*(uint16_t *)(mem + 0x2000) = 0x1234;

	run_payload(__vm_vcpu_add(vm, 0), 0x35);
	TEST_ASSERT_EQ(*(uint16_t *)(mem + 0x2002), 0x1235);

	/* The host changes data under a running guest... */
	*(uint16_t *)(mem + 0x2000) = 0x4100;
	run_payload(__vm_vcpu_add(vm, 1), 0x01);
	TEST_ASSERT_EQ(*(uint16_t *)(mem + 0x2002), 0x4101);

	/* ...and punches it out: the guest must see the fresh zero page. */
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       0x2000, PAGE_SIZE), "punch hole");
	run_payload(__vm_vcpu_add(vm, 2), 0x01);
	TEST_ASSERT_EQ(*(uint16_t *)(mem + 0x2002), 1);

	munmap(decoy, SZ_2M);
	munmap(mem, SZ_2M);
	kvm_vm_free(vm);
	close(fd);
	ksft_test_result_pass("gmem-only VM: runs a payload from guest_memfd alone\n");
}

static void test_inplace_conversion(void)
{
	struct kvm_vcpu *vcpu;
	uint64_t *hva;
	struct kvm_vm *vm;
	int fd, i;

	vm = create_inplace_vm(&vcpu, &fd, &hva);

	/* Shared: host writes are seen by the guest, and the other way. */
	hva[0] = 0xaaaa;
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA, 0), 0xaaaa);
	guest_do(vcpu, OP_WRITE, DATA_GPA + 8, 0xbbbb);
	TEST_ASSERT_EQ(hva[1], 0xbbbb);

	/* Private: the host loses access, the guest keeps the content. */
	vm_mem_set_private(vm, DATA_GPA, PAGE_SIZE);
	TEST_ASSERT(host_touch_faults(&hva[0], false), "host read of a private page");
	TEST_ASSERT(host_touch_faults(&hva[1], true), "host write of a private page");
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA, 0), 0xaaaa);
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA + 8, 0), 0xbbbb);
	guest_do(vcpu, OP_WRITE, DATA_GPA + 16, 0xcccc);
	/* The neighbour page stays shared and mapped. */
	TEST_ASSERT(!host_touch_faults(&hva[PAGE_SIZE / 8], true), "shared neighbour");

	/* Shared again: the guest's private writes are there. */
	vm_mem_set_shared(vm, DATA_GPA, PAGE_SIZE);
	TEST_ASSERT_EQ(hva[2], 0xcccc);
	TEST_ASSERT_EQ(hva[0], 0xaaaa);

	/* A whole 2M range, converted back and forth with the data intact. */
	for (i = 0; i < DATA_PAGES; i++)
		hva[i * PAGE_SIZE / 8] = i;
	vm_mem_set_private(vm, DATA_GPA, DATA_SIZE);
	for (i = 0; i < DATA_PAGES; i += 97)
		TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA + i * PAGE_SIZE, 0), i);
	TEST_ASSERT(host_touch_faults(&hva[(DATA_PAGES - 1) * PAGE_SIZE / 8], false),
		    "last page is private");
	vm_mem_set_shared(vm, DATA_GPA, DATA_SIZE);
	for (i = 0; i < DATA_PAGES; i++)
		TEST_ASSERT_EQ(hva[i * PAGE_SIZE / 8], i);

	/* Punching a private page out: the guest sees zeroes afterwards. */
	vm_mem_set_private(vm, DATA_GPA, PAGE_SIZE);
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       0, PAGE_SIZE), "punch hole");
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA, 0), 0);
	vm_mem_set_shared(vm, DATA_GPA, PAGE_SIZE);

	destroy_inplace_vm(vm, fd, hva);
	ksft_test_result_pass("in place: shared both ways, private keeps content, host SIGBUS\n");
}

/*
 * <linux/io_uring.h> does not build against tools/include, and two register
 * opcodes are all this needs.
 */
#define IORING_REGISTER_BUFFERS		0
#define IORING_UNREGISTER_BUFFERS	1

/* Pin @addr with io_uring's fixed buffers (FOLL_PIN | FOLL_LONGTERM). */
static int io_uring_pin(void *addr, size_t len)
{
	uint32_t params[64] = {};	/* struct io_uring_params is 120 bytes */
	struct iovec iov = { .iov_base = addr, .iov_len = len };
	int ring;

	ring = syscall(__NR_io_uring_setup, 1, params);
	if (ring < 0)
		return -1;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1)) {
		close(ring);
		return -1;
	}
	return ring;
}

static void test_pinned(void)
{
	struct kvm_vcpu *vcpu;
	uint64_t *hva;
	struct kvm_vm *vm;
	int fd, ring, i;

	vm = create_inplace_vm(&vcpu, &fd, &hva);
	hva[PAGE_SIZE / 8] = 0xfeed;

	ring = io_uring_pin(&hva[PAGE_SIZE / 8], PAGE_SIZE);
	if (ring < 0) {
		destroy_inplace_vm(vm, fd, hva);
		ksft_test_result_skip("pinned: io_uring buffer registration unavailable: %s\n",
				      strerror(errno));
		return;
	}

	/* A pinned page cannot become private, and nothing changes. */
	expect_errno(set_attributes(vm, DATA_GPA, 4 * PAGE_SIZE,
				    KVM_MEMORY_ATTRIBUTE_PRIVATE),
		     EBUSY, "making a pinned page private");
	TEST_ASSERT(!host_touch_faults(&hva[0], false), "page 0 must stay shared");
	TEST_ASSERT_EQ(hva[PAGE_SIZE / 8], 0xfeed);
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA + PAGE_SIZE, 0), 0xfeed);
	/* Its neighbours can. */
	vm_mem_set_private(vm, DATA_GPA + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	vm_mem_set_shared(vm, DATA_GPA + 2 * PAGE_SIZE, 2 * PAGE_SIZE);

	/*
	 * Unpinned, the same conversion goes through.  io_uring may drop its
	 * pin from a work item, so allow it a moment.
	 */
	TEST_ASSERT(!syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS,
			     NULL, 0), "unregister buffers");
	close(ring);
	for (i = 0; set_attributes(vm, DATA_GPA, 4 * PAGE_SIZE,
				   KVM_MEMORY_ATTRIBUTE_PRIVATE); i++) {
		TEST_ASSERT(errno == EBUSY && i < 100,
			    "conversion after unpinning: errno %d", errno);
		usleep(10000);
	}
	TEST_ASSERT(host_touch_faults(&hva[PAGE_SIZE / 8], false), "now private");
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA + PAGE_SIZE, 0), 0xfeed);

	destroy_inplace_vm(vm, fd, hva);
	ksft_test_result_pass("pinned: conversion refused with EBUSY, unchanged, then allowed\n");
}

/*
 * A FOLL_GET reference is not a pin, but it reaches the page all the same:
 * a vmsplice()d pipe buffer must keep its page from becoming private, or the
 * host reads what the guest writes there afterwards.
 */
static void test_referenced(void)
{
	const uint64_t secret = 0x5ec7e75ec7e75ec7ULL;
	uint64_t buf[PAGE_SIZE / 8];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct iovec iov;
	uint64_t *hva;
	int fd, pfd[2], i;
	ssize_t n;

	vm = create_inplace_vm(&vcpu, &fd, &hva);
	hva[PAGE_SIZE / 8] = 0xfeed;
	TEST_ASSERT(!pipe(pfd), "pipe");
	iov = (struct iovec){ .iov_base = &hva[PAGE_SIZE / 8], .iov_len = PAGE_SIZE };
	n = vmsplice(pfd[1], &iov, 1, 0);
	TEST_ASSERT(n == PAGE_SIZE, "vmsplice: %zd (%s)", n, strerror(errno));

	if (!set_attributes(vm, DATA_GPA, 4 * PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
		/* Accepted: show what the pipe still reaches. */
		guest_do(vcpu, OP_WRITE, DATA_GPA + PAGE_SIZE, secret);
		n = read(pfd[0], buf, sizeof(buf));
		ksft_print_msg("a vmsplice()d page became private\n");
		ksft_test_result_fail("referenced: the pipe then read %s\n",
				      n == sizeof(buf) && buf[0] == secret ?
				      "the guest's private data" : "something else");
		close(pfd[0]);
		close(pfd[1]);
		destroy_inplace_vm(vm, fd, hva);
		return;
	}
	TEST_ASSERT(errno == EBUSY, "making a referenced page private: errno %d", errno);
	TEST_ASSERT(!host_touch_faults(&hva[PAGE_SIZE / 8], false), "page 1 must stay shared");

	/* Once the pipe lets go, the conversion goes through. */
	n = read(pfd[0], buf, sizeof(buf));
	TEST_ASSERT(n == sizeof(buf) && buf[0] == 0xfeed, "pipe read %zd", n);
	close(pfd[0]);
	close(pfd[1]);
	for (i = 0; set_attributes(vm, DATA_GPA, 4 * PAGE_SIZE,
				   KVM_MEMORY_ATTRIBUTE_PRIVATE); i++) {
		TEST_ASSERT(errno == EBUSY && i < 100,
			    "conversion after the pipe was drained: errno %d", errno);
		usleep(10000);
	}
	TEST_ASSERT(host_touch_faults(&hva[PAGE_SIZE / 8], false), "now private");
	TEST_ASSERT_EQ(guest_do(vcpu, OP_READ, DATA_GPA + PAGE_SIZE, 0), 0xfeed);

	destroy_inplace_vm(vm, fd, hva);
	ksft_test_result_pass("referenced: a vmsplice()d page stays shared until released\n");
}

/*
 * Privateness does not depend on bindings: deleting the memslot of a private
 * page must not make its content readable through the mapping, and binding a
 * file offset at a gfn that is already private must take it from the host
 * first (EBUSY while something references it).
 */
static void test_rebinding(void)
{
	const uint64_t secret = 0x5ec7e75ec7e75ec7ULL;
	const uint64_t other_gpa = DATA_GPA + 2 * DATA_SIZE;
	uint64_t buf[PAGE_SIZE / 8];
	struct kvm_vcpu *vcpu;
	uint64_t *hva, *hva2;
	struct kvm_vm *vm;
	int fd, fd2, pfd[2], i, r;
	struct iovec iov;
	ssize_t n;

	vm = create_inplace_vm(&vcpu, &fd, &hva);

	/* The guest writes a secret into a private page; the memslot goes. */
	vm_mem_set_private(vm, DATA_GPA + PAGE_SIZE, PAGE_SIZE);
	guest_do(vcpu, OP_WRITE, DATA_GPA + PAGE_SIZE, secret);
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA, 0,
				   hva, fd, 0);
	TEST_ASSERT(host_touch_faults(&hva[PAGE_SIZE / 8], false) ||
		    READ_ONCE(hva[PAGE_SIZE / 8]) != secret,
		    "a private page became readable when its memslot was deleted");

	/* A referenced offset cannot be bound at a private gfn. */
	fd2 = vm_create_guest_memfd(vm, DATA_SIZE, MMAP | INIT_SHARED | INPLACE);
	hva2 = map_gmem(fd2, DATA_SIZE, 0);
	hva2[0] = 0xfeed;
	TEST_ASSERT(!pipe(pfd), "pipe");
	iov = (struct iovec){ .iov_base = hva2, .iov_len = PAGE_SIZE };
	n = vmsplice(pfd[1], &iov, 1, 0);
	TEST_ASSERT(n == PAGE_SIZE, "vmsplice: %zd (%s)", n, strerror(errno));
	vm_mem_set_private(vm, other_gpa, PAGE_SIZE);
	r = __vm_set_user_memory_region2(vm, DATA_SLOT + 1, KVM_MEM_GUEST_MEMFD,
					 other_gpa, DATA_SIZE, hva2, fd2, 0);
	TEST_ASSERT(r == -1 && errno == EBUSY,
		    "binding a referenced offset at a private gfn: %d errno %d", r, errno);
	TEST_ASSERT(!host_touch_faults(&hva2[0], false), "the failed bind changed nothing");

	/* Released, it binds and is private. */
	n = read(pfd[0], buf, sizeof(buf));
	TEST_ASSERT(n == sizeof(buf) && buf[0] == 0xfeed, "pipe read %zd", n);
	close(pfd[0]);
	close(pfd[1]);
	for (i = 0; __vm_set_user_memory_region2(vm, DATA_SLOT + 1, KVM_MEM_GUEST_MEMFD,
						 other_gpa, DATA_SIZE, hva2, fd2, 0); i++) {
		TEST_ASSERT(errno == EBUSY && i < 100, "bind after release: errno %d", errno);
		usleep(10000);
	}
	TEST_ASSERT(host_touch_faults(&hva2[0], false), "bound at a private gfn: private");
	TEST_ASSERT(!host_touch_faults(&hva2[PAGE_SIZE / 8], false),
		    "bound at a shared gfn: shared");
	vm_set_user_memory_region2(vm, DATA_SLOT + 1, KVM_MEM_GUEST_MEMFD, other_gpa, 0,
				   hva2, fd2, 0);

	munmap(hva2, DATA_SIZE);
	close(fd2);
	destroy_inplace_vm(vm, fd, hva);
	ksft_test_result_pass("rebinding: unbound private pages discarded, bind takes pages\n");
}

struct race {
	struct kvm_vcpu *vcpu;
	uint64_t last;
	int mismatches;
};

/*
 * A fault that computed "shared" (or "private") just before a conversion
 * finds the other state when it rechecks, and exits with
 * KVM_EXIT_MEMORY_FAULT; a VMM whose conversions are host-initiated, as
 * here, simply runs the vCPU again.
 */
static void *race_vcpu(void *arg)
{
	struct race *r = arg;
	struct kvm_run *run = r->vcpu->run;

	guest_set_op(r->vcpu, OP_COUNT, DATA_GPA, 1);
	while (__vcpu_run(r->vcpu)) {
		TEST_ASSERT(errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT,
			    "KVM_RUN: errno %d, exit %s", errno,
			    exit_reason_str(run->exit_reason));
		TEST_ASSERT_EQ(run->memory_fault.gpa & ~(PAGE_SIZE - 1ULL), DATA_GPA);
		r->mismatches++;
	}
	r->last = guest_result(r->vcpu);
	return NULL;
}

static void test_race(void)
{
	struct race r = {};
	uint64_t *hva, seen = 0, v, *stop;
	struct kvm_vm *vm;
	pthread_t thread;
	int fd, i;

	vm = create_inplace_vm(&r.vcpu, &fd, &hva);
	stop = addr_gva2hva(vm, (vm_vaddr_t)&guest_stop);
	WRITE_ONCE(*stop, 0);

	pthread_create(&thread, NULL, race_vcpu, &r);
	while (!READ_ONCE(hva[0]))
		sched_yield();

	/*
	 * The guest counts in the page while it flips between shared and
	 * private: it must never see its own write lost (GUEST_ASSERT), the
	 * host must never see the count go backwards, and never reach the page
	 * while it is private.
	 */
	for (i = 0; i < 300; i++) {
		vm_mem_set_private(vm, DATA_GPA, PAGE_SIZE);
		TEST_ASSERT(host_touch_faults(&hva[0], false), "private in round %d", i);
		vm_mem_set_shared(vm, DATA_GPA, PAGE_SIZE);
		v = READ_ONCE(hva[0]);
		TEST_ASSERT(v >= seen, "count went back from %lu to %lu", seen, v);
		seen = v;
	}

	WRITE_ONCE(*stop, 1);
	pthread_join(thread, NULL);
	TEST_ASSERT(r.last >= seen, "final count %lu < %lu", r.last, seen);

	destroy_inplace_vm(vm, fd, hva);
	ksft_test_result_pass("race: 300 conversions, vCPU count %lu, %d mismatch exits\n",
			      r.last, r.mismatches);
}

int main(int argc, char *argv[])
{
	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD_FLAGS));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(SW_PROTECTED_VM));

	ksft_set_plan(9);
	test_bad_input();
	test_mmap_only();
	test_host_access();
	test_gmem_only_vm();
	test_inplace_conversion();
	test_pinned();
	test_referenced();
	test_rebinding();
	test_race();
	ksft_finished();
}
