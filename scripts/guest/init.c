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
 * /tests/list: one test per line, "<name> <timeout-seconds> [args...]", of
 * any length; the binary is /tests/bin/<name>.  Blank lines and lines that
 * start with '#' are skipped.  A line without a timeout, or whose timeout is
 * not a number of seconds, fails as that test with a "malformed" note.
 *
 * Built with -DINIT_PARSE_TEST, this file is a host-side test of the list
 * handling instead (see the end of the file).
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

#define KSFT_SKIP 4
/* At most a day: run_test() computes poll() timeouts in int milliseconds. */
#define MAX_TIMEOUT 86400
#define SEPARATORS " \t\r\n\v\f"

static const char *list_path = "/tests/list";
static const char *bin_dir = "/tests/bin";

static regex_t splat_re[32];
static int nr_splat_re;
static int kmsg_fd = -1;

/*
 * Print to the console in one write() (as far as the console takes it), so
 * that kernel messages do not split a line.  Any length: a line cut short
 * would lose its newline and glue the next line, a KTAP result, to it.
 */
static void out(const char *fmt, ...)
{
	va_list ap;
	char *buf, *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (p = buf; n > 0;) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= w;
	}
	free(buf);
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

/* /modules/order: per line, a module's file name, then its parameters. */
static void load_modules(void)
{
	FILE *f = fopen("/modules/order", "r");
	char line[512], path[768], *name, *params;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n;
		int fd;

		if (!strchr(line, '\n') && !feof(f)) {
			out("Bail out! /modules/order: a line longer than %zu bytes\n",
			    sizeof(line) - 2);
			reboot(RB_POWER_OFF);
		}
		line[strcspn(line, "\n")] = 0;
		name = line + strspn(line, " \t");
		n = strcspn(name, " \t");
		params = name + n;
		if (*params)
			*params++ = 0;
		params += strspn(params, " \t");
		if (!n)
			continue;
		snprintf(path, sizeof(path), "/modules/%s", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, params, 0)) {
			out("# tvmm-init: loading %s failed: %s\n", name, strerror(errno));
			out("Bail out! module %s did not load\n", name);
			reboot(RB_POWER_OFF);
		}
		close(fd);
		out("# tvmm-init: loaded %s%s%s\n", name, *params ? " " : "", params);
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

/* One entry of /tests/list: "<name> <timeout-seconds> [args...]". */
struct test {
	char *name;
	int timeout;
	char **argv;		/* name, then the arguments; NULL-terminated */
	char error[128];	/* why the entry cannot run */
};

/* Split 'line' in place into 't'; returns 0, or -1 with t->error set. */
static int parse_test(char *line, struct test *t)
{
	/* A field is at least one character and a separator: no more than this. */
	size_t max_fields = strlen(line) / 2 + 2;
	char *save, *timeout, *end, *tok;
	int argc = 0;
	long secs;

	memset(t, 0, sizeof(*t));
	t->name = strtok_r(line, SEPARATORS, &save);
	timeout = t->name ? strtok_r(NULL, SEPARATORS, &save) : NULL;
	if (!t->name || !timeout) {
		snprintf(t->error, sizeof(t->error), "no %s",
			 t->name ? "timeout after the test name" : "test name");
		return -1;
	}
	errno = 0;
	secs = strtol(timeout, &end, 10);
	if (errno || *end || secs < 1 || secs > MAX_TIMEOUT) {
		snprintf(t->error, sizeof(t->error),
			 "timeout '%.40s%s' is not a number of seconds from 1 to %d",
			 timeout, strlen(timeout) > 40 ? "..." : "", MAX_TIMEOUT);
		return -1;
	}
	t->timeout = secs;
	t->argv = calloc(max_fields, sizeof(*t->argv));
	if (!t->argv) {
		snprintf(t->error, sizeof(t->error), "out of memory");
		return -1;
	}
	t->argv[argc++] = t->name;
	while ((tok = strtok_r(NULL, SEPARATORS, &save)))
		t->argv[argc++] = tok;
	return 0;
}

