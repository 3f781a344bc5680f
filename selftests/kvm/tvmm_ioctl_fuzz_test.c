// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded, seeded fuzzer for tvmm's UAPI: per-VTL memory attributes (x86),
 * guest_memfd flags, mmap, memslot binding, KVM_SET_MEMORY_ATTRIBUTES
 * conversions and hole punching (x86-64 and riscv64), and the measured
 * launch (x86).
 *
 * Inputs are random or structure-aware (a valid struct with one field
 * mutated), issued by several threads while vCPUs run a guest that touches
 * the memory being changed and a thread adds and deletes memslots.  Every
 * call must succeed or fail with one of the errnos the documentation lists
 * for it; the guest must never complete a write to a page its VTL's layer
 * makes NW; no worker may stall for WATCHDOG_SECS.
 *
 *   tvmm_ioctl_fuzz_test [-s SEED] [-i ITERATIONS] [-t SECONDS_CAP]
 *
 * ITERATIONS is per fuzzing thread and area; the run stops early, without
 * failing, when SECONDS_CAP have passed.  The seed is printed first, so a
 * run can be repeated.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"
#ifdef __x86_64__
#include "vtl_util.h"
#endif

#ifndef PAGE_SIZE
#define PAGE_SIZE	SZ_4K	/* riscv's processor.h has no PAGE_SIZE */
#endif

#if defined(__x86_64__)
#define SW_PROTECTED_VM	KVM_X86_SW_PROTECTED_VM
#elif defined(__riscv)
#define SW_PROTECTED_VM	KVM_RISCV_SW_PROTECTED_VM
#endif

#ifdef __x86_64__
#define DEFAULT_ITERATIONS	3000	/* four areas, about 40 s under TCG */
#else
#define DEFAULT_ITERATIONS	1500	/* one area, about 50 s under TCG */
#endif
#define DEFAULT_CAP_SECS	120
#define WATCHDOG_SECS		60
#define NR_FUZZERS		2
#define NR_RUNNERS		2
#define MAX_REPORTS		40

#define DATA_SLOT	10
#define DATA_GPA	0x100000000ULL	/* 4 GiB */
#define DATA_PAGES	256
#define DATA_SIZE	(DATA_PAGES * PAGE_SIZE)
#define CHURN_SLOT	11
#define CHURN_GPA	0x140000000ULL
#define CHURN_PAGES	16
#define CHURN_SIZE	(CHURN_PAGES * PAGE_SIZE)
#define GUARD_SLOT	12
#define GUARD_GPA	0x180000000ULL
#define GUARD_PAGES	4
#define GUARD_SIZE	(GUARD_PAGES * PAGE_SIZE)
#define SPARE_SLOT	13
#define SPARE_GPA	0x1c0000000ULL
#define BAD_SLOT	32767		/* beyond KVM_USER_MEM_SLOTS */
#define KERNEL_PTR	0xffff800000001000ULL
#define MARKER		0xfeedfacecafef00dULL

/* The fuzzed VMs have private memory: in-place conversion files. */
#define ANY_FLAGS	(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |	\
			 GUEST_MEMFD_FLAG_INPLACE_CONVERSION)

/* ------------------------------------------------------- options, time */

static uint64_t seed;
static uint64_t iterations = DEFAULT_ITERATIONS;
static unsigned int cap_secs = DEFAULT_CAP_SECS;
static struct timespec start_time;
static atomic_bool time_up;

static double now_secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec - start_time.tv_sec +
	       (t.tv_nsec - start_time.tv_nsec) / 1e9;
}

static bool out_of_time(void)
{
	if (!atomic_load(&time_up) && now_secs() > cap_secs)
		atomic_store(&time_up, true);
	return atomic_load(&time_up);
}

/* ------------------------------------------------------------- the PRNG */

struct rng {
	uint64_t s;
};

static void rng_init(struct rng *r, unsigned int thread)
{
	r->s = seed + 0x9e3779b97f4a7c15ULL * (thread + 1);
}

/* splitmix64 */
static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

static uint64_t pages(uint64_t n)
{
	return n * PAGE_SIZE;
}

/* A 64-bit value broken in one of the ways that matter to range checks. */
static uint64_t mutate_u64(struct rng *r, uint64_t v)
{
	switch (below(r, 9)) {
	case 0:
		return 0;
	case 1:
		return v + 1;
	case 2:
		return v | (1ULL << below(r, 64));
	case 3:
		return -PAGE_SIZE;
	case 4:
		return 1ULL << 63;
	case 5:
		return 1ULL << 60;
	case 6:
		return v - PAGE_SIZE;
	case 7:
		return rnd(r);
	default:
		return rnd(r) & ~(PAGE_SIZE - 1);
	}
}

/* ------------------------------------------------ errno tables, reports */

enum area { AREA_VTL, AREA_VTL_GUEST, AREA_GMEM, AREA_TVM, NR_AREAS };

static const char * const area_names[NR_AREAS] = {
	"VTL ioctls", "VTL guest NW invariant", "guest_memfd", "measured launch",
};

#define MAX_ERRS	10

/* One ioctl (or syscall) and the errnos its documentation lists. */
struct op {
	const char *name;
	int errs[MAX_ERRS];		/* 0-terminated */
	atomic_ulong ok;
	atomic_ulong hits[MAX_ERRS];
	atomic_ulong bad;
};

/* Documentation/virt/kvm/x86/vtl-memory-attributes.rst */
static struct op op_vtl_set = {
	"KVM_SET_VTL_MEMORY_ATTRIBUTES", { EFAULT, ENXIO, EINVAL, E2BIG, ENOMEM, EINTR },
};

static struct op op_vtl_batch = {
	"KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH",
	{ EFAULT, ENXIO, EINVAL, E2BIG, ENOMEM, EINTR },
};

static struct op op_vtl_get = {
	"KVM_GET_VTL_MEMORY_ATTRIBUTES", { EFAULT, ENXIO, EINVAL, E2BIG, ENOMEM, EINTR },
};

static struct op op_vcpu_vtl = {
	"KVM_SET_VCPU_VTL", { EFAULT, ENXIO, EINVAL, EBUSY },
};

static struct op op_vtl_cap = {
	"KVM_ENABLE_CAP(VTL)", { EFAULT, EINVAL, EBUSY, EEXIST, ENOMEM },
};

/* api.rst, guest-memfd-mmap.rst; EPERM only where pages were measured */
static struct op op_attrs = {
	"KVM_SET_MEMORY_ATTRIBUTES", { EFAULT, EINVAL, ENOMEM, EBUSY },
};

static struct op op_attrs_tvm = {
	"KVM_SET_MEMORY_ATTRIBUTES(TVM)", { EFAULT, EINVAL, ENOMEM, EBUSY, EPERM },
};

/* api.rst; guest-memfd-mmap.rst */
static struct op op_gmem_create = {
	"KVM_CREATE_GUEST_MEMFD", { EFAULT, EINVAL, ENOMEM, EMFILE, ENFILE },
};

/* guest-memfd-mmap.rst, mmap(2) */
static struct op op_mmap = {
	"mmap(guest_memfd)", { ENODEV, EINVAL, ENOMEM, EOVERFLOW },
};

/*
 * api.rst (memslots), guest-memfd-mmap.rst (EBUSY: binding a referenced
 * offset at a private gfn); EPERM only for measured gfns
 */
static struct op op_memslot = {
	"KVM_SET_USER_MEMORY_REGION2", { EFAULT, EINVAL, EEXIST, ENOMEM, EBADF, EBUSY },
};

static struct op op_memslot_tvm = {
	"KVM_SET_USER_MEMORY_REGION2(TVM)",
	{ EFAULT, EINVAL, EEXIST, ENOMEM, EBADF, EBUSY, EPERM },
};

/* guest-memfd-mmap.rst, fallocate(2); EPERM only for measured pages */
static struct op op_falloc = {
	"fallocate(guest_memfd)", { EINVAL, EOPNOTSUPP, EFBIG, EINTR, ENOMEM },
};

static struct op op_falloc_tvm = {
	"fallocate(guest_memfd, TVM)",
	{ EINVAL, EOPNOTSUPP, EFBIG, EINTR, ENOMEM, EPERM },
};

/* Documentation/virt/kvm/x86/sw-tvm-measured-launch.rst */
static struct op op_tvm_add = {
	"KVM_TVM_ADD_MEASURED_PAGES", { EINVAL, EFAULT, EEXIST, EPERM, EINTR, ENOMEM },
};

static struct op op_tvm_finalize = {
	"KVM_TVM_FINALIZE", { EPERM, ENOMEM },
};

static struct op op_tvm_get = {
	"KVM_TVM_GET_MEASUREMENT", { EFAULT },
};

/*
 * KVM_RUN: EFAULT only with KVM_EXIT_MEMORY_FAULT (checked separately),
 * EINTR for the signal that stops the runners, EPERM while measuring.
 */
static struct op op_run = {
	"KVM_RUN", { EFAULT, EINTR },
};

static struct op op_run_tvm = {
	"KVM_RUN(TVM)", { EFAULT, EINTR, EPERM },
};

static struct op * const all_ops[] = {
	&op_vtl_set, &op_vtl_batch, &op_vtl_get, &op_vcpu_vtl, &op_vtl_cap, &op_attrs,
	&op_attrs_tvm, &op_gmem_create, &op_mmap, &op_memslot, &op_memslot_tvm,
	&op_falloc, &op_falloc_tvm, &op_tvm_add, &op_tvm_finalize, &op_tvm_get,
	&op_run, &op_run_tvm,
};

static atomic_int failures[NR_AREAS];
static atomic_int reports;

/* A worker: a thread the watchdog watches. */
struct worker {
	char name[32];
	unsigned int index;
	struct rng rng;
	uint64_t iter;
	atomic_ulong progress;
	atomic_bool active;
};

#define MAX_WORKERS	8
static struct worker *workers[MAX_WORKERS];

static void worker_start(struct worker *w, unsigned int index, const char *name)
{
	TEST_ASSERT(index < MAX_WORKERS, "too many workers");
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->index = index;
	w->iter = 0;
	rng_init(&w->rng, index);
	atomic_store(&w->progress, 0);
	atomic_store(&w->active, true);
	__atomic_store_n(&workers[index], w, __ATOMIC_SEQ_CST);
}

static void worker_stop(struct worker *w)
{
	atomic_store(&w->active, false);
	__atomic_store_n(&workers[w->index], NULL, __ATOMIC_SEQ_CST);
}

static void tick(struct worker *w)
{
	atomic_fetch_add(&w->progress, 1);
}

