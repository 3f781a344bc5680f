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
 *          the length that hello.len, written with it, says
 *   vsock  connects to the host (CID 2) on the port, sends "ping from
 *          guest", and wants "pong from host" back
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
#include <linux/vm_sockets.h>

#define BOOT_TIMER_PORT 0x440
#define BOOT_TIMER_MAGIC 123
#define HOST_CID 2

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

static int wanted(const char *check)
{
	const char *checks = param("tvmm_guest.checks");
	size_t n = strlen(check);

	for (const char *p = checks; p && *p; p += strcspn(p, ",")) {
		p += *p == ',';
		if (!strncmp(p, check, n) && (p[n] == ',' || !p[n]))
			return 1;
	}
	return 0;
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

static void check_blk(void)
{
	char text[4096], len[32];
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
		result("blk", n == atol(len) && strstr(text, "tvmm virtio-blk"),
		       "hello.txt has %zd bytes, hello.len says %ld", n, atol(len));
	umount("/mnt");
}

static void check_vsock(void)
{
	const char *port = param("tvmm_guest.vsock_port");
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = HOST_CID,
		.svm_port = port ? atoi(port) : 5000,
	};
	struct timeval tv = { .tv_sec = 30 };
	const char ping[] = "ping from guest";
	char reply[64] = "";
	ssize_t n = -1;
	int fd = -1;

	/* The driver probes asynchronously: retry while the family is missing. */
	for (int i = 0; i < 100 && fd < 0; i++) {
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			usleep(50000);
	}
	if (fd < 0) {
		result("vsock", 0, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		result("vsock", 0, "connect to %u:%u: %s", addr.svm_cid, addr.svm_port,
		       strerror(errno));
		close(fd);
		return;
	}
	if (write(fd, ping, sizeof(ping) - 1) == sizeof(ping) - 1)
		n = read(fd, reply, sizeof(reply) - 1);
	close(fd);
	if (n >= 0)
		reply[n] = 0;
	result("vsock", n > 0 && !strcmp(reply, "pong from host"), "reply \"%s\"", reply);
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
	say("tvmm-guest: done, %d failed\n", failures);
	sync();
	reboot(RB_AUTOBOOT);
	return 0;
}
