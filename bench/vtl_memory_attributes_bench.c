// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VTL memory attribute benchmark, built against the KVM selftest library
 * and run in the test guest by scripts/bench.sh.
 *
 * Protection changes: NR_CHANGES scattered single-page changes on a
 * REGION_SIZE guest while its vCPUs run (they write a working set in the
 * same memslot), timed per page for
 *   - KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, BATCH entries per call,
 *   - KVM_SET_VTL_MEMORY_ATTRIBUTES, one call per page,
 *   - the memslot approach, one KVM_SET_USER_MEMORY_REGION (a new 4 KiB
 *     read-only slot) per change, as many as KVM allows,
 *   - upstream KVM_SET_MEMORY_ATTRIBUTES(PRIVATE), one call per page, on a
 *     KVM_X86_SW_PROTECTED_VM whose region is guest_memfd-backed.
 *
 * Fault path: a vCPU writes FAULT_PAGES fresh pages once each; the time per
 * fault on a VM without layers ("plain"), with layers enabled and empty, and
 * with a populated layer (restrictions elsewhere), FAULT_REPS fresh VMs each,
 * interleaved; the minimum and the median are printed.  With -f only "plain"
 * runs, which is what runs on the stock modules; -F runs the three fault
 * configurations and nothing else (the instruction-count run of
 * scripts/bench.sh, where the clock counts instructions).
 *
 * Output: "result <name> <value> <unit>" lines, parsed by scripts/bench.sh.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"
#include "vtl_util.h"

#define REGION_SLOT	10
#define REGION_GPA	(4ULL << 30)
#define REGION_SIZE	(2ULL << 30)
#define REGION_PAGES	(REGION_SIZE / PAGE_SIZE)
#define WS_PAGES	1024ULL		/* the vCPUs' working set, 4 MiB */
#define NR_VCPUS	2
#define NR_CHANGES	100000ULL
#define BATCH		512
#define SLOTS_GPA	(16ULL << 30)
#define FAULT_PAGES	16384ULL	/* 64 MiB */
#define FAULT_REPS	11

static uint64_t guest_stop;

/* Write the working set until the host says stop. */
static void guest_spin(void)
{
	uint64_t pass, i;

	for (pass = 1; !READ_ONCE(guest_stop); pass++) {
		for (i = 0; i < WS_PAGES; i++)
			WRITE_ONCE(*(uint64_t *)(REGION_GPA + i * PAGE_SIZE), pass);
	}
	GUEST_DONE();
}

static void guest_touch(uint64_t npages)
{
	uint64_t i;

	for (i = 0; i < npages; i++)
		WRITE_ONCE(*(uint64_t *)(REGION_GPA + i * PAGE_SIZE), i);
	GUEST_DONE();
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The i-th scattered page: distinct, outside the working set. */
static uint64_t change_gpa(uint64_t i)
{
	return REGION_GPA +
	       (WS_PAGES + (i * 7919) % (REGION_PAGES - WS_PAGES)) * PAGE_SIZE;
}

struct running {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t threads[NR_VCPUS];
};

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE,
		    "vCPU %u: unexpected exit %u", vcpu->id,
		    vcpu->run->exit_reason);
	return NULL;
}

static struct kvm_vm *create_vm(struct vm_shape shape, bool layers,
				struct kvm_vcpu **vcpus, int nr_vcpus,
				void *code, uint64_t region_pages,
				uint64_t mapped_pages)
{
	struct kvm_vm *vm = __vm_create(shape, nr_vcpus, 0);
	uint32_t flags = 0;
	int i;

	if (layers)
		vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, 2);
	for (i = 0; i < nr_vcpus; i++)
		vcpus[i] = vm_vcpu_add(vm, i, code);
	if (shape.type == KVM_X86_SW_PROTECTED_VM)
		flags = KVM_MEM_GUEST_MEMFD;
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, REGION_GPA, REGION_SLOT,
		   region_pages, flags, -1, 0);
	virt_map(vm, REGION_GPA, REGION_GPA, mapped_pages);
	return vm;
}

static void start(struct running *r, struct vm_shape shape, bool layers)
{
	int i;

	r->vm = create_vm(shape, layers, r->vcpus, NR_VCPUS, guest_spin,
			  REGION_PAGES, WS_PAGES);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_create(&r->threads[i], NULL, vcpu_thread, r->vcpus[i]);
}

static void stop(struct running *r)
{
	int i;

	guest_stop = 1;
	sync_global_to_guest(r->vm, guest_stop);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(r->threads[i], NULL);
	guest_stop = 0;
	kvm_vm_free(r->vm);
}