static __printf(3, 4) void fail(struct worker *w, enum area a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	atomic_fetch_add(&failures[a], 1);
	if (atomic_fetch_add(&reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ksft_print_msg("FAIL [%s] %s (seed %lu, thread %s, iteration %lu)\n",
		       area_names[a], buf, seed, w ? w->name : "main",
		       w ? w->iter : 0);
}

/*
 * Check @r (the call's return) and @err (its errno) against @op's table; on
 * a violation report it with the input, described by @fmt.  Returns true
 * when the call succeeded.
 */
static __printf(6, 7) bool check(struct worker *w, enum area a, struct op *op,
				 long r, int err, const char *fmt, ...)
{
	char in[384];
	va_list ap;
	int i;

	if (r >= 0) {
		atomic_fetch_add(&op->ok, 1);
		return true;
	}
	if (r == -1 && err) {
		for (i = 0; i < MAX_ERRS && op->errs[i]; i++) {
			if (op->errs[i] == err) {
				atomic_fetch_add(&op->hits[i], 1);
				return false;
			}
		}
	}
	atomic_fetch_add(&op->bad, 1);
	va_start(ap, fmt);
	vsnprintf(in, sizeof(in), fmt, ap);
	va_end(ap);
	fail(w, a, "%s returned %ld, errno %d (%s), not documented; input: %s",
	     op->name, r, err, strerror(err), in);
	return false;
}

static void print_op_stats(void)
{
	char line[256];
	unsigned int i, j;
	int n;

	for (i = 0; i < ARRAY_SIZE(all_ops); i++) {
		struct op *op = all_ops[i];
		unsigned long total = atomic_load(&op->ok) + atomic_load(&op->bad);

		for (j = 0; j < MAX_ERRS && op->errs[j]; j++)
			total += atomic_load(&op->hits[j]);
		if (!total)
			continue;
		n = snprintf(line, sizeof(line), "%s: %lu calls, %lu ok", op->name,
			     total, atomic_load(&op->ok));
		for (j = 0; j < MAX_ERRS && op->errs[j] && n < sizeof(line); j++) {
			if (atomic_load(&op->hits[j]))
				n += snprintf(line + n, sizeof(line) - n, ", %s %lu",
					      strerrorname_np(op->errs[j]),
					      atomic_load(&op->hits[j]));
		}
		if (atomic_load(&op->bad) && n < sizeof(line))
			snprintf(line + n, sizeof(line) - n, ", UNDOCUMENTED %lu",
				 atomic_load(&op->bad));
		ksft_print_msg("%s\n", line);
	}
}

/* ------------------------------------------------------------ watchdog */

static atomic_bool watchdog_stop;

static void report_hang(struct worker *w)
{
	ksft_print_msg("hang: %s made no progress for %d s (seed %lu, iteration %lu)\n",
		       w->name, WATCHDOG_SECS, seed, w->iter);
	print_op_stats();
	ksft_exit_fail_msg("a worker hung\n");
}

static void *watchdog(void *arg)
{
	unsigned long last[MAX_WORKERS] = {};
	double since[MAX_WORKERS] = {};
	unsigned int i;

	while (!atomic_load(&watchdog_stop)) {
		double t = now_secs();

		for (i = 0; i < MAX_WORKERS; i++) {
			struct worker *w = __atomic_load_n(&workers[i], __ATOMIC_SEQ_CST);
			unsigned long p;

			if (!w || !atomic_load(&w->active)) {
				since[i] = t;
				continue;
			}
			p = atomic_load(&w->progress);
			if (p != last[i]) {
				last[i] = p;
				since[i] = t;
			} else if (t - since[i] > WATCHDOG_SECS) {
				report_hang(w);
			}
		}
		usleep(250 * 1000);
	}
	return NULL;
}

/* ------------------------------------------------- signals, host touch */

static __thread void *bus_env;	/* a sigjmp_buf while touching */

static void sigbus_handler(int sig)
{
	if (bus_env)
		siglongjmp(*(sigjmp_buf *)bus_env, 1);
	abort();
}

static void sigusr1_handler(int sig)
{
}

/* Touch @p from the host; true if that raised SIGBUS. */
static bool host_touch(uint64_t *p, bool write)
{
	sigjmp_buf env;
	bool faulted;

	bus_env = &env;
	faulted = sigsetjmp(env, 1);
	if (!faulted) {
		if (write)
			WRITE_ONCE(*p, 0x5ca1ab1e);
		else
			(void)READ_ONCE(*p);
	}
	bus_env = NULL;
	return faulted;
}

/* A page that faults on any access, and one that is read-only. */
static void *none_page, *ro_page;

/* @readable: the read-only page too, whose zeroes some ioctls accept. */
static void *__bad_ptr(struct rng *r, bool readable)
{
	switch (below(r, readable ? 5 : 4)) {
	case 0:
		return NULL;
	case 1:
		return (void *)8;
	case 2:
		return (void *)KERNEL_PTR;
	case 3:
		return none_page;
	default:
		return ro_page;
	}
}

static void *bad_ptr(struct rng *r)
{
	return __bad_ptr(r, true);
}

/* ------------------------------------------------------------ the guest */

/*
 * Each vCPU writes its id's slot in every page of the data, guard and
 * churn regions, reads it back and reports a pass.  The regions may be
 * restricted, private, deleted or punched out under it.
 */
static void guest_code(uint64_t id)
{
	uint64_t pass, i;

	for (pass = 1;; pass++) {
		for (i = 0; i < DATA_PAGES; i++) {
			WRITE_ONCE(*(uint64_t *)(DATA_GPA + pages(i) + 8 * id), pass);
			(void)READ_ONCE(*(uint64_t *)(DATA_GPA + pages(i)));
		}
		for (i = 0; i < GUARD_PAGES; i++)
			WRITE_ONCE(*(uint64_t *)(GUARD_GPA + pages(i) + 8 * id), pass);
		for (i = 0; i < CHURN_PAGES; i++)
			WRITE_ONCE(*(uint64_t *)(CHURN_GPA + pages(i) + 8 * id), pass);
		GUEST_SYNC(pass);
	}
}

/* ------------------------------------------------- shared fuzzing state */

struct area_ctx {
	enum area area;
	struct kvm_vm *vm;
	bool private_mem;		/* a software-protected VM */
	int data_fd;			/* the data region's guest_memfd, or -1 */
	void *data_hva;
	int churn_fd;			/* guest_memfd for the churn slot, or -1 */
	void *churn_hva, *churn_anon;
	unsigned int nr_vtls;		/* 0: no VTL layers */
	struct kvm_vcpu *idle_vcpu[2];	/* [0] ran once, [1] never */
	atomic_bool stop;
};

struct runner {
	struct worker w;
	struct area_ctx *ctx;
	struct kvm_vcpu *vcpu;
	uint32_t vtl;
	atomic_ulong guard_faults;
	unsigned long passes, exits;
	pthread_t thread;
};

#ifdef __x86_64__
/* The NW invariant: the page the checker guards, and its round. */
static atomic_ulong guard_page, guard_round;

static bool in_guard(uint64_t gpa)
{
	return gpa >= GUARD_GPA && gpa < GUARD_GPA + GUARD_SIZE;
}
#endif

/* Whether [@gpa, @gpa + @size) hits the guard region (without wrapping). */
static bool hits_guard(uint64_t gpa, uint64_t size)
{
	uint64_t end = gpa + size;

	return end > gpa && gpa < GUARD_GPA + GUARD_SIZE && end > GUARD_GPA;
}

static int set_attributes(struct kvm_vm *vm, uint64_t gpa, uint64_t size,
			  uint64_t attributes)
{
	struct kvm_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attributes,
	};

	return ioctl(vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

#ifdef __x86_64__
static int set_vtl_attrs(struct kvm_vm *vm, uint32_t vtl, uint64_t gpa,
			 uint64_t size, uint64_t attrs)
{
	struct kvm_vtl_memory_attributes a = {
		.address = gpa, .size = size, .attributes = attrs, .vtl = vtl,
	};

	return ioctl(vm->fd, KVM_SET_VTL_MEMORY_ATTRIBUTES, &a);
}
#endif

/*
 * A fault the fuzzers caused: lift it so the guest goes on.  The guard
 * page's NW fault is the invariant's: count it and wait for the checker.
 */
static void handle_memory_fault(struct runner *rn)
{
	struct kvm_run *run = rn->vcpu->run;
	uint64_t flags = run->memory_fault.flags;
	uint64_t gpa = run->memory_fault.gpa & ~(PAGE_SIZE - 1ULL);
	struct area_ctx *ctx = rn->ctx;
	int r, e;

#ifdef __x86_64__
	if (flags & KVM_MEMORY_EXIT_FLAG_VTL) {
		uint32_t vtl = (flags & KVM_MEMORY_EXIT_VTL_MASK) >>
			       KVM_MEMORY_EXIT_VTL_SHIFT;
		unsigned long round;

		if (vtl != rn->vtl)
			fail(&rn->w, ctx->area,
			     "vCPU at VTL %u: fault reports VTL %u (flags 0x%lx)",
			     rn->vtl, vtl, flags);
		if (in_guard(gpa) && vtl == 0) {
			round = atomic_load(&guard_round);
			if (gpa != atomic_load(&guard_page) ||
			    !(flags & KVM_MEMORY_EXIT_FLAG_WRITE))
				fail(&rn->w, AREA_VTL_GUEST,
				     "fault at guard gpa 0x%lx flags 0x%lx, guarding 0x%lx",
				     gpa, flags, atomic_load(&guard_page));
			atomic_fetch_add(&rn->guard_faults, 1);
			while (atomic_load(&guard_round) == round &&
			       !atomic_load(&ctx->stop)) {
				tick(&rn->w);
				usleep(100);
			}
			return;
		}
		r = set_vtl_attrs(ctx->vm, vtl, gpa, PAGE_SIZE, 0);
		e = errno;
		check(&rn->w, ctx->area, &op_vtl_set, r, e,
		      "vtl %u gpa 0x%lx, one page, attrs 0 (lifting a fault)",
		      vtl, gpa);
		return;
	}
#endif
	/* A private gfn without guest_memfd behind it: share it again. */
	if (!ctx->private_mem) {
		fail(&rn->w, ctx->area,
		     "memory fault at 0x%lx flags 0x%lx in a VM without private memory",
		     gpa, flags);
		return;
	}
	r = set_attributes(ctx->vm, gpa, PAGE_SIZE, 0);
	e = errno;
	check(&rn->w, ctx->area, &op_attrs, r, e,
	      "address 0x%lx, one page, attributes 0 (lifting a fault)", gpa);
}

/*
 * Bumped before and after every change of CHURN_SLOT, to tell whether one
 * overlapped a run (a deletion takes effect before its ioctl returns).
 */
static atomic_ulong churn_changes;

/*
 * The churn thread may give CHURN_SLOT a guest_memfd binding whose
 * userspace_addr maps another file or another offset of the churn file
 * (a mutated offset or fd).  A shared fault then goes through a host page
 * whose file offset is bound at another gfn, and if that gfn is private the
 * host mapping refuses it: KVM_RUN fails with a bare -EFAULT, as upstream
 * does for memslot memory the host cannot map.  odd_slot_present says such a
 * slot may be installed (set before the ioctl, cleared once it is gone),
 * odd_slot_epoch counts them; runs that overlap one may fail that way.
 */
static atomic_bool odd_slot_present;
static atomic_ulong odd_slot_epoch, odd_slot_efaults;

static void *__runner_thread(struct runner *rn)
{
	struct kvm_vcpu *vcpu = rn->vcpu;
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int r, e;

	while (!atomic_load(&rn->ctx->stop)) {
		unsigned long changes = atomic_load(&churn_changes);
		unsigned long odd_epoch = atomic_load(&odd_slot_epoch);
		bool odd = atomic_load(&odd_slot_present);

		r = __vcpu_run(vcpu);
		e = errno;
		tick(&rn->w);
		rn->w.iter++;
		if (atomic_load(&rn->ctx->stop))
			break;
		if (!r) {
			atomic_fetch_add(&op_run.ok, 1);
			switch (get_ucall(vcpu, &uc)) {
			case UCALL_SYNC:
				rn->passes++;
				continue;
			case UCALL_ABORT:
				REPORT_GUEST_ASSERT(uc);
			default:
				break;
			}
			rn->exits++;
			switch (run->exit_reason) {
			case KVM_EXIT_MMIO:	/* the churn slot is gone */
#ifdef __x86_64__
			case KVM_EXIT_IO:
#endif
				continue;
			default:
				fail(&rn->w, rn->ctx->area, "vCPU %u: unexpected exit %s",
				     vcpu->id, exit_reason_str(run->exit_reason));
				return NULL;
			}
		}
		if (!check(&rn->w, rn->ctx->area, &op_run, r, e, "vCPU %u", vcpu->id) &&
		    e == EFAULT) {
			if (run->exit_reason != KVM_EXIT_MEMORY_FAULT &&
			    (odd || atomic_load(&odd_slot_present) ||
			     atomic_load(&odd_slot_epoch) != odd_epoch)) {
				atomic_fetch_add(&odd_slot_efaults, 1);
				continue;
			}
			if (run->exit_reason != KVM_EXIT_MEMORY_FAULT) {
				fail(&rn->w, rn->ctx->area,
				     "vCPU %u: KVM_RUN EFAULT with exit %s; %lu memslot ioctl starts+ends in the run",
				     vcpu->id, exit_reason_str(run->exit_reason),
				     atomic_load(&churn_changes) - changes);
				return NULL;
			}
			handle_memory_fault(rn);
		} else if (e != EINTR) {
			return NULL;	/* reported */
		}
	}
	return NULL;
}

static void *runner_thread(void *arg)
{
	struct runner *rn = arg;

	__runner_thread(rn);
	/* Stopped early on a failure: not a hang. */
	worker_stop(&rn->w);
	return NULL;
}

static void start_runners(struct area_ctx *ctx, struct runner *rns,
			  struct kvm_vcpu **vcpus, unsigned int first_worker)
{
	unsigned int i;

	for (i = 0; i < NR_RUNNERS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "vcpu%u", i);
		rns[i].ctx = ctx;
		rns[i].vcpu = vcpus[i];
		rns[i].vtl = ctx->nr_vtls ? i % ctx->nr_vtls : 0;
		worker_start(&rns[i].w, first_worker + i, name);
		pthread_create(&rns[i].thread, NULL, runner_thread, &rns[i]);
	}
}

static void stop_runners(struct area_ctx *ctx, struct runner *rns)
{
	unsigned int i;

	atomic_store(&ctx->stop, true);
	for (i = 0; i < NR_RUNNERS; i++) {
		/* A signal makes KVM_RUN return -EINTR; repeat until it is seen. */
		while (pthread_tryjoin_np(rns[i].thread, NULL)) {
			pthread_kill(rns[i].thread, SIGUSR1);
			usleep(10000);
		}
		worker_stop(&rns[i].w);
	}
}

/* ------------------------------------------------------ memslot churner */

struct churner {
	struct worker w;
	struct area_ctx *ctx;
	pthread_t thread;
	unsigned long created;
};

static int set_region(struct kvm_vm *vm, struct kvm_userspace_memory_region2 *reg)
{
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, reg);
}

static const char *region_str(char *buf, size_t len,
			      const struct kvm_userspace_memory_region2 *reg)
{
	snprintf(buf, len,
		 "slot 0x%x flags 0x%x gpa 0x%llx size 0x%llx hva 0x%llx fd %u offset 0x%llx",
		 reg->slot, reg->flags, reg->guest_phys_addr, reg->memory_size,
		 reg->userspace_addr, reg->guest_memfd, reg->guest_memfd_offset);
	return buf;
}

/* Break one field of a memslot; never name a slot the library owns. */
static void mutate_region(struct rng *r, struct kvm_userspace_memory_region2 *reg,
			  int other_fd)
{
	switch (below(r, 7)) {
	case 0:
		reg->slot = chance(r, 50) ? BAD_SLOT + below(r, 100) : (uint32_t)rnd(r) | 0x8000;
		break;
	case 1:
		reg->flags |= 1U << below(r, 32);
		break;
	case 2:
		reg->guest_phys_addr = chance(r, 50) ? DATA_GPA :
				       mutate_u64(r, reg->guest_phys_addr);
		if (!reg->guest_phys_addr)
			reg->guest_phys_addr = 1;
		break;
	case 3:
		reg->memory_size = mutate_u64(r, reg->memory_size) | 1;
		break;
	case 4:
		/* Only addresses KVM refuses: a guest touch must not EFAULT. */
		reg->userspace_addr = chance(r, 50) ? reg->userspace_addr + 1 : KERNEL_PTR;
		break;
	case 5:
		reg->flags |= KVM_MEM_GUEST_MEMFD;
		reg->guest_memfd = chance(r, 50) ? (uint32_t)-1 : other_fd;
		break;
	default:
		reg->guest_memfd_offset = mutate_u64(r, reg->guest_memfd_offset);
		if (!(reg->flags & KVM_MEM_GUEST_MEMFD) || !reg->guest_memfd_offset)
			reg->guest_memfd_offset = 1;
		break;
	}
}

/*
 * Add, change and delete CHURN_SLOT under the running vCPUs: anonymous or
 * (in guest_memfd VMs) a guest_memfd binding, sometimes with a field broken.
 */
static void *churn_thread(void *arg)
{
	struct churner *c = arg;
	struct area_ctx *ctx = c->ctx;
	struct rng *r = &c->w.rng;
	bool present = false, present_odd = false;
	char buf[256];

	while (!atomic_load(&ctx->stop)) {
		struct kvm_userspace_memory_region2 reg = {
			.slot = CHURN_SLOT,
			.guest_phys_addr = CHURN_GPA,
			.memory_size = CHURN_SIZE,
			.userspace_addr = (uint64_t)ctx->churn_anon,
		};
		bool mutated = false, odd;
		int ret, e;

		c->w.iter++;
		tick(&c->w);
		if (present && chance(r, 60)) {
			reg.memory_size = 0;	/* delete */
		} else {
			if (ctx->churn_fd >= 0 && chance(r, 50)) {
				reg.flags = KVM_MEM_GUEST_MEMFD;
				reg.guest_memfd = ctx->churn_fd;
				reg.guest_memfd_offset = pages(below(r, 2) * CHURN_PAGES);
				reg.userspace_addr = (uint64_t)ctx->churn_hva +
						     reg.guest_memfd_offset;
			} else if (!ctx->private_mem && chance(r, 20)) {
				reg.flags = KVM_MEM_LOG_DIRTY_PAGES;
			}
			if (chance(r, 35)) {
				mutate_region(r, &reg, ctx->data_fd >= 0 ? ctx->data_fd : 0);
				mutated = true;
			}
			/* A change of a present slot, not a new one. */
			if (present && !mutated)
				reg.memory_size = 0;
		}
		odd = reg.slot == CHURN_SLOT && reg.memory_size &&
		      (reg.flags & KVM_MEM_GUEST_MEMFD) &&
		      (reg.guest_memfd != (uint32_t)ctx->churn_fd ||
		       reg.userspace_addr - (uint64_t)ctx->churn_hva !=
		       reg.guest_memfd_offset);
		/* Visible to vCPUs before the ioctl returns. */
		if (odd)
			atomic_store(&odd_slot_present, true);
		atomic_fetch_add(&churn_changes, 1);
		ret = set_region(ctx->vm, &reg);
		e = errno;
		atomic_fetch_add(&churn_changes, 1);
		check(&c->w, ctx->area, &op_memslot, ret, e, "%s",
		      region_str(buf, sizeof(buf), &reg));
		if (!ret && reg.slot == CHURN_SLOT) {
			present = reg.memory_size;
			c->created += present;
			present_odd = odd;
			/* Before clearing the flag: runs that saw it see this. */
			if (odd)
				atomic_fetch_add(&odd_slot_epoch, 1);
		} else if (!ret) {
			/* A mutated slot that KVM accepted: take it away again. */
			reg.memory_size = 0;
			reg.flags = 0;
			set_region(ctx->vm, &reg);
		}
		/* Gone, replaced, or as it was if the ioctl failed. */
		atomic_store(&odd_slot_present, present && present_odd);
		usleep(below(r, 2000));
	}
	return NULL;
}

/* --------------------------------------------------- guest_memfd fuzzing */

struct fuzzer {
	struct worker w;
	struct area_ctx *ctx;
	pthread_t thread;
	struct kvm_vtl_memory_attributes_entry *entries;	/* x86 batches */
};

static uint64_t pick_gpa(struct rng *r, uint64_t base, uint64_t npages)
{
	switch (below(r, 10)) {
	case 0:
		return pages(below(r, 512));		/* low memory */
	case 1:
		return CHURN_GPA + pages(below(r, CHURN_PAGES));
	case 2:
		return rnd(r) & ((1ULL << 36) - 1) & ~(PAGE_SIZE - 1ULL);
	default:
		return base + pages(below(r, npages));
	}
}

static uint64_t pick_size(struct rng *r, uint64_t npages)
{
	switch (below(r, 10)) {
	case 0:
		return SZ_2M;
	case 1:
		return pages(npages);
	case 2:
		return pages(1 + below(r, 64));
	default:
		return pages(1 + below(r, 4));
	}
}

/* An address/size pair broken so that its end wraps past 2^64. */
static void make_overflow(struct rng *r, __u64 *gpa, __u64 *size)
{
	uint64_t n = 1 + below(r, 4);

	if (chance(r, 50)) {
		*gpa = -pages(n);
		*size = pages(n + 1 + below(r, 4));
	} else {
		*gpa = pages(2 + below(r, 1000));
		*size = -PAGE_SIZE;
	}
}

static void fuzz_set_attributes(struct fuzzer *f, struct op *op)
{
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	struct kvm_memory_attributes a = {
		.address = pick_gpa(r, DATA_GPA, DATA_PAGES),
		.size = pick_size(r, DATA_PAGES),
		.attributes = chance(r, 50) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	void *arg = &a;
	int ret, e;

	switch (below(r, 10)) {
	case 0:
		a.flags = 1ULL << below(r, 64);
		break;
	case 1:
		a.attributes = 1ULL << below(r, 64);
		break;
	case 2:
		a.address += 1 + below(r, PAGE_SIZE - 1);
		break;
	case 3:
		a.size = chance(r, 50) ? 0 : a.size + 1 + below(r, PAGE_SIZE - 1);
		break;
	case 4:
		/* Huge ranges only in forms that wrap: a valid one takes hours. */
		make_overflow(r, &a.address, &a.size);
		break;
	case 5:
		arg = bad_ptr(r);
		break;
	default:
		break;
	}
	if (ctx->nr_vtls && hits_guard(a.address, a.size))
		a.address = DATA_GPA;
	ret = ioctl(ctx->vm->fd, KVM_SET_MEMORY_ATTRIBUTES, arg);
	e = errno;
	check(&f->w, ctx->area, op, ret, e,
	      "arg %p address 0x%llx size 0x%llx attributes 0x%llx flags 0x%llx",
	      arg, a.address, a.size, a.attributes, a.flags);
}

static void fuzz_fallocate(struct fuzzer *f, int fd, uint64_t file_size,
			   struct op *op)
{
	struct rng *r = &f->w.rng;
	int mode = FALLOC_FL_KEEP_SIZE | (chance(r, 70) ? FALLOC_FL_PUNCH_HOLE : 0);
	int64_t off = pages(below(r, file_size / PAGE_SIZE));
	int64_t len = pages(1 + below(r, 8));
	int ret, e;

	switch (below(r, 8)) {
	case 0:
		mode = chance(r, 50) ? FALLOC_FL_PUNCH_HOLE : (int)(1U << below(r, 32));
		break;
	case 1:
		off += 1 + below(r, PAGE_SIZE - 1);
		break;
	case 2:
		len = chance(r, 50) ? 0 : len + 1;
		break;
	case 3:
		off = chance(r, 50) ? -PAGE_SIZE : file_size + pages(below(r, 4));
		break;
	case 4:
		len = chance(r, 50) ? INT64_MAX & ~(PAGE_SIZE - 1) : 1LL << 62;
		break;
	default:
		break;
	}
	ret = fallocate(fd, mode, off, len);
	e = errno;
	check(&f->w, f->ctx->area, op, ret, e, "fd %d mode 0x%x offset 0x%lx len 0x%lx",
	      fd, mode, off, len);
}

static void fuzz_mmap(struct fuzzer *f, int fd, uint64_t file_size)
{
	struct rng *r = &f->w.rng;
	uint64_t len = pages(1 + below(r, 4)), off = pages(below(r, file_size / PAGE_SIZE));
	int flags = MAP_SHARED, prot = PROT_READ | PROT_WRITE;
	uint64_t *p;
	int e;

	switch (below(r, 8)) {
	case 0:
		flags = MAP_PRIVATE;
		break;
	case 1:
		off += chance(r, 50) ? 1 + below(r, PAGE_SIZE - 1) : file_size;
		break;
	case 2:
		len = chance(r, 50) ? 0 : 1ULL << (40 + below(r, 8));
		break;
	case 3:
		off = chance(r, 50) ? -PAGE_SIZE : 1ULL << (50 + below(r, 13));
		break;
	case 4:
		prot = PROT_READ;
		break;
	default:
		break;
	}
	p = mmap(NULL, len, prot, flags, fd, off);
	e = errno;
	if (!check(&f->w, f->ctx->area, &op_mmap, p == MAP_FAILED ? -1 : 0, e,
		   "fd %d len 0x%lx prot 0x%x flags 0x%x offset 0x%lx",
		   fd, len, prot, flags, off))
		return;
	if (flags == MAP_PRIVATE)
		fail(&f->w, f->ctx->area, "MAP_PRIVATE of a guest_memfd succeeded");
	/* Private, punched or past the end: SIGBUS is fine, a crash is not. */
	host_touch(p + below(r, min_t(uint64_t, len, SZ_16K) / 8),
		   (prot & PROT_WRITE) && chance(r, 30));
	munmap(p, len);
}

/* A new guest_memfd, fuzzed; sometimes mapped and bound to SPARE_SLOT. */
static void fuzz_gmem_create(struct fuzzer *f)
{
	static const uint64_t sizes[] = {
		0, 1, PAGE_SIZE + 1, -PAGE_SIZE, 1ULL << 63, 1ULL << 62, 1ULL << 40,
	};
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	struct kvm_create_guest_memfd g = {
		.size = pages(1 + below(r, 512)),
		.flags = below(r, 3) ? ANY_FLAGS : below(r, 2) * GUEST_MEMFD_FLAG_MMAP,
	};
	void *arg = &g;
	int fd, e;

	switch (below(r, 8)) {
	case 0:
		g.flags = chance(r, 50) ? GUEST_MEMFD_FLAG_INIT_SHARED : 1ULL << below(r, 64);
		break;
	case 1:
		g.size = sizes[below(r, ARRAY_SIZE(sizes))];
		break;
	case 2:
		g.reserved[below(r, 6)] = rnd(r);
		break;
	case 3:
		arg = bad_ptr(r);
		break;
	default:
		break;
	}
	fd = ioctl(ctx->vm->fd, KVM_CREATE_GUEST_MEMFD, arg);
	e = errno;
	if (!check(&f->w, ctx->area, &op_gmem_create, fd, e,
		   "arg %p size 0x%llx flags 0x%llx reserved[0..5] %llx %llx %llx %llx %llx %llx",
		   arg, g.size, g.flags, g.reserved[0], g.reserved[1], g.reserved[2],
		   g.reserved[3], g.reserved[4], g.reserved[5]))
		return;
	if (arg != &g) {
		fail(&f->w, ctx->area, "KVM_CREATE_GUEST_MEMFD succeeded with arg %p", arg);
		close(fd);
		return;
	}
	if (g.size <= SZ_2M && (g.flags & GUEST_MEMFD_FLAG_MMAP) && chance(r, 50))
		fuzz_mmap(f, fd, g.size);
	else if (!(g.flags & GUEST_MEMFD_FLAG_MMAP) && chance(r, 20) &&
		 (mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED ||
		  errno != ENODEV))
		fail(&f->w, ctx->area, "mmap without GUEST_MEMFD_FLAG_MMAP: not ENODEV (%d)",
		     errno);
	if (chance(r, 30) && g.size <= SZ_16M) {
		struct kvm_userspace_memory_region2 reg = {
			.slot = SPARE_SLOT, .flags = KVM_MEM_GUEST_MEMFD,
			.guest_phys_addr = SPARE_GPA, .memory_size = g.size,
			.userspace_addr = (uint64_t)ctx->churn_anon,
			.guest_memfd = fd,
		};
		char buf[256];
		int ret;

		if (chance(r, 40))
			mutate_region(r, &reg, ctx->data_fd);
		ret = set_region(ctx->vm, &reg);
		e = errno;
		check(&f->w, ctx->area, &op_memslot, ret, e, "%s",
		      region_str(buf, sizeof(buf), &reg));
		if (!ret) {
			reg.memory_size = 0;
			reg.flags = KVM_MEM_GUEST_MEMFD;
			ret = set_region(ctx->vm, &reg);
			e = errno;
			check(&f->w, ctx->area, &op_memslot, ret, e, "delete %s",
			      region_str(buf, sizeof(buf), &reg));
		}
	}
	close(fd);
}

/* Bind the data file again, where it is bound already: EINVAL. */
static void fuzz_rebind(struct fuzzer *f)
{
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	struct kvm_userspace_memory_region2 reg = {
		.slot = SPARE_SLOT, .flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = SPARE_GPA, .memory_size = pages(1 + below(r, 4)),
		.userspace_addr = (uint64_t)ctx->data_hva,
		.guest_memfd = ctx->data_fd,
		.guest_memfd_offset = pages(below(r, DATA_PAGES)),
	};
	char buf[256];
	int ret, e;

	if (chance(r, 30))
		mutate_region(r, &reg, ctx->churn_fd);
	ret = set_region(ctx->vm, &reg);
	e = errno;
	check(&f->w, ctx->area, &op_memslot, ret, e, "%s",
	      region_str(buf, sizeof(buf), &reg));
	if (!ret && reg.slot == SPARE_SLOT &&
	    reg.guest_memfd == ctx->data_fd && reg.guest_memfd_offset < DATA_SIZE)
		fail(&f->w, ctx->area, "an offset bound already was bound again: %s", buf);
	if (!ret) {
		reg.memory_size = 0;
		reg.flags = 0;
		set_region(ctx->vm, &reg);
	}
}

static void *gmem_fuzzer(void *arg)
{
	struct fuzzer *f = arg;
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;

	for (f->w.iter = 0; f->w.iter < iterations && !out_of_time(); f->w.iter++) {
		tick(&f->w);
		switch (below(r, 10)) {
		case 0:
		case 1:
			fuzz_gmem_create(f);
			break;
		case 2:
		case 3:
			fuzz_mmap(f, ctx->data_fd, DATA_SIZE);
			break;
		case 4:
		case 5:
		case 6:
			fuzz_set_attributes(f, &op_attrs);
			break;
		case 7:
		case 8:
			fuzz_fallocate(f, ctx->data_fd, DATA_SIZE, &op_falloc);
			break;
		default:
			fuzz_rebind(f);
			break;
		}
	}
	worker_stop(&f->w);
	return NULL;
}

/* ----------------------------------------------------- the area's VMs */

static void *map_fd(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap(guest_memfd): %s", strerror(errno));
	return p;
}

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/* Run @fuzz in NR_FUZZERS threads with the runners and a churner. */
static void run_area(struct area_ctx *ctx, struct kvm_vcpu **vcpus,
		     void *(*fuzz)(void *), void *(*extra)(void *),
		     struct runner *rns, struct churner *ch)
{
	struct fuzzer f[NR_FUZZERS] = {};
	pthread_t extra_thread;
	size_t batch = sizeof(*f[0].entries) * (KVM_VTL_MAX_BATCH_ENTRIES + 1);
	unsigned int i;

	atomic_store(&ctx->stop, false);
	start_runners(ctx, rns, vcpus, 0);
	ch->ctx = ctx;
	worker_start(&ch->w, NR_RUNNERS, "memslots");
	pthread_create(&ch->thread, NULL, churn_thread, ch);
	if (extra)
		pthread_create(&extra_thread, NULL, extra, ctx);

	for (i = 0; i < NR_FUZZERS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fuzz%u", i);
		f[i].ctx = ctx;
		f[i].entries = mmap(NULL, batch, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		TEST_ASSERT(f[i].entries != MAP_FAILED, "mmap");
		worker_start(&f[i].w, NR_RUNNERS + 1 + i, name);
		pthread_create(&f[i].thread, NULL, fuzz, &f[i]);
	}
	for (i = 0; i < NR_FUZZERS; i++) {
		pthread_join(f[i].thread, NULL);
		munmap(f[i].entries, batch);
	}
	atomic_store(&ctx->stop, true);
	if (extra)
		pthread_join(extra_thread, NULL);
	pthread_join(ch->thread, NULL);
	worker_stop(&ch->w);
	stop_runners(ctx, rns);
}

static struct kvm_vm *create_area_vm(struct area_ctx *ctx, unsigned long type,
				     unsigned int nr_vtls, struct kvm_vcpu **vcpus)
{
	const struct vm_shape shape = { .mode = VM_MODE_DEFAULT, .type = type };
	struct kvm_vm *vm = __vm_create(shape, NR_RUNNERS + 2, 0);
	unsigned int i;

	ctx->vm = vm;
	ctx->private_mem = type == SW_PROTECTED_VM;
	ctx->nr_vtls = nr_vtls;
#ifdef __x86_64__
	if (nr_vtls)
		vm_enable_cap(vm, KVM_CAP_VTL_MEMORY_ATTRIBUTES, nr_vtls);
#endif
	for (i = 0; i < NR_RUNNERS; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, guest_code);
		vcpu_args_set(vcpus[i], 1, i);
#ifdef __x86_64__
		if (nr_vtls) {
			struct kvm_vcpu_vtl v = { .vtl = i % nr_vtls };

			vcpu_ioctl(vcpus[i], KVM_SET_VCPU_VTL, &v);
		}
#endif
	}

	/* The data region: guest_memfd, mapped, shared to start with. */
	ctx->data_fd = vm_create_guest_memfd(vm, DATA_SIZE, ANY_FLAGS);
	ctx->data_hva = map_fd(ctx->data_fd, DATA_SIZE);
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   DATA_SIZE, ctx->data_hva, ctx->data_fd, 0);
	/* The guard region of the NW invariant: plain memory. */
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, GUARD_GPA, GUARD_SLOT,
				    GUARD_PAGES, 0);
	/* The churn slot's backings; the slot itself comes and goes. */
	ctx->churn_fd = vm_create_guest_memfd(vm, 2 * CHURN_SIZE, ANY_FLAGS);
	ctx->churn_hva = map_fd(ctx->churn_fd, 2 * CHURN_SIZE);
	ctx->churn_anon = map_anon(SZ_16M);

	virt_map(vm, DATA_GPA, DATA_GPA, DATA_PAGES);
	virt_map(vm, GUARD_GPA, GUARD_GPA, GUARD_PAGES);
	virt_map(vm, CHURN_GPA, CHURN_GPA, CHURN_PAGES);
	return vm;
}

