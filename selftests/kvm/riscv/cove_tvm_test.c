// SPDX-License-Identifier: GPL-2.0
/*
 * The CoVE host driver (KVM_RISCV_COVE_VM): TVMs that the TSM creates, and
 * every page KVM gives the TSM coming back.
 *
 * Usage: cove_tvm_test -f tvmm|qemu
 *   tvmm: the firmware has tvmm's reference TSM, so KVM must offer the type
 *         and every case runs;
 *   qemu: QEMU's own OpenSBI, without a TSM: KVM must not offer the type,
 *         and creating such a VM fails with EINVAL.
 *
 * The TSM's page counts come from KVM's debugfs (kvm/cove_tsm), which asks
 * tvmm's TSM; they must be back where they started after each case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

#define COVE_TSM_FILE	"/sys/kernel/debug/kvm/cove_tsm"
#define TSM_MAX_TVMS	16	/* tvmm's reference TSM */
#define TVM_PAGES	5	/* its page directory (4) and state page (1) */

struct tsm_stats {
	uint64_t converting, confidential, assigned, shared_mapped, shared_maps;
	uint64_t tvms, gstage_pool_used;
};

static bool expect_tsm;
static int kvm_fd;

static uint64_t stat_field(const char *text, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(text, key);
	TEST_ASSERT(p, "%s: no '%s'", COVE_TSM_FILE, name);
	return strtoull(p + strlen(key), NULL, 0);
}

static void read_stats(struct tsm_stats *s)
{
	char text[1024] = "\n";
	int fd = open(COVE_TSM_FILE, O_RDONLY);
	ssize_t n;

	TEST_ASSERT(fd >= 0, "open %s: %s", COVE_TSM_FILE, strerror(errno));
	n = read(fd, text + 1, sizeof(text) - 2);
	TEST_ASSERT(n > 0, "read %s: %s", COVE_TSM_FILE, strerror(errno));
	close(fd);
	s->converting = stat_field(text, "converting");
	s->confidential = stat_field(text, "confidential");
	s->assigned = stat_field(text, "assigned");
	s->shared_mapped = stat_field(text, "shared_mapped");
	s->shared_maps = stat_field(text, "shared_maps");
	s->tvms = stat_field(text, "tvms");
	s->gstage_pool_used = stat_field(text, "gstage_pool_used");
}

static void assert_stats_equal(const struct tsm_stats *a, const struct tsm_stats *b)
{
	const char *what = "TSM pages not back: converting, confidential, assigned, TVMs";

	TEST_ASSERT(!memcmp(a, b, sizeof(*a)), "%s: %lu/%lu %lu/%lu %lu/%lu %lu/%lu", what,
		    a->converting, b->converting, a->confidential, b->confidential,
		    a->assigned, b->assigned, a->tvms, b->tvms);
}

static int create_vm(unsigned long type)
{
	return ioctl(kvm_fd, KVM_CREATE_VM, type);
}

/* Without a TSM: not offered, refused as unknown, no debugfs file. */
static void test_no_tsm(void)
{
	uint64_t types = kvm_check_cap(KVM_CAP_VM_TYPES);

	TEST_ASSERT(!(types & BIT(KVM_RISCV_COVE_VM)), "types 0x%lx offer CoVE", types);
	TEST_ASSERT(create_vm(KVM_RISCV_COVE_VM) < 0 && errno == EINVAL,
		    "KVM_CREATE_VM(KVM_RISCV_COVE_VM) without a TSM: %d", errno);
	TEST_ASSERT(access(COVE_TSM_FILE, F_OK) && errno == ENOENT,
		    "%s exists without a TSM", COVE_TSM_FILE);
	ksft_test_result_pass("no TSM: the type is neither offered nor created\n");
}

static void test_vm_types(void)
{
	uint64_t types = kvm_check_cap(KVM_CAP_VM_TYPES);
	unsigned long bad[] = { 3, 63, 64, 1UL << 32, -1UL };
	unsigned int i;

	TEST_ASSERT(types & BIT(KVM_RISCV_COVE_VM), "types 0x%lx lack CoVE", types);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		TEST_ASSERT(create_vm(bad[i]) < 0 && errno == EINVAL,
			    "KVM_CREATE_VM(0x%lx): %d", bad[i], errno);
	ksft_test_result_pass("VM types: CoVE offered, unknown types EINVAL\n");
}