static void result(const char *name, double value, const char *unit)
{
	printf("result %s %.3f %s\n", name, value, unit);
	fflush(stdout);
}

static void set_vtl_attrs(struct kvm_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attrs)
{
	struct kvm_vtl_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attrs, .vtl = 0,
	};

	vm_ioctl(vm, KVM_SET_VTL_MEMORY_ATTRIBUTES, &a);
}

static void bench_vtl(void)
{
	static struct kvm_vtl_memory_attributes_entry e[BATCH];
	struct kvm_vtl_memory_attributes_batch b = {
		.vtl = 0, .entries = (uint64_t)e,
	};
	struct running r;
	double t;
	uint64_t i, j;

	start(&r, VM_SHAPE_DEFAULT, true);

	t = now_ns();
	for (i = 0; i < NR_CHANGES; i++)
		set_vtl_attrs(r.vm, change_gpa(i), PAGE_SIZE,
			      KVM_MEMORY_ATTRIBUTE_NW);
	result("vtl_single", (now_ns() - t) / NR_CHANGES / 1000, "us/page");

	set_vtl_attrs(r.vm, REGION_GPA, REGION_SIZE, 0);

	t = now_ns();
	for (i = 0; i < NR_CHANGES; i += BATCH) {
		b.nr_entries = NR_CHANGES - i < BATCH ? NR_CHANGES - i : BATCH;
		for (j = 0; j < b.nr_entries; j++)
			e[j] = (struct kvm_vtl_memory_attributes_entry){
				.address = change_gpa(i + j),
				.size = PAGE_SIZE,
				.attributes = KVM_MEMORY_ATTRIBUTE_NW,
			};
		vm_ioctl(r.vm, KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, &b);
	}
	result("vtl_batch", (now_ns() - t) / NR_CHANGES / 1000, "us/page");

	stop(&r);
}

static void bench_memslots(uint64_t nr)
{
	struct running r;
	void *page;
	double t;
	uint64_t i;

	page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(page != MAP_FAILED, "mmap");
	start(&r, VM_SHAPE_DEFAULT, false);

	t = now_ns();
	for (i = 0; i < nr; i++) {
		struct kvm_userspace_memory_region region = {
			.slot = REGION_SLOT + 1 + i,
			.flags = KVM_MEM_READONLY,
			.guest_phys_addr = SLOTS_GPA + 2 * i * PAGE_SIZE,
			.memory_size = PAGE_SIZE,
			.userspace_addr = (uint64_t)page,
		};

		vm_ioctl(r.vm, KVM_SET_USER_MEMORY_REGION, &region);
	}
	result("memslot", (now_ns() - t) / nr / 1000, "us/page");
	result("memslot_count", nr, "slots");

	stop(&r);
	munmap(page, PAGE_SIZE);
}

static void bench_private(void)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT, .type = KVM_X86_SW_PROTECTED_VM,
	};
	struct running r;
	double t;
	uint64_t i;

	start(&r, shape, false);
	t = now_ns();
	for (i = 0; i < NR_CHANGES; i++)
		vm_mem_set_private(r.vm, change_gpa(i), PAGE_SIZE);
	result("private_single", (now_ns() - t) / NR_CHANGES / 1000, "us/page");
	stop(&r);
}

enum fault_config { PLAIN, LAYERS_EMPTY, LAYERS_POPULATED, NR_CONFIGS };
static const char * const config_names[] = {
	"fault_plain", "fault_layers_empty", "fault_layers_populated",
};

static double fault_once(enum fault_config config)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	double t;

	vm = create_vm(VM_SHAPE_DEFAULT, config != PLAIN, &vcpu, 1,
		       guest_touch, FAULT_PAGES + 1, FAULT_PAGES + 1);
	vcpu_args_set(vcpu, 1, FAULT_PAGES);
	if (config == LAYERS_POPULATED)
		set_vtl_attrs(vm, REGION_GPA + FAULT_PAGES * PAGE_SIZE,
			      PAGE_SIZE, KVM_MEMORY_ATTRIBUTE_NW);

	t = now_ns();
	vcpu_run(vcpu);
	t = now_ns() - t;
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "fault run: exit %u",
		    vcpu->run->exit_reason);
	kvm_vm_free(vm);
	return t / FAULT_PAGES;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void bench_faults(int nr_configs)
{
	double t[NR_CONFIGS][FAULT_REPS];
	int rep, c;

	/*
	 * Interleave the configurations, in alternating order, so drift hits
	 * all of them alike.
	 */
	for (rep = 0; rep < FAULT_REPS; rep++)
		for (c = 0; c < nr_configs; c++) {
			int k = rep % 2 ? nr_configs - 1 - c : c;

			t[k][rep] = fault_once(k);
		}

	/*
	 * The minimum is the run least disturbed by the rest of the machine
	 * (the test guest's other vCPU, the host); the median is printed too.
	 */
	for (c = 0; c < nr_configs; c++) {
		char name[64];

		qsort(t[c], FAULT_REPS, sizeof(double), cmp_double);
		result(config_names[c], t[c][0], "ns/fault");
		snprintf(name, sizeof(name), "%s_median", config_names[c]);
		result(name, t[c][FAULT_REPS / 2], "ns/fault");
	}
}

