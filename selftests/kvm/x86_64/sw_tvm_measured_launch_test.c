// SPDX-License-Identifier: GPL-2.0
/*
 * Measured launch of software-protected VMs (KVM_CAP_TVM_MEASURED_LAUNCH):
 * bad input, the digest's dependence on content, GPA and order, finalize,
 * the guest's view of the digest through KVM_HC_TVM_GET_MEASUREMENT, the
 * launch order (no KVM_RUN while measuring, no launch after KVM_RUN), and
 * the binding of the digest to memory: a measured page cannot be converted
 * to shared, punched out, mapped by the host (also once its memslot is
 * gone), bound again, or backed by another memslot; and the instructions KVM
 * emulates for a guest whose code, page tables and data are private.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/kvm_para.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define DATA_SLOT	10
#define DATA_GPA	0x100000000ULL	/* 4 GiB */
#define DATA_PAGES	16
#define DATA_SIZE	(DATA_PAGES * PAGE_SIZE)
#define OTHER_SLOT	11
#define OTHER_GPA	0x180000000ULL	/* 6 GiB */
/* test_emulation(): a 2 MiB window mapped by a private page table. */
#define STUB_VA		0x80000000ULL
#define MMIO_GPA	0xc0000000	/* also an assembler operand: no suffix */
#define STUB_PORT	0x99
#define STUB_MMIO_VAL	0x12345678

#define expect_errno(call, err, what)					\
do {									\
	long __r = (long)(call);					\
	int __err = (err);						\
									\
	TEST_ASSERT(__r == -1 && errno == __err,			\
		    "%s: returned %ld, errno %d, expected errno %d",	\
		    what, __r, errno, __err);				\
} while (0)

/* Source pages: page i is filled with the byte 'A' + i. */
static uint8_t *src;

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len--)
		if (*b++)
			return false;
	return true;
}

static int add_pages(struct kvm_vm *vm, uint64_t gpa, uint64_t size, void *uaddr,
		     struct kvm_tvm_measured_pages *out)
{
	struct kvm_tvm_measured_pages args = {
		.gpa = gpa, .size = size, .uaddr = (uint64_t)uaddr,
	};
	int r = __vm_ioctl(vm, KVM_TVM_ADD_MEASURED_PAGES, &args);

	if (out)
		*out = args;
	return r;
}

static void add_pages_ok(struct kvm_vm *vm, uint64_t gpa, uint64_t size, void *uaddr)
{
	TEST_ASSERT(!add_pages(vm, gpa, size, uaddr, NULL),
		    "KVM_TVM_ADD_MEASURED_PAGES(0x%lx, 0x%lx): %s", gpa, size,
		    strerror(errno));
}

static struct kvm_tvm_measurement measurement(struct kvm_vm *vm)
{
	struct kvm_tvm_measurement m;

	memset(&m, 0xff, sizeof(m));
	vm_ioctl(vm, KVM_TVM_GET_MEASUREMENT, &m);
	TEST_ASSERT_EQ(m.digest_size, KVM_TVM_DIGEST_SIZE);
	TEST_ASSERT(all_zero(m.digest + KVM_TVM_DIGEST_SIZE,
			     sizeof(m.digest) - KVM_TVM_DIGEST_SIZE) &&
		    all_zero(m.reserved, sizeof(m.reserved)),
		    "unused digest and reserved bytes must be zero");
	return m;
}

/* ------------------------------------------------------------- the guest */

struct guest_digest {
	uint64_t ret;
	uint64_t w[6];
};

static struct guest_digest guest_get_measurement(uint64_t flags)
{
	register uint64_t r8 asm("r8");
	struct guest_digest d;

	if (host_cpu_is_amd)
		asm volatile("vmmcall"
			     : "=a"(d.ret), "=b"(d.w[0]), "=c"(d.w[1]), "=d"(d.w[2]),
			       "=S"(d.w[3]), "=D"(d.w[4]), "=r"(r8)
			     : "a"(KVM_HC_TVM_GET_MEASUREMENT), "b"(flags)
			     : "memory");
	else
		asm volatile("vmcall"
			     : "=a"(d.ret), "=b"(d.w[0]), "=c"(d.w[1]), "=d"(d.w[2]),
			       "=S"(d.w[3]), "=D"(d.w[4]), "=r"(r8)
			     : "a"(KVM_HC_TVM_GET_MEASUREMENT), "b"(flags)
			     : "memory");
	d.w[5] = r8;
	return d;
}