static void destroy_area_vm(struct area_ctx *ctx)
{
	kvm_vm_free(ctx->vm);
	munmap(ctx->data_hva, DATA_SIZE);
	munmap(ctx->churn_hva, 2 * CHURN_SIZE);
	munmap(ctx->churn_anon, SZ_16M);
	close(ctx->data_fd);
	close(ctx->churn_fd);
}

static void report_area(enum area a, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ksft_test_result(!atomic_load(&failures[a]), "%s: %s (at %.1f s)\n",
			 area_names[a], buf, now_secs());
}

static void test_gmem(void)
{
	struct kvm_vcpu *vcpus[NR_RUNNERS];
	struct runner rns[NR_RUNNERS] = {};
	struct churner ch = {};
	struct area_ctx ctx = { .area = AREA_GMEM };

	create_area_vm(&ctx, SW_PROTECTED_VM, 0, vcpus);
	run_area(&ctx, vcpus, gmem_fuzzer, NULL, rns, &ch);
	destroy_area_vm(&ctx);
	report_area(AREA_GMEM,
		    "%lu iterations x %d threads, %lu+%lu guest passes, %lu memslots created",
		    iterations, NR_FUZZERS, rns[0].passes, rns[1].passes, ch.created);
}

#ifdef __x86_64__
/* ------------------------------------------------------------ VTL fuzzing */

