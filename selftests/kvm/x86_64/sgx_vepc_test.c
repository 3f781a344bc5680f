// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtual SGX EPC device (vepc.ko, emulated backend): upstream's
 * /dev/sgx_vepc ABI as QEMU uses it (mmap, SGX_IOC_VEPC_REMOVE_ALL) and the
 * device's own ioctls (<asm/sgx_vepc.h>).  No VM is needed.
 *
 * The device is /dev/tvmm_vepc, or /dev/sgx_vepc on a kernel without its
 * own; the first of the two that answers VEPC_IOC_GET_INFO is tested, none
 * skips the test.  Each case runs in a child process, so that a failed case
 * leaves no instance open behind it; the module parameters a case changes
 * are restored by the case, and again by the parent after it.  Pool counts
 * come from VEPC_IOC_GET_INFO and, when debugfs has them, from
 * /sys/kernel/debug/vepc/pool (without it, zombie counts are not checked).
 *
 *  1. info: the emulated backend, the pool's size that of the parameter
 *     pool_pages, a fresh instance empty and capped by instance_limit,
 *     reserved fields zero, instance ids distinct, the instance count in
 *     debugfs.
 *  2. QEMU's sequence: open, mmap MAP_SHARED, nothing allocated before the
 *     first touch, zeroed pages, a pattern per page read back, resident and
 *     the pool's free count, SGX_IOC_VEPC_REMOVE_ALL twice returning 0 with
 *     the (FREE) pages' contents kept, munmap and close giving the pages
 *     back; twice, so that the second run gets zeroed pages the first wrote.
 *  3. bad input: MAP_PRIVATE, REMOVE_ALL's argument, unknown ioctls,
 *     GET_INFO's pointer, SET_LIMIT's flags and reserved field, and every
 *     error of VEPC_IOC_EMUL_SET_PAGE; refused calls change nothing.
 *  4. mappings: a fork()ed child has no mapping (SIGSEGV) and its exit takes
 *     nothing from the parent; mremap() cannot grow a mapping (EFAULT) but
 *     moves it with its contents; pages first touched after the move have
 *     the right index; two mappings of an offset share its page; two
 *     instances share nothing; an instance closed while mapped lives on
 *     until munmap.
 *  5. EPCM model: REMOVE_ALL in index order (a SECS with REG children above
 *     it: 1 then 0; children below their SECS: 0 at once; TCS and TRIM are
 *     children too), removed pages zero and FREE again, FREE pages kept,
 *     VEPC_EMUL_ACTIVE on the SECS of a child: EBUSY for the child with the
 *     enclave untouched, cleared: removable; pages stay allocated.
 *  6. zombie: a SECS whose child lives in another instance outlives its
 *     instance (zombies + 1, not free) until REMOVE_ALL or the release of
 *     the child's instance removes its last child; an active enclave across
 *     two instances is EBUSY in the child's, its SECS a failure (1) in the
 *     other; a child's instance closed first
 *     leaves no zombie.
 *  7. limits: VEPC_IOC_SET_LIMIT (SIGBUS beyond it, raising it lets the
 *     fault through, 0 lifts it, lowering it below what is held), the
 *     parameter instance_limit for new instances only, which they cannot
 *     lift or raise without CAP_SYS_RESOURCE (EPERM), the global
 *     max_pages, and the pool's end: one page more than the pool reclaims a
 *     page, which is loaded back intact.
 *  8. concurrency: 4 threads and 2 forked processes (mapping the inherited
 *     fd) fault and write pages of one instance at once, some pages owned
 *     by one writer, some shared by all; afterwards the instance holds each
 *     page once and every page holds what its writers left.
 *  9. release: an instance holding a whole enclave (children below and
 *     above its SECS, a VA page) gives every page back with no zombie, a
 *     fork()ed child's copy of the fd is not the last reference, and with
 *     everything closed the whole pool is free, nothing held, no zombie.
 * 10. oversubscription: two instances map twice the pool and write a
 *     pattern to every page, three times over, from two processes at once;
 *     every page reads back intact, pages were reclaimed and reloaded, and
 *     closing the instances with pages still reclaimed leaves nothing held;
 *     reclaim takes a page out of every mapping of its instance (two in
 *     one process, one in another).
 * 11. sealing: pages reclaimed through debugfs vepc/reclaim; a sealed copy
 *     with a bit changed, an older copy of the same page put back (a
 *     replay), another page's copy and another instance's are SIGBUS on
 *     every touch (unseal_failures counts each once), never wrong data;
 *     REMOVE_ALL discards them (the pages read zero); the other pages
 *     reload intact; the tamper file's own errors.
 * 12. SECS pages under reclaim: a pool of SECS pages (instance A) whose
 *     children (instance B) are all reclaimed still serves B's faults, the
 *     SECS pages being reclaimable once no child is in the pool; with A
 *     closed they are zombies, resident or reclaimed, B's pages reload
 *     intact beside them, and B's REMOVE_ALL takes them all.
 * 13. KVM: a VM whose memslot is a vEPC mapping twice the pool; its vCPU
 *     writes every page, the host reclaims pages under it, the vCPU checks
 *     and rewrites every page, the host checks every page: KVM's mappings
 *     follow reclaim (a stale one would write into another page's pool
 *     page), and reclaim runs while the guest faults.
 * 14. held pages: pool pages with an extra reference (the "hold" hook, as
 *     kvm_vcpu_map() takes one) are passed over by reclaim and keep what is
 *     written to them; dropped, they are reclaimable; held at release,
 *     they are orphaned (pool whole, orphaned + 2); the hook's errors.
 *
 * Cases 11 to 14, and case 10's reclaim through mappings, need the test
 * hooks in debugfs (CONFIG_VEPC_TEST_HOOKS) and skip without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <asm/sgx.h>		/* SGX_IOC_VEPC_REMOVE_ALL, upstream's UAPI */
#include <asm/sgx_vepc.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "processor.h"
#include "ucall_common.h"

#ifndef PAGE_SIZE
#define PAGE_SIZE	4096UL
#endif
#define PAGE_WORDS	(PAGE_SIZE / sizeof(__u64))
#define PG(n)		((unsigned long)(n) * PAGE_SIZE)

#define PARAM_DIR	"/sys/module/vepc/parameters/"
#define DEBUGFS_DIR	"/sys/kernel/debug"
#define POOL_FILE	DEBUGFS_DIR "/vepc/pool"
#define MIN_POOL_PAGES	64	/* the most any case holds at once, with room */

static const char *dev_path;
static bool have_debugfs;
static bool have_hooks;		/* debugfs vepc/reclaim and tamper: CONFIG_VEPC_TEST_HOOKS */
static const char *case_name;

/* ------------------------------------------------------------ reporting */

static __printf(1, 2) __noreturn void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_test_result_fail("%s: %s\n", case_name, msg);
	exit(KSFT_FAIL);
}