static struct guest_digest guest_result;

static void guest_code(void)
{
	struct guest_digest d;
	int i, j;

	/* The measured pages hold what the VMM added. */
	for (i = 0; i < DATA_PAGES; i++)
		for (j = 0; j < PAGE_SIZE; j += 512)
			GUEST_ASSERT_EQ(READ_ONCE(*(uint8_t *)(DATA_GPA + i * PAGE_SIZE + j)),
					'A' + i);

	d = guest_get_measurement(1);
	GUEST_ASSERT_EQ(d.ret, (uint64_t)-KVM_EINVAL);

	guest_result = guest_get_measurement(0);
	GUEST_DONE();
}

/*
 * Copied into a private page and run from STUB_VA, through a private page
 * table, with RDI = its private data page: string I/O out of and into that
 * page (KVM decodes and emulates both, on any CPU), an MMIO store (decoded
 * unless the CPU hands KVM the instruction bytes) and CPUID (decoded to be
 * skipped on a CPU without NRIP save).  Position-independent; touches the
 * data page only through the instructions KVM emulates.
 */
extern char tvm_stub_start[], tvm_stub_end[];
asm(".pushsection .text\n"
	"tvm_stub_start:\n"
	"	push %rbx\n"
	"	mov %rdi, %rsi\n"
	"	mov $" __stringify(STUB_PORT) ", %edx\n"
	"	mov $8, %ecx\n"
	"	rep outsb\n"
	"	add $8, %rdi\n"
	"	mov $8, %ecx\n"
	"	rep insb\n"
	"	mov $" __stringify(MMIO_GPA) ", %eax\n"
	"	movl $" __stringify(STUB_MMIO_VAL) ", (%rax)\n"
	"	xor %eax, %eax\n"
	"	cpuid\n"
	"	pop %rbx\n"
	"	ret\n"
	"tvm_stub_end:\n"
	".popsection\n");

#define STUB_OUT	0x1122334455667788ULL
#define STUB_IN		0x8877665544332211ULL

static struct {
	uint64_t pte_before, pte_after, in;
} emu_result;

static void guest_emulation(void)
{
	uint64_t *pte = (uint64_t *)(DATA_GPA + PAGE_SIZE) + 2;
	uint64_t *data = (uint64_t *)(STUB_VA + 2 * PAGE_SIZE);

	emu_result.pte_before = READ_ONCE(*pte);
	((void (*)(uint64_t *))STUB_VA)(data);
	/* Before the guest itself touches the data page. */
	emu_result.pte_after = READ_ONCE(*pte);
	emu_result.in = READ_ONCE(data[1]);
	GUEST_DONE();
}

/* A VM that runs without a measured launch. */
static void guest_unmeasured(void)
{
	guest_result = guest_get_measurement(0);
	GUEST_DONE();
}

/* --------------------------------------------------------------- helpers */

/* A software-protected VM with DATA_SIZE of private guest_memfd at DATA_GPA. */
static struct kvm_vm *__create_tvm(struct kvm_vcpu **vcpu, void *code)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = KVM_X86_SW_PROTECTED_VM,
	};
	struct kvm_vm *vm;

	if (vcpu)
		vm = __vm_create_with_vcpus(shape, 1, 0, code, vcpu);
	else
		vm = ____vm_create(shape);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, DATA_GPA, DATA_SLOT, DATA_PAGES,
		   KVM_MEM_GUEST_MEMFD, -1, 0);
	vm_mem_set_private(vm, DATA_GPA, DATA_SIZE);
	return vm;
}

static struct kvm_vm *create_tvm(struct kvm_vcpu **vcpu)
{
	return __create_tvm(vcpu, guest_code);
}

