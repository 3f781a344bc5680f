// SPDX-License-Identifier: GPL-2.0
/*
 * tvmm-guest-init: PID 1 of the small guest that tvmm's end-to-end test and
 * `make run` boot.  It writes the boot-timer port first (tvmm logs the time
 * from its own start to that write), loads the modules listed in
 * /modules/order, runs the checks that the kernel command line asks for,
 * prints one line per check and reboots, which ends the VM.
 *
 *   tvmm_guest.checks=rng,blk,vsock   (default: none; comma-separated)
 *   tvmm_guest.vsock_port=N            (host-side peer's port, default 5000)
 *
 * Each check prints "tvmm-guest: <check> ok[: detail]" or
 * "tvmm-guest: <check> FAILED: why"; the last line is
 * "tvmm-guest: done, N failed".
 *
 *   rng    reads 64 bytes from /dev/hwrng (virtio-rng) and wants some nonzero
 *   blk    mounts /dev/vda (ext2, read-only) and checks that hello.txt has
 *          the length that hello.len, written with it, says, and the 200
 *          lines that scripts/build-guest.sh wrote
 *   vsock  connects to the host (CID 2) on the port, sends "ping from
 *          guest", and wants "pong from host" back
 *   topology  CPUID on each CPU (APIC ID, leaf 0xB's core level, AMD's
 *          0x80000008 core count) and sysfs agree on one package of
 *          single-thread cores, as many as CPUs online
 *   measure  (a `tvmm run --tvm` guest) prints the launch digest that the
 *          tvmm_measure module read with the KVM_HC_TVM_GET_MEASUREMENT
 *          hypercall: "tvmm-guest: measure ok: sha384:<hex>"
 *   convert  (a `tvmm run --tvm` guest) the tvmm_convert module made a page
 *          private and shared again with KVM_HC_MAP_GPA_RANGE, its content
 *          kept, and saw the refusals it expects (with
 *          tvmm_convert.busy_disk=/dev/vda, also for the ring of that
 *          disk's first queue, which tvmm holds)
 *
 * Benchmarks (bench/tvmm_vs_qemu.sh boots this guest in tvmm and in QEMU):
 *
 *   tvmm_guest.bench=pio,blk           (default: none; run after the checks)
 *   tvmm_guest.pio_exits=N             (default 20000)
 *   tvmm_guest.blk_seconds=N           (default 5)
 *   tvmm_guest.blk_jobs=N              (default 1: jobs at QD 32 each, job i
 *                                      on CPU i modulo the CPUs online)
 *   tvmm_guest.hold=N                  (sleep N seconds before rebooting)
 *   tvmm_guest.tick=1                  (while holding, print "tvmm-guest: tick
 *                                      N" every second: shows that a paused
 *                                      VM makes no progress)
 *   tvmm_guest.dmesg=1                 (print the kernel log at the end: a
 *                                      boot timeline even with "quiet")
 *
 *   pio    five rounds of N one-byte writes to port 0x80, which no device of
 *          either VMM claims, so that each is one exit to the VMM's userspace
 *          and back: "tvmm-guest: bench pio <ns> ns/exit" (the best round)
 *   blk    4 KiB random O_DIRECT reads of all of /dev/vda at queue depth 32
 *          (Linux AIO) for the seconds given: "tvmm-guest: bench blk <n> IOPS"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <linux/vm_sockets.h>

#define BOOT_TIMER_PORT 0x440
#define BOOT_TIMER_MAGIC 123
#define HOST_CID 2
#define BENCH_PIO_PORT 0x80
#define BENCH_BLK_QD 32
#define BENCH_BLK_SIZE 4096

static int failures;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (write(STDOUT_FILENO, buf, n) < 0)
		return;
}

static void result(const char *check, int ok, const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (!ok)
		failures++;
	say("tvmm-guest: %s %s%s%s\n", check, ok ? "ok" : "FAILED",
	    detail[0] ? ": " : "", detail);
}

static void boot_timer(void)
{
	/* Port I/O from userspace: PID 1 runs as root with CAP_SYS_RAWIO. */
	if (ioperm(BOOT_TIMER_PORT, 1, 1)) {
		say("tvmm-guest: boot timer: ioperm: %s\n", strerror(errno));
		return;
	}
	outb(BOOT_TIMER_MAGIC, BOOT_TIMER_PORT);
}

static char cmdline[4096];

/*
 * The kernel leaves "module.param=value" on its command line to whoever
 * loads the module (modprobe does this): collect the ones for @module
 * ("virtio_mmio.device=..." becomes "device=...").
 */