static const uint64_t rwx_ok[] = {
	0, KVM_MEMORY_ATTRIBUTE_NW, KVM_MEMORY_ATTRIBUTE_NX,
	KVM_MEMORY_ATTRIBUTE_NW | KVM_MEMORY_ATTRIBUTE_NX,
	KVM_MEMORY_ATTRIBUTE_NR | KVM_MEMORY_ATTRIBUTE_NW | KVM_MEMORY_ATTRIBUTE_NX,
};

/* A mostly valid entry; *@broken says whether a field was broken. */
static void make_entry(struct rng *r, struct kvm_vtl_memory_attributes_entry *e,
		       uint32_t vtl, bool mutate, bool *broken)
{
	*e = (struct kvm_vtl_memory_attributes_entry) {
		.address = pick_gpa(r, DATA_GPA, DATA_PAGES),
		.size = pick_size(r, DATA_PAGES),
		.attributes = rwx_ok[below(r, ARRAY_SIZE(rwx_ok))],
	};
	/* Occasionally a large range, cleared: cheap whatever the layer holds. */
	if (chance(r, 3)) {
		e->address = pages(below(r, 16)) << 18;
		e->size = SZ_1G;
		e->attributes = 0;
	}
	/* The checker owns layer 0 of the guard region. */
	if (vtl == 0 && hits_guard(e->address, e->size))
		e->address = DATA_GPA;
	*broken = false;
	if (mutate) {
		*broken = true;
		switch (below(r, 6)) {
		case 0:
			e->attributes = chance(r, 50) ? KVM_MEMORY_ATTRIBUTE_NR :
					1ULL << (3 + below(r, 61));
			break;
		case 1:
			e->address += 1 + below(r, PAGE_SIZE - 1);
			break;
		case 2:
			e->size = chance(r, 50) ? 0 : e->size + 1 + below(r, PAGE_SIZE - 1);
			break;
		case 3:
			make_overflow(r, &e->address, &e->size);
			break;
		case 4:
			/* Beyond any MMU's reach (52 bits). */
			e->address = 1ULL << (52 + below(r, 11));
			break;
		default:
			e->reserved = rnd(r) | 1;
			break;
		}
	}
}