static int set_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attributes)
{
	struct kvm_memory_attributes attr = {
		.address = gpa, .size = size, .attributes = attributes,
	};

	return __vm_ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &attr);
}

static void run_to_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, UCALL_DONE);
}

static sigjmp_buf sigbus_env;

static void sigbus_handler(int sig)
{
	siglongjmp(sigbus_env, 1);
}

/* Read @p from the host; true if that raised SIGBUS. */
static bool host_read_faults(const uint8_t *p)
{
	struct sigaction sa = { .sa_handler = sigbus_handler }, old;
	bool faulted;

	TEST_ASSERT(!sigaction(SIGBUS, &sa, &old), "sigaction");
	faulted = sigsetjmp(sigbus_env, 1);
	if (!faulted)
		(void)READ_ONCE(*p);
	TEST_ASSERT(!sigaction(SIGBUS, &old, NULL), "sigaction");
	return faulted;
}

/* The digest of a VM whose pages were added by @add. */
static void digest_of(void (*add)(struct kvm_vm *vm), uint8_t *digest)
{
	struct kvm_vm *vm = create_tvm(NULL);
	struct kvm_tvm_measurement m;

	add(vm);
	vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	m = measurement(vm);
	TEST_ASSERT_EQ(m.flags, KVM_TVM_MEASUREMENT_FINALIZED);
	memcpy(digest, m.digest, KVM_TVM_DIGEST_SIZE);
	kvm_vm_free(vm);
}

static void add_in_order(struct kvm_vm *vm)
{
	add_pages_ok(vm, DATA_GPA, 4 * PAGE_SIZE, src);
}

static void add_one_by_one(struct kvm_vm *vm)
{
	int i;

	for (i = 0; i < 4; i++)
		add_pages_ok(vm, DATA_GPA + i * PAGE_SIZE, PAGE_SIZE, src + i * PAGE_SIZE);
}

static void add_swapped(struct kvm_vm *vm)
{
	add_pages_ok(vm, DATA_GPA + PAGE_SIZE, PAGE_SIZE, src + PAGE_SIZE);
	add_pages_ok(vm, DATA_GPA, PAGE_SIZE, src);
	add_pages_ok(vm, DATA_GPA + 2 * PAGE_SIZE, 2 * PAGE_SIZE, src + 2 * PAGE_SIZE);
}

static void add_moved(struct kvm_vm *vm)
{
	add_pages_ok(vm, DATA_GPA + PAGE_SIZE, 4 * PAGE_SIZE, src);
}

static void add_changed_byte(struct kvm_vm *vm)
{
	src[3 * PAGE_SIZE + 100] ^= 1;
	add_pages_ok(vm, DATA_GPA, 4 * PAGE_SIZE, src);
	src[3 * PAGE_SIZE + 100] ^= 1;
}

static void add_fewer(struct kvm_vm *vm)
{
	add_pages_ok(vm, DATA_GPA, 3 * PAGE_SIZE, src);
}

/* ----------------------------------------------------------------- tests */