static void module_params(const char *module, char *out, size_t size)
{
	char prefix[160];
	size_t plen, used = 0;

	snprintf(prefix, sizeof(prefix), "%s.", module);
	for (char *p = prefix; *p; p++)
		if (*p == '-')
			*p = '_';
	plen = strlen(prefix);
	out[0] = 0;
	for (const char *p = cmdline; *p; p += strcspn(p, " \n"), p += strspn(p, " \n")) {
		size_t n = strcspn(p, " \n");

		if (n > plen && !strncmp(p, prefix, plen) && used + n - plen + 2 < size) {
			used += snprintf(out + used, size - used, "%s%.*s", used ? " " : "",
					 (int)(n - plen), p + plen);
		}
	}
}

static void load_modules(void)
{
	FILE *f = fopen("/modules/order", "r");
	char name[128], path[256], params[1024];

	if (!f)
		return;
	while (fscanf(f, "%127s", name) == 1) {
		int fd;

		snprintf(path, sizeof(path), "/modules/%s", name);
		if (strrchr(name, '.'))
			*strrchr(name, '.') = 0;	/* the order lists .ko files */
		module_params(name, params, sizeof(params));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, params, 0))
			say("tvmm-guest: loading %s failed: %s\n", name, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/* The value of "key=value" on the kernel command line, or NULL. */
static const char *param(const char *key)
{
	static char value[256];
	size_t klen = strlen(key);

	for (char *p = cmdline; (p = strstr(p, key)); p += klen) {
		if ((p == cmdline || p[-1] == ' ') && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, " \n");

			if (n >= sizeof(value))
				n = sizeof(value) - 1;
			memcpy(value, p + klen + 1, n);
			value[n] = 0;
			return value;
		}
	}
	return NULL;
}

static long param_long(const char *key, long dflt)
{
	const char *v = param(key);

	return v ? atol(v) : dflt;
}

/* Is @item in the comma-separated list that parameter @key holds? */
static int listed(const char *key, const char *item)
{
	const char *checks = param(key);
	size_t n = strlen(item);

	for (const char *p = checks; p && *p; p += strcspn(p, ",")) {
		p += *p == ',';
		if (!strncmp(p, item, n) && (p[n] == ',' || !p[n]))
			return 1;
	}
	return 0;
}

static int wanted(const char *check)
{
	return listed("tvmm_guest.checks", check);
}

/* Device nodes appear when their driver probes: give them a few seconds. */
static int wait_for(const char *path)
{
	for (int i = 0; i < 100; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(50000);
	}
	return -1;
}

static void check_rng(void)
{
	unsigned char buf[64];
	int fd, nonzero = 0;
	ssize_t n;

	if (wait_for("/dev/hwrng")) {
		result("rng", 0, "no /dev/hwrng");
		return;
	}
	fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		result("rng", 0, "open /dev/hwrng: %s", strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (ssize_t i = 0; i < n; i++)
		nonzero += buf[i] != 0;
	result("rng", n == sizeof(buf) && nonzero > 0, "%zd bytes, %d nonzero", n, nonzero);
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

#define CPU_TOPOLOGY "/sys/devices/system/cpu/cpu%ld/topology/"

static long read_long(const char *fmt, long cpu)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), fmt, cpu);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * The topology tvmm describes: one package of as many single-thread cores
 * as CPUs, CPU i with APIC ID i.  Checked twice: in CPUID, read on each
 * CPU (leaf 1's APIC ID, the core level of leaf 0xB, and AMD's core count
 * in 0x80000008), so that a count taken from the host fails even when the
 * host has as many cores as the guest; and as Linux built it in sysfs.
 */
