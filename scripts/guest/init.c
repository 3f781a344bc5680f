// SPDX-License-Identifier: GPL-2.0
/*
 * tvmm-init: PID 1 of the test guest, for x86-64 and riscv64 alike.
 *
 * Mounts the basics, loads the modules listed in /modules/order, then either
 * runs the tests of /tests/list (tvmm.mode=test, the default) or starts a
 * shell (tvmm.mode=shell).  Test results are printed in the kselftest runner's
 * KTAP format on the console; each test's output is prefixed with "# ".  After
 * each test, new kernel log records at warning level or worse are forwarded
 * as "# dmesg: ..." and a record matching /etc/splat-patterns fails the test.
 * The guest powers off at the end; the host parses the console.
 *
 * /tests/list: one test per line, "<name> <timeout-seconds> [args...]";
 * the binary is /tests/bin/<name>.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 32
#define KSFT_SKIP 4

static regex_t splat_re[32];
static int nr_splat_re;
static int kmsg_fd = -1;

static void out(const char *fmt, ...)
{
	char buf[4096];
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

static void load_splat_patterns(void)
{
	FILE *f = fopen("/etc/splat-patterns", "r");
	char line[256];

	if (!f)
		return;
	while (nr_splat_re < 32 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		if (!regcomp(&splat_re[nr_splat_re], line, REG_EXTENDED | REG_NOSUB))
			nr_splat_re++;
	}
	fclose(f);
}

static int is_splat(const char *msg)
{
	for (int i = 0; i < nr_splat_re; i++)
		if (!regexec(&splat_re[i], msg, 0, NULL, 0))
			return 1;
	return 0;
}

/*
 * Forward new kernel log records at warning level or worse; return how many
 * look like a splat.  /dev/kmsg records are "prio,seq,usec,flags;text\n"
 * followed by " KEY=value" continuation lines.
 */