static void test_bad_input(void)
{
	struct kvm_tvm_measured_pages args;
	struct kvm_tvm_measurement m;
	struct kvm_vm *vm;
	void *unmapped;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_TVM_MEASURED_LAUNCH), 1);

	/* Only software-protected VMs. */
	vm = vm_create_barebones();
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_TVM_MEASURED_LAUNCH), 0);
	expect_errno(add_pages(vm, DATA_GPA, PAGE_SIZE, src, NULL), EINVAL, "default VM: add");
	expect_errno(__vm_ioctl(vm, KVM_TVM_FINALIZE, NULL), EINVAL, "default VM: finalize");
	expect_errno(__vm_ioctl(vm, KVM_TVM_GET_MEASUREMENT, &m), EINVAL, "default VM: get");
	kvm_vm_free(vm);

	vm = create_tvm(NULL);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_TVM_MEASURED_LAUNCH), 1);

	/* Nothing added yet: a zero digest, not finalized. */
	m = measurement(vm);
	TEST_ASSERT(!m.flags && !m.nr_pages && all_zero(m.digest, sizeof(m.digest)),
		    "fresh measurement must be empty");

	args = (struct kvm_tvm_measured_pages){
		.gpa = DATA_GPA, .size = PAGE_SIZE, .uaddr = (uint64_t)src, .flags = 1,
	};
	expect_errno(__vm_ioctl(vm, KVM_TVM_ADD_MEASURED_PAGES, &args), EINVAL, "flags");
	args.flags = 0;
	args.reserved[3] = 1;
	expect_errno(__vm_ioctl(vm, KVM_TVM_ADD_MEASURED_PAGES, &args), EINVAL, "reserved");

	expect_errno(add_pages(vm, DATA_GPA, 0, src, NULL), EINVAL, "size 0");
	expect_errno(add_pages(vm, DATA_GPA + 8, PAGE_SIZE, src, NULL), EINVAL, "gpa alignment");
	expect_errno(add_pages(vm, DATA_GPA, 100, src, NULL), EINVAL, "size alignment");
	expect_errno(add_pages(vm, DATA_GPA, PAGE_SIZE, src + 8, NULL), EINVAL, "uaddr alignment");
	expect_errno(add_pages(vm, -PAGE_SIZE, 2 * PAGE_SIZE, src, NULL), EINVAL, "gpa overflow");
	expect_errno(add_pages(vm, DATA_GPA, 2 * PAGE_SIZE, (void *)-PAGE_SIZE, NULL),
		     EINVAL, "uaddr overflow");
	expect_errno(add_pages(vm, 1ULL << 52, PAGE_SIZE, src, NULL), EINVAL,
		     "gpa beyond the MMU's reach");
	expect_errno(add_pages(vm, 0x200000000ULL, PAGE_SIZE, src, NULL), EINVAL,
		     "gpa without a memslot");

	/* Shared memory cannot be measured. */
	vm_mem_set_shared(vm, DATA_GPA, PAGE_SIZE);
	expect_errno(add_pages(vm, DATA_GPA, PAGE_SIZE, src, NULL), EINVAL, "shared gpa");
	vm_mem_set_private(vm, DATA_GPA, PAGE_SIZE);

	/* A bad source fails at the first page it cannot read; what is left is reported. */
	unmapped = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(unmapped != MAP_FAILED, "mmap");
	memcpy(unmapped, src, PAGE_SIZE);
	munmap(unmapped + PAGE_SIZE, PAGE_SIZE);
	expect_errno(add_pages(vm, DATA_GPA, 2 * PAGE_SIZE, unmapped, &args), EFAULT,
		     "unreadable source");
	TEST_ASSERT(args.gpa == DATA_GPA + PAGE_SIZE && args.size == PAGE_SIZE &&
		    args.uaddr == (uint64_t)unmapped + PAGE_SIZE,
		    "progress after EFAULT: gpa 0x%llx size 0x%llx",
		    args.gpa, args.size);
	munmap(unmapped, PAGE_SIZE);
	TEST_ASSERT_EQ(measurement(vm).nr_pages, 1);

	/* A page that cannot be measured stops the add; progress is reported. */
	vm_mem_set_shared(vm, DATA_GPA + 3 * PAGE_SIZE, PAGE_SIZE);
	expect_errno(add_pages(vm, DATA_GPA + PAGE_SIZE, 3 * PAGE_SIZE, src, &args), EINVAL,
		     "shared third page");
	TEST_ASSERT(args.gpa == DATA_GPA + 3 * PAGE_SIZE && args.size == PAGE_SIZE &&
		    args.uaddr == (uint64_t)src + 2 * PAGE_SIZE,
		    "progress after EINVAL: gpa 0x%llx size 0x%llx", args.gpa, args.size);
	TEST_ASSERT_EQ(measurement(vm).nr_pages, 3);
	vm_mem_set_private(vm, DATA_GPA + 3 * PAGE_SIZE, PAGE_SIZE);

	/* A page can be added once. */
	expect_errno(add_pages(vm, DATA_GPA, PAGE_SIZE, src, NULL), EEXIST, "page added twice");

	/* Finalize once; afterwards nothing can be added. */
	vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	expect_errno(__vm_ioctl(vm, KVM_TVM_FINALIZE, NULL), EPERM, "second finalize");
	expect_errno(add_pages(vm, DATA_GPA + 4 * PAGE_SIZE, PAGE_SIZE, src, NULL), EPERM,
		     "add after finalize");
	m = measurement(vm);
	TEST_ASSERT_EQ(m.flags, KVM_TVM_MEASUREMENT_FINALIZED);
	TEST_ASSERT_EQ(m.nr_pages, 3);

	kvm_vm_free(vm);
	ksft_test_result_pass("bad input: VM type, flags, reserved, alignment, ranges, %s\n",
			      "EFAULT and EINVAL progress, EEXIST, EPERM");
}