static void check_topology(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	long core[256], package;
	unsigned int a, b, c, d, max_basic, amd;
	char path[128], buf[64], why[160] = "";
	cpu_set_t set, saved;

	if (n < 1 || n > 256) {
		result("topology", 0, "%ld CPUs online", n);
		return;
	}
	if (sched_getaffinity(0, sizeof(saved), &saved)) {
		result("topology", 0, "sched_getaffinity: %s", strerror(errno));
		return;
	}
	__cpuid(0, max_basic, b, c, d);
	amd = b == 0x68747541 || b == 0x6f677948; /* AuthenticAMD, HygonGenuine */
	for (long i = 0; i < n && !why[0]; i++) {
		CPU_ZERO(&set);
		CPU_SET(i, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			snprintf(why, sizeof(why), "cpu%ld: sched_setaffinity: %s", i,
				 strerror(errno));
			break;
		}
		__cpuid(1, a, b, c, d);
		if (b >> 24 != (i & 0xff)) {
			snprintf(why, sizeof(why), "cpu%ld: CPUID 1 says APIC ID %u", i, b >> 24);
			break;
		}
		if (max_basic >= 0xb) {
			__cpuid_count(0xb, 1, a, b, c, d);
			if ((b & 0xffff) != n || ((c >> 8) & 0xff) != 2 || d != i) {
				snprintf(why, sizeof(why),
					 "cpu%ld: CPUID 0xb.1 says %u CPUs at level type %u, x2APIC ID %u",
					 i, b & 0xffff, (c >> 8) & 0xff, d);
				break;
			}
		}
		if (amd) {
			__cpuid(0x80000008, a, b, c, d);
			if ((c & 0xff) + 1 != n) {
				snprintf(why, sizeof(why), "cpu%ld: CPUID 0x80000008 says %u cores",
					 i, (c & 0xff) + 1);
				break;
			}
		}
		snprintf(path, sizeof(path), CPU_TOPOLOGY "thread_siblings_list", i);
		if (read_file(path, buf, sizeof(buf)) < 0)
			buf[0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (strtol(buf, NULL, 10) != i || !buf[0] || strpbrk(buf, ",-")) {
			snprintf(why, sizeof(why), "cpu%ld: thread siblings '%s'", i, buf);
			break;
		}
		package = read_long(CPU_TOPOLOGY "physical_package_id", i);
		if (package) {
			snprintf(why, sizeof(why), "cpu%ld: in package %ld", i, package);
			break;
		}
		core[i] = read_long(CPU_TOPOLOGY "core_id", i);
		if (core[i] < 0)
			snprintf(why, sizeof(why), "cpu%ld: no core_id", i);
		for (long j = 0; j < i; j++) {
			if (core[j] == core[i])
				snprintf(why, sizeof(why), "cpu%ld and cpu%ld: both core %ld", j, i,
					 core[i]);
		}
	}
	if (sched_setaffinity(0, sizeof(saved), &saved) && !why[0])
		snprintf(why, sizeof(why), "restoring the affinity: %s", strerror(errno));
	if (why[0])
		result("topology", 0, "%s", why);
	else
		result("topology", 1, "%ld CPU(s), 1 package, %ld core(s), 1 thread each", n, n);
}

static void check_measure(void)
{
	char digest[128];
	ssize_t n = read_file("/sys/module/tvmm_measure/parameters/digest", digest,
			      sizeof(digest));

	if (n < 0) {
		result("measure", 0, "no tvmm_measure module: %s", strerror(errno));
		return;
	}
	digest[strcspn(digest, "\n")] = 0;
	if (strlen(digest) != 96)
		result("measure", 0, "the hypercall failed: %s", digest);
	else
		result("measure", 1, "sha384:%s", digest);
}

static void check_convert(void)
{
	char res[200];
	ssize_t n = read_file("/sys/module/tvmm_convert/parameters/result", res, sizeof(res));

	if (n < 0) {
		result("convert", 0, "no tvmm_convert module: %s", strerror(errno));
		return;
	}
	res[strcspn(res, "\n")] = 0;
	if (strcmp(res, "ok") == 0)
		result("convert", 1,
		       "a page made private and shared again, refusals as expected");
	else
		result("convert", 0, "%s", res);
}

/* What scripts/build-guest.sh writes into hello.txt. */
static size_t expected_hello(char *buf, size_t size)
{
	size_t n = 0;

	for (int i = 1; i <= 200 && n < size; i++)
		n += snprintf(buf + n, size - n, "tvmm virtio-blk test file, line %d\n", i);
	return n < size ? n : size;
}

static void check_blk(void)
{
	static char text[16384], want[16384];
	char len[32];
	size_t want_len = expected_hello(want, sizeof(want));
	ssize_t n;

	if (wait_for("/dev/vda")) {
		result("blk", 0, "no /dev/vda");
		return;
	}
	mkdir("/mnt", 0755);
	if (mount("/dev/vda", "/mnt", "ext2", MS_RDONLY, NULL)) {
		result("blk", 0, "mount /dev/vda: %s", strerror(errno));
		return;
	}
	n = read_file("/mnt/hello.txt", text, sizeof(text));
	if (n < 0 || read_file("/mnt/hello.len", len, sizeof(len)) < 0)
		result("blk", 0, "hello.txt or hello.len missing");
	else
		result("blk", n == atol(len) && (size_t)n == want_len && !memcmp(text, want, n),
		       "hello.txt has %zd bytes (hello.len says %ld, %zu expected)%s", n,
		       atol(len), want_len, memcmp(text, want, want_len) ? ", content differs" : "");
	umount("/mnt");
}

/*
 * A connected socket to @addr, or -1 after reporting why not.  Tries again,
 * on a new socket, for 30 s: the driver probes asynchronously (the family
 * may be missing at first), and the host's peer is started beside tvmm and
 * may not listen yet (the host resets the request) or may answer late (a
 * connect times out after 2 s).
 */
static int vsock_connect(const struct sockaddr_vm *addr)
{
	struct timeval tv = { .tv_sec = 30 };
	struct timespec start, now;
	int fd, err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (!connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
				return fd;
			err = errno;
			close(fd);
			errno = err;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((fd >= 0 && errno != ECONNRESET && errno != ETIMEDOUT) ||
		    now.tv_sec - start.tv_sec >= 30)
			break;
		usleep(fd < 0 ? 50000 : 500000);
	}
	if (fd < 0)
		result("vsock", 0, "socket: %s", strerror(errno));
	else
		result("vsock", 0, "connect to %u:%u: %s", addr->svm_cid, addr->svm_port,
		       strerror(errno));
	return -1;
}

static void check_vsock(void)
{
	const char *port = param("tvmm_guest.vsock_port");
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = HOST_CID,
		.svm_port = port ? atoi(port) : 5000,
	};
	const char ping[] = "ping from guest";
	char reply[64] = "";
	ssize_t n = -1;
	int fd = vsock_connect(&addr);

	if (fd < 0)
		return;
	if (write(fd, ping, sizeof(ping) - 1) == sizeof(ping) - 1)
		n = read(fd, reply, sizeof(reply) - 1);
	close(fd);
	if (n >= 0)
		reply[n] = 0;
	result("vsock", n > 0 && !strcmp(reply, "pong from host"), "reply \"%s\"", reply);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void bench_pio(void)
{
	long n = param_long("tvmm_guest.pio_exits", 20000);
	double best = 0;

	if (n < 1 || ioperm(BENCH_PIO_PORT, 1, 1)) {
		say("tvmm-guest: bench pio FAILED: %s\n", n < 1 ? "no exits" : strerror(errno));
		failures++;
		return;
	}
	for (int round = 0; round < 5; round++) {
		double t = now_ns();

		for (long i = 0; i < n; i++)
			outb(0, BENCH_PIO_PORT);
		t = (now_ns() - t) / n;
		if (!round || t < best)
			best = t;
	}
	say("tvmm-guest: bench pio %.0f ns/exit (best of 5 rounds of %ld)\n", best, n);
}

/* One job's reads; returns -1 if the disk cannot be set up. */
static int bench_blk_job(int job, long seconds, long *done, long *errors, double *elapsed)
{
	static struct iocb cbs[BENCH_BLK_QD];
	struct iocb *cbp[BENCH_BLK_QD];
	struct io_event ev[BENCH_BLK_QD];
	uint64_t size = 0, blocks, x = 0x9e3779b97f4a7c15ull * (job + 1);
	aio_context_t ctx = 0;
	int fd, inflight = 0;
	double start, end;
	char *bufs;

	*done = *errors = 0;
	fd = open("/dev/vda", O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < BENCH_BLK_SIZE ||
	    posix_memalign((void **)&bufs, 4096, BENCH_BLK_QD * BENCH_BLK_SIZE) ||
	    syscall(SYS_io_setup, BENCH_BLK_QD, &ctx))
		return -1;
	blocks = size / BENCH_BLK_SIZE;
	start = now_ns();
	end = start + seconds * 1e9;
	for (int i = 0; i < BENCH_BLK_QD; i++) {
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uintptr_t)(bufs + i * BENCH_BLK_SIZE);
		cbs[i].aio_nbytes = BENCH_BLK_SIZE;
		cbp[i] = &cbs[i];
	}
	/* xorshift64: the same offsets in every VMM. */
#define NEXT_OFFSET() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, (x % blocks) * BENCH_BLK_SIZE)
	for (int i = 0; i < BENCH_BLK_QD; i++)
		cbs[i].aio_offset = NEXT_OFFSET();
	if (syscall(SYS_io_submit, ctx, BENCH_BLK_QD, cbp) == BENCH_BLK_QD)
		inflight = BENCH_BLK_QD;
	while (inflight > 0) {
		long n = syscall(SYS_io_getevents, ctx, 1, BENCH_BLK_QD, ev, NULL);
		int again = 0;

		if (n < 0)
			break;
		inflight -= n;
		for (long i = 0; i < n; i++) {
			struct iocb *cb = (struct iocb *)(uintptr_t)ev[i].obj;

			(*done)++;
			*errors += ev[i].res != BENCH_BLK_SIZE;
			if (now_ns() < end) {
				cb->aio_offset = NEXT_OFFSET();
				cbp[again++] = cb;
			}
		}
		if (again && syscall(SYS_io_submit, ctx, again, cbp) == again)
			inflight += again;
	}
#undef NEXT_OFFSET
	*elapsed = (now_ns() - start) / 1e9;
	*errors += inflight;
	syscall(SYS_io_destroy, ctx);
	close(fd);
	free(bufs);
	return 0;
}

