// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the CoVE TSM conformance test (cove_tsm_test.ko, beside this
 * program) in the riscv64 test guest: loads the module, whose init runs
 * every case, and prints its KTAP lines from the kernel log.  Exit status
 * 0 if every case passed, else 1.
 *   cove_tsm_run tvmm|qemu [MODULE-PARAMS]
 * "tvmm": the guest runs on tvmm's firmware and every case must pass;
 * "qemu": on QEMU's own OpenSBI, where SUPD and COVH must be absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PREFIX "cove_tsm_test: "

int main(int argc, char **argv)
{
	static char log[1 << 20];
	char path[4096], params[1024], *line, *save;
	int fd, ret, err, n;

	snprintf(path, sizeof(path), "%s", argv[0]);
	*(strrchr(path, '/') ? strrchr(path, '/') + 1 : path) = 0;
	strncat(path, "cove_tsm_test.ko", sizeof(path) - strlen(path) - 1);
	if (argc < 2 || (strcmp(argv[1], "tvmm") && strcmp(argv[1], "qemu"))) {
		printf("# usage: cove_tsm_run tvmm|qemu [MODULE-PARAMS]\n");
		return 1;
	}
	snprintf(params, sizeof(params), "expect_tsm=%d %s", !strcmp(argv[1], "tvmm"),
		 argc > 2 ? argv[2] : "");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("# cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	klogctl(5 /* SYSLOG_ACTION_CLEAR */, NULL, 0);
	ret = syscall(SYS_finit_module, fd, params, 0);
	err = errno;
	close(fd);
	n = klogctl(3, log, sizeof(log) - 1);
	if (n < 0)
		n = 0;
	log[n] = 0;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, PREFIX);

		if (p)
			printf("%s\n", p + strlen(PREFIX));
	}
	if (ret == 0) {
		syscall(SYS_delete_module, "cove_tsm_test", O_NONBLOCK);
		return 0;
	}
	printf("# loading the test module failed: %s\n", strerror(err));
	return 1;
}