static void test_digest(void)
{
	uint8_t a[KVM_TVM_DIGEST_SIZE], b[KVM_TVM_DIGEST_SIZE];
	uint8_t other[KVM_TVM_DIGEST_SIZE];
	static const struct {
		void (*add)(struct kvm_vm *vm);
		const char *what;
	} differ[] = {
		{ add_swapped, "a changed order" },
		{ add_moved, "a changed GPA" },
		{ add_changed_byte, "one changed byte" },
		{ add_fewer, "a changed size" },
	};
	int i;

	digest_of(add_in_order, a);
	TEST_ASSERT(!all_zero(a, sizeof(a)), "digest must not be zero");
	digest_of(add_in_order, b);
	TEST_ASSERT(!memcmp(a, b, sizeof(a)), "same content, different digest");
	digest_of(add_one_by_one, b);
	TEST_ASSERT(!memcmp(a, b, sizeof(a)), "page by page must equal one range");

	for (i = 0; i < ARRAY_SIZE(differ); i++) {
		digest_of(differ[i].add, other);
		TEST_ASSERT(memcmp(a, other, sizeof(a)),
			    "%s must change the digest", differ[i].what);
	}
	ksft_test_result_pass("digest: deterministic; order, GPA, content and size change it\n");
}

static void test_guest(void)
{
	struct kvm_tvm_measurement m;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = create_tvm(&vcpu);
	add_pages_ok(vm, DATA_GPA, DATA_SIZE, src);
	virt_map(vm, DATA_GPA, DATA_GPA, DATA_PAGES);

	/* No vCPU runs while the launch is being measured. */
	expect_errno(__vcpu_run(vcpu), EPERM, "KVM_RUN before finalize");

	vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	run_to_done(vcpu);

	sync_global_from_guest(vm, guest_result);
	m = measurement(vm);
	TEST_ASSERT_EQ(m.nr_pages, DATA_PAGES);
	TEST_ASSERT_EQ(guest_result.ret, 0);
	TEST_ASSERT(!memcmp(guest_result.w, m.digest, KVM_TVM_DIGEST_SIZE),
		    "the guest and the VMM read different digests");

	kvm_vm_free(vm);
	ksft_test_result_pass("guest: runs once finalized; reads the measured pages and digest\n");
}

/*
 * A TVM whose code, page table and data are private: KVM fetches and decodes
 * its instructions, walks its page table and sets the accessed and dirty bits
 * there, and reads and writes its data through guest_memfd.  The shared view
 * of those gfns (the memslot's anonymous memory) holds zeros, and an access
 * to a private gfn never leaves KVM as an MMIO exit.
 */
