// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd benchmark, built against the KVM selftest library and run in
 * the test guest by scripts/bench.sh.
 *
 * Fault-in: a vCPU writes FAULT_PAGES fresh 4 KiB pages once each, so every
 * write is a TDP fault, in a fresh VM per repetition, the four kinds
 * interleaved; the time per fault (minimum and median of FAULT_REPS) for
 *   - anon:          a default VM, anonymous memory (the baseline),
 *   - gmem_only:     a default VM running from an INIT_SHARED guest_memfd,
 *                    faulted from the file,
 *   - gmem_shared:   a software-protected VM, in-place guest_memfd, shared
 *                    pages faulted through the host mapping of the file,
 *   - gmem_private:  the same with the range private (kvm_gmem_get_pfn()).
 *
 * Conversions: a software-protected VM whose CONV_SIZE region is populated by
 * the guest and mapped by the host; the time per KVM_SET_MEMORY_ATTRIBUTES
 * call that makes one 4 KiB page, or one 2 MiB range, private and then
 * shared again, for
 *   - inplace:   the region in an mmap()ed INIT_SHARED guest_memfd (host
 *                mappings are taken away on the way to private),
 *   - upstream:  upstream's layout, guest_memfd without mmap and a separate
 *                anonymous shared backing (the baseline).
 *
 * Output: "result <name> <value> <unit>" lines, parsed by scripts/bench.sh.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define REGION_SLOT	10
#define REGION_GPA	(4ULL << 30)
#define FAULT_PAGES	16384ULL	/* 64 MiB */
#define FAULT_REPS	7
#define CONV_SIZE	SZ_64M
#define CONV_PAGES	(CONV_SIZE / PAGE_SIZE)
#define CONV_4K		4096ULL		/* single-page conversions timed */

enum { KIND_ANON, KIND_GMEM_ONLY, KIND_GMEM_SHARED, KIND_GMEM_PRIVATE, NR_KINDS };

static const char * const kind_name[NR_KINDS] = {
	"fault_anon", "fault_gmem_only", "fault_gmem_shared", "fault_gmem_private",
};

static uint64_t touch_pages;