/*
 * tvmm_guest.blk_jobs=N runs N jobs at once, job i pinned to CPU i modulo
 * the CPUs online (so that a multi-queue disk sees every queue used), each
 * at QD 32; their IOPS add up.
 */
static void bench_blk(void)
{
	long seconds = param_long("tvmm_guest.blk_seconds", 5), done = 0, errors = 0;
	long jobs = param_long("tvmm_guest.blk_jobs", 1);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double elapsed = 0;
	int p[2];

	if (jobs < 1 || jobs > 64)
		jobs = 1;
	if (jobs == 1) {
		if (bench_blk_job(0, seconds, &done, &errors, &elapsed)) {
			say("tvmm-guest: bench blk FAILED: /dev/vda: %s\n", strerror(errno));
			failures++;
			return;
		}
	} else {
		if (pipe(p)) {
			say("tvmm-guest: bench blk FAILED: pipe: %s\n", strerror(errno));
			failures++;
			return;
		}
		for (long j = 0; j < jobs; j++) {
			if (fork() == 0) {
				long r[3] = { -1, 0, 0 };
				double t = 0;
				cpu_set_t set;

				CPU_ZERO(&set);
				CPU_SET(j % (ncpu > 0 ? ncpu : 1), &set);
				sched_setaffinity(0, sizeof(set), &set);
				if (!bench_blk_job(j, seconds, &r[1], &r[2], &t))
					r[0] = (long)(t * 1e6);
				if (write(p[1], r, sizeof(r)) != sizeof(r))
					_exit(1);
				_exit(0);
			}
		}
		close(p[1]);
		for (long j = 0; j < jobs; j++) {
			long r[3];

			if (read(p[0], r, sizeof(r)) != sizeof(r) || r[0] < 0) {
				errors++;
				continue;
			}
			done += r[1];
			errors += r[2];
			if (r[0] / 1e6 > elapsed)
				elapsed = r[0] / 1e6;
		}
		close(p[0]);
		while (wait(NULL) > 0)
			;
	}
	if (errors)
		failures++;
	say("tvmm-guest: bench blk %.0f IOPS (%ld reads of 4 KiB at QD %d x %ld jobs in %.2f s, %ld errors)\n",
	    elapsed > 0 ? done / elapsed : 0, done, BENCH_BLK_QD, jobs, elapsed, errors);
}