static uint32_t pick_vtl(struct rng *r, unsigned int nr_vtls, bool mutate)
{
	static const uint32_t bad[] = { KVM_MAX_VTLS, KVM_MAX_VTLS + 1, 0x80000000, ~0U };

	if (!mutate)
		return below(r, nr_vtls);
	return chance(r, 50) ? nr_vtls + below(r, KVM_MAX_VTLS) : bad[below(r, ARRAY_SIZE(bad))];
}

static void fuzz_vtl_set(struct fuzzer *f)
{
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	struct kvm_vtl_memory_attributes_entry e;
	struct kvm_vtl_memory_attributes a;
	unsigned int which = below(r, 10);
	bool broken;
	void *arg = &a;
	int ret, err;

	a.vtl = pick_vtl(r, ctx->nr_vtls, which == 0);
	make_entry(r, &e, a.vtl, which == 1, &broken);
	/* The single-range ioctl has no reserved field. */
	if (e.reserved)
		broken = false;
	a.address = e.address;
	a.size = e.size;
	a.attributes = e.attributes;
	a.flags = which == 2 ? 1U << below(r, 32) : 0;
	if (which == 3)
		arg = bad_ptr(r);
	ret = ioctl(ctx->vm->fd, KVM_SET_VTL_MEMORY_ATTRIBUTES, arg);
	err = errno;
	check(&f->w, ctx->area, &op_vtl_set, ret, err,
	      "arg %p vtl %u address 0x%llx size 0x%llx attributes 0x%llx flags 0x%x",
	      arg, a.vtl, a.address, a.size, a.attributes, a.flags);
	if (!ret && (which == 0 || which == 2 || which == 3 || broken))
		fail(&f->w, ctx->area,
		     "KVM_SET_VTL_MEMORY_ATTRIBUTES accepted broken input (case %u)",
		     which);
}

static void fuzz_vtl_batch(struct fuzzer *f)
{
	struct kvm_vtl_memory_attributes_entry *ent = f->entries;
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	struct kvm_vtl_memory_attributes_batch b = {};
	unsigned int which = below(r, 14), i;
	uint32_t bad_entry = ~0U;
	bool broken, any = false;
	void *arg = &b;
	int ret, err;

	b.vtl = pick_vtl(r, ctx->nr_vtls, which == 0);
	b.nr_entries = 1 + below(r, chance(r, 80) ? 8 : 512);
	if (which == 1)
		b.nr_entries = chance(r, 50) ? 0 : KVM_VTL_MAX_BATCH_ENTRIES + 1;
	else if (which == 2 && chance(r, 15))
		b.nr_entries = KVM_VTL_MAX_BATCH_ENTRIES;
	for (i = 0; i < b.nr_entries && i <= KVM_VTL_MAX_BATCH_ENTRIES; i++) {
		if (i >= 64) {
			/* The rest of a large batch: one page, cleared. */
			ent[i] = (struct kvm_vtl_memory_attributes_entry) {
				.address = DATA_GPA + pages(i % DATA_PAGES),
				.size = PAGE_SIZE,
			};
			continue;
		}
		make_entry(r, &ent[i], b.vtl, false, &broken);
	}
	b.entries = (uint64_t)ent;
	switch (which) {
	case 3:
		b.flags = 1U << below(r, 32);
		break;
	case 4:
		b.reserved[below(r, 3)] = rnd(r) | 1;
		break;
	case 5:
		b.entries = (uint64_t)bad_ptr(r);
		break;
	case 6:
		arg = bad_ptr(r);
		break;
	case 7:
	case 8:
		bad_entry = below(r, b.nr_entries);
		make_entry(r, &ent[bad_entry], b.vtl, true, &broken);
		break;
	case 9:
		/* The entries end where an unmapped page begins. */
		b.entries = (uint64_t)none_page - sizeof(*ent) * below(r, b.nr_entries);
		break;
	default:
		break;
	}
	b.error_index = 0xdeadbeef;
	ret = ioctl(ctx->vm->fd, KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, arg);
	err = errno;
	check(&f->w, ctx->area, &op_vtl_batch, ret, err,
	      "arg %p vtl %u flags 0x%x nr_entries %u entries 0x%llx reserved %llx %llx %llx, bad entry %d: address 0x%llx size 0x%llx attributes 0x%llx reserved 0x%llx",
	      arg, b.vtl, b.flags, b.nr_entries, b.entries, b.reserved[0],
	      b.reserved[1], b.reserved[2], (int)bad_entry,
	      bad_entry != ~0U ? ent[bad_entry].address : 0,
	      bad_entry != ~0U ? ent[bad_entry].size : 0,
	      bad_entry != ~0U ? ent[bad_entry].attributes : 0,
	      bad_entry != ~0U ? ent[bad_entry].reserved : 0);
	/*
	 * error_index: nr_entries on success and when no entry is at fault
	 * (header, VM, vtl, reading the array, memory); else the entry's.
	 */
	if (arg != &b)
		any = !ret;
	else if (!ret)
		any = b.error_index != b.nr_entries || which <= 1 ||
		      (which >= 3 && which <= 6) || which == 9 || bad_entry != ~0U;
	else if (which <= 1 || which == 3 || which == 4 || err == EFAULT ||
		 err == ENOMEM || err == EINTR || err == ENXIO)
		any = b.error_index != b.nr_entries;
	else if (bad_entry != ~0U && err == EINVAL)
		any = b.error_index > bad_entry;	/* an earlier private gfn may fail first */
	else
		any = b.error_index >= b.nr_entries;
	if (any)
		fail(&f->w, ctx->area,
		     "batch case %u: returned %d errno %d error_index %u (nr_entries %u, bad entry %d)",
		     which, ret, err, b.error_index, b.nr_entries, (int)bad_entry);
}

/*
 * Read a layer back: whatever the other threads do meanwhile, a successful
 * read returns sorted, disjoint, non-empty runs of valid attributes inside
 * the range, and the header says how far it got.
 */