static int drain_kmsg(void)
{
	char rec[8192];
	int splats = 0;

	if (kmsg_fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		char *text, *nl;
		int prio;

		if (n < 0 && errno == EPIPE)	/* overwritten records: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = 0;
		prio = atoi(rec) & 7;
		if (is_splat(text))
			splats++;
		if (prio <= 4 || is_splat(text))
			out("# dmesg: %s\n", text);
	}
	return splats;
}

static void load_modules(void)
{
	FILE *f = fopen("/modules/order", "r");
	char name[256], path[512];

	if (!f)
		return;
	while (fscanf(f, "%255s", name) == 1) {
		int fd;

		snprintf(path, sizeof(path), "/modules/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
			out("# tvmm-init: loading %s failed: %s\n", name, strerror(errno));
			out("Bail out! module %s did not load\n", name);
			reboot(RB_POWER_OFF);
		}
		close(fd);
		out("# tvmm-init: loaded %s\n", name);
	}
	fclose(f);
}

/* Copy the child's output to the console with a "# " prefix per line. */
static void relay(int fd, char *pending, size_t *len, size_t cap, int flush)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (*len < cap - 1)
				pending[(*len)++] = buf[i];
			if (buf[i] == '\n' || *len == cap - 1) {
				pending[*len] = 0;
				out("# %s%s", pending, buf[i] == '\n' ? "" : "\n");
				*len = 0;
			}
		}
	}
	if (flush && *len) {
		pending[*len] = 0;
		out("# %s\n", pending);
		*len = 0;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one line of /tests/list and print its KTAP result line. */
static void run_test(int nr, char *line)
{
	char *argv[MAX_ARGS + 1], path[512], pending[4096], why[128] = "";
	int argc = 0, timeout, pipefd[2], status = 0, splats, timed_out = 0;
	size_t plen = 0;
	double start, deadline;
	pid_t pid;
	char *tok, *save;

	for (tok = strtok_r(line, " \t\n", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	timeout = atoi(argv[1]);
	snprintf(path, sizeof(path), "/tests/bin/%s", argv[0]);

	out("# selftests: kvm: %s\n", argv[0]);
	drain_kmsg();
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	start = now();
	deadline = start + timeout;
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		chdir("/tests/bin");
		argv[1] = argv[0];
		execv(path, &argv[1]);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int left = (int)((deadline - now()) * 1000);

		if (left <= 0) {
			kill(-pid, SIGKILL);
			timed_out = 1;
			break;
		}
		if (poll(&p, 1, left) > 0) {
			relay(pipefd[0], pending, &plen, sizeof(pending), 0);
			if (p.revents & POLLHUP)
				break;
		}
	}
	/* Children that kept the pipe open are part of the test: kill them. */
	waitpid(pid, &status, 0);
	kill(-pid, SIGKILL);
	relay(pipefd[0], pending, &plen, sizeof(pending), 1);
	close(pipefd[0]);
	splats = drain_kmsg();

	if (timed_out)
		snprintf(why, sizeof(why), " # TIMEOUT %d seconds", timeout);
	else if (splats)
		snprintf(why, sizeof(why), " # kernel splat during test");
	out("# %s: %.1f s\n", argv[0], now() - start);
	if (!timed_out && !splats && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		out("ok %d selftests: kvm: %s\n", nr, argv[0]);
	else if (!timed_out && !splats && WIFEXITED(status) &&
		 WEXITSTATUS(status) == KSFT_SKIP)
		out("ok %d selftests: kvm: %s # SKIP\n", nr, argv[0]);
	else if (!why[0] && WIFSIGNALED(status))
		out("not ok %d selftests: kvm: %s # signal %d\n", nr, argv[0],
		    WTERMSIG(status));
	else if (!why[0])
		out("not ok %d selftests: kvm: %s # exit=%d\n", nr, argv[0],
		    WEXITSTATUS(status));
	else
		out("not ok %d selftests: kvm: %s%s\n", nr, argv[0], why);
}

static int cmdline_has(const char *word)
{
	char buf[4096] = "";
	int fd = open("/proc/cmdline", O_RDONLY), n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (char *p = strstr(buf, word); p; p = strstr(p + 1, word))
		if ((p == buf || isspace((unsigned char)p[-1])) &&
		    (!p[strlen(word)] || isspace((unsigned char)p[strlen(word)])))
			return 1;
	return 0;
}

static void run_tests(void)
{
	char lines[512][256];
	int n = 0;
	FILE *f = fopen("/tests/list", "r");

	if (!f) {
		out("Bail out! no /tests/list\n");
		return;
	}
	while (n < 512 && fgets(lines[n], sizeof(lines[n]), f)) {
		char *p = lines[n];

		while (isspace((unsigned char)*p))
			p++;
		if (*p && *p != '#')
			memmove(lines[n++], p, strlen(p) + 1);
	}
	fclose(f);
	out("TAP version 13\n1..%d\n", n);
	for (int i = 0; i < n; i++)
		run_test(i + 1, lines[i]);
}

int main(void)
{
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* POSIX semaphores (sem_open) and hugetlb-backed test memory. */
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL);
	mkdir("/dev/hugepages", 0755);
	mount("hugetlbfs", "/dev/hugepages", "hugetlbfs", 0, NULL);
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);

	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	load_splat_patterns();
	out("# tvmm-init: kernel log splats so far: %d\n", drain_kmsg());
	load_modules();
	drain_kmsg();

	if (cmdline_has("tvmm.mode=shell")) {
		/* busybox's cttyhack gives the shell a controlling tty. */
		char *sh[] = { "/bin/cttyhack", "/bin/sh", "-l", NULL };

		if (access(sh[0], X_OK)) {
			out("# tvmm-init: no shell in this initramfs\n");
		} else {
			pid_t pid = fork();

			if (pid == 0) {
				setsid();
				execv(sh[0], sh);
				_exit(127);
			}
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	} else {
		run_tests();
	}
	out("# tvmm-init: done\n");
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