/* Run one entry of /tests/list and print its KTAP result line. */
static void run_test(int nr, char *line)
{
	char pending[4096], why[128] = "", *path = NULL;
	int pipefd[2], status = 0, splats, timed_out = 0;
	size_t plen = 0;
	double start, deadline;
	struct test t;
	pid_t pid;

	if (parse_test(line, &t)) {
		char entry[32];
		const char *name = t.name;

		if (!name) {	/* cannot happen: run_tests() skips blank lines */
			snprintf(entry, sizeof(entry), "list-entry-%d", nr);
			name = entry;
		}
		out("# selftests: kvm: %s\n", name);
		out("# tvmm-init: %s entry %d is malformed: %s\n", list_path, nr,
		    t.error);
		out("not ok %d selftests: kvm: %s # malformed %s entry: %s\n", nr,
		    name, list_path, t.error);
		goto done;
	}
	out("# selftests: kvm: %s\n", t.name);
	drain_kmsg();
	if (asprintf(&path, "%s/%s", bin_dir, t.name) < 0) {
		path = NULL;
		out("not ok %d selftests: kvm: %s # out of memory\n", nr, t.name);
		goto done;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		out("not ok %d selftests: kvm: %s # pipe: %s\n", nr, t.name,
		    strerror(errno));
		goto done;
	}
	start = now();
	deadline = start + t.timeout;
	pid = fork();
	if (pid < 0) {
		out("not ok %d selftests: kvm: %s # fork: %s\n", nr, t.name,
		    strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		goto done;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		if (chdir(bin_dir))
			fprintf(stderr, "chdir %s: %s\n", bin_dir, strerror(errno));
		execv(path, t.argv);
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
		snprintf(why, sizeof(why), " # TIMEOUT %d seconds", t.timeout);
	else if (splats)
		snprintf(why, sizeof(why), " # kernel splat during test");
	out("# %s: %.1f s\n", t.name, now() - start);
	if (!timed_out && !splats && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		out("ok %d selftests: kvm: %s\n", nr, t.name);
	else if (!timed_out && !splats && WIFEXITED(status) &&
		 WEXITSTATUS(status) == KSFT_SKIP)
		out("ok %d selftests: kvm: %s # SKIP\n", nr, t.name);
	else if (!why[0] && WIFSIGNALED(status))
		out("not ok %d selftests: kvm: %s # signal %d\n", nr, t.name,
		    WTERMSIG(status));
	else if (!why[0])
		out("not ok %d selftests: kvm: %s # exit=%d\n", nr, t.name,
		    WEXITSTATUS(status));
	else
		out("not ok %d selftests: kvm: %s%s\n", nr, t.name, why);
done:
	free(path);
	free(t.argv);
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

/*
 * The entries of the list: its lines, of any length, but blank ones and
 * comments.  Returns their number, or -1 when memory ran out.
 */
static int read_list(FILE *f, char ***entries)
{
	char *line = NULL, **more;
	size_t size = 0;
	int n = 0, cap = 0;

	*entries = NULL;
	while (getline(&line, &size, f) >= 0) {
		char *p = line + strspn(line, SEPARATORS);

		if (!*p || *p == '#')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			more = realloc(*entries, cap * sizeof(*more));
			if (!more)
				goto oom;
			*entries = more;
		}
		if (!((*entries)[n] = strdup(p)))
			goto oom;
		n++;
	}
	free(line);
	return n;
oom:
	free(line);
	while (n--)
		free((*entries)[n]);
	free(*entries);
	*entries = NULL;
	return -1;
}

static void run_tests(void)
{
	FILE *f = fopen(list_path, "r");
	char **entries;
	int n;

	if (!f) {
		out("Bail out! no %s\n", list_path);
		return;
	}
	n = read_list(f, &entries);
	fclose(f);
	if (n < 0) {
		out("Bail out! out of memory reading %s\n", list_path);
		return;
	}
	out("TAP version 13\n1..%d\n", n);
	for (int i = 0; i < n; i++) {
		run_test(i + 1, entries[i]);
		free(entries[i]);
	}
	free(entries);
}

#ifdef INIT_PARSE_TEST
/* The host test's main is at the end; the guest's stays compiled as init_main. */
#define main init_main
#endif

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

#ifdef INIT_PARSE_TEST
#undef main
/*
 * Host-side test of the list handling: run_tests() on any list and any
 * directory of test programs, with the guest's output format.
 *   gcc -Wall -Wextra -O2 -DINIT_PARSE_TEST -o init-test scripts/guest/init.c
 *   ./init-test LIST BINDIR
 */
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s LIST BINDIR\n", argv[0]);
		return 2;
	}
	list_path = argv[1];
	bin_dir = argv[2];
	run_tests();
	return 0;
}
#endif