#define check(cond, fmt, ...)						\
do {									\
	if (!(cond))							\
		fail(fmt, ##__VA_ARGS__);				\
} while (0)

#define expect_errno(call, err, what)					\
do {									\
	long __r = (long)(call);					\
	int __e = errno, __want = (err);				\
									\
	check(__r == -1 && __e == __want,				\
	      "%s: returned %ld, errno %d (%s), expected errno %d (%s)", \
	      what, __r, __r == -1 ? __e : 0,				\
	      __r == -1 ? strerror(__e) : "none", __want, strerror(__want)); \
} while (0)

static const char *sig_name(int sig)
{
	return sig ? strsignal(sig) : "no fault";
}

/* ------------------------------------------------------- catching faults */

/*
 * Per thread: case 8's threads catch their own faults.  The flags and the
 * access in between are __atomic operations (SEQ_CST), which the compiler
 * neither drops nor reorders.
 */
static __thread sigjmp_buf fault_env;
static __thread int fault_armed;
static __thread int fault_sig;

static void fault_handler(int sig)
{
	if (!__atomic_load_n(&fault_armed, __ATOMIC_SEQ_CST)) {
		/* A fault nobody expects: die of it, the parent reports it. */
		signal(sig, SIG_DFL);
		return;
	}
	__atomic_store_n(&fault_armed, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_sig, sig, __ATOMIC_SEQ_CST);
	siglongjmp(fault_env, 1);
}

/* Store @val at @addr: 0, or the signal (SIGBUS, SIGSEGV) the store raised. */
static int try_write(void *addr, __u64 val)
{
	if (sigsetjmp(fault_env, 1))
		return __atomic_load_n(&fault_sig, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_armed, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n((__u64 *)addr, val, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/* Load *@addr into *@val: 0, or the signal the load raised. */
static int try_read(const void *addr, __u64 *val)
{
	if (sigsetjmp(fault_env, 1))
		return __atomic_load_n(&fault_sig, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_armed, 1, __ATOMIC_SEQ_CST);
	*val = __atomic_load_n((const __u64 *)addr, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/* ------------------------------------------------------------- the device */

static int vepc_open(void)
{
	int fd = open(dev_path, O_RDWR);

	check(fd >= 0, "open(%s): %s", dev_path, strerror(errno));
	return fd;
}

static struct vepc_info get_info(int fd)
{
	struct vepc_info info;

	memset(&info, 0xa5, sizeof(info));
	check(!ioctl(fd, VEPC_IOC_GET_INFO, &info), "VEPC_IOC_GET_INFO: %s", strerror(errno));
	return info;
}

static unsigned long resident(int fd)
{
	return get_info(fd).resident;
}

static unsigned long pool_free(int fd)
{
	return get_info(fd).pool_free;
}

static void set_limit(int fd, unsigned long pages)
{
	struct vepc_limit lim = { .limit_pages = pages };

	check(!ioctl(fd, VEPC_IOC_SET_LIMIT, &lim), "VEPC_IOC_SET_LIMIT(%lu): %s", pages,
	      strerror(errno));
}

static void expect_remove_all(int fd, int want, const char *what)
{
	int r = ioctl(fd, SGX_IOC_VEPC_REMOVE_ALL, 0UL);

	check(r == want, "%s: SGX_IOC_VEPC_REMOVE_ALL returned %d (%s), expected %d", what, r,
	      r < 0 ? strerror(errno) : "no error", want);
}

static void expect_remove_all_busy(int fd, const char *what)
{
	expect_errno(ioctl(fd, SGX_IOC_VEPC_REMOVE_ALL, 0UL), EBUSY, what);
}

static const char *type_name(unsigned int type)
{
	switch (type) {
	case VEPC_PT_SECS:	return "SECS";
	case VEPC_PT_TCS:	return "TCS";
	case VEPC_PT_REG:	return "REG";
	case VEPC_PT_VA:	return "VA";
	case VEPC_PT_TRIM:	return "TRIM";
	case VEPC_PT_FREE:	return "FREE";
	default:		return "unknown";
	}
}

static int set_page(int fd, unsigned long page, unsigned int type, unsigned int flags,
		    int secs_fd, unsigned long secs_page)
{
	struct vepc_emul_page p = {
		.offset = PG(page), .type = type, .flags = flags,
		.secs_fd = secs_fd, .secs_offset = PG(secs_page),
	};

	return ioctl(fd, VEPC_IOC_EMUL_SET_PAGE, &p);
}

/* Page @page of @fd becomes @type; a child's SECS is page @secs_page of @secs_fd. */
static void set_page_ok(int fd, unsigned long page, unsigned int type, unsigned int flags,
			int secs_fd, unsigned long secs_page)
{
	check(!set_page(fd, page, type, flags, secs_fd, secs_page),
	      "VEPC_IOC_EMUL_SET_PAGE(page %lu, %s, flags %#x, SECS fd %d page %lu): %s",
	      page, type_name(type), flags, secs_fd, secs_page, strerror(errno));
}

static void set_secs(int fd, unsigned long page, unsigned int flags)
{
	set_page_ok(fd, page, VEPC_PT_SECS, flags, -1, 0);
}

static void set_child(int fd, unsigned long page, unsigned int type, unsigned long secs_page)
{
	set_page_ok(fd, page, type, 0, -1, secs_page);
}

/* Page @page of @fd is not FREE: a new type for it is EBUSY. */
static void expect_not_free(int fd, unsigned long page, const char *what)
{
	expect_errno(set_page(fd, page, VEPC_PT_VA, 0, -1, 0), EBUSY, what);
}

static void *map_pages(int fd, unsigned long pages, unsigned long first)
{
	void *m = mmap(NULL, PG(pages), PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG(first));

	check(m != MAP_FAILED, "mmap(%lu pages at page %lu): %s", pages, first, strerror(errno));
	return m;
}

static void unmap_pages(void *m, unsigned long pages)
{
	check(!munmap(m, PG(pages)), "munmap: %s", strerror(errno));
}

static __u64 *page_at(void *m, unsigned long page)
{
	return (__u64 *)((char *)m + PG(page));
}

/* ----------------------------------------------------------- page contents */

static __u64 pattern(__u64 seed, unsigned long word)
{
	return 0x7e57000000000000ULL | seed << 16 | word;
}

static void fill_page(void *m, unsigned long page, __u64 seed)
{
	__u64 *p = page_at(m, page);
	unsigned long i;
	int sig;

	sig = try_write(p, pattern(seed, 0));
	check(!sig, "page %lu: %s on writing it", page, sig_name(sig));
	for (i = 1; i < PAGE_WORDS; i++)
		p[i] = pattern(seed, i);
}

static void expect_page(void *m, unsigned long page, __u64 seed, const char *what)
{
	__u64 *p = page_at(m, page);
	unsigned long i;
	__u64 v;
	int sig;

	sig = try_read(p, &v);
	check(!sig, "%s: page %lu: %s on reading it", what, page, sig_name(sig));
	for (i = 0; i < PAGE_WORDS; i++)
		check(p[i] == pattern(seed, i), "%s: page %lu word %lu is %#llx, expected %#llx",
		      what, page, i, p[i], pattern(seed, i));
}

static void expect_zero(void *m, unsigned long page, const char *what)
{
	__u64 *p = page_at(m, page);
	unsigned long i;
	__u64 v;
	int sig;

	sig = try_read(p, &v);
	check(!sig, "%s: page %lu: %s on reading it", what, page, sig_name(sig));
	for (i = 0; i < PAGE_WORDS; i++)
		check(!p[i], "%s: page %lu word %lu is %#llx, expected 0", what, page, i, p[i]);
}

/* Fault page @page in with a store: 0, or the signal. */
static int touch(void *m, unsigned long page)
{
	return try_write(page_at(m, page), pattern(0xf00, page));
}

static void touch_ok(void *m, unsigned long page, const char *what)
{
	int sig = touch(m, page);

	check(!sig, "%s: page %lu: %s", what, page, sig_name(sig));
}

static void touch_sigbus(void *m, unsigned long page, const char *what)
{
	int sig = touch(m, page);

	check(sig == SIGBUS, "%s: page %lu: %s, expected SIGBUS", what, page, sig_name(sig));
}

/* -------------------------------------------------- parameters and debugfs */

static bool read_param(const char *name, unsigned long *val)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	*val = strtoul(buf, NULL, 10);
	return true;
}

/* 0, or the errno of the write. */
static int write_param(const char *name, unsigned long val)
{
	char path[128], buf[32];
	int fd, len, err = 0;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	len = snprintf(buf, sizeof(buf), "%lu\n", val);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, buf, len) != len)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

static unsigned long param(const char *name)
{
	unsigned long val;

	check(read_param(name, &val), "reading %s%s: %s", PARAM_DIR, name, strerror(errno));
	return val;
}

static void set_param(const char *name, unsigned long val)
{
	int err = write_param(name, val);

	check(!err, "writing %lu to %s%s: %s", val, PARAM_DIR, name, strerror(err));
	check(param(name) == val, "%s%s reads %lu after writing %lu", PARAM_DIR, name,
	      param(name), val);
}

struct pool_stats {
	unsigned long pool_pages, free, held, zombies;
	unsigned long reclaimed, nr_reclaims, nr_reloads, instances;
};

/* The counts in debugfs: false if debugfs has none. */
static bool read_pool(struct pool_stats *s)
{
	static const char * const names[] = {
		"pool_pages", "free", "held", "zombies",
		"reclaimed", "nr_reclaims", "nr_reloads", "instances",
	};
	unsigned long *fields[] = {
		&s->pool_pages, &s->free, &s->held, &s->zombies,
		&s->reclaimed, &s->nr_reclaims, &s->nr_reloads, &s->instances,
	};
	bool seen[ARRAY_SIZE(names)] = {};
	char name[64];
	unsigned long v;
	unsigned int i;
	FILE *f;

	if (!have_debugfs)
		return false;
	f = fopen(POOL_FILE, "r");
	check(f, "%s: %s", POOL_FILE, strerror(errno));
	while (fscanf(f, "%63s %lu", name, &v) == 2) {
		for (i = 0; i < ARRAY_SIZE(names); i++) {
			if (!strcmp(name, names[i])) {
				*fields[i] = v;
				seen[i] = true;
			}
		}
	}
	fclose(f);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		check(seen[i], "%s has no \"%s\" line", POOL_FILE, names[i]);
	return true;
}

/* The pool as GET_INFO on @fd (which holds nothing itself) and debugfs see it. */
struct snap {
	unsigned long free;
	bool have_d;
	struct pool_stats d;
};

static struct snap take_snap(int fd)
{
	struct snap s = { .free = pool_free(fd) };

	s.have_d = read_pool(&s.d);
	check(!s.have_d || s.d.free == s.free, "debugfs free %lu, GET_INFO pool_free %lu",
	      s.d.free, s.free);
	return s;
}

/* Pool's free count @base.free - @taken, and, unless @zombies < 0, that many zombies. */
static void expect_pool(int fd, const struct snap *base, long taken, long zombies,
			const char *what)
{
	struct snap now = take_snap(fd);

	check(now.free == base->free - taken, "%s: %lu pages free, expected %lu", what, now.free,
	      base->free - taken);
	if (now.have_d && zombies >= 0)
		check(now.d.zombies == base->d.zombies + zombies,
		      "%s: %lu zombies, expected %lu", what, now.d.zombies,
		      base->d.zombies + zombies);
}

/* ================================================================== cases */

/* 1 */
static void test_info(void)
{
	unsigned long pool_pages = param("pool_pages");
	unsigned long max_pages = param("max_pages");
	unsigned long limit = param("instance_limit");
	struct pool_stats s0, s1;
	struct vepc_info a, b;
	unsigned int i;
	int fd, fd2;

	fd = vepc_open();
	a = get_info(fd);
	check(a.backend == VEPC_BACKEND_EMULATED, "backend %u, expected VEPC_BACKEND_EMULATED",
	      a.backend);
	check(!a.flags, "flags %#x, expected 0", a.flags);
	for (i = 0; i < ARRAY_SIZE(a.reserved); i++)
		check(!a.reserved[i], "reserved[%u] is %#llx, expected 0", i, a.reserved[i]);
	check(a.pool_pages == pool_pages, "pool_pages %llu, the parameter says %lu", a.pool_pages,
	      pool_pages);
	check(a.pool_free <= a.pool_pages, "pool_free %llu > pool_pages %llu", a.pool_free,
	      a.pool_pages);
	check(a.max_pages == max_pages, "max_pages %llu, the parameter says %lu", a.max_pages,
	      max_pages);
	check(a.limit_pages == limit, "a fresh instance's limit_pages %llu, instance_limit is %lu",
	      a.limit_pages, limit);
	check(!a.resident, "a fresh instance holds %llu pages", a.resident);
	check(!a.reclaimed && !a.nr_reclaims && !a.nr_reloads,
	      "reclaimed %llu, nr_reclaims %llu, nr_reloads %llu without reclaim", a.reclaimed,
	      a.nr_reclaims, a.nr_reloads);

	if (read_pool(&s0)) {
		check(s0.pool_pages == pool_pages, "debugfs pool_pages %lu, the parameter says %lu",
		      s0.pool_pages, pool_pages);
		check(s0.free == a.pool_free, "debugfs free %lu, GET_INFO pool_free %llu",
		      s0.free, a.pool_free);
		check(s0.free <= s0.pool_pages, "debugfs: free %lu > pool %lu", s0.free,
		      s0.pool_pages);
		check(s0.instances >= 1, "debugfs: %lu instances with one open", s0.instances);
	}

	/* A second instance: the same pool, nothing of its own. */
	fd2 = vepc_open();
	b = get_info(fd2);
	check(b.pool_pages == a.pool_pages && b.pool_free == a.pool_free &&
	      b.max_pages == a.max_pages,
	      "two instances disagree on the pool: %llu/%llu/%llu and %llu/%llu/%llu",
	      a.pool_pages, a.pool_free, a.max_pages, b.pool_pages, b.pool_free, b.max_pages);
	check(!b.resident && b.limit_pages == limit, "second instance: resident %llu, limit %llu",
	      b.resident, b.limit_pages);
	check(a.id != b.id, "two open instances have the same id %llu", a.id);
	if (read_pool(&s1))
		check(s1.instances == s0.instances + 1,
		      "debugfs: %lu instances after an open, %lu before", s1.instances,
		      s0.instances);
	close(fd2);
	if (read_pool(&s1))
		check(s1.instances == s0.instances,
		      "debugfs: %lu instances after a close, %lu before", s1.instances,
		      s0.instances);
	close(fd);
	ksft_test_result_pass("info: emulated backend, pool of %lu pages, fresh instances empty\n",
			      pool_pages);
}

/* 2 */
#define QEMU_PAGES	8

static void test_qemu_sequence(void)
{
	struct vepc_info info;
	struct snap base, now;
	unsigned long i;
	int obs, fd, round;
	void *m;

	obs = vepc_open();
	base = take_snap(obs);
	for (round = 0; round < 2; round++) {
		fd = vepc_open();
		m = map_pages(fd, QEMU_PAGES, 0);
		check(!resident(fd), "round %d: %lu pages held before the first touch", round,
		      resident(fd));
		expect_pool(obs, &base, 0, 0, "mmap without a touch");

		for (i = 0; i < QEMU_PAGES; i++) {
			expect_zero(m, i, "a page at its first touch");
			fill_page(m, i, round << 8 | i);
		}
		for (i = 0; i < QEMU_PAGES; i++)
			expect_page(m, i, round << 8 | i, "read back");
		info = get_info(fd);
		check(info.resident == QEMU_PAGES,
		      "round %d: resident %llu after touching %d pages", round, info.resident,
		      QEMU_PAGES);
		now = take_snap(obs);
		check(now.free == base.free - QEMU_PAGES, "round %d: %lu pages free, expected %lu",
		      round, now.free, base.free - QEMU_PAGES);
		check(!now.have_d || now.d.held == base.d.held + QEMU_PAGES,
		      "round %d: debugfs held %lu, expected %lu", round, now.d.held,
		      base.d.held + QEMU_PAGES);

		/* QEMU at reset: twice, the second for SECS pages; none here. */
		expect_remove_all(fd, 0, "QEMU's first call");
		expect_remove_all(fd, 0, "QEMU's second call");
		for (i = 0; i < QEMU_PAGES; i++)
			expect_page(m, i, round << 8 | i, "FREE pages after REMOVE_ALL");
		check(resident(fd) == QEMU_PAGES, "resident %lu after REMOVE_ALL, expected %d",
		      resident(fd), QEMU_PAGES);
		expect_pool(obs, &base, QEMU_PAGES, 0, "after REMOVE_ALL");

		unmap_pages(m, QEMU_PAGES);
		close(fd);
		now = take_snap(obs);
		check(now.free == base.free, "round %d: %lu pages free after close, expected %lu",
		      round, now.free, base.free);
		check(!now.have_d || now.d.held == base.d.held,
		      "round %d: debugfs held %lu after close, expected %lu", round, now.d.held,
		      base.d.held);
	}
	close(obs);
	ksft_test_result_pass("QEMU's sequence: %d zeroed pages, REMOVE_ALL 0 twice, given back\n",
			      QEMU_PAGES);
}

/* 3 */
static void expect_set_page_err(int fd, struct vepc_emul_page p, int err, const char *what)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "EMUL_SET_PAGE %s (offset %#llx type %u flags %#x secs_fd %d secs_offset %#llx%s)",
		 what, p.offset, p.type, p.flags, p.secs_fd, p.secs_offset,
		 p.reserved ? " reserved" : "");
	expect_errno(ioctl(fd, VEPC_IOC_EMUL_SET_PAGE, &p), err, buf);
}

static void test_bad_input(void)
{
	static const unsigned int child_types[] = { VEPC_PT_TCS, VEPC_PT_REG, VEPC_PT_TRIM };
	struct vepc_info info, before;
	struct vepc_limit lim;
	int fd, fd2, devnull, closed;
	unsigned int i;
	void *m, *m2, *ro, *gone;

	fd = vepc_open();

	expect_errno(mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), EINVAL,
		     "mmap(MAP_PRIVATE)");
	expect_errno(mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0), EINVAL,
		     "mmap(PROT_READ, MAP_PRIVATE)");

	expect_errno(ioctl(fd, SGX_IOC_VEPC_REMOVE_ALL, 1UL), EINVAL, "SGX_IOC_VEPC_REMOVE_ALL(1)");
	expect_errno(ioctl(fd, _IO(VEPC_IOC_MAGIC, 0xef), 0UL), ENOTTY, "an unknown ioctl");
	/* An enclave's ioctl, not a virtual EPC's. */
	expect_errno(ioctl(fd, SGX_IOC_ENCLAVE_CREATE, &info), ENOTTY, "SGX_IOC_ENCLAVE_CREATE");
	/* GET_INFO's number with another size is another number (the buffer is big enough). */
	expect_errno(ioctl(fd, _IOR(VEPC_IOC_MAGIC, 0xe0, __u64), &info), ENOTTY,
		     "VEPC_IOC_GET_INFO with a smaller size");

	expect_errno(ioctl(fd, VEPC_IOC_GET_INFO, NULL), EFAULT, "VEPC_IOC_GET_INFO(NULL)");
	ro = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(ro != MAP_FAILED, "mmap: %s", strerror(errno));
	expect_errno(ioctl(fd, VEPC_IOC_GET_INFO, ro), EFAULT,
		     "VEPC_IOC_GET_INFO into a read-only page");
	gone = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(gone != MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(gone, PAGE_SIZE);
	expect_errno(ioctl(fd, VEPC_IOC_GET_INFO, gone), EFAULT,
		     "VEPC_IOC_GET_INFO into an unmapped page");
	munmap(ro, PAGE_SIZE);

	before = get_info(fd);
	lim = (struct vepc_limit){ .limit_pages = 5, .flags = 1 };
	expect_errno(ioctl(fd, VEPC_IOC_SET_LIMIT, &lim), EINVAL, "VEPC_IOC_SET_LIMIT, flags 1");
	lim = (struct vepc_limit){ .limit_pages = 5, .flags = 0x80000000 };
	expect_errno(ioctl(fd, VEPC_IOC_SET_LIMIT, &lim), EINVAL,
		     "VEPC_IOC_SET_LIMIT, flags 0x80000000");
	lim = (struct vepc_limit){ .limit_pages = 5, .reserved = 1 };
	expect_errno(ioctl(fd, VEPC_IOC_SET_LIMIT, &lim), EINVAL, "VEPC_IOC_SET_LIMIT, reserved 1");
	check(get_info(fd).limit_pages == before.limit_pages,
	      "refused SET_LIMITs changed limit_pages from %llu to %llu", before.limit_pages,
	      get_info(fd).limit_pages);

	/*
	 * EMUL_SET_PAGE.  Pages of fd: 0 SECS, 1 REG (of 0), 2 FREE (the target
	 * of the EINVAL cases, which are valid but for one field), 3 SECS,
	 * 4 VA, 5 never faulted.  Of fd2: 0 FREE, 1 never faulted.
	 */
	m = map_pages(fd, 6, 0);
	for (i = 0; i < 5; i++)
		fill_page(m, i, 0x300 + i);
	set_secs(fd, 0, 0);
	set_child(fd, 1, VEPC_PT_REG, 0);
	set_secs(fd, 3, 0);
	set_page_ok(fd, 4, VEPC_PT_VA, 0, -1, 0);
	fd2 = vepc_open();
	m2 = map_pages(fd2, 2, 0);
	fill_page(m2, 0, 0x310);
	devnull = open("/dev/null", O_RDWR);
	check(devnull >= 0, "/dev/null: %s", strerror(errno));
	closed = dup(fd);
	check(closed >= 0, "dup: %s", strerror(errno));
	close(closed);

#define EP(off, t, ...) ((struct vepc_emul_page){ .offset = (off), .type = (t), __VA_ARGS__ })
	expect_set_page_err(fd, EP(PG(2) + 8, VEPC_PT_REG, .secs_fd = -1), EINVAL,
			    "offset not page aligned");
	expect_set_page_err(fd, EP(PG(2) + 8, VEPC_PT_SECS, .secs_fd = -1), EINVAL,
			    "SECS at an offset not page aligned");
	expect_set_page_err(fd, EP(PG(2), 5, .secs_fd = -1), EINVAL, "unknown type 5");
	expect_set_page_err(fd, EP(PG(2), 0xfe, .secs_fd = -1), EINVAL, "unknown type 0xfe");
	expect_set_page_err(fd, EP(PG(2), 0x100, .secs_fd = -1), EINVAL, "unknown type 0x100");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_FREE, .secs_fd = -1), EINVAL,
			    "type VEPC_PT_FREE");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_SECS, .flags = 2, .secs_fd = -1), EINVAL,
			    "unknown flag 2");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_SECS, .flags = 0x80000000, .secs_fd = -1),
			    EINVAL, "unknown flag 0x80000000");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_SECS, .secs_fd = -1, .reserved = 1), EINVAL,
			    "reserved 1");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -1, .reserved = 1), EINVAL,
			    "reserved 1 on a child");
	for (i = 0; i < ARRAY_SIZE(child_types); i++)
		expect_set_page_err(fd, EP(PG(2), child_types[i], .flags = VEPC_EMUL_ACTIVE,
					   .secs_fd = -1), EINVAL, "ACTIVE on a child");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_VA, .flags = VEPC_EMUL_ACTIVE, .secs_fd = -1),
			    EINVAL, "ACTIVE on a VA");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_SECS, .secs_fd = fd), EINVAL,
			    "SECS with secs_fd of its own instance");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_SECS, .secs_fd = fd2), EINVAL,
			    "SECS with secs_fd of another instance");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_SECS, .secs_fd = -1, .secs_offset = PG(3)),
			    EINVAL, "SECS with secs_offset");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_VA, .secs_fd = fd), EINVAL,
			    "VA with secs_fd");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_VA, .secs_fd = -1, .secs_offset = PG(3)),
			    EINVAL, "VA with secs_offset");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -1, .secs_offset = 8), EINVAL,
			    "secs_offset not page aligned");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -1, .secs_offset = PG(3) + 8),
			    EINVAL, "secs_offset not page aligned");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -1, .secs_offset = PG(1)),
			    EINVAL, "parent a REG");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_TCS, .secs_fd = -1, .secs_offset = PG(4)),
			    EINVAL, "parent a VA");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -1, .secs_offset = PG(2)),
			    EINVAL, "parent FREE (itself)");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_TRIM, .secs_fd = fd2, .secs_offset = 0), EINVAL,
			    "parent FREE in another instance");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = devnull), EINVAL,
			    "secs_fd /dev/null");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = closed), EBADF,
			    "secs_fd not open");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -2), EBADF, "secs_fd -2");
	expect_set_page_err(fd, EP(PG(5), VEPC_PT_SECS, .secs_fd = -1), ENOENT,
			    "SECS on a page never faulted in");
	expect_set_page_err(fd, EP(PG(5), VEPC_PT_VA, .secs_fd = -1), ENOENT,
			    "VA on a page never faulted in");
	expect_set_page_err(fd, EP(PG(5), VEPC_PT_REG, .secs_fd = -1, .secs_offset = 0), ENOENT,
			    "REG on a page never faulted in");
	expect_set_page_err(fd, EP(PG(4096), VEPC_PT_SECS, .secs_fd = -1), ENOENT,
			    "SECS far beyond the mapping");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = -1, .secs_offset = PG(5)),
			    ENOENT, "parent never faulted in");
	expect_set_page_err(fd, EP(PG(2), VEPC_PT_REG, .secs_fd = fd2, .secs_offset = PG(1)),
			    ENOENT, "parent in another instance never faulted in");
	expect_set_page_err(fd, EP(PG(1), VEPC_PT_REG, .secs_fd = -1, .secs_offset = 0), EBUSY,
			    "REG onto a REG");
	expect_set_page_err(fd, EP(PG(1), VEPC_PT_SECS, .secs_fd = -1), EBUSY, "SECS onto a REG");
	expect_set_page_err(fd, EP(PG(1), VEPC_PT_VA, .secs_fd = -1), EBUSY, "VA onto a REG");
	expect_set_page_err(fd, EP(PG(3), VEPC_PT_REG, .secs_fd = -1, .secs_offset = 0), EBUSY,
			    "REG onto a SECS");
	expect_set_page_err(fd, EP(PG(3), VEPC_PT_VA, .secs_fd = -1), EBUSY, "VA onto a SECS");
	expect_set_page_err(fd, EP(PG(4), VEPC_PT_TCS, .secs_fd = -1, .secs_offset = 0), EBUSY,
			    "TCS onto a VA");
	expect_set_page_err(fd, EP(PG(4), VEPC_PT_SECS, .secs_fd = -1), EBUSY, "SECS onto a VA");
	expect_set_page_err(fd, EP(PG(4), VEPC_PT_VA, .secs_fd = -1), EBUSY, "VA onto a VA");