static void test_emulation(void)
{
	size_t stub_len = tvm_stub_end - tvm_stub_start;
	uint64_t out = STUB_OUT, in = STUB_IN;
	uint64_t *img, *pt, *pde, *shared;
	int level = PG_LEVEL_2M;
	struct kvm_translation tr = {};
	struct kvm_vcpu *vcpu;
	size_t done;
	struct kvm_run *run;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = __create_tvm(&vcpu, guest_emulation);
	img = mmap(NULL, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(img != MAP_FAILED, "mmap");
	TEST_ASSERT(stub_len <= PAGE_SIZE, "stub of %zu bytes", stub_len);
	memcpy(img, tvm_stub_start, stub_len);
	/* Page 1, the page table: page 0 (code) and page 2 (data), A/D clear. */
	pt = img + PAGE_SIZE / 8;
	pt[0] = DATA_GPA | PTE_PRESENT_MASK | PTE_WRITABLE_MASK;
	pt[2] = (DATA_GPA + 2 * PAGE_SIZE) | PTE_PRESENT_MASK | PTE_WRITABLE_MASK;
	memcpy(img + 2 * PAGE_SIZE / 8, &out, sizeof(out));
	add_pages_ok(vm, DATA_GPA, 3 * PAGE_SIZE, img);

	/* The guest reads the page table through an identity map. */
	virt_map(vm, DATA_GPA, DATA_GPA, DATA_PAGES);
	virt_map(vm, MMIO_GPA, MMIO_GPA, 1);
	/* STUB_VA's page directory entry points at the private page table. */
	virt_pg_map(vm, STUB_VA, DATA_GPA);
	pde = __vm_get_page_table_entry(vm, STUB_VA, &level);
	TEST_ASSERT_EQ(level, PG_LEVEL_2M);
	*pde = (DATA_GPA + PAGE_SIZE) | PTE_PRESENT_MASK | PTE_WRITABLE_MASK;

	vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	run = vcpu->run;

	/* KVM may split a rep string instruction into several exits. */
	for (done = 0; done < sizeof(out); done += run->io.count) {
		vcpu_run(vcpu);
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO &&
			    run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.port == STUB_PORT && run->io.size == 1 &&
			    run->io.count && run->io.count <= sizeof(out) - done,
			    "rep outsb: exit %s, port 0x%x, count %u after %zu",
			    exit_reason_str(run->exit_reason), run->io.port,
			    run->io.count, done);
		TEST_ASSERT(!memcmp((uint8_t *)run + run->io.data_offset,
				    (uint8_t *)&out + done, run->io.count),
			    "rep outsb from private memory: not what was measured in");
	}
	for (done = 0; done < sizeof(in); done += run->io.count) {
		vcpu_run(vcpu);
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO &&
			    run->io.direction == KVM_EXIT_IO_IN &&
			    run->io.port == STUB_PORT && run->io.size == 1 &&
			    run->io.count && run->io.count <= sizeof(in) - done,
			    "rep insb: exit %s, port 0x%x, count %u after %zu",
			    exit_reason_str(run->exit_reason), run->io.port,
			    run->io.count, done);
		memcpy((uint8_t *)run + run->io.data_offset, (uint8_t *)&in + done,
		       run->io.count);
	}

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == MMIO_GPA && run->mmio.len == 4,
		    "MMIO store: exit %s at 0x%llx",
		    exit_reason_str(run->exit_reason), run->mmio.phys_addr);
	TEST_ASSERT_EQ(*(uint32_t *)run->mmio.data, STUB_MMIO_VAL);

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(uc.cmd == UCALL_DONE, "exit %s, ucall %lu",
		    exit_reason_str(run->exit_reason), uc.cmd);

	sync_global_from_guest(vm, emu_result);
	TEST_ASSERT(!(emu_result.pte_before & (PTE_ACCESSED_MASK | PTE_DIRTY_MASK)),
		    "data PTE 0x%lx before the stub", emu_result.pte_before);
	TEST_ASSERT((emu_result.pte_after & (PTE_ACCESSED_MASK | PTE_DIRTY_MASK)) ==
		    (PTE_ACCESSED_MASK | PTE_DIRTY_MASK),
		    "KVM's walk left the private PTE at 0x%lx", emu_result.pte_after);
	TEST_ASSERT(emu_result.in == STUB_IN,
		    "rep insb wrote 0x%lx to private memory", emu_result.in);
	/*
	 * The VMM's own walks do not reach private page tables: KVM_TRANSLATE
	 * of the stub's data page fails where the guest's accesses went
	 * through, while a VA mapped by shared tables translates.
	 */
	tr.linear_address = STUB_VA + 2 * PAGE_SIZE;
	vcpu_ioctl(vcpu, KVM_TRANSLATE, &tr);
	TEST_ASSERT(!tr.valid, "KVM_TRANSLATE walked the private page table to 0x%llx",
		    tr.physical_address);
	tr.linear_address = DATA_GPA + PAGE_SIZE;
	vcpu_ioctl(vcpu, KVM_TRANSLATE, &tr);
	TEST_ASSERT(tr.valid && tr.physical_address == DATA_GPA + PAGE_SIZE,
		    "KVM_TRANSLATE of a shared mapping: valid %u, 0x%llx",
		    tr.valid, tr.physical_address);

	/* The shared view of the data page never saw any of it. */
	shared = addr_gpa2hva(vm, DATA_GPA + 2 * PAGE_SIZE);
	TEST_ASSERT(!shared[0] && !shared[1], "shared view: 0x%lx 0x%lx",
		    shared[0], shared[1]);
	munmap(img, 3 * PAGE_SIZE);
	kvm_vm_free(vm);
	ksft_test_result_pass("emulation: fetch, walk, A/D, I/O, MMIO, CPUID in private pages\n");
}