/* Write touch_pages pages, report, and do it again when run again. */
static void guest_touch(void)
{
	uint64_t i, pass;

	for (pass = 1;; pass++) {
		for (i = 0; i < READ_ONCE(touch_pages); i++)
			WRITE_ONCE(*(uint64_t *)(REGION_GPA + i * PAGE_SIZE), pass);
		GUEST_DONE();
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void result(const char *name, double value, const char *unit)
{
	printf("result %s %.3f %s\n", name, value, unit);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct region {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int fd;
	void *hva;
	size_t size;
};

/* A VM with one vCPU and @size bytes at REGION_GPA of the given kind. */
static void region_create(struct region *r, int kind, size_t size, bool inplace)
{
	struct vm_shape shape = { .mode = VM_MODE_DEFAULT };
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

	if (kind != KIND_ANON && kind != KIND_GMEM_ONLY) {
		shape.type = KVM_X86_SW_PROTECTED_VM;
		flags |= GUEST_MEMFD_FLAG_INPLACE_CONVERSION;
	}
	r->vm = __vm_create_with_vcpus(shape, 1, 0, guest_touch, &r->vcpu);
	r->size = size;
	r->fd = -1;

	if (kind == KIND_ANON || (kind != KIND_GMEM_ONLY && !inplace)) {
		/* Anonymous memory; guest_memfd for the private side if any. */
		r->hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		TEST_ASSERT(r->hva != MAP_FAILED, "mmap");
		madvise(r->hva, size, MADV_NOHUGEPAGE);
		if (kind != KIND_ANON)
			r->fd = vm_create_guest_memfd(r->vm, size, 0);
	} else {
		r->fd = vm_create_guest_memfd(r->vm, size, flags);
		r->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		TEST_ASSERT(r->hva != MAP_FAILED, "mmap(guest_memfd)");
	}
	vm_set_user_memory_region2(r->vm, REGION_SLOT,
				   r->fd >= 0 ? KVM_MEM_GUEST_MEMFD : 0,
				   REGION_GPA, size, r->hva, r->fd >= 0 ? r->fd : 0, 0);
	virt_map(r->vm, REGION_GPA, REGION_GPA, size / PAGE_SIZE);
	if (kind == KIND_GMEM_PRIVATE)
		vm_mem_set_private(r->vm, REGION_GPA, size);
}

static void region_destroy(struct region *r)
{
	kvm_vm_free(r->vm);
	munmap(r->hva, r->size);
	if (r->fd >= 0)
		close(r->fd);
}

static void guest_run_touch(struct region *r, uint64_t npages)
{
	struct ucall uc;

	touch_pages = npages;
	sync_global_to_guest(r->vm, touch_pages);
	vcpu_run(r->vcpu);
	if (get_ucall(r->vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, UCALL_DONE);
}

static void bench_faults(void)
{
	double t[NR_KINDS][FAULT_REPS];
	char name[64];
	int rep, kind;

	for (rep = 0; rep < FAULT_REPS; rep++) {
		for (kind = 0; kind < NR_KINDS; kind++) {
			struct region r;
			double start;

			region_create(&r, kind, FAULT_PAGES * PAGE_SIZE, true);
			start = now_ns();
			guest_run_touch(&r, FAULT_PAGES);
			t[kind][rep] = (now_ns() - start) / FAULT_PAGES;
			region_destroy(&r);
		}
	}

	for (kind = 0; kind < NR_KINDS; kind++) {
		qsort(t[kind], FAULT_REPS, sizeof(double), cmp_double);
		snprintf(name, sizeof(name), "%s_min", kind_name[kind]);
		result(name, t[kind][0], "ns");
		snprintf(name, sizeof(name), "%s_median", kind_name[kind]);
		result(name, t[kind][FAULT_REPS / 2], "ns");
	}
}

/* Populate the region from the guest and, if in place, the host mapping. */
static void populate(struct region *r, bool inplace)
{
	uint64_t i;

	guest_run_touch(r, CONV_PAGES);
	if (inplace)
		for (i = 0; i < CONV_PAGES; i++)
			WRITE_ONCE(*(uint64_t *)(r->hva + i * PAGE_SIZE), i);
}

/* Time @n conversions of @step bytes each, to private then to shared. */
static void time_conversions(struct region *r, uint64_t step, uint64_t n,
			     double *to_private, double *to_shared)
{
	uint64_t i, gpa;
	double start;

	start = now_ns();
	for (i = 0, gpa = REGION_GPA; i < n; i++, gpa += step)
		vm_mem_set_private(r->vm, gpa, step);
	*to_private = (now_ns() - start) / n;

	start = now_ns();
	for (i = 0, gpa = REGION_GPA; i < n; i++, gpa += step)
		vm_mem_set_shared(r->vm, gpa, step);
	*to_shared = (now_ns() - start) / n;
}

static void bench_conversions(void)
{
	static const char * const layout[] = { "upstream", "inplace" };
	double priv, shared;
	char name[64];
	int inplace;

	for (inplace = 0; inplace < 2; inplace++) {
		struct region r;

		region_create(&r, KIND_GMEM_SHARED, CONV_SIZE, inplace);

		populate(&r, inplace);
		time_conversions(&r, PAGE_SIZE, CONV_4K, &priv, &shared);
		snprintf(name, sizeof(name), "conv_4k_private_%s", layout[inplace]);
		result(name, priv / 1000, "us");
		snprintf(name, sizeof(name), "conv_4k_shared_%s", layout[inplace]);
		result(name, shared / 1000, "us");

		populate(&r, inplace);
		time_conversions(&r, SZ_2M, CONV_SIZE / SZ_2M, &priv, &shared);
		snprintf(name, sizeof(name), "conv_2m_private_%s", layout[inplace]);
		result(name, priv / 1000, "us");
		snprintf(name, sizeof(name), "conv_2m_shared_%s", layout[inplace]);
		result(name, shared / 1000, "us");

		region_destroy(&r);
	}
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD_FLAGS));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));

	bench_faults();
	bench_conversions();
	return 0;
}