#undef EP

	/*
	 * Nothing refused changed anything: page 2 is FREE (it takes a REG),
	 * SECS 0 has exactly children 1 and 2 (one failure, then none), the
	 * pages removed are zero, fd2 has nothing to remove.
	 */
	set_child(fd, 2, VEPC_PT_REG, 0);
	expect_remove_all(fd, 1, "after the refused calls: SECS 0 with children 1 and 2");
	expect_remove_all(fd, 0, "after the refused calls, the second call");
	for (i = 0; i < 5; i++)
		expect_zero(m, i, "after REMOVE_ALL");
	expect_remove_all(fd2, 0, "the other instance");
	expect_page(m2, 0, 0x310, "the other instance's FREE page");
	check(resident(fd) == 5 && resident(fd2) == 1,
	      "refused calls allocated pages: resident %lu and %lu, expected 5 and 1",
	      resident(fd), resident(fd2));

	unmap_pages(m, 6);
	unmap_pages(m2, 2);
	close(devnull);
	close(fd2);
	close(fd);
	ksft_test_result_pass("bad input: mmap, ioctls, arguments, EPCM errors refused\n");
}

/* 4 */
#define MAP_TEST_PAGES	5

static void test_mappings(void)
{
	struct snap base;
	int fd, fd2, obs, status;
	void *m, *m2, *dst, *moved, *o;
	unsigned long i;
	__u64 v;
	pid_t pid;
	int sig;

	obs = vepc_open();
	base = take_snap(obs);
	fd = vepc_open();
	m = map_pages(fd, MAP_TEST_PAGES, 0);
	for (i = 0; i < 4; i++)	/* page 4 waits for the move */
		fill_page(m, i, 0x400 + i);

	/* VM_DONTCOPY: the child has no mapping there; its exit takes nothing. */
	fflush(stdout);
	pid = fork();
	check(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		sig = try_read(m, &v);
		_exit(sig == SIGSEGV ? 0 : sig == SIGBUS ? 2 : !sig ? 3 : 4);
	}
	check(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	check(!(WIFEXITED(status) && WEXITSTATUS(status) == 3),
	      "a fork()ed child read its parent's vepc mapping");
	check(!(WIFEXITED(status) && WEXITSTATUS(status) == 2),
	      "a fork()ed child touching the mapping got SIGBUS, expected SIGSEGV");
	check(WIFEXITED(status) && !WEXITSTATUS(status),
	      "the fork()ed child: wait status %#x, expected SIGSEGV on the touch", status);
	for (i = 0; i < 4; i++)
		expect_page(m, i, 0x400 + i, "the parent's pages after the child's exit");
	check(resident(fd) == 4, "resident %lu after fork, expected 4", resident(fd));

	/* VM_PFNMAP: no growing. */
	expect_errno(mremap(m, PG(MAP_TEST_PAGES), PG(MAP_TEST_PAGES + 3), MREMAP_MAYMOVE),
		     EFAULT, "mremap() growing, MREMAP_MAYMOVE");
	expect_errno(mremap(m, PG(MAP_TEST_PAGES), PG(MAP_TEST_PAGES + 3), 0), EFAULT,
		     "mremap() growing in place");
	for (i = 0; i < 4; i++)
		expect_page(m, i, 0x400 + i, "after a refused mremap()");

	/* Moved: the same pages at the new address, the old one gone. */
	dst = mmap(NULL, PG(MAP_TEST_PAGES), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(dst != MAP_FAILED, "mmap: %s", strerror(errno));
	moved = mremap(m, PG(MAP_TEST_PAGES), PG(MAP_TEST_PAGES), MREMAP_MAYMOVE | MREMAP_FIXED,
		       dst);
	check(moved == dst, "mremap() moving the mapping: %s",
	      moved == MAP_FAILED ? strerror(errno) : "moved elsewhere");
	for (i = 0; i < 4; i++)
		expect_page(dst, i, 0x400 + i, "after mremap() moved the mapping");
	sig = try_read(m, &v);
	check(sig == SIGSEGV, "the old address after the move: %s, expected SIGSEGV",
	      sig_name(sig));
	expect_zero(dst, 4, "page 4, first touched after the move");
	fill_page(dst, 4, 0x404);
	check(resident(fd) == 5, "resident %lu after the move, expected 5", resident(fd));

	/* A second mapping from page 3: pages 3 and 4 again. */
	m2 = map_pages(fd, 2, 3);
	expect_page(m2, 0, 0x403, "page 3 through a second mapping");
	expect_page(m2, 1, 0x404, "page 4 (touched after the move) through a second mapping");
	fill_page(m2, 0, 0x4ff);
	expect_page(dst, 3, 0x4ff, "page 3 written through the second mapping");
	check(resident(fd) == 5, "resident %lu with two mappings, expected 5", resident(fd));

	/* Another instance shares nothing: pages, EPCM entries, REMOVE_ALL. */
	fd2 = vepc_open();
	o = map_pages(fd2, MAP_TEST_PAGES + 1, 0);
	for (i = 0; i < MAP_TEST_PAGES; i++) {
		expect_zero(o, i, "another instance's new page");
		fill_page(o, i, 0x410 + i);
	}
	for (i = 0; i < 3; i++)
		expect_page(dst, i, 0x400 + i, "the first instance's pages");
	expect_page(dst, 3, 0x4ff, "the first instance's pages");
	expect_page(dst, 4, 0x404, "the first instance's pages");
	check(resident(fd) == 5 && resident(fd2) == 5, "resident %lu and %lu, expected 5 and 5",
	      resident(fd), resident(fd2));
	expect_pool(obs, &base, 10, 0, "two instances of 5 pages");
	set_secs(fd2, 0, 0);
	set_secs(fd, 0, 0);	/* fd's page 0 was FREE */
	expect_remove_all(fd2, 0, "the second instance's SECS");
	expect_zero(o, 0, "the second instance's removed SECS");
	expect_page(dst, 0, 0x400, "the first instance's SECS, not removed");
	expect_not_free(fd, 0, "the first instance's SECS after the second's REMOVE_ALL");
	expect_remove_all(fd, 0, "the first instance's SECS");

	/* Closed while mapped: the instance lives until munmap. */
	close(fd2);
	expect_page(o, 1, 0x411, "a page of an instance closed while mapped");
	expect_zero(o, MAP_TEST_PAGES, "a new page of an instance closed while mapped");
	expect_pool(obs, &base, 11, 0, "an instance closed while mapped");
	unmap_pages(o, MAP_TEST_PAGES + 1);
	expect_pool(obs, &base, 5, 0, "its munmap");

	unmap_pages(m2, 2);
	unmap_pages(dst, MAP_TEST_PAGES);
	close(fd);
	expect_pool(obs, &base, 0, 0, "all closed");
	close(obs);
	ksft_test_result_pass("mappings: not inherited, not grown, moved, shared, kept apart\n");
}

/* 5 */
#define EPCM_PAGES	8

static void refill(void *m, unsigned long first, unsigned long n, __u64 seed)
{
	unsigned long i;

	for (i = first; i < first + n; i++)
		fill_page(m, i, seed + i);
}

static void test_epcm(void)
{
	struct snap base;
	unsigned long i;
	int obs, fd;
	void *m;

	obs = vepc_open();
	base = take_snap(obs);
	fd = vepc_open();
	m = map_pages(fd, EPCM_PAGES, 0);
	refill(m, 0, 7, 0x500);	/* page 7 stays untouched */

	/* QEMU's example: SECS at 0 with REG children at 1 and 2; a VA at 3; 4-6 FREE. */
	set_secs(fd, 0, 0);
	set_child(fd, 1, VEPC_PT_REG, 0);
	set_child(fd, 2, VEPC_PT_REG, 0);
	set_page_ok(fd, 3, VEPC_PT_VA, 0, -1, 0);
	expect_remove_all(fd, 1, "SECS 0 with REG children 1 and 2, VA 3");
	for (i = 1; i <= 3; i++)
		expect_zero(m, i, "removed by the first call");
	for (i = 4; i <= 6; i++)
		expect_page(m, i, 0x500 + i, "FREE pages after the first call");
	expect_page(m, 0, 0x500, "the SECS not removed");
	expect_not_free(fd, 0, "the SECS not removed");
	expect_remove_all(fd, 0, "the childless SECS, second call");
	expect_zero(m, 0, "the SECS removed by the second call");
	expect_remove_all(fd, 0, "nothing left");
	for (i = 4; i <= 6; i++)
		expect_page(m, i, 0x500 + i, "FREE pages after three calls");

	/* Removed pages are FREE: they take new types.  Children below their SECS go first. */
	refill(m, 0, 4, 0x510);
	set_secs(fd, 3, 0);
	set_child(fd, 0, VEPC_PT_TCS, 3);
	set_child(fd, 1, VEPC_PT_TRIM, 3);
	set_child(fd, 2, VEPC_PT_REG, 3);
	set_page_ok(fd, 5, VEPC_PT_VA, 0, -1, 0);
	expect_remove_all(fd, 0, "TCS 0, TRIM 1, REG 2 below their SECS 3, VA 5");
	for (i = 0; i <= 3; i++)
		expect_zero(m, i, "the enclave removed in one call");
	expect_zero(m, 5, "the VA page");
	expect_page(m, 4, 0x504, "a FREE page");
	expect_page(m, 6, 0x506, "a FREE page");

	/* TCS and TRIM above their SECS hold it back like REG. */
	refill(m, 0, 3, 0x520);
	set_secs(fd, 0, 0);
	set_child(fd, 1, VEPC_PT_TCS, 0);
	set_child(fd, 2, VEPC_PT_TRIM, 0);
	expect_remove_all(fd, 1, "SECS 0 with TCS 1 and TRIM 2");
	expect_zero(m, 1, "the TCS");
	expect_zero(m, 2, "the TRIM page");
	expect_remove_all(fd, 0, "SECS 0, its children gone");
	expect_zero(m, 0, "the SECS");

	/* An active SECS, alone: no child, no CPU in it: removed (as the SDM's EREMOVE). */
	refill(m, 0, 3, 0x530);
	set_secs(fd, 0, VEPC_EMUL_ACTIVE);
	expect_remove_all(fd, 0, "REMOVE_ALL with an active SECS and no child");
	expect_zero(m, 0, "an active SECS without children, removed");
	/* With a child: the SECS is CHILD_PRESENT, whatever its flag; the child EBUSY. */
	refill(m, 0, 3, 0x530);
	set_secs(fd, 0, VEPC_EMUL_ACTIVE);
	set_child(fd, 1, VEPC_PT_REG, 0);
	expect_remove_all_busy(fd, "REMOVE_ALL with an active SECS and a child");
	expect_page(m, 0, 0x530, "an active SECS with a child");
	expect_page(m, 1, 0x531, "the child of an active SECS");
	expect_not_free(fd, 0, "an active SECS with a child");
	expect_not_free(fd, 1, "the child of an active SECS");
	set_secs(fd, 0, 0);
	expect_remove_all(fd, 1, "the SECS made inactive, with its child");
	expect_remove_all(fd, 0, "the SECS made inactive, second call");
	expect_zero(m, 0, "the SECS made inactive");
	expect_zero(m, 1, "its child");
	expect_page(m, 2, 0x532, "a FREE page beside the enclave");

	/* A child whose SECS (above it) is active: EBUSY, though the child comes first. */
	refill(m, 0, 3, 0x540);
	set_secs(fd, 2, VEPC_EMUL_ACTIVE);
	set_child(fd, 1, VEPC_PT_REG, 2);
	expect_remove_all_busy(fd, "REMOVE_ALL with a REG whose SECS is active");
	expect_page(m, 1, 0x541, "the REG of an active enclave");
	expect_not_free(fd, 1, "the REG of an active enclave");
	expect_page(m, 2, 0x542, "the active SECS");
	set_secs(fd, 2, 0);
	expect_remove_all(fd, 0, "REG 1 below its SECS 2, inactive");
	expect_zero(m, 1, "the REG");
	expect_zero(m, 2, "the SECS");
	expect_page(m, 0, 0x540, "a FREE page");

	/* Pages stay allocated: nothing went back to the pool; page 7 is new. */
	check(resident(fd) == 7, "resident %lu after REMOVE_ALLs, expected 7", resident(fd));
	expect_pool(obs, &base, 7, 0, "REMOVE_ALL gives no page back");
	expect_zero(m, 7, "page 7, untouched until now");
	check(resident(fd) == 8, "resident %lu, expected 8", resident(fd));
	expect_pool(obs, &base, 8, 0, "page 7 touched");

	unmap_pages(m, EPCM_PAGES);
	close(fd);
	expect_pool(obs, &base, 0, 0, "closed");
	close(obs);
	ksft_test_result_pass("EPCM model: REMOVE_ALL in index order, SECS retry, active EBUSY\n");
}

/* 6 */
struct pair {
	int a, b;
	void *ma, *mb;
};

/* A's page 0 a SECS, B's page 0 its REG child, B's page 1 FREE. */
static struct pair make_pair(void)
{
	struct pair p;

	p.a = vepc_open();
	p.ma = map_pages(p.a, 1, 0);
	fill_page(p.ma, 0, 0x600);
	p.b = vepc_open();
	p.mb = map_pages(p.b, 2, 0);
	fill_page(p.mb, 0, 0x610);
	fill_page(p.mb, 1, 0x611);
	set_secs(p.a, 0, 0);
	set_page_ok(p.b, 0, VEPC_PT_REG, 0, p.a, 0);
	return p;
}

static void close_a(struct pair *p)
{
	unmap_pages(p->ma, 1);
	close(p->a);
}

static void close_b(struct pair *p)
{
	unmap_pages(p->mb, 2);
	close(p->b);
}

static void test_zombie(void)
{
	struct snap base;
	struct pair p;
	int obs, c;
	void *mc;

	obs = vepc_open();
	base = take_snap(obs);

	/* Zombie until REMOVE_ALL on the child's instance. */
	p = make_pair();
	expect_pool(obs, &base, 3, 0, "A holding 1 page, B 2");
	set_secs(p.a, 0, VEPC_EMUL_ACTIVE);
	expect_remove_all_busy(p.b, "B's REG, its SECS in A active");
	expect_remove_all(p.a, 1, "A's active SECS, its child in B");
	expect_page(p.mb, 0, 0x610, "B's REG of an active enclave");
	set_secs(p.a, 0, 0);
	expect_remove_all(p.a, 1, "A's SECS, its child in B");
	expect_page(p.ma, 0, 0x600, "A's SECS, not removed");
	close_a(&p);
	expect_pool(obs, &base, 3, 1, "A closed, its SECS's child in B");
	check(resident(p.b) == 2, "B's resident %lu, expected 2", resident(p.b));
	expect_remove_all(p.b, 0, "B's REG, the zombie's last child");
	expect_zero(p.mb, 0, "B's REG");
	expect_page(p.mb, 1, 0x611, "B's FREE page");
	expect_pool(obs, &base, 2, 0, "the zombie's last child removed");
	close_b(&p);
	expect_pool(obs, &base, 0, 0, "B closed");

	/* Zombie until the release of the child's instance. */
	p = make_pair();
	close_a(&p);
	expect_pool(obs, &base, 3, 1, "A closed again");
	close_b(&p);
	expect_pool(obs, &base, 0, 0, "B released, with the zombie's last child");

	/* The child's instance released first: no zombie, the SECS childless. */
	p = make_pair();
	close_b(&p);
	expect_pool(obs, &base, 1, 0, "B closed first");
	expect_remove_all(p.a, 0, "A's SECS, its child released");
	expect_zero(p.ma, 0, "A's SECS");
	close_a(&p);
	expect_pool(obs, &base, 0, 0, "A closed after B");

	/* Children in B and C: the zombie waits for the last. */
	p = make_pair();
	c = vepc_open();
	mc = map_pages(c, 1, 0);
	fill_page(mc, 0, 0x620);
	set_page_ok(c, 0, VEPC_PT_TCS, 0, p.a, 0);
	close_a(&p);
	expect_pool(obs, &base, 4, 1, "A closed, children in B and C");
	expect_remove_all(p.b, 0, "B's REG, not the last child");
	expect_pool(obs, &base, 4, 1, "one child of two removed");
	unmap_pages(mc, 1);
	close(c);
	expect_pool(obs, &base, 2, 0, "C released with the last child");
	close_b(&p);
	expect_pool(obs, &base, 0, 0, "all closed");

	close(obs);
	ksft_test_result_pass("zombie: a SECS outlives its instance until its last child goes%s\n",
			      have_debugfs ? "" : " (zombie counts not checked: no debugfs)");
}

/* 7 */
static void limit_per_instance(void)
{
	struct vepc_info info;
	unsigned long i;
	int fd;
	void *m;

	fd = vepc_open();
	set_limit(fd, 4);
	check(get_info(fd).limit_pages == 4, "limit_pages %llu after SET_LIMIT(4)",
	      get_info(fd).limit_pages);
	m = map_pages(fd, 8, 0);
	for (i = 0; i < 4; i++)
		touch_ok(m, i, "under a limit of 4");
	touch_sigbus(m, 4, "the 5th page under a limit of 4");
	check(resident(fd) == 4, "resident %lu under a limit of 4", resident(fd));
	set_limit(fd, 5);
	touch_ok(m, 4, "the 5th page, the limit raised to 5");
	touch_sigbus(m, 5, "the 6th page under a limit of 5");
	set_limit(fd, 0);
	check(get_info(fd).limit_pages == 0, "limit_pages %llu after SET_LIMIT(0)",
	      get_info(fd).limit_pages);
	touch_ok(m, 5, "the 6th page, the limit lifted");
	touch_ok(m, 6, "the 7th page, the limit lifted");

	/* Below what it holds: allowed, its pages stay, new ones are refused. */
	set_limit(fd, 2);
	info = get_info(fd);
	check(info.limit_pages == 2 && info.resident == 7,
	      "SET_LIMIT(2) holding 7: limit_pages %llu, resident %llu", info.limit_pages,
	      info.resident);
	for (i = 0; i < 7; i++)
		check(page_at(m, i)[0] == pattern(0xf00, i),
		      "page %lu, held over the new limit, lost its contents", i);
	touch_sigbus(m, 7, "a new page, holding 7 under a limit of 2");
	set_limit(fd, 7);
	touch_sigbus(m, 7, "a new page, holding 7 under a limit of 7");
	set_limit(fd, 8);
	touch_ok(m, 7, "a new page, holding 7 under a limit of 8");
	check(resident(fd) == 8, "resident %lu, expected 8", resident(fd));
	unmap_pages(m, 8);
	close(fd);
}

/* Drop CAP_SYS_RESOURCE from the effective set: 0, or the errno. */
static int drop_sys_resource(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return errno;
	data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective &= ~CAP_TO_MASK(CAP_SYS_RESOURCE);
	return syscall(SYS_capset, &hdr, data) ? errno : 0;
}

/*
 * In a child without CAP_SYS_RESOURCE: instance @fd, whose cap is
 * instance_limit @admin, cannot lift or raise it (EPERM), can lower it.
 */
static void limit_unprivileged(int fd, unsigned long admin)
{
	struct vepc_limit lim = {};
	int status, err;
	pid_t pid;

	pid = fork();
	check(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		err = drop_sys_resource();
		check(!err, "dropping CAP_SYS_RESOURCE: %s", strerror(err));
		lim.limit_pages = 0;
		expect_errno(ioctl(fd, VEPC_IOC_SET_LIMIT, &lim), EPERM,
			     "SET_LIMIT(0) over instance_limit, without CAP_SYS_RESOURCE");
		lim.limit_pages = admin + 1;
		expect_errno(ioctl(fd, VEPC_IOC_SET_LIMIT, &lim), EPERM,
			     "SET_LIMIT above instance_limit, without CAP_SYS_RESOURCE");
		lim.limit_pages = admin - 1;
		check(!ioctl(fd, VEPC_IOC_SET_LIMIT, &lim),
		      "SET_LIMIT below instance_limit, without CAP_SYS_RESOURCE: %s",
		      strerror(errno));
		lim.limit_pages = admin;
		check(!ioctl(fd, VEPC_IOC_SET_LIMIT, &lim),
		      "SET_LIMIT at instance_limit, without CAP_SYS_RESOURCE: %s",
		      strerror(errno));
		exit(KSFT_PASS);
	}
	check(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	check(WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS,
	      "the unprivileged child failed (wait status %#x)", status);
	check(get_info(fd).limit_pages == admin, "limit_pages %llu after the child, expected %lu",
	      get_info(fd).limit_pages, admin);
}

static void limit_new_instances(void)
{
	unsigned long old = param("instance_limit");
	unsigned long old_a;
	int a, b, c;
	void *m;

	a = vepc_open();
	old_a = get_info(a).limit_pages;
	set_param("instance_limit", 3);
	check(get_info(a).limit_pages == old_a,
	      "instance_limit changed an open instance's limit_pages from %lu to %llu", old_a,
	      get_info(a).limit_pages);
	b = vepc_open();
	check(get_info(b).limit_pages == 3, "a new instance's limit_pages %llu, instance_limit 3",
	      get_info(b).limit_pages);
	m = map_pages(b, 4, 0);
	touch_ok(m, 0, "instance_limit 3");
	touch_ok(m, 1, "instance_limit 3");
	touch_ok(m, 2, "instance_limit 3");
	touch_sigbus(m, 3, "the 4th page under instance_limit 3");
	/* Without CAP_SYS_RESOURCE: lower only; with it, anything. */
	limit_unprivileged(b, 3);
	set_limit(b, 0);
	touch_ok(m, 3, "the 4th page, the instance's limit lifted");
	unmap_pages(m, 4);

	set_param("instance_limit", 0);
	c = vepc_open();
	check(get_info(c).limit_pages == 0, "a new instance's limit_pages %llu, instance_limit 0",
	      get_info(c).limit_pages);
	m = map_pages(c, 4, 0);
	touch_ok(m, 0, "instance_limit 0");
	touch_ok(m, 3, "instance_limit 0");
	unmap_pages(m, 4);

	set_param("instance_limit", old);
	close(c);
	close(b);
	close(a);
}

static void limit_global(void)
{
	unsigned long old = param("max_pages");
	unsigned long held, cap;
	struct pool_stats s;
	int obs, x, y;
	void *mx, *my;

	obs = vepc_open();
	x = vepc_open();
	set_limit(x, 0);
	mx = map_pages(x, 4, 0);
	touch_ok(mx, 0, "before the global cap");
	touch_ok(mx, 1, "before the global cap");
	touch_ok(mx, 2, "before the global cap");
	if (read_pool(&s))
		held = s.held;
	else	/* no zombies here: held is what is not free */
		held = get_info(obs).pool_pages - pool_free(obs);
	cap = held + 2;
	set_param("max_pages", cap);
	check(get_info(x).max_pages == cap, "GET_INFO max_pages %llu, the parameter %lu",
	      get_info(x).max_pages, cap);

	y = vepc_open();
	set_limit(y, 0);
	my = map_pages(y, 3, 0);
	touch_ok(my, 0, "max_pages = held + 2");
	touch_ok(my, 1, "max_pages = held + 2");
	touch_sigbus(my, 2, "the third new page, max_pages = held + 2");
	touch_sigbus(mx, 3, "another instance's new page at max_pages");
	unmap_pages(my, 3);
	close(y);
	touch_ok(mx, 3, "a new page once another instance gave 2 back");
	set_param("max_pages", old);
	unmap_pages(mx, 4);
	close(x);
	close(obs);
}

/*
 * The pool's end.  check_pool_end() touches one page more than the pool
 * has, over two instances: a page is reclaimed and every touch succeeds.
 */
struct pool_end {
	int a, b;		/* A maps na pages, B nb: pool + 1 together */
	void *ma, *mb;
	unsigned long pool, free0, na, nb;
	unsigned long touched;	/* touches that succeeded before the first fault */
	int sig;		/* that fault's signal, 0 if none */
};

static void *pool_end_page(struct pool_end *pe, unsigned long i)
{
	return i < pe->na ? page_at(pe->ma, i) : page_at(pe->mb, i - pe->na);
}

static void pool_end_with_reclaim(struct pool_end *pe)
{
	unsigned long out = pe->pool + 1 - pe->free0;	/* pages the pool has no room for */
	struct vepc_info ia = get_info(pe->a), ib = get_info(pe->b);
	struct pool_stats s;
	__u64 v;
	int sig;

	check(pe->touched == pe->pool + 1,
	      "pool of %lu pages, %lu free, with reclaim: touch %lu of %lu: %s", pe->pool,
	      pe->free0, pe->touched + 1, pe->pool + 1, sig_name(pe->sig));
	check(!ia.pool_free, "pool_free %llu with the pool full", ia.pool_free);
	check(ia.resident + ib.resident == pe->free0,
	      "resident %llu + %llu with the pool full, expected %lu", ia.resident, ib.resident,
	      pe->free0);
	check(ia.reclaimed + ib.reclaimed == out && ia.nr_reclaims + ib.nr_reclaims == out &&
	      !ia.nr_reloads && !ib.nr_reloads,
	      "reclaimed %llu+%llu, nr_reclaims %llu+%llu, nr_reloads %llu+%llu; not %lu, %lu, 0",
	      ia.reclaimed, ib.reclaimed, ia.nr_reclaims, ib.nr_reclaims, ia.nr_reloads,
	      ib.nr_reloads, out, out);
	if (read_pool(&s))
		check(!s.free && s.reclaimed == out,
		      "debugfs: free %lu, reclaimed %lu, expected 0 and %lu", s.free, s.reclaimed,
		      out);

	/* The oldest page and the newest read back: one reclaimed, loaded back intact. */
	sig = try_read(pe->ma, &v);
	check(!sig && v == 1, "the first page, reclaimed or not: %s, %#llx, expected 1",
	      sig_name(sig), v);
	sig = try_read(pool_end_page(pe, pe->pool), &v);
	check(!sig && v == pe->pool + 1, "the last page: %s, %#llx, expected %#lx",
	      sig_name(sig), v, pe->pool + 1);
	ia = get_info(pe->a);
	ib = get_info(pe->b);
	check(ia.reclaimed + ib.reclaimed == out &&
	      ia.nr_reclaims + ib.nr_reclaims == out + ia.nr_reloads + ib.nr_reloads,
	      "read back: reclaimed %llu+%llu, nr_reclaims %llu+%llu, nr_reloads %llu+%llu",
	      ia.reclaimed, ib.reclaimed, ia.nr_reclaims, ib.nr_reclaims, ia.nr_reloads,
	      ib.nr_reloads);
}

/* Returns a note for the case's message. */
static const char *check_pool_end(void)
{
	unsigned long old_max = param("max_pages");
	struct pool_end pe = { .pool = param("pool_pages") };
	unsigned long i;

	/* The cap must not be what stops the faults: one page above the pool. */
	if (old_max < pe.pool + 1)
		set_param("max_pages", pe.pool + 1);
	pe.a = vepc_open();
	pe.b = vepc_open();
	set_limit(pe.a, 0);
	set_limit(pe.b, 0);
	pe.free0 = pool_free(pe.a);
	pe.na = pe.pool / 2;
	pe.nb = pe.pool + 1 - pe.na;
	pe.ma = map_pages(pe.a, pe.na, 0);
	pe.mb = map_pages(pe.b, pe.nb, 0);
	for (i = 0; i < pe.pool + 1; i++) {
		pe.sig = try_write(pool_end_page(&pe, i), i + 1);
		if (pe.sig)
			break;
	}
	pe.touched = i;

	pool_end_with_reclaim(&pe);

	unmap_pages(pe.mb, pe.nb);
	close(pe.b);
	check(pool_free(pe.a) == pe.free0 - resident(pe.a),
	      "pool_free %lu with B closed and A holding %lu, expected %lu", pool_free(pe.a),
	      resident(pe.a), pe.free0 - resident(pe.a));
	unmap_pages(pe.ma, pe.na);
	close(pe.a);
	set_param("max_pages", old_max);
	pe.a = vepc_open();
	check(pool_free(pe.a) == pe.free0, "pool_free %lu after the pool's end, expected %lu",
	      pool_free(pe.a), pe.free0);
	close(pe.a);
	return " (with reclaim)";
}

static void test_limits(void)
{
	unsigned long max_pages = param("max_pages");
	unsigned long instance_limit = param("instance_limit");
	const char *note;

	if (access(PARAM_DIR "max_pages", W_OK) || access(PARAM_DIR "instance_limit", W_OK)) {
		ksft_test_result_skip("limits: %s not writable (not root?)\n", PARAM_DIR);
		exit(KSFT_SKIP);
	}
	limit_per_instance();
	limit_new_instances();
	limit_global();
	note = check_pool_end();
	check(param("max_pages") == max_pages && param("instance_limit") == instance_limit,
	      "parameters not restored: max_pages %lu (was %lu), instance_limit %lu (was %lu)",
	      param("max_pages"), max_pages, param("instance_limit"), instance_limit);
	ksft_test_result_pass("limits: per instance, instance_limit, max_pages, the pool's end%s\n",
			      note);
}

/* 8 */
#define CONC_THREADS	4
#define CONC_PROCS	2
#define CONC_WRITERS	(CONC_THREADS + CONC_PROCS)
#define CONC_PAGES	32	/* 0-15 the threads', 16-23 shared, 24-31 the processes' */
#define CONC_ROUNDS	3
#define SLOT_WORDS	64	/* a shared page: a slot per writer */
#define OWNER_WORD	0x0a11ce0000000000ULL

/* A page's single writer, or -1 for a page all writers share. */
static int page_owner(unsigned long page)
{
	if (page < 16)
		return page % CONC_THREADS;
	if (page < 24)
		return -1;
	return CONC_THREADS + (page - 24) % CONC_PROCS;
}

static __u64 conc_seed(int round, int writer, unsigned long page)
{
	return (__u64)round << 12 | writer << 8 | page;
}

struct writer {
	void *map;
	int id, round;
	const int *go;
	char err[160];
};

static void writer_run(struct writer *w)
{
	unsigned long page, j;
	__u64 *p, seed;
	int sig;

	while (!__atomic_load_n(w->go, __ATOMIC_ACQUIRE))
		sched_yield();
	/* All writers fault the shared pages at once, in the same order. */
	for (page = 0; page < CONC_PAGES; page++) {
		if (page_owner(page) >= 0)
			continue;
		seed = conc_seed(w->round, w->id, page);
		p = page_at(w->map, page) + w->id * SLOT_WORDS;
		sig = try_write(p, pattern(seed, 0));
		if (sig) {
			snprintf(w->err, sizeof(w->err), "writer %d, shared page %lu: %s", w->id,
				 page, sig_name(sig));
			return;
		}
		for (j = 1; j < SLOT_WORDS; j++)
			p[j] = pattern(seed, j);
	}
	for (page = 0; page < CONC_PAGES; page++) {
		if (page_owner(page) != w->id)
			continue;
		seed = conc_seed(w->round, w->id, page);
		p = page_at(w->map, page);
		sig = try_write(p, OWNER_WORD | w->id);
		if (sig) {
			snprintf(w->err, sizeof(w->err), "writer %d, its page %lu: %s", w->id, page,
				 sig_name(sig));
			return;
		}
		for (j = 1; j < PAGE_WORDS; j++)
			p[j] = pattern(seed, j);
	}
}

static void *writer_thread(void *arg)
{
	writer_run(arg);
	return NULL;
}

/* A forked writer: its own mapping of the instance it inherited. */
static __noreturn void writer_process(int fd, int id, int round, const int *go)
{
	struct writer w = { .id = id, .round = round, .go = go };

	w.map = mmap(NULL, PG(CONC_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w.map == MAP_FAILED)
		snprintf(w.err, sizeof(w.err), "writer %d: mmap: %s", id, strerror(errno));
	else
		writer_run(&w);
	if (w.err[0])
		ksft_print_msg("%s\n", w.err);
	fflush(stdout);
	_exit(w.err[0] ? 1 : 0);
}

static void conc_verify(void *m, int round)
{
	unsigned long page, j;
	__u64 *p, want;
	int owner, w;

	for (page = 0; page < CONC_PAGES; page++) {
		p = page_at(m, page);
		owner = page_owner(page);
		if (owner >= 0) {
			check(p[0] == (OWNER_WORD | owner),
			      "round %d: page %lu's owner word %#llx, expected writer %d's %#llx",
			      round, page, p[0], owner, OWNER_WORD | owner);
			for (j = 1; j < PAGE_WORDS; j++) {
				want = pattern(conc_seed(round, owner, page), j);
				check(p[j] == want,
				      "round %d: writer %d's page %lu word %lu: %#llx, not %#llx",
				      round, owner, page, j, p[j], want);
			}
			continue;
		}
		for (j = 0; j < PAGE_WORDS; j++) {
			w = j / SLOT_WORDS;
			want = 0;	/* beyond the writers' slots */
			if (w < CONC_WRITERS)
				want = pattern(conc_seed(round, w, page), j % SLOT_WORDS);
			check(p[j] == want,
			      "round %d: shared page %lu word %lu is %#llx, expected %#llx", round,
			      page, j, p[j], want);
		}
	}
}

static void test_concurrency(void)
{
	struct writer w[CONC_THREADS];
	pthread_t t[CONC_THREADS];
	pid_t pid[CONC_PROCS];
	struct snap base;
	int obs, fd, round, i, status, *go;
	void *m;

	obs = vepc_open();
	base = take_snap(obs);
	go = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(go != MAP_FAILED, "mmap: %s", strerror(errno));
	for (round = 0; round < CONC_ROUNDS; round++) {
		*go = 0;
		fd = vepc_open();
		set_limit(fd, 0);
		m = map_pages(fd, CONC_PAGES, 0);

		/* Processes first (forked single-threaded), mapping the inherited fd. */
		fflush(stdout);
		for (i = 0; i < CONC_PROCS; i++) {
			pid[i] = fork();
			check(pid[i] >= 0, "fork: %s", strerror(errno));
			if (!pid[i])
				writer_process(fd, CONC_THREADS + i, round, go);
		}
		for (i = 0; i < CONC_THREADS; i++) {
			w[i] = (struct writer){ .map = m, .id = i, .round = round, .go = go };
			check(!pthread_create(&t[i], NULL, writer_thread, &w[i]), "pthread_create");
		}
		__atomic_store_n(go, 1, __ATOMIC_RELEASE);
		for (i = 0; i < CONC_THREADS; i++) {
			pthread_join(t[i], NULL);
			check(!w[i].err[0], "round %d: %s", round, w[i].err);
		}
		for (i = 0; i < CONC_PROCS; i++) {
			check(waitpid(pid[i], &status, 0) == pid[i], "waitpid: %s",
			      strerror(errno));
			check(WIFEXITED(status) && !WEXITSTATUS(status),
			      "round %d: process %d: wait status %#x", round, i, status);
		}

		check(resident(fd) == CONC_PAGES,
		      "round %d: resident %lu, expected %d distinct pages", round, resident(fd),
		      CONC_PAGES);
		expect_pool(obs, &base, CONC_PAGES, 0, "after the writers");
		conc_verify(m, round);
		unmap_pages(m, CONC_PAGES);
		close(fd);
		expect_pool(obs, &base, 0, 0, "the instance closed");
	}
	munmap(go, PAGE_SIZE);
	close(obs);
	ksft_test_result_pass("concurrency: %d threads, %d processes, %d rounds: all data kept\n",
			      CONC_THREADS, CONC_PROCS, CONC_ROUNDS);
}

/* 9 */
static void test_release(void)
{
	unsigned long pool_pages = param("pool_pages");
	struct vepc_info info;
	struct pool_stats s;
	struct snap base;
	int obs, fd, status;
	pid_t pid;
	void *m;

	/* A whole enclave in one instance: TCS 0, REG 1 below SECS 2; TRIM 3, REG 4 above. */
	obs = vepc_open();
	base = take_snap(obs);
	fd = vepc_open();
	m = map_pages(fd, 7, 0);
	refill(m, 0, 7, 0x900);
	set_secs(fd, 2, 0);
	set_child(fd, 0, VEPC_PT_TCS, 2);
	set_child(fd, 1, VEPC_PT_REG, 2);
	set_child(fd, 3, VEPC_PT_TRIM, 2);
	set_child(fd, 4, VEPC_PT_REG, 2);
	set_page_ok(fd, 5, VEPC_PT_VA, 0, -1, 0);
	/* and page 6 FREE */

	/* A child's copy of the fd is not the last reference. */
	fflush(stdout);
	pid = fork();
	check(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		close(fd);
		_exit(0);
	}
	check(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	check(resident(fd) == 7, "resident %lu after a child closed its copy, expected 7",
	      resident(fd));
	expect_not_free(fd, 2, "the SECS after a child closed its copy of the fd");

	/* Closed while mapped, then unmapped: the release. */
	close(fd);
	expect_page(m, 6, 0x906, "a page of an instance closed, still mapped");
	expect_pool(obs, &base, 7, 0, "the instance closed, still mapped");
	unmap_pages(m, 7);
	expect_pool(obs, &base, 0, 0, "the instance released with its enclave");
	if (base.have_d) {
		check(read_pool(&s), "debugfs vanished");
		check(s.held == base.d.held, "debugfs held %lu after the release, %lu before",
		      s.held, base.d.held);
	}
	close(obs);

	/* Nothing open: the whole pool is free. */
	if (read_pool(&s)) {
		check(s.pool_pages == pool_pages, "debugfs pool_pages %lu, the parameter says %lu",
		      s.pool_pages, pool_pages);
		check(s.free == pool_pages && !s.held && !s.zombies && !s.instances &&
		      !s.reclaimed,
		      "all closed: free %lu/%lu held %lu zombies %lu instances %lu reclaimed %lu",
		      s.free, pool_pages, s.held, s.zombies, s.instances, s.reclaimed);
	}
	fd = vepc_open();
	info = get_info(fd);
	check(info.pool_free == pool_pages && !info.resident,
	      "all closed: GET_INFO pool_free %llu of %lu, resident %llu", info.pool_free,
	      pool_pages, info.resident);
	close(fd);
	ksft_test_result_pass("release: every page back, the pool whole (%lu pages)%s\n",
			      pool_pages,
			      have_debugfs ? "" : " (held and zombies not checked: no debugfs)");
}

/* Debugfs counter @name of vepc/pool (not in struct pool_stats). */
static unsigned long pool_counter(const char *name)
{
	char n[64];
	unsigned long v, found = ULONG_MAX;
	FILE *f = fopen(POOL_FILE, "r");

	check(f, "%s: %s", POOL_FILE, strerror(errno));
	while (fscanf(f, "%63s %lu", n, &v) == 2)
		if (!strcmp(n, name))
			found = v;
	fclose(f);
	check(found != ULONG_MAX, "%s has no \"%s\" line", POOL_FILE, name);
	return found;
}

/* Write @text to debugfs vepc/@file: 0 or the errno. */
static int debugfs_write(const char *file, const char *text)
{
	char path[128];
	int fd, err = 0;
	ssize_t n;

	snprintf(path, sizeof(path), DEBUGFS_DIR "/vepc/%s", file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	n = write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text))
		err = n < 0 ? errno : EIO;
	close(fd);
	return err;
}

static void reclaim_now(unsigned long pages)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%lu", pages);
	err = debugfs_write("reclaim", buf);
	check(!err, "debugfs vepc/reclaim %lu: %s", pages, strerror(err));
}

static int tamper(const char *op, int fd, unsigned long page)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s %llu %lu", op, get_info(fd).id, page);
	return debugfs_write("tamper", buf);
}

/* Skip without the test hooks. */
static void need_hooks(const char *what)
{
	if (!have_hooks) {
		ksft_test_result_skip("%s: needs the test hooks (CONFIG_VEPC_TEST_HOOKS)\n",
				      what);
		exit(KSFT_SKIP);
	}
}

static void need_whole_pool(int fd, const char *what)
{
	struct vepc_info i = get_info(fd);

	if (!have_debugfs) {
		ksft_test_result_skip("%s: needs debugfs\n", what);
		exit(KSFT_SKIP);
	}
	if (i.pool_free != i.pool_pages || pool_counter("held")) {
		ksft_test_result_skip("%s: %llu of %llu pool pages, %lu in all, held by others\n",
				      what, i.pool_pages - i.pool_free, i.pool_pages,
				      pool_counter("held"));
		exit(KSFT_SKIP);
	}
}

/* Skip unless max_pages lets the instances hold @pages together. */
static void need_max_pages(unsigned long pages, const char *what)
{
	if (param("max_pages") < pages) {
		ksft_test_result_skip("%s: max_pages %lu, the case needs %lu\n", what,
				      param("max_pages"), pages);
		exit(KSFT_SKIP);
	}
}

/* 10 */
#define OVER_PASSES	3

/* Write and check every page of a fresh instance of @pages, OVER_PASSES times. */
static __noreturn void over_writer(int id, unsigned long pages, const int *go)
{
	int fd = vepc_open();
	void *m = map_pages(fd, pages, 0);
	unsigned long i;
	int pass;

	set_limit(fd, 0);
	while (!__atomic_load_n(go, __ATOMIC_SEQ_CST))
		sched_yield();
	for (pass = 0; pass < OVER_PASSES; pass++) {
		for (i = 0; i < pages; i++)
			fill_page(m, i, ((__u64)id << 48) | ((__u64)pass << 40) | i);
		for (i = 0; i < pages; i++)
			expect_page(m, i, ((__u64)id << 48) | ((__u64)pass << 40) | i,
				    "oversubscribed");
	}
	check(get_info(fd).nr_reloads, "writer %d: %lu pages, no page was ever reloaded", id,
	      pages);
	/* Leave with pages reclaimed: the release must free their sealed copies. */
	exit(KSFT_PASS);
}

#define OVER_MAP_PAGES	16

/*
 * Reclaim takes a page out of every mapping of its instance: two mappings
 * here and one in another process.  A mapping left behind would read the
 * pool page's next content, not the page's.
 */
static void over_mappings(void)
{
	int fd = vepc_open(), status, to_child[2], to_parent[2];
	void *m1, *m2, *m3;
	unsigned long i;
	char c = 0;
	pid_t pid;

	m1 = map_pages(fd, OVER_MAP_PAGES, 0);
	m2 = map_pages(fd, OVER_MAP_PAGES, 0);
	for (i = 0; i < OVER_MAP_PAGES; i++)
		fill_page(m1, i, 0xa000 + i);
	for (i = 0; i < OVER_MAP_PAGES; i++)
		expect_page(m2, i, 0xa000 + i, "the second mapping");
	reclaim_now(OVER_MAP_PAGES);
	check(get_info(fd).reclaimed == OVER_MAP_PAGES, "%llu of %d pages reclaimed",
	      get_info(fd).reclaimed, OVER_MAP_PAGES);
	for (i = 0; i < OVER_MAP_PAGES; i++)
		fill_page(m2, i, 0xb000 + i);
	for (i = 0; i < OVER_MAP_PAGES; i++)
		expect_page(m1, i, 0xb000 + i, "the first mapping, after reclaim and reload");

	check(!pipe(to_child) && !pipe(to_parent), "pipe: %s", strerror(errno));
	pid = fork();
	check(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		m3 = map_pages(fd, OVER_MAP_PAGES, 0);
		for (i = 0; i < OVER_MAP_PAGES; i++)
			expect_page(m3, i, 0xb000 + i, "another process's mapping");
		check(write(to_parent[1], &c, 1) == 1 && read(to_child[0], &c, 1) == 1,
		      "pipe: %s", strerror(errno));
		for (i = 0; i < OVER_MAP_PAGES; i++)
			fill_page(m3, i, 0xc000 + i);
		exit(KSFT_PASS);
	}
	check(read(to_parent[0], &c, 1) == 1, "pipe: %s", strerror(errno));
	reclaim_now(OVER_MAP_PAGES);
	check(write(to_child[1], &c, 1) == 1, "pipe: %s", strerror(errno));
	check(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	check(WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS,
	      "the other process failed (wait status %#x)", status);
	for (i = 0; i < OVER_MAP_PAGES; i++) {
		expect_page(m1, i, 0xc000 + i, "the first mapping, after the other process wrote");
		expect_page(m2, i, 0xc000 + i, "the second mapping, after the other process wrote");
	}
	unmap_pages(m1, OVER_MAP_PAGES);
	unmap_pages(m2, OVER_MAP_PAGES);
	close(fd);
}

static void test_oversubscription(void)
{
	int obs = vepc_open(), status, i, *go;
	unsigned long pool = param("pool_pages");
	struct pool_stats s;
	pid_t pid[2];

	need_whole_pool(obs, "oversubscription");
	need_max_pages(2 * pool, "oversubscription");
	go = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(go != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		check(pid[i] >= 0, "fork: %s", strerror(errno));
		if (!pid[i])
			over_writer(i, pool, go);
	}
	__atomic_store_n(go, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++) {
		check(waitpid(pid[i], &status, 0) == pid[i], "waitpid: %s", strerror(errno));
		check(WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS,
		      "writer %d failed (wait status %#x)", i, status);
	}
	check(read_pool(&s), "no debugfs counts");
	check(s.free == pool && !s.held && !s.reclaimed && !s.zombies && s.instances == 1,
	      "after the writers: free %lu of %lu, held %lu, reclaimed %lu, zombies %lu, instances %lu",
	      s.free, pool, s.held, s.reclaimed, s.zombies, s.instances);
	if (have_hooks)
		over_mappings();
	close(obs);
	ksft_test_result_pass("oversubscription: 2 x %lu pages over a pool of %lu, %d passes%s\n",
			      pool, pool, OVER_PASSES,
			      have_hooks ? "" : " (mappings under reclaim: no test hooks)");
}

/* 11 */
#define SEAL_PAGES	8

static void expect_sigbus_read(void *m, unsigned long page, const char *what)
{
	__u64 v = 0;
	int sig = try_read(page_at(m, page), &v);

	check(sig == SIGBUS, "%s: page %lu: %s (read %#llx), expected SIGBUS", what, page,
	      sig_name(sig), v);
}

static void test_sealing(void)
{
	int fd = vepc_open(), other, err;
	unsigned long i, failures;
	struct vepc_info info;
	void *m, *mo;

	need_whole_pool(fd, "sealing");
	need_hooks("sealing");
	m = map_pages(fd, SEAL_PAGES, 0);
	for (i = 0; i < SEAL_PAGES; i++)
		fill_page(m, i, 0x5ea1 + i);

	/* The tamper file refuses what it cannot do. */
	err = tamper("flip", fd, 0);
	check(err == ENOENT, "tamper flip of a resident page: %s, expected ENOENT",
	      strerror(err));
	err = tamper("flip", fd, SEAL_PAGES + 100);
	check(err == ENOENT, "tamper flip of a page never touched: %s", strerror(err));
	reclaim_now(SEAL_PAGES);
	info = get_info(fd);
	check(info.reclaimed == SEAL_PAGES && !info.resident,
	      "reclaim %d: reclaimed %llu, resident %llu", SEAL_PAGES, info.reclaimed,
	      info.resident);
	err = tamper("replay", fd, 1);
	check(err == ENODATA, "tamper replay before a save: %s, expected ENODATA",
	      strerror(err));
	err = tamper("bend", fd, 1);
	check(err == EINVAL, "tamper bend: %s, expected EINVAL", strerror(err));
	err = debugfs_write("tamper", "flip 1");
	check(err == EINVAL, "tamper without an index: %s, expected EINVAL", strerror(err));

	/* A changed bit: SIGBUS, counted; the page is bad: SIGBUS at once from then on. */
	failures = pool_counter("unseal_failures");
	err = tamper("flip", fd, 0);
	check(!err, "tamper flip: %s", strerror(err));
	expect_sigbus_read(m, 0, "a changed sealed copy");
	touch_sigbus(m, 0, "a changed sealed copy, again");
	check(pool_counter("unseal_failures") == failures + 1, "unseal_failures %lu, expected %lu",
	      pool_counter("unseal_failures"), failures + 1);
	info = get_info(fd);
	check(info.reclaimed == SEAL_PAGES && !info.resident,
	      "after the failed reloads: reclaimed %llu, resident %llu", info.reclaimed,
	      info.resident);

	/* A replay: page 1's copy saved, the page reloaded, rewritten, reclaimed. */
	err = tamper("save", fd, 1);
	check(!err, "tamper save: %s", strerror(err));
	expect_page(m, 1, 0x5ea1 + 1, "reloaded before the replay");
	fill_page(m, 1, 0xbeef);
	reclaim_now(SEAL_PAGES);
	check(get_info(fd).reclaimed == SEAL_PAGES, "page 1 not reclaimed again");
	err = tamper("replay", fd, 1);
	check(!err, "tamper replay: %s", strerror(err));
	expect_sigbus_read(m, 1, "an older copy of the page");

	/* Copies moved: page 2's to page 3, and to a page of another instance. */
	err = tamper("save", fd, 2);
	check(!err, "tamper save: %s", strerror(err));
	err = tamper("replay", fd, 3);
	check(!err, "tamper replay: %s", strerror(err));
	expect_sigbus_read(m, 3, "another page's copy");
	other = vepc_open();
	mo = map_pages(other, 1, 0);
	fill_page(mo, 0, 0x07e5);
	reclaim_now(1);
	check(get_info(other).reclaimed == 1, "the other instance's page not reclaimed");
	err = tamper("replay", other, 0);
	check(!err, "tamper replay: %s", strerror(err));
	expect_sigbus_read(mo, 0, "another instance's copy");
	check(pool_counter("unseal_failures") == failures + 4, "unseal_failures %lu, expected %lu",
	      pool_counter("unseal_failures"), failures + 4);
	unmap_pages(mo, 1);
	close(other);

	/* The others reload intact: page 2's copy was only read. */
	expect_page(m, 2, 0x5ea1 + 2, "the copy that was moved elsewhere");
	for (i = 4; i < SEAL_PAGES; i++)
		expect_page(m, i, 0x5ea1 + i, "reloaded");

	/* REMOVE_ALL discards the bad copies: the pages are zero and usable. */
	expect_remove_all(fd, 0, "after the tampering");
	expect_zero(m, 0, "a changed copy after REMOVE_ALL");
	expect_zero(m, 1, "a replayed copy after REMOVE_ALL");
	expect_zero(m, 3, "a moved copy after REMOVE_ALL");
	expect_page(m, 2, 0x5ea1 + 2, "a good FREE page after REMOVE_ALL");
	fill_page(m, 0, 0x600d);
	expect_page(m, 0, 0x600d, "after REMOVE_ALL");
	info = get_info(fd);
	check(!info.reclaimed, "reclaimed %llu after REMOVE_ALL and reloads", info.reclaimed);
	unmap_pages(m, SEAL_PAGES);
	close(fd);
	ksft_test_result_pass("sealing: changed, replayed, moved copies SIGBUS, then discarded\n");
}

/* 12 */
/*
 * A pool full of SECS pages whose children are reclaimed still serves
 * faults: a SECS with no child in the pool can be reclaimed (only one
 * with a child in the pool cannot), zombies too.  A: the SECS pages; B:
 * their children.
 */
static void test_secs_reclaim(void)
{
	unsigned long pool = param("pool_pages"), i;
	struct vepc_info ia, ib;
	struct pool_stats st;
	int a, b, obs;
	void *ma, *mb;

	obs = vepc_open();
	need_whole_pool(obs, "SECS pages under reclaim");
	need_max_pages(2 * pool, "SECS pages under reclaim");
	need_hooks("SECS pages under reclaim");
	a = vepc_open();
	b = vepc_open();
	set_limit(a, 0);
	set_limit(b, 0);
	ma = map_pages(a, pool, 0);
	mb = map_pages(b, pool, 0);
	/* B's pages fill the pool; A's, touched after, reclaim them. */
	for (i = 0; i < pool; i++)
		fill_page(mb, i, 0xc41d + i);
	for (i = 0; i < pool; i++)
		touch_ok(ma, i, "a SECS page to be, the pool full");
	ia = get_info(a);
	ib = get_info(b);
	check(ia.resident == pool && ib.reclaimed == pool,
	      "A resident %llu, B reclaimed %llu, expected %lu each", ia.resident, ib.reclaimed,
	      pool);
	for (i = 0; i < pool; i++) {
		set_secs(a, i, 0);
		set_page_ok(b, i, VEPC_PT_REG, 0, a, i);
	}

	/* Every resident page a SECS, every child reclaimed: the SECS pages go. */
	for (i = 0; i < pool; i++)
		expect_page(mb, i, 0xc41d + i, "a child reloaded, the pool all SECS pages");
	ia = get_info(a);
	check(ia.reclaimed, "no SECS page was reclaimed (A resident %llu)", ia.resident);

	/* A closed: its SECS pages are zombies, resident or reclaimed; B goes on. */
	unmap_pages(ma, pool);
	close(a);
	check(read_pool(&st) && st.zombies == pool, "%lu zombies after A closed, expected %lu",
	      st.zombies, pool);
	for (i = 0; i < pool; i++)
		expect_page(mb, i, 0xc41d + i, "a child, its SECS a zombie");
	reclaim_now(pool);
	for (i = 0; i < pool; i++)
		expect_page(mb, i, 0xc41d + i, "a child reloaded beside the zombies");

	/* B's REMOVE_ALL removes the children, and with them the zombies. */
	expect_remove_all(b, 0, "B's children of zombies");
	check(read_pool(&st) && !st.zombies, "%lu zombies after their children went",
	      st.zombies);
	ib = get_info(b);
	check(st.held == ib.held, "held %lu, B holds %llu: the zombies not all gone", st.held,
	      ib.held);
	unmap_pages(mb, pool);
	close(b);
	check(read_pool(&st) && st.free == pool && !st.held && !st.reclaimed,
	      "all closed: free %lu of %lu, held %lu, reclaimed %lu", st.free, pool, st.held,
	      st.reclaimed);
	close(obs);
	ksft_test_result_pass("SECS pages under reclaim: %lu, their children and zombies\n",
			      pool);
}

/* 13 */
#define KVM_SLOT	1
#define KVM_GPA		(4ULL << 30)
#define KVM_MAGIC1	0x7e5c000000000000ULL
#define KVM_MAGIC2	0x9a11000000000000ULL

static void guest_vepc(__u64 pages)
{
	__u64 *p = (__u64 *)KVM_GPA;
	__u64 i;

	for (i = 0; i < pages; i++) {
		WRITE_ONCE(p[i * 512], KVM_MAGIC1 | i);
		WRITE_ONCE(p[i * 512 + 511], ~(KVM_MAGIC1 | i));
	}
	GUEST_SYNC(1);
	for (i = 0; i < pages; i++) {
		GUEST_ASSERT_EQ(READ_ONCE(p[i * 512]), KVM_MAGIC1 | i);
		GUEST_ASSERT_EQ(READ_ONCE(p[i * 512 + 511]), ~(KVM_MAGIC1 | i));
		WRITE_ONCE(p[i * 512], KVM_MAGIC2 | i);
	}
	GUEST_DONE();
}

static void run_until(struct kvm_vcpu *vcpu, uint64_t want)
{
	struct ucall uc;

	vcpu_run(vcpu);
	check(vcpu->run->exit_reason == UCALL_EXIT_REASON, "vCPU exit %u (%s)",
	      vcpu->run->exit_reason, exit_reason_str(vcpu->run->exit_reason));
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		check(want == 1 && uc.args[1] == 1, "unexpected sync %lu", uc.args[1]);
		break;
	case UCALL_DONE:
		check(want == 2, "guest done too early");
		break;
	case UCALL_ABORT:
		fail("guest: %s at line %lu: %#lx, expected %#lx", (const char *)uc.args[0],
		     uc.args[1], uc.args[2], uc.args[3]);
	default:
		fail("unexpected ucall %lu", uc.cmd);
	}
}

static void test_kvm(void)
{
	unsigned long pool = param("pool_pages"), pages = 2 * pool, i;
	struct vepc_info info;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int fd;
	__u64 *m;

	if (access("/dev/kvm", R_OK | W_OK)) {
		ksft_test_result_skip("KVM: no /dev/kvm\n");
		exit(KSFT_SKIP);
	}
	fd = vepc_open();
	need_whole_pool(fd, "KVM");
	need_max_pages(pages, "KVM");
	need_hooks("KVM");
	m = map_pages(fd, pages, 0);

	vm = vm_create_with_one_vcpu(&vcpu, guest_vepc);
	vm_set_user_memory_region(vm, KVM_SLOT, 0, KVM_GPA, pages * PAGE_SIZE, m);
	virt_map(vm, KVM_GPA, KVM_GPA, pages);
	vcpu_args_set(vcpu, 1, pages);

	run_until(vcpu, 1);
	info = get_info(fd);
	check(info.nr_reclaims >= pool && info.resident + info.reclaimed == pages,
	      "after the guest wrote %lu pages: resident %llu, reclaimed %llu, %llu reclaims",
	      pages, info.resident, info.reclaimed, info.nr_reclaims);
	/* Everything resident goes too, so the guest reloads every page. */
	reclaim_now(pool);
	run_until(vcpu, 2);
	kvm_vm_free(vm);

	for (i = 0; i < pages; i++) {
		__u64 v0 = m[i * PAGE_WORDS], v1 = m[i * PAGE_WORDS + PAGE_WORDS - 1];

		check(v0 == (KVM_MAGIC2 | i) && v1 == ~(KVM_MAGIC1 | i),
		      "page %lu as the host reads it: %#llx %#llx, expected %#llx %#llx", i, v0,
		      v1, KVM_MAGIC2 | i, ~(KVM_MAGIC1 | i));
	}
	info = get_info(fd);
	unmap_pages(m, pages);
	close(fd);
	ksft_test_result_pass("KVM: %lu pages, pool %lu: %llu reclaims, %llu reloads\n",
			      pages, pool, info.nr_reclaims, info.nr_reloads);
}

/* 14 */
#define HOLD_PAGES	8

static void hold(int fd, unsigned long page, int want)
{
	int err = tamper("hold", fd, page);

	check(err == want, "holding page %lu: %s, expected %s", page, strerror(err),
	      strerror(want));
}

static void drop_held(void)
{
	int err = debugfs_write("tamper", "drop");

	check(!err, "tamper drop: %s", strerror(err));
}

/*
 * Pool pages someone else holds, as kvm_vcpu_map() holds a guest page (an
 * extra page reference, here the "hold" hook's): reclaim passes them over
 * and they keep their content under writes; released with their instance,
 * the pool leaves them to their holder and takes new pages, so the pool
 * stays whole.
 */
static void test_held(void)
{
	unsigned long i, orphaned, pool;
	struct vepc_info info;
	struct pool_stats s;
	int fd, obs;
	void *m;

	obs = vepc_open();
	need_whole_pool(obs, "held pages");
	need_hooks("held pages");
	pool = get_info(obs).pool_pages;
	fd = vepc_open();
	m = map_pages(fd, HOLD_PAGES, 0);
	for (i = 0; i < HOLD_PAGES; i++)
		fill_page(m, i, 0xb000 + i);

	/* The hook's own refusals: a page never touched, too many holds. */
	hold(fd, HOLD_PAGES + 10, ENOENT);
	for (i = 0; i < 16; i++)
		hold(fd, 0, 0);
	hold(fd, 0, ENOSPC);
	drop_held();

	hold(fd, 3, 0);
	hold(fd, 5, 0);
	reclaim_now(HOLD_PAGES);
	info = get_info(fd);
	check(info.resident == 2 && info.reclaimed == HOLD_PAGES - 2,
	      "reclaim with pages 3 and 5 held: resident %llu, reclaimed %llu, expected 2, %d",
	      info.resident, info.reclaimed, HOLD_PAGES - 2);
	hold(fd, 0, ENOENT);	/* reclaimed: nothing to hold */
	fill_page(m, 3, 0xb103);
	reclaim_now(HOLD_PAGES);
	for (i = 0; i < HOLD_PAGES; i++)
		expect_page(m, i, i == 3 ? 0xb103 : 0xb000 + i, "reclaim with pages held");
	info = get_info(fd);
	check(info.nr_reloads == HOLD_PAGES - 2, "%llu reloads, expected %d (none of the held)",
	      info.nr_reloads, HOLD_PAGES - 2);

	/* Let go of, they are reclaimable again. */
	drop_held();
	reclaim_now(HOLD_PAGES);
	check(get_info(fd).reclaimed == HOLD_PAGES, "%llu of %d pages reclaimed after a drop",
	      get_info(fd).reclaimed, HOLD_PAGES);
	for (i = 0; i < HOLD_PAGES; i++)
		expect_page(m, i, i == 3 ? 0xb103 : 0xb000 + i, "reloaded after a drop");

	/* Held at release: orphaned, and the pool takes new pages. */
	hold(fd, 3, 0);
	hold(fd, 5, 0);
	orphaned = pool_counter("orphaned");
	unmap_pages(m, HOLD_PAGES);
	close(fd);
	check(pool_counter("orphaned") == orphaned + 2,
	      "orphaned %lu after a release with 2 pages held, %lu before",
	      pool_counter("orphaned"), orphaned);
	check(read_pool(&s), "debugfs vanished");
	check(s.pool_pages == pool && s.free == pool && !s.held,
	      "after the release: pool %lu of %lu, free %lu, held %lu", s.pool_pages, pool,
	      s.free, s.held);
	drop_held();
	check(debugfs_write("tamper", "drop 1") == EINVAL, "tamper \"drop 1\" is not EINVAL");
	close(obs);
	ksft_test_result_pass("held pages: passed over by reclaim, orphaned at release\n");
}

/* ================================================================== main */

static const struct {
	void (*fn)(void);
	const char *name;
} cases[] = {
	{ test_info,		"info" },
	{ test_qemu_sequence,	"QEMU's sequence" },
	{ test_bad_input,	"bad input" },
	{ test_mappings,	"mappings" },
	{ test_epcm,		"EPCM model" },
	{ test_zombie,		"zombie" },
	{ test_limits,		"limits" },
	{ test_concurrency,	"concurrency" },
	{ test_release,		"release" },
	{ test_oversubscription, "oversubscription" },
	{ test_sealing,		"sealing" },
	{ test_secs_reclaim,	"SECS pages under reclaim" },
	{ test_kvm,		"KVM" },
	{ test_held,		"held pages" },
};

static unsigned long saved_max_pages, saved_instance_limit;

static void restore_params(const char *after)
{
	static const char * const names[] = { "max_pages", "instance_limit" };
	unsigned long *saved[] = { &saved_max_pages, &saved_instance_limit };
	unsigned long now;
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (read_param(names[i], &now) && now == *saved[i])
			continue;
		err = write_param(names[i], *saved[i]);
		if (err)
			ksft_exit_fail_msg("after %s: cannot restore %s%s to %lu: %s\n", after,
					   PARAM_DIR, names[i], *saved[i], strerror(err));
		ksft_print_msg("after %s: %s restored to %lu\n", after, names[i], *saved[i]);
	}
}

static void run_case(unsigned int i)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_perror("fork");
	if (!pid) {
		case_name = cases[i].name;
		cases[i].fn();
		exit(KSFT_PASS);
	}
	if (waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_perror("waitpid");
	/* The child reported its result; a child that could not is reported here. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS)
		ksft_inc_pass_cnt();
	else if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_FAIL)
		ksft_inc_fail_cnt();
	else if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
		ksft_inc_xskip_cnt();
	else if (WIFSIGNALED(status))
		ksft_test_result_fail("%s: killed by signal %d (%s)\n", cases[i].name,
				      WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		ksft_test_result_fail("%s: wait status %#x\n", cases[i].name, status);
	restore_params(cases[i].name);
	/* A failed case may leave pages held. */
	if (have_hooks)
		debugfs_write("tamper", "drop");
}

int main(void)
{
	static const char * const paths[] = { "/dev/tvmm_vepc", "/dev/sgx_vepc" };
	struct sigaction sa = { .sa_handler = fault_handler };
	bool mounted_debugfs = false;
	struct vepc_info info;
	struct stat st;
	unsigned int i;
	int fd, ok;

	ksft_print_header();

	for (i = 0; i < ARRAY_SIZE(paths) && !dev_path; i++) {
		fd = open(paths[i], O_RDWR);
		if (fd < 0)
			continue;
		ok = !ioctl(fd, VEPC_IOC_GET_INFO, &info);
		close(fd);
		if (ok)
			dev_path = paths[i];
	}
	if (!dev_path)
		ksft_exit_skip("no virtual EPC: neither %s nor %s answers VEPC_IOC_GET_INFO%s\n",
			       paths[0], paths[1], " (vepc.ko not loaded?)");
	ksft_print_msg("device %s, pool of %llu pages, %llu free\n", dev_path, info.pool_pages,
		       info.pool_free);
	if (info.pool_free < MIN_POOL_PAGES)
		ksft_exit_skip("%llu free pages in the pool, the test needs %d\n", info.pool_free,
			       MIN_POOL_PAGES);
	if (!read_param("max_pages", &saved_max_pages) ||
	    !read_param("instance_limit", &saved_instance_limit))
		ksft_exit_fail_msg("cannot read %smax_pages and instance_limit: %s\n", PARAM_DIR,
				   strerror(errno));

	if (stat(DEBUGFS_DIR "/vepc", &st) && !mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL))
		mounted_debugfs = true;
	have_debugfs = !access(POOL_FILE, R_OK);
	have_hooks = !access(DEBUGFS_DIR "/vepc/tamper", W_OK) &&
		     !access(DEBUGFS_DIR "/vepc/reclaim", W_OK);
	if (have_debugfs && !have_hooks)
		ksft_print_msg("no test hooks (CONFIG_VEPC_TEST_HOOKS): reclaim cases skip\n");
	if (!have_debugfs)
		ksft_print_msg("no %s: pool counts from GET_INFO only, zombies not counted\n",
			       POOL_FILE);

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		ksft_exit_fail_perror("sigaction");

	ksft_set_plan(ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(i);

	if (mounted_debugfs)
		umount(DEBUGFS_DIR);
	ksft_finished();
}
