// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual EPC benchmark (drivers/virt/vepc, emulated backend), run in the
 * test guest by scripts/bench.sh (BENCH=vepc).  Everything is timed in one
 * process, each case beside its baseline, REPS repetitions interleaved;
 * the median is reported.
 *
 * - fault_vepc / fault_anon: ns per first touch (a write) of a page, of a
 *   fresh vEPC instance (pool pages free, no reclaim) and of fresh
 *   MAP_PRIVATE anonymous memory (the baseline), NPAGES pages each.
 * - reclaim: ns per page to reclaim NPAGES resident pages through
 *   debugfs vepc/reclaim (zap, seal with AES-256-GCM, back to the pool).
 * - reload: ns per first touch of a reclaimed page (verify, decrypt, map),
 *   with free pool pages, so that no reclaim is in the way.
 * - hot_fit / hot_oversub: touches per second of a loop that writes a hot
 *   set of half the pool nine times for every touch of a cold page, the
 *   cold pages spread over (fit) the other half of the pool, or (oversub)
 *   1.5 times the pool, so that the mapping is twice the pool and cold
 *   touches reclaim.  Also the reclaims per 1000 touches in the oversub
 *   case: reclaim keeps it running, at that cost.
 *
 * Output: "result <name> <value> <unit>" lines, parsed by scripts/bench.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <asm/sgx_vepc.h>

#define PAGE		4096UL
#define REPS		7
#define HOT_ROUNDS	20000UL

static const char *dev_path;
static unsigned long pool;

static void die(const char *what)
{
	fprintf(stderr, "vepc_bench: %s: %s\n", what, strerror(errno));
	exit(1);
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

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int vepc_open(struct vepc_info *info)
{
	static const char * const paths[] = { "/dev/tvmm_vepc", "/dev/sgx_vepc" };
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		fd = open(paths[i], O_RDWR);
		if (fd < 0)
			continue;
		if (!ioctl(fd, VEPC_IOC_GET_INFO, info)) {
			dev_path = paths[i];
			return fd;
		}
		close(fd);
	}
	die("no virtual EPC device");
	return -1;
}

static void debugfs_write(const char *file, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/vepc/%s", file);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

static void touch(volatile char *p, unsigned long pages, uint64_t tag)
{
	unsigned long i;

	for (i = 0; i < pages; i++)
		*(volatile uint64_t *)(p + i * PAGE) = tag + i;
}

/* ns per first touch of npages fresh vEPC pages, and (reclaim) per page. */
static void vepc_case(unsigned long npages, double *fault, double *reclaim,
		      double *reload)
{
	struct vepc_info info;
	char buf[32];
	double t0;
	char *p;
	int fd;

	fd = vepc_open(&info);
	p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap vepc");
	t0 = now_ns();
	touch(p, npages, 1);
	*fault = (now_ns() - t0) / npages;

	snprintf(buf, sizeof(buf), "%lu", npages);
	t0 = now_ns();
	debugfs_write("reclaim", buf);
	*reclaim = (now_ns() - t0) / npages;
	if (ioctl(fd, VEPC_IOC_GET_INFO, &info) || info.reclaimed != npages) {
		fprintf(stderr, "vepc_bench: %llu of %lu pages reclaimed\n",
			(unsigned long long)info.reclaimed, npages);
		exit(1);
	}

	t0 = now_ns();
	touch(p, npages, 2);
	*reload = (now_ns() - t0) / npages;
	if (ioctl(fd, VEPC_IOC_GET_INFO, &info) || info.reclaimed)
		die("pages still reclaimed after the reload");
	munmap(p, npages * PAGE);
	close(fd);
}

static double anon_case(unsigned long npages)
{
	double t0, t;
	char *p;

	p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap anon");
	t0 = now_ns();
	touch(p, npages, 1);
	t = (now_ns() - t0) / npages;
	munmap(p, npages * PAGE);
	return t;
}

/* Touches per second; *reclaims the instance's reclaims per 1000 touches. */
static double hot_case(unsigned long cold_pages, double *reclaims)
{
	unsigned long hot = pool / 2, total = hot + cold_pages, i, j, c = 0;
	struct vepc_info info;
	double t0, t;
	char *p;
	int fd;

	fd = vepc_open(&info);
	p = mmap(NULL, total * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap vepc");
	touch(p, total, 0);	/* everything exists; oversub has reclaimed */
	if (ioctl(fd, VEPC_IOC_GET_INFO, &info))
		die("GET_INFO");
	t0 = now_ns();
	for (i = 0; i < HOT_ROUNDS; i++) {
		for (j = 0; j < 9; j++)
			*(volatile uint64_t *)(p + ((i * 9 + j) * 61 % hot) * PAGE) += 1;
		*(volatile uint64_t *)(p + (hot + c) * PAGE) += 1;
		c = (c + 1) % cold_pages;
	}
	t = now_ns() - t0;
	{
		unsigned long long before = info.nr_reclaims;

		if (ioctl(fd, VEPC_IOC_GET_INFO, &info))
			die("GET_INFO");
		*reclaims = (info.nr_reclaims - before) * 1000.0 / (HOT_ROUNDS * 10);
	}
	munmap(p, total * PAGE);
	close(fd);
	return HOT_ROUNDS * 10 / (t / 1e9);
}

int main(void)
{
	double fv[REPS], fa[REPS], rc[REPS], rl[REPS], hf[REPS], ho[REPS];
	double rate[REPS], dummy;
	struct vepc_info info;
	unsigned long npages;
	int fd, r;

	if (access("/sys/kernel/debug/vepc", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	fd = vepc_open(&info);
	pool = info.pool_pages;
	close(fd);
	npages = pool / 2;
	printf("# %s: pool %lu pages; %lu pages per fault case, %d repetitions\n",
	       dev_path, pool, npages, REPS);

	for (r = 0; r < REPS; r++) {
		fa[r] = anon_case(npages);
		vepc_case(npages, &fv[r], &rc[r], &rl[r]);
		hf[r] = hot_case(pool / 2, &dummy);
		ho[r] = hot_case(pool + pool / 2, &rate[r]);
	}
	result("fault_anon", median(fa, REPS), "ns");
	result("fault_vepc", median(fv, REPS), "ns");
	result("reclaim", median(rc, REPS), "ns");
	result("reload", median(rl, REPS), "ns");
	result("hot_fit", median(hf, REPS), "touches/s");
	result("hot_oversub", median(ho, REPS), "touches/s");
	result("hot_oversub_reclaims", median(rate, REPS), "per1000");
	return 0;
}