/* A VM whose vCPU ran first cannot start a measured launch. */
static void test_unmeasured(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = __create_tvm(&vcpu, guest_unmeasured);
	run_to_done(vcpu);
	sync_global_from_guest(vm, guest_result);
	TEST_ASSERT_EQ(guest_result.ret, (uint64_t)-KVM_EPERM);

	expect_errno(add_pages(vm, DATA_GPA, PAGE_SIZE, src, NULL), EPERM, "add after KVM_RUN");
	expect_errno(__vm_ioctl(vm, KVM_TVM_FINALIZE, NULL), EPERM, "finalize after KVM_RUN");
	TEST_ASSERT_EQ(measurement(vm).nr_pages, 0);
	kvm_vm_free(vm);
	ksft_test_result_pass("unmeasured: no launch after KVM_RUN; the guest sees EPERM\n");
}

/*
 * Once measured, a page stays private and unchanged: the VMM can neither
 * convert it, punch it out, map it (also after deleting its memslot), bind
 * its guest_memfd offset again, nor back its gfn with another memslot.
 */
static void test_binding(void)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = KVM_X86_SW_PROTECTED_VM,
	};
	uint64_t flags = 0;
	struct kvm_vm *vm;
	uint8_t *map = NULL;
	int fd, other;

	vm = ____vm_create(shape);
	if (vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION))
		flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
			GUEST_MEMFD_FLAG_INPLACE_CONVERSION;
	fd = vm_create_guest_memfd(vm, DATA_SIZE, flags);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, DATA_GPA, DATA_SLOT, DATA_PAGES,
		   KVM_MEM_GUEST_MEMFD, fd, 0);
	vm_mem_set_private(vm, DATA_GPA, DATA_SIZE);
	if (flags) {
		map = mmap(NULL, DATA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		TEST_ASSERT(map != MAP_FAILED, "mmap(guest_memfd)");
	}

	/* Pages 0 and 1 are measured, 2 and 3 are private but not measured. */
	add_pages_ok(vm, DATA_GPA, 2 * PAGE_SIZE, src);

	expect_errno(set_attributes(vm, DATA_GPA, PAGE_SIZE, 0), EPERM,
		     "converting a measured page to shared");
	expect_errno(set_attributes(vm, DATA_GPA + PAGE_SIZE, 2 * PAGE_SIZE, 0), EPERM,
		     "converting a range with a measured page to shared");
	TEST_ASSERT(!set_attributes(vm, DATA_GPA + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 0),
		    "converting unmeasured pages: %s", strerror(errno));
	vm_mem_set_private(vm, DATA_GPA + 2 * PAGE_SIZE, 2 * PAGE_SIZE);

	expect_errno(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE),
		     EPERM, "punching a measured page");
	expect_errno(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PAGE_SIZE,
			       2 * PAGE_SIZE), EPERM, "punching a range with a measured page");
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       3 * PAGE_SIZE, PAGE_SIZE),
		    "punching an unmeasured page: %s", strerror(errno));

	/* Finalized or not, the memslot may go; the measured pages stay private. */
	vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	vm_mem_region_delete(vm, DATA_SLOT);
	if (map) {
		TEST_ASSERT(host_read_faults(map), "measured page readable once unbound");
		TEST_ASSERT(host_read_faults(map + PAGE_SIZE),
			    "measured page readable once unbound");
		TEST_ASSERT(!host_read_faults(map + 2 * PAGE_SIZE),
			    "an unbound unmeasured page is shared");
	}
	expect_errno(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE),
		     EPERM, "punching a measured page once unbound");

	/* Its offsets cannot be bound again, its gfns cannot be backed again. */
	expect_errno(__vm_set_user_memory_region2(vm, OTHER_SLOT, KVM_MEM_GUEST_MEMFD,
						  OTHER_GPA, DATA_SIZE, src, fd, 0),
		     EPERM, "binding measured offsets again");
	TEST_ASSERT(!__vm_set_user_memory_region2(vm, OTHER_SLOT, KVM_MEM_GUEST_MEMFD,
						  OTHER_GPA, 2 * PAGE_SIZE, src, fd,
						  2 * PAGE_SIZE),
		    "binding unmeasured offsets: %s", strerror(errno));
	TEST_ASSERT(!__vm_set_user_memory_region2(vm, OTHER_SLOT, 0, OTHER_GPA, 0, NULL, 0, 0),
		    "deleting that memslot: %s", strerror(errno));

	other = vm_create_guest_memfd(vm, DATA_SIZE, 0);
	expect_errno(__vm_set_user_memory_region2(vm, OTHER_SLOT, KVM_MEM_GUEST_MEMFD,
						  DATA_GPA, DATA_SIZE, src, other, 0),
		     EPERM, "a new guest_memfd memslot over measured gfns");
	expect_errno(__vm_set_user_memory_region2(vm, OTHER_SLOT, 0, DATA_GPA + PAGE_SIZE,
						  PAGE_SIZE, src, 0, 0),
		     EPERM, "a new memslot over a measured gfn");
	TEST_ASSERT(!__vm_set_user_memory_region2(vm, OTHER_SLOT, 0,
						  DATA_GPA + 2 * PAGE_SIZE, PAGE_SIZE,
						  src, 0, 0),
		    "a new memslot over an unmeasured gfn: %s", strerror(errno));
	TEST_ASSERT(!__vm_set_user_memory_region2(vm, OTHER_SLOT, 0, OTHER_GPA, 0, NULL, 0, 0),
		    "deleting that memslot: %s", strerror(errno));
	close(other);

	if (map)
		munmap(map, DATA_SIZE);
	kvm_vm_free(vm);
	close(fd);
	ksft_test_result_pass("binding: measured pages stay private and in place%s\n",
			      flags ? " (with mmap)" : "");
}

/*
 * Run each test in a child, so that a failed assertion fails that test alone
 * and the others still run and report.
 */
static void run(void (*test)(void), const char *name)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		unsigned int skipped = ksft_get_xskip_cnt();

		test();
		exit(ksft_get_xskip_cnt() != skipped ? KSFT_SKIP : KSFT_PASS);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS)
		ksft_inc_pass_cnt();
	else if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
		ksft_inc_xskip_cnt();
	else
		ksft_test_result_fail("%s\n", name);
}

int main(int argc, char *argv[])
{
	int i;

	ksft_print_header();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_TVM_MEASURED_LAUNCH));

	src = mmap(NULL, DATA_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(src != MAP_FAILED, "mmap");
	for (i = 0; i < DATA_PAGES; i++)
		memset(src + i * PAGE_SIZE, 'A' + i, PAGE_SIZE);

	ksft_set_plan(6);
	run(test_bad_input, "bad input");
	run(test_digest, "digest");
	run(test_guest, "guest");
	run(test_unmeasured, "unmeasured");
	run(test_binding, "binding");
	run(test_emulation, "emulation");
	ksft_finished();
}