static void fuzz_vtl_get(struct fuzzer *f)
{
	struct kvm_vtl_memory_attributes_entry *ent = f->entries;
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	const uint64_t rwx = KVM_MEMORY_ATTRIBUTE_NR | KVM_MEMORY_ATTRIBUTE_NW |
			     KVM_MEMORY_ATTRIBUTE_NX;
	struct kvm_vtl_memory_attributes_query q = {};
	unsigned int which = below(r, 12), i;
	uint64_t start, end, prev_end, cap;
	void *arg = &q;
	int ret, err;

	q.vtl = pick_vtl(r, ctx->nr_vtls, which == 0);
	q.address = chance(r, 70) ? DATA_GPA + pages(below(r, DATA_PAGES)) : pages(rnd(r) >> 20);
	q.size = pages(1 + below(r, chance(r, 70) ? DATA_PAGES : 1U << 20));
	q.nr_entries = 1 + below(r, chance(r, 80) ? 8 : 512);
	q.entries = (uint64_t)ent;
	switch (which) {
	case 1:
		q.flags = 1U << below(r, 32);
		break;
	case 2:
		q.pad = rnd(r) | 1;
		break;
	case 3:
		q.reserved[below(r, 3)] = rnd(r) | 1;
		break;
	case 4:
		q.nr_entries = chance(r, 50) ? 0 : KVM_VTL_MAX_BATCH_ENTRIES + 1;
		break;
	case 5:
		q.entries = (uint64_t)bad_ptr(r);
		break;
	case 6:
		arg = bad_ptr(r);
		break;
	case 7:
		q.address += 1 + below(r, PAGE_SIZE - 1);
		break;
	default:
		break;
	}
	start = q.address;
	end = q.address + q.size;
	cap = q.nr_entries;
	ret = ioctl(ctx->vm->fd, KVM_GET_VTL_MEMORY_ATTRIBUTES, arg);
	err = errno;
	check(&f->w, ctx->area, &op_vtl_get, ret, err,
	      "arg %p vtl %u flags 0x%x address 0x%llx size 0x%llx nr_entries %u pad %u entries 0x%llx",
	      arg, q.vtl, q.flags, q.address, q.size, q.nr_entries, q.pad, q.entries);
	if (ret)
		return;
	if (which <= 4 || which == 6 || which == 7) {
		fail(&f->w, ctx->area, "KVM_GET_VTL_MEMORY_ATTRIBUTES accepted case %u", which);
		return;
	}
	if (q.nr_entries > cap || q.address + q.size != end || q.address < start ||
	    (q.nr_entries < cap && q.size)) {
		fail(&f->w, ctx->area, "read-back header: %u of %lu entries, left 0x%llx+0x%llx of 0x%lx-0x%lx",
		     q.nr_entries, cap, q.address, q.size, start, end);
		return;
	}
	prev_end = start;
	for (i = 0; i < q.nr_entries; i++) {
		struct kvm_vtl_memory_attributes_entry *e = &ent[i];
		uint64_t a = e->attributes;

		if (e->address < prev_end || !e->size || (e->size | e->address) % PAGE_SIZE ||
		    e->address + e->size > q.address || e->reserved || !a ||
		    (a & ~rwx) || ((a & KVM_MEMORY_ATTRIBUTE_NR) && a != rwx)) {
			fail(&f->w, ctx->area, "read-back entry %u: 0x%llx+0x%llx attrs 0x%lx reserved 0x%llx (after 0x%lx, up to 0x%llx)",
			     i, e->address, e->size, a, e->reserved, prev_end, q.address);
			return;
		}
		prev_end = e->address + e->size;
	}
}

static void fuzz_vcpu_vtl(struct fuzzer *f)
{
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	unsigned int which = below(r, 6), idle = below(r, 2);
	struct kvm_vcpu_vtl v = { .vtl = pick_vtl(r, ctx->nr_vtls, which == 0) };
	void *arg = &v;
	int ret, e;

	if (which == 1)
		v.flags = 1U << below(r, 32);
	if (which == 2)
		arg = __bad_ptr(r, false);
	ret = ioctl(ctx->idle_vcpu[idle]->fd, KVM_SET_VCPU_VTL, arg);
	e = errno;
	check(&f->w, ctx->area, &op_vcpu_vtl, ret, e, "vCPU %s arg %p vtl %u flags 0x%x",
	      idle ? "that never ran" : "that ran", arg, v.vtl, v.flags);
	if (!ret && (which <= 2 || !idle))
		fail(&f->w, ctx->area, "KVM_SET_VCPU_VTL accepted case %u on the vCPU %s",
		     which, idle ? "that never ran" : "that ran");
}

/* Enabling the layers again, or on a fresh VM with bad arguments. */
static void fuzz_vtl_cap(struct fuzzer *f)
{
	struct area_ctx *ctx = f->ctx;
	struct rng *r = &f->w.rng;
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_VTL_MEMORY_ATTRIBUTES,
		.args = { 1 + below(r, KVM_MAX_VTLS) },
	};
	struct kvm_vm *vm = ctx->vm;
	bool fresh = chance(r, 20);
	void *arg = &cap;
	int ret, e;

	switch (below(r, 6)) {
	case 0:
		cap.args[0] = chance(r, 50) ? 0 : KVM_MAX_VTLS + 1 + below(r, 1000);
		break;
	case 1:
		cap.args[1 + below(r, 3)] = rnd(r) | 1;
		break;
	case 2:
		cap.flags = 1U << below(r, 32);
		break;
	case 3:
		arg = bad_ptr(r);
		break;
	default:
		break;
	}
	if (fresh)
		vm = vm_create_barebones();
	ret = ioctl(vm->fd, KVM_ENABLE_CAP, arg);
	e = errno;
	check(&f->w, ctx->area, &op_vtl_cap, ret, e,
	      "%s VM, arg %p nr_vtls %llu args[1..3] %llx %llx %llx flags 0x%x",
	      fresh ? "a fresh" : "the fuzzed", arg, cap.args[0], cap.args[1],
	      cap.args[2], cap.args[3], cap.flags);
	if (!ret && !fresh)
		fail(&f->w, ctx->area, "the layers were enabled twice");
	if (fresh)
		kvm_vm_free(vm);
}

static void *vtl_fuzzer(void *arg)
{
	struct fuzzer *f = arg;
	struct rng *r = &f->w.rng;

	for (f->w.iter = 0; f->w.iter < iterations && !out_of_time(); f->w.iter++) {
		tick(&f->w);
		switch (below(r, 21)) {
		case 0 ... 6:
			fuzz_vtl_set(f);
			break;
		case 7 ... 12:
			fuzz_vtl_batch(f);
			break;
		case 13:
		case 14:
			fuzz_vcpu_vtl(f);
			break;
		case 15:
			fuzz_vtl_cap(f);
			break;
		case 16:
		case 17:
			fuzz_set_attributes(f, &op_attrs);
			break;
		case 18:
			fuzz_fallocate(f, f->ctx->data_fd, DATA_SIZE, &op_falloc);
			break;
		case 19:
			fuzz_vtl_get(f);
			break;
		default:
			fuzz_mmap(f, f->ctx->data_fd, DATA_SIZE);
			break;
		}
	}
	worker_stop(&f->w);
	return NULL;
}

/*
 * The NW invariant: make one guard page NW for VTL 0, put a marker where
 * vCPU 0 writes, and wait until vCPU 0 has faulted on the page.  The marker
 * must have survived: once the ioctl returned, no write may complete.
 */
static struct worker checker;
static unsigned long guard_rounds;
static struct runner *guard_runner;	/* vCPU 0, at VTL 0 */

static void *guard_checker(void *arg)
{
	struct area_ctx *ctx = arg;
	struct rng *r = &checker.rng;
	unsigned long round;

	for (round = 0; !atomic_load(&ctx->stop); round++) {
		uint64_t gpa = GUARD_GPA + pages(round % GUARD_PAGES);
		uint64_t *hva = addr_gpa2hva(ctx->vm, gpa);
		unsigned long before = atomic_load(&guard_runner->guard_faults);
		int ret;

		checker.iter = round;
		atomic_store(&guard_page, gpa);
		if (chance(r, 50)) {
			ret = set_vtl_attrs(ctx->vm, 0, gpa, PAGE_SIZE,
					    chance(r, 50) ? KVM_MEMORY_ATTRIBUTE_NW :
					    KVM_MEMORY_ATTRIBUTE_NW | KVM_MEMORY_ATTRIBUTE_NX);
		} else {
			struct kvm_vtl_memory_attributes_entry e[3] = {
				{ .address = DATA_GPA + pages(below(r, DATA_PAGES)),
				  .size = PAGE_SIZE },
				{ .address = gpa, .size = PAGE_SIZE,
				  .attributes = KVM_MEMORY_ATTRIBUTE_NW },
				{ .address = DATA_GPA + pages(below(r, DATA_PAGES)),
				  .size = PAGE_SIZE },
			};
			struct kvm_vtl_memory_attributes_batch b = {
				.vtl = 0, .nr_entries = 3, .entries = (uint64_t)e,
			};

			ret = ioctl(ctx->vm->fd, KVM_SET_VTL_MEMORY_ATTRIBUTES_BATCH, &b);
		}
		if (ret) {
			fail(&checker, AREA_VTL_GUEST, "restricting guard page 0x%lx: errno %d",
			     gpa, errno);
			break;
		}
		WRITE_ONCE(hva[0], MARKER);
		while (atomic_load(&guard_runner->guard_faults) == before &&
		       !atomic_load(&ctx->stop)) {
			tick(&checker);
			usleep(200);
		}
		if (READ_ONCE(hva[0]) != MARKER)
			fail(&checker, AREA_VTL_GUEST,
			     "round %lu: VTL 0 wrote 0x%lx to guard page 0x%lx after it was made NW",
			     round, READ_ONCE(hva[0]), gpa);
		ret = set_vtl_attrs(ctx->vm, 0, gpa, PAGE_SIZE, 0);
		TEST_ASSERT(!ret, "lifting the guard page: errno %d", errno);
		atomic_fetch_add(&guard_round, 1);
		tick(&checker);
	}
	guard_rounds = round;
	worker_stop(&checker);
	return NULL;
}

static void test_vtl(void)
{
	struct kvm_vcpu *vcpus[NR_RUNNERS];
	struct runner rns[NR_RUNNERS] = {};
	struct area_ctx ctx = { .area = AREA_VTL };
	struct churner ch = {};
	struct kvm_vcpu_vtl v;
	struct rng r;
	struct kvm_vm *vm;

	rng_init(&r, 100);
	vm = create_area_vm(&ctx, SW_PROTECTED_VM, 2 + below(&r, KVM_MAX_VTLS - 1), vcpus);
	ksft_print_msg("VTL area: %u VTLs\n", ctx.nr_vtls);

	/* Two idle vCPUs for KVM_SET_VCPU_VTL: one ran once, one never. */
	ctx.idle_vcpu[0] = vm_vcpu_add(vm, NR_RUNNERS, guest_code);
	vcpu_args_set(ctx.idle_vcpu[0], 1, NR_RUNNERS);
	v = (struct kvm_vcpu_vtl){ .vtl = 1 };
	vcpu_ioctl(ctx.idle_vcpu[0], KVM_SET_VCPU_VTL, &v);
	/* Until its first pass: the churn region is not there, MMIO. */
	do {
		vcpu_run(ctx.idle_vcpu[0]);
	} while (get_ucall(ctx.idle_vcpu[0], NULL) != UCALL_SYNC);
	ctx.idle_vcpu[1] = vm_vcpu_add(vm, NR_RUNNERS + 1, guest_code);

	guard_runner = &rns[0];
	rng_init(&checker.rng, 101);
	worker_start(&checker, NR_RUNNERS + 1 + NR_FUZZERS, "nw-checker");
	run_area(&ctx, vcpus, vtl_fuzzer, guard_checker, rns, &ch);
	destroy_area_vm(&ctx);
	report_area(AREA_VTL,
		    "%u VTLs, %lu iterations x %d threads, %lu+%lu guest passes, %lu memslots created",
		    ctx.nr_vtls, iterations, NR_FUZZERS, rns[0].passes, rns[1].passes,
		    ch.created);
	if (!atomic_load(&failures[AREA_VTL_GUEST]) && !guard_rounds)
		fail(NULL, AREA_VTL_GUEST, "no round of the NW invariant completed");
	report_area(AREA_VTL_GUEST, "%lu rounds, no write completed to an NW page",
		    guard_rounds);
}

/* ------------------------------------------------- measured launch fuzzing */

#define TVM_SLOT	10
#define TVM_GPA		DATA_GPA
#define TVM_PAGES	16
#define TVM_SIZE	(TVM_PAGES * PAGE_SIZE)
#define TVM_ROUND_ITERATIONS	100	/* per thread; then a new VM */