static void trace_write(const char *file, const char *val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/%s", file);
	f = fopen(path, "w");
	TEST_ASSERT(f, "open %s", path);
	fputs(val, f);
	fclose(f);
}

/*
 * -T: one batch of BATCH scattered changes (vCPUs running) under the
 * function_graph tracer, kvm_vtl_set() and its direct callees, printed as
 * "trace <function> <us>" lines for a where-does-the-time-go view.  The
 * tracer's own cost inflates every number; compare them with each other.
 */
static void trace_batch(void)
{
	static struct kvm_vtl_memory_attributes_entry e[BATCH];
	struct kvm_vtl_memory_attributes_batch b = {
		.vtl = 0, .entries = (uint64_t)e, .nr_entries = BATCH,
	};
	char line[512], fn[128];
	struct running r;
	double us;
	FILE *f;
	int i;

	mkdir("/sys/kernel/tracing", 0755);
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
		TEST_FAIL("mount tracefs: %d", errno);
	start(&r, VM_SHAPE_DEFAULT, true);
	for (i = 0; i < BATCH; i++)
		e[i] = (struct kvm_vtl_memory_attributes_entry){
			.address = change_gpa(i), .size = PAGE_SIZE,
			.attributes = KVM_MEMORY_ATTRIBUTE_NW,
		};
	trace_write("set_graph_function", "kvm_vtl_set");
	trace_write("max_graph_depth", "2");
	trace_write("current_tracer", "function_graph");
	trace_write("tracing_on", "1");
	vm_ioctl(r.vm, KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, &b);
	trace_write("tracing_on", "0");

	f = fopen("/sys/kernel/tracing/trace", "r");
	TEST_ASSERT(f, "open trace");
	while (fgets(line, sizeof(line), f)) {
		char *bar = strchr(line, '|'), *p;

		/* " 1)   1.234 us    |      func();" or "} /\* func *\/" */
		if (!bar || sscanf(line, " %*d) %lf us", &us) != 1)
			if (!bar || sscanf(line, " %*d) + %lf us", &us) != 1)
				if (!bar || sscanf(line, " %*d) ! %lf us", &us) != 1)
					continue;
		p = strstr(bar, "/* ");
		if (p)
			sscanf(p + 3, "%127s", fn);
		else if (sscanf(bar + 1, " %127[^(]", fn) != 1)
			continue;
		printf("trace %s %.3f\n", fn, us);
	}
	fclose(f);
	trace_write("current_tracer", "nop");
	stop(&r);
}

int main(int argc, char *argv[])
{
	uint64_t nr_slots = 30000;
	bool faults_only = false, all_faults_only = false;
	int opt;

	vtl_supported_cpuid_without_nested();
	while ((opt = getopt(argc, argv, "fFm:T")) != -1) {
		switch (opt) {
		case 'T':
			trace_batch();
			return 0;
		case 'f':
			faults_only = true;
			break;
		case 'F':
			all_faults_only = true;
			break;
		case 'm':
			nr_slots = strtoull(optarg, NULL, 0);
			break;
		default:
			printf("usage: %s [-f|-F] [-m memslots]\n", argv[0]);
			return 1;
		}
	}

	if (faults_only) {
		bench_faults(1);
		return 0;
	}

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VTL_MEMORY_ATTRIBUTES));
	if (all_faults_only) {
		bench_faults(NR_CONFIGS);
		return 0;
	}
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));
	/* Slot ids above REGION_SLOT; KVM allows 32764 per address space. */
	TEST_ASSERT(nr_slots + REGION_SLOT + 1 <= 32764,
		    "at most %d memslots", 32764 - REGION_SLOT - 1);

	bench_faults(NR_CONFIGS);
	bench_vtl();
	bench_private();
	bench_memslots(nr_slots);
	return 0;
}