int main(void)
{
	boot_timer();
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	say("tvmm-guest: userspace up, %ld CPUs online\n", sysconf(_SC_NPROCESSORS_ONLN));
	load_modules();

	if (wanted("rng"))
		check_rng();
	if (wanted("blk"))
		check_blk();
	if (wanted("vsock"))
		check_vsock();
	if (wanted("measure"))
		check_measure();
	if (wanted("convert"))
		check_convert();
	if (wanted("topology"))
		check_topology();
	if (listed("tvmm_guest.bench", "pio"))
		bench_pio();
	if (listed("tvmm_guest.bench", "blk"))
		bench_blk();
	if (param_long("tvmm_guest.dmesg", 0)) {
		static char klog[1 << 20];
		int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, klog, sizeof(klog));

		for (int i = 0; i < n; i += 4096)
			if (write(STDOUT_FILENO, klog + i, n - i < 4096 ? n - i : 4096) < 0)
				break;
	}
	say("tvmm-guest: done, %d failed\n", failures);
	if (param_long("tvmm_guest.hold", 0) > 0) {
		long hold = param_long("tvmm_guest.hold", 0);
		int tick = param_long("tvmm_guest.tick", 0);

		say("tvmm-guest: holding for %ld s\n", hold);
		for (long i = 1; i <= hold; i++) {
			sleep(1);
			if (tick)
				say("tvmm-guest: tick %ld\n", i);
		}
	}
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