struct tvm_ctx {
	struct area_ctx a;
	struct kvm_vcpu *vcpu;
	uint8_t *src;			/* TVM_PAGES + 1 pages, then none_page */
	void *shared;			/* the slot's userspace_addr */
	atomic_ulong measured;		/* bit per gfn known to be measured */
	atomic_bool no_more_adds;	/* finalized or ran */
	atomic_int finalized_ok;
	atomic_int finalize_started;
	bool slot_present;		/* TVM_SLOT, under slot_lock */
	atomic_bool data_bound;		/* ...and it binds the data file at TVM_GPA */
	atomic_uint slot_gen;		/* TVM_SLOT changes, under slot_lock */
	pthread_mutex_t slot_lock;
};

static struct kvm_userspace_memory_region2 tvm_region(struct tvm_ctx *t)
{
	return (struct kvm_userspace_memory_region2) {
		.slot = TVM_SLOT, .flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = TVM_GPA, .memory_size = TVM_SIZE,
		.userspace_addr = (uint64_t)t->shared, .guest_memfd = t->a.data_fd,
	};
}

static uint64_t gfn_bits(uint64_t gpa, uint64_t size)
{
	uint64_t first, last;

	if (!size || gpa + size < gpa || gpa + size <= TVM_GPA || gpa >= TVM_GPA + TVM_SIZE)
		return 0;
	first = gpa < TVM_GPA ? 0 : (gpa - TVM_GPA) / PAGE_SIZE;
	last = gpa + size;
	if (last > TVM_GPA + TVM_SIZE)
		last = TVM_GPA + TVM_SIZE;
	last = (last - TVM_GPA + PAGE_SIZE - 1) / PAGE_SIZE;
	return GENMASK_ULL(last - 1, first);
}

static void tvm_add(struct fuzzer *f, struct tvm_ctx *t)
{
	struct rng *r = &f->w.rng;
	unsigned int which = below(r, 12);
	uint64_t first = below(r, TVM_PAGES), n;
	struct kvm_tvm_measured_pages a = {
		.gpa = TVM_GPA + pages(first),
		.size = pages(1 + below(r, 3)),
		.uaddr = (uint64_t)t->src + pages(below(r, TVM_PAGES)),
	}, in;
	bool done_before = atomic_load(&t->no_more_adds), broken = true, bound;
	void *arg = &a;
	unsigned int gen;
	int ret, e;

	switch (which) {
	case 0:
		a.flags = 1ULL << below(r, 64);
		break;
	case 1:
		a.reserved[below(r, 4)] = rnd(r) | 1;
		break;
	case 2:
		a.gpa = chance(r, 50) ? a.gpa + 1 + below(r, PAGE_SIZE - 1) :
			mutate_u64(r, a.gpa);
		break;
	case 3:
		a.size = chance(r, 50) ? 0 : mutate_u64(r, a.size);
		break;
	case 4:
		a.uaddr = chance(r, 50) ? a.uaddr + 1 : (uint64_t)bad_ptr(r);
		break;
	case 5:
		/* A source that ends in an unmapped page: EFAULT part way. */
		n = 1 + below(r, 2);
		a.uaddr = (uint64_t)none_page - pages(n);
		a.size = pages(n + 1 + below(r, 2));
		break;
	case 6:
		arg = bad_ptr(r);
		break;
	case 7:
		a.gpa = chance(r, 50) ? SPARE_GPA : TVM_GPA + TVM_SIZE - PAGE_SIZE;
		a.size = pages(1 + below(r, 2));
		break;
	default:
		broken = false;
		break;
	}
	in = a;
	gen = atomic_load(&t->slot_gen);
	bound = atomic_load(&t->data_bound);
	ret = ioctl(t->a.vm->fd, KVM_TVM_ADD_MEASURED_PAGES, arg);
	e = errno;
	/*
	 * The measured bits are offsets of the data file; they are known only
	 * if the slot bound that file at TVM_GPA, offset 0, all along.
	 */
	bound = bound && atomic_load(&t->slot_gen) == gen;
	check(&f->w, AREA_TVM, &op_tvm_add, ret, e,
	      "arg %p gpa 0x%llx size 0x%llx uaddr 0x%llx flags 0x%llx reserved %llx %llx %llx %llx",
	      arg, in.gpa, in.size, in.uaddr, in.flags, in.reserved[0],
	      in.reserved[1], in.reserved[2], in.reserved[3]);
	if (arg != &a) {
		if (!ret)
			fail(&f->w, AREA_TVM, "ADD succeeded with arg %p", arg);
		return;
	}
	/* What was added, and the write-back that describes the rest. */
	if (a.gpa - in.gpa != in.size - a.size || a.uaddr - in.uaddr != in.size - a.size ||
	    a.size > in.size || (!ret && a.size))
		fail(&f->w, AREA_TVM,
		     "ADD(gpa 0x%llx size 0x%llx uaddr 0x%llx) = %d errno %d wrote back gpa 0x%llx size 0x%llx uaddr 0x%llx",
		     in.gpa, in.size, in.uaddr, ret, e, a.gpa, a.size, a.uaddr);
	if (a.size != in.size && bound)
		atomic_fetch_or(&t->measured, gfn_bits(in.gpa, in.size - a.size));
	if (a.size != in.size && done_before)
		fail(&f->w, AREA_TVM,
		     "ADD added pages after the launch was finalized or a vCPU ran");
	/* Flags, reserved, a source that ends unmapped: never accepted. */
	if (!ret && broken && (which <= 1 || which == 5))
		fail(&f->w, AREA_TVM, "ADD accepted broken input (case %u)", which);
}

static void tvm_get(struct fuzzer *f, struct tvm_ctx *t, struct kvm_tvm_measurement *last)
{
	struct rng *r = &f->w.rng;
	struct kvm_tvm_measurement m;
	void *arg = chance(r, 15) ? bad_ptr(r) : &m;
	int ret, e, i;

	memset(&m, 0xa5, sizeof(m));
	ret = ioctl(t->a.vm->fd, KVM_TVM_GET_MEASUREMENT, arg);
	e = errno;
	if (!check(&f->w, AREA_TVM, &op_tvm_get, ret, e, "arg %p", arg))
		return;
	if (arg != &m) {
		fail(&f->w, AREA_TVM, "GET succeeded with arg %p", arg);
		return;
	}
	for (i = KVM_TVM_DIGEST_SIZE; i < sizeof(m.digest); i++)
		if (m.digest[i])
			break;
	if (m.digest_size != KVM_TVM_DIGEST_SIZE || i < sizeof(m.digest) ||
	    m.reserved[0] || m.reserved[1] || m.reserved[2] || m.reserved[3] ||
	    (m.flags & ~KVM_TVM_MEASUREMENT_FINALIZED))
		fail(&f->w, AREA_TVM, "GET: flags 0x%x digest_size %u, unused bytes not zero",
		     m.flags, m.digest_size);
	if (m.nr_pages < last->nr_pages ||
	    ((last->flags & KVM_TVM_MEASUREMENT_FINALIZED) &&
	     (!(m.flags & KVM_TVM_MEASUREMENT_FINALIZED) || m.nr_pages != last->nr_pages ||
	      memcmp(m.digest, last->digest, sizeof(m.digest)))))
		fail(&f->w, AREA_TVM, "GET went back: nr_pages %llu -> %llu, flags 0x%x -> 0x%x",
		     last->nr_pages, m.nr_pages, last->flags, m.flags);
	if (m.flags & KVM_TVM_MEASUREMENT_FINALIZED)
		atomic_store(&t->no_more_adds, true);
	*last = m;
}

static void tvm_finalize(struct fuzzer *f, struct tvm_ctx *t)
{
	int ret, e;

	atomic_fetch_add(&t->finalize_started, 1);
	ret = ioctl(t->a.vm->fd, KVM_TVM_FINALIZE, NULL);
	e = errno;
	if (check(&f->w, AREA_TVM, &op_tvm_finalize, ret, e, "(none)")) {
		atomic_store(&t->no_more_adds, true);
		if (atomic_fetch_add(&t->finalized_ok, 1))
			fail(&f->w, AREA_TVM, "KVM_TVM_FINALIZE succeeded twice");
	}
}