/* A TVM holds its page directory and state pages; closing it returns them. */
static void test_create_destroy(void)
{
	struct tsm_stats base, s;
	int vm, i;

	read_stats(&base);
	for (i = 0; i < 3; i++) {
		vm = create_vm(KVM_RISCV_COVE_VM);
		TEST_ASSERT(vm >= 0, "KVM_CREATE_VM(KVM_RISCV_COVE_VM): %s", strerror(errno));
		read_stats(&s);
		TEST_ASSERT(s.tvms == base.tvms + 1 && s.assigned == base.assigned + TVM_PAGES &&
			    s.converting == base.converting,
			    "one TVM: tvms %lu (from %lu), assigned %lu (from %lu)",
			    s.tvms, base.tvms, s.assigned, base.assigned);
		close(vm);
		read_stats(&s);
		assert_stats_equal(&s, &base);
	}
	ksft_test_result_pass("create and destroy: the TSM's pages come back\n");
}

/* What a TVM has and has not, before vCPUs can run. */
static void test_tvm_properties(void)
{
	struct tsm_stats base, s;
	int vm, normal, vcpu;

	read_stats(&base);
	vm = create_vm(KVM_RISCV_COVE_VM);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	TEST_ASSERT(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) ==
		    KVM_MEMORY_ATTRIBUTE_PRIVATE, "a TVM has private memory");
	TEST_ASSERT(ioctl(vm, KVM_CREATE_VCPU, 0) < 0 && errno == EOPNOTSUPP,
		    "KVM_CREATE_VCPU on a TVM: %d", errno);
	/* A normal VM next to it is unaffected, and takes nothing from the TSM. */
	normal = create_vm(KVM_RISCV_DEFAULT_VM);
	TEST_ASSERT(normal >= 0, "KVM_CREATE_VM(default): %s", strerror(errno));
	read_stats(&s);
	TEST_ASSERT(s.tvms == base.tvms + 1, "a normal VM made a TVM");
	vcpu = ioctl(normal, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "a normal VM's vCPU: %s", strerror(errno));
	close(vcpu);
	close(normal);
	close(vm);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("a TVM: private memory, no vCPUs yet; a normal VM beside it\n");
}

/* The TSM's TVM limit: ENOSPC, and nothing converted stays behind. */
static void test_tvm_limit(void)
{
	int vms[TSM_MAX_TVMS + 1], n = 0, i;
	struct tsm_stats base, s;

	read_stats(&base);
	while (n <= TSM_MAX_TVMS) {
		vms[n] = create_vm(KVM_RISCV_COVE_VM);
		if (vms[n] < 0)
			break;
		n++;
	}
	TEST_ASSERT(n == TSM_MAX_TVMS - base.tvms && errno == ENOSPC,
		    "created %d TVMs (want %lu), then errno %d", n,
		    TSM_MAX_TVMS - base.tvms, errno);
	read_stats(&s);
	TEST_ASSERT(s.tvms == TSM_MAX_TVMS && s.converting == base.converting &&
		    s.assigned == base.assigned + n * TVM_PAGES &&
		    s.confidential == base.confidential,
		    "at the limit: tvms %lu, assigned %lu, confidential %lu",
		    s.tvms, s.assigned, s.confidential);
	for (i = 0; i < n; i++)
		close(vms[i]);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("%d TVMs, then ENOSPC; all pages back\n", n);
}

int main(int argc, char *argv[])
{
	int opt;

	while ((opt = getopt(argc, argv, "f:")) != -1) {
		if (opt == 'f' && !strcmp(optarg, "tvmm"))
			expect_tsm = true;
		else if (opt == 'f' && !strcmp(optarg, "qemu"))
			expect_tsm = false;
		else
			exit(KSFT_FAIL);
	}
	ksft_print_header();
	kvm_fd = open_kvm_dev_path_or_exit();
	if (!expect_tsm) {
		ksft_set_plan(1);
		test_no_tsm();
		ksft_finished();
	}
	ksft_set_plan(4);
	test_vm_types();
	test_create_destroy();
	test_tvm_properties();
	test_tvm_limit();
	ksft_finished();
}