static void tvm_attrs(struct fuzzer *f, struct tvm_ctx *t)
{
	struct rng *r = &f->w.rng;
	struct kvm_memory_attributes a = {
		.address = TVM_GPA + pages(below(r, TVM_PAGES)),
		.size = pages(1 + below(r, 4)),
		.attributes = chance(r, 50) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	uint64_t measured = atomic_load(&t->measured);
	int ret, e;

	if (chance(r, 20))
		a.flags = 1ULL << below(r, 64);
	else if (chance(r, 20))
		make_overflow(r, &a.address, &a.size);
	ret = ioctl(t->a.vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
	e = errno;
	check(&f->w, AREA_TVM, &op_attrs_tvm, ret, e,
	      "address 0x%llx size 0x%llx attributes 0x%llx flags 0x%llx",
	      a.address, a.size, a.attributes, a.flags);
	if (!ret && !a.attributes && (gfn_bits(a.address, a.size) & measured))
		fail(&f->w, AREA_TVM,
		     "a measured gfn was made shared: address 0x%llx size 0x%llx (measured 0x%lx)",
		     a.address, a.size, measured);
}

static void tvm_punch(struct fuzzer *f, struct tvm_ctx *t)
{
	struct rng *r = &f->w.rng;
	uint64_t measured = atomic_load(&t->measured);
	uint64_t off = pages(below(r, TVM_PAGES)), len = pages(1 + below(r, 3));
	int ret, e;

	if (chance(r, 30)) {
		fuzz_fallocate(f, t->a.data_fd, TVM_SIZE, &op_falloc_tvm);
		return;
	}
	ret = fallocate(t->a.data_fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, off, len);
	e = errno;
	check(&f->w, AREA_TVM, &op_falloc_tvm, ret, e, "punch offset 0x%lx len 0x%lx",
	      off, len);
	if (!ret && (gfn_bits(TVM_GPA + off, len) & measured))
		fail(&f->w, AREA_TVM,
		     "a measured page was punched out: offset 0x%lx len 0x%lx (measured 0x%lx)",
		     off, len, measured);
}

/* Delete the slot or create it again; rebinding a measured offset: EPERM. */
static void tvm_memslot(struct fuzzer *f, struct tvm_ctx *t)
{
	struct kvm_userspace_memory_region2 reg = tvm_region(t);
	struct rng *r = &f->w.rng;
	uint64_t measured;
	char buf[256];
	int ret, e;

	pthread_mutex_lock(&t->slot_lock);
	measured = atomic_load(&t->measured);
	if (t->slot_present) {
		if (chance(r, 70)) {
			/* Bind part of the file elsewhere: overlaps, EINVAL. */
			reg.slot = SPARE_SLOT;
			reg.guest_phys_addr = SPARE_GPA;
			reg.guest_memfd_offset = pages(below(r, TVM_PAGES));
			reg.memory_size = PAGE_SIZE;
		} else {
			reg.memory_size = 0;
		}
	} else if (chance(r, 30)) {
		mutate_region(r, &reg, t->a.churn_fd);
	}
	ret = set_region(t->a.vm, &reg);
	e = errno;
	check(&f->w, AREA_TVM, &op_memslot_tvm, ret, e, "%s",
	      region_str(buf, sizeof(buf), &reg));
	if (!ret && reg.memory_size && (gfn_bits(reg.guest_phys_addr, reg.memory_size) & measured))
		fail(&f->w, AREA_TVM, "a memslot was created over measured gfns 0x%lx: %s",
		     measured, buf);
	if (!ret && reg.memory_size && reg.guest_memfd == t->a.data_fd &&
	    (reg.flags & KVM_MEM_GUEST_MEMFD) &&
	    (gfn_bits(TVM_GPA + reg.guest_memfd_offset, reg.memory_size) & measured))
		fail(&f->w, AREA_TVM, "a measured (sealed) offset was bound again: %s", buf);
	if (!ret && reg.slot == TVM_SLOT) {
		atomic_fetch_add(&t->slot_gen, 1);
		t->slot_present = reg.memory_size;
		t->data_bound = reg.memory_size && reg.guest_memfd == t->a.data_fd &&
				(reg.flags & KVM_MEM_GUEST_MEMFD) &&
				reg.guest_phys_addr == TVM_GPA && !reg.guest_memfd_offset;
	} else if (!ret) {
		reg.memory_size = 0;
		reg.flags = 0;
		set_region(t->a.vm, &reg);
		if (reg.slot == SPARE_SLOT && t->data_bound && reg.guest_memfd == t->a.data_fd)
			fail(&f->w, AREA_TVM, "an offset bound already was bound again: %s", buf);
	}
	pthread_mutex_unlock(&t->slot_lock);
}

static atomic_int tvm_faults_shown;

static void tvm_run(struct fuzzer *f, struct tvm_ctx *t)
{
	bool measuring = atomic_load(&t->measured) && !atomic_load(&t->finalize_started);
	struct kvm_run *run = t->vcpu->run;
	bool bound;
	int ret, e;

	/* The guest reads 16 pages and reports: hold the memslot still. */
	pthread_mutex_lock(&t->slot_lock);
	bound = t->data_bound;
	ret = __vcpu_run(t->vcpu);
	e = errno;
	pthread_mutex_unlock(&t->slot_lock);
	if (check(&f->w, AREA_TVM, &op_run_tvm, ret, e, "vCPU 0 (measured 0x%lx)",
		  atomic_load(&t->measured))) {
		atomic_store(&t->no_more_adds, true);
		if (measuring && !atomic_load(&t->finalize_started))
			fail(&f->w, AREA_TVM, "a vCPU ran while the launch was being measured");
		if (get_ucall(t->vcpu, NULL) == UCALL_ABORT)
			fail(&f->w, AREA_TVM, "guest assertion");
	} else if (e == EFAULT && run->exit_reason != KVM_EXIT_MEMORY_FAULT) {
		fail(&f->w, AREA_TVM, "KVM_RUN EFAULT with exit %s",
		     exit_reason_str(run->exit_reason));
	} else if (e == EFAULT && bound) {
		/* Not documented as impossible, so not a failure; shown. */
		if (!atomic_fetch_add(&tvm_faults_shown, 1))
			ksft_print_msg("TVM fault, slot bound: gpa 0x%llx flags 0x%llx\n",
				       run->memory_fault.gpa, run->memory_fault.flags);
	} else if (e == EFAULT) {
		/* Private gfns without their memslot: share them. */
		set_attributes(t->a.vm, run->memory_fault.gpa & ~(PAGE_SIZE - 1ULL), PAGE_SIZE, 0);
	}
}

static void *tvm_fuzzer(void *arg)
{
	struct fuzzer *f = arg;
	struct tvm_ctx *t = container_of(f->ctx, struct tvm_ctx, a);
	struct rng *r = &f->w.rng;
	struct kvm_tvm_measurement last = {};
	uint64_t n = min_t(uint64_t, iterations, TVM_ROUND_ITERATIONS);

	for (f->w.iter = 0; f->w.iter < n && !out_of_time(); f->w.iter++) {
		tick(&f->w);
		switch (below(r, 40)) {
		case 0 ... 17:
			tvm_add(f, t);
			break;
		case 18 ... 24:
			tvm_get(f, t, &last);
			break;
		case 25:
			/* Late, so that most of the round measures. */
			if (f->w.iter >= n / 3)
				tvm_finalize(f, t);
			break;
		case 26 ... 30:
			tvm_attrs(f, t);
			break;
		case 31 ... 34:
			tvm_punch(f, t);
			break;
		case 35 ... 37:
			tvm_memslot(f, t);
			break;
		default:
			/* A run ends the launch for good: in the second half only. */
			if (f->w.iter >= n / 2)
				tvm_run(f, t);
			break;
		}
	}
	worker_stop(&f->w);
	return NULL;
}

/* The TVM's guest reads the measured region and reports. */
static void guest_tvm(void)
{
	uint64_t i, sum = 0;

	for (;;) {
		for (i = 0; i < TVM_PAGES; i++)
			sum += READ_ONCE(*(uint64_t *)(TVM_GPA + pages(i)));
		GUEST_SYNC(sum);
	}
}

static void test_tvm(void)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT, .type = KVM_X86_SW_PROTECTED_VM,
	};
	unsigned long finalized = 0, measured_pages = 0;
	unsigned int round, rounds, i;

	rounds = (iterations + TVM_ROUND_ITERATIONS - 1) / TVM_ROUND_ITERATIONS;
	for (round = 0; round < rounds && !out_of_time(); round++) {
		struct fuzzer f[NR_FUZZERS] = {};
		struct kvm_userspace_memory_region2 reg;
		struct tvm_ctx t = { .a.area = AREA_TVM };

		t.a.vm = __vm_create(shape, 1, 0);
		t.a.private_mem = true;
		t.vcpu = vm_vcpu_add(t.a.vm, 0, guest_tvm);
		pthread_mutex_init(&t.slot_lock, NULL);
		t.a.data_fd = vm_create_guest_memfd(t.a.vm, TVM_SIZE, 0);
		t.a.churn_fd = vm_create_guest_memfd(t.a.vm, TVM_SIZE, 0);
		t.shared = map_anon(TVM_SIZE);
		/* The source: TVM_PAGES + 2 pages, the last of them none_page's twin. */
		t.src = mmap(NULL, pages(TVM_PAGES + 2), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		TEST_ASSERT(t.src != MAP_FAILED, "mmap");
		memset(t.src, 'A' + round, pages(TVM_PAGES + 2));
		reg = tvm_region(&t);
		TEST_ASSERT(!set_region(t.a.vm, &reg), "TVM memslot: errno %d", errno);
		t.slot_present = true;
		t.data_bound = true;
		vm_mem_set_private(t.a.vm, TVM_GPA, TVM_SIZE);
		virt_map(t.a.vm, TVM_GPA, TVM_GPA, TVM_PAGES);

		for (i = 0; i < NR_FUZZERS; i++) {
			char name[32];

			snprintf(name, sizeof(name), "tvm%u-fuzz%u", round, i);
			f[i].ctx = &t.a;
			worker_start(&f[i].w, i, name);
			rng_init(&f[i].w.rng, 1000 * (round + 1) + i);
			pthread_create(&f[i].thread, NULL, tvm_fuzzer, &f[i]);
		}
		for (i = 0; i < NR_FUZZERS; i++)
			pthread_join(f[i].thread, NULL);

		finalized += atomic_load(&t.finalized_ok);
		measured_pages += __builtin_popcountll(atomic_load(&t.measured));
		kvm_vm_free(t.a.vm);
		close(t.a.data_fd);
		close(t.a.churn_fd);
		munmap(t.shared, TVM_SIZE);
		munmap(t.src, pages(TVM_PAGES + 2));
	}
	report_area(AREA_TVM,
		    "%u VMs, %lu iterations x %d threads, %lu finalized, %lu pages measured",
		    round, iterations, NR_FUZZERS, finalized, measured_pages);
}
#endif /* __x86_64__ */

/* ------------------------------------------------------------------ main */

static void usage(const char *name)
{
	printf("Usage: %s [-s SEED] [-i ITERATIONS] [-t SECONDS_CAP]\n"
	       "  -s  seed of the per-thread PRNGs (default: from the clock)\n"
	       "  -i  iterations per fuzzing thread and area (default %d)\n"
	       "  -t  stop early, without failing, after this many seconds (default %d)\n",
	       name, DEFAULT_ITERATIONS, DEFAULT_CAP_SECS);
	exit(KSFT_SKIP);
}

int main(int argc, char *argv[])
{
	struct sigaction bus = { .sa_handler = sigbus_handler };
	struct sigaction usr = { .sa_handler = sigusr1_handler };
	int opt, plan = 1;
	pthread_t wd;
#ifdef __x86_64__
	bool vtl, tvm;
#endif

	clock_gettime(CLOCK_MONOTONIC, &start_time);
	seed = start_time.tv_nsec ^ (uint64_t)start_time.tv_sec << 20;
	while ((opt = getopt(argc, argv, "s:i:t:h")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			iterations = strtoull(optarg, NULL, 0);
			break;
		case 't':
			cap_secs = atoi_positive("seconds cap", optarg);
			break;
		default:
			usage(argv[0]);
		}
	}

	ksft_print_header();
	ksft_print_msg("seed %lu, %lu iterations per thread and area, cap %u s\n",
		       seed, iterations, cap_secs);
	ksft_print_msg("repeat with: -s %lu -i %lu\n", seed, iterations);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD_FLAGS));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(SW_PROTECTED_VM));
#ifdef __x86_64__
	vtl = kvm_check_cap(KVM_CAP_VTL_MEMORY_ATTRIBUTES) == KVM_MAX_VTLS;
	tvm = kvm_has_cap(KVM_CAP_TVM_MEASURED_LAUNCH);
	plan += 3;
	/* VTL VMs refuse SVM/VMX in CPUID; the other VMs do not need them. */
	vtl_supported_cpuid_without_nested();
#endif
	ksft_set_plan(plan);

	TEST_ASSERT(!sigaction(SIGBUS, &bus, NULL), "sigaction");
	TEST_ASSERT(!sigaction(SIGUSR1, &usr, NULL), "sigaction");
	none_page = mmap(NULL, 2 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(none_page != MAP_FAILED, "mmap");
	ro_page = (uint8_t *)none_page + PAGE_SIZE;
	TEST_ASSERT(!mprotect(ro_page, PAGE_SIZE, PROT_READ), "mprotect");
	/* Hard stop far beyond the cap, in case the watchdog itself is stuck. */
	alarm(cap_secs + 4 * WATCHDOG_SECS);
	pthread_create(&wd, NULL, watchdog, NULL);

	test_gmem();
#ifdef __x86_64__
	if (vtl) {
		test_vtl();
	} else {
		ksft_test_result_skip("%s: no KVM_CAP_VTL_MEMORY_ATTRIBUTES\n",
				      area_names[AREA_VTL]);
		ksft_test_result_skip("%s: no KVM_CAP_VTL_MEMORY_ATTRIBUTES\n",
				      area_names[AREA_VTL_GUEST]);
	}
	if (tvm)
		test_tvm();
	else
		ksft_test_result_skip("%s: no KVM_CAP_TVM_MEASURED_LAUNCH\n",
				      area_names[AREA_TVM]);
#endif
	atomic_store(&watchdog_stop, true);
	pthread_join(wd, NULL);
	print_op_stats();
	ksft_print_msg("%lu KVM_RUN EFAULTs without exit info while a churn slot mapped another guest_memfd offset\n",
		       atomic_load(&odd_slot_efaults));
	if (atomic_load(&time_up))
		ksft_print_msg("the %u s cap was reached: fewer iterations than asked\n",
			       cap_secs);
	ksft_print_msg("%.1f s, seed %lu\n", now_secs(), seed);
	ksft_finished();
}
