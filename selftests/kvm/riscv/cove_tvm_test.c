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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/sizes.h>

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
	const char *what = "TSM counts not back (now/before)";

	TEST_ASSERT(!memcmp(a, b, sizeof(*a)),
		    "%s: converting %lu/%lu, confidential %lu/%lu, assigned %lu/%lu, shared %lu/%lu, maps %lu/%lu, TVMs %lu/%lu, tables %lu/%lu",
		    what, a->converting, b->converting, a->confidential, b->confidential,
		    a->assigned, b->assigned, a->shared_mapped, b->shared_mapped,
		    a->shared_maps, b->shared_maps, a->tvms, b->tvms,
		    a->gstage_pool_used, b->gstage_pool_used);
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
	struct kvm_create_guest_memfd gmem_args = {};
	struct kvm_userspace_memory_region2 region = {};
	struct tsm_stats base, s;
	int vm, normal, vcpu, gmem;
	void *shared;

	shared = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(shared != MAP_FAILED, "mmap");
	read_stats(&base);
	vm = create_vm(KVM_RISCV_COVE_VM);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	TEST_ASSERT(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) ==
		    KVM_MEMORY_ATTRIBUTE_PRIVATE, "a TVM has private memory");
	TEST_ASSERT(ioctl(vm, KVM_CREATE_VCPU, 0) < 0 && errno == EOPNOTSUPP,
		    "KVM_CREATE_VCPU on a TVM: %d", errno);
	/* guest_memfd: yes; mmap()able guest_memfd: no. */
	TEST_ASSERT(!(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS) &
		      GUEST_MEMFD_FLAG_MMAP), "a TVM offers GUEST_MEMFD_FLAG_MMAP");
	gmem_args.size = SZ_2M;
	gmem_args.flags = GUEST_MEMFD_FLAG_MMAP;
	TEST_ASSERT(ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem_args) < 0 && errno == EINVAL,
		    "an mmap()able guest_memfd for a TVM: %d", errno);
	gmem_args.flags = 0;
	gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem_args);
	TEST_ASSERT(gmem >= 0, "KVM_CREATE_GUEST_MEMFD: %s", strerror(errno));
	region.slot = 0;
	region.flags = KVM_MEM_GUEST_MEMFD;
	region.guest_phys_addr = 0x80000000;
	region.memory_size = SZ_2M;
	region.userspace_addr = (uintptr_t)shared;
	region.guest_memfd = gmem;
	TEST_ASSERT(!ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &region),
		    "a guest_memfd memslot: %s", strerror(errno));
	/* A normal VM next to it is unaffected, and takes nothing from the TSM. */
	normal = create_vm(KVM_RISCV_DEFAULT_VM);
	TEST_ASSERT(normal >= 0, "KVM_CREATE_VM(default): %s", strerror(errno));
	read_stats(&s);
	TEST_ASSERT(s.tvms == base.tvms + 1, "a normal VM made a TVM");
	vcpu = ioctl(normal, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "a normal VM's vCPU: %s", strerror(errno));
	close(vcpu);
	close(normal);
	close(gmem);
	close(vm);
	munmap(shared, SZ_2M);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("a TVM: private memory, guest_memfd without mmap, no vCPUs yet; a normal VM beside it\n");
}

#define RACERS		4
#define RACE_ROUNDS	25

static bool race_done;	/* READ_ONCE/WRITE_ONCE */

/* Creates and closes TVMs; a failure is an errno. */
static void *tvm_churn(void *arg)
{
	long i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		int vm = create_vm(KVM_RISCV_COVE_VM);

		if (vm < 0)
			return (void *)(long)errno;
		close(vm);
	}
	return NULL;
}

static void *stats_reader(void *arg)
{
	struct tsm_stats s;

	while (!READ_ONCE(race_done))
		read_stats(&s);
	return NULL;
}

/*
 * TVMs created and destroyed from several threads at once, while the
 * TSM's counts are read: conversions and their fences serialize, nothing
 * fails, and every page comes back.
 */
static void test_concurrent(void)
{
	pthread_t churn[RACERS], reader;
	struct tsm_stats base, s;
	void *ret;
	int i;

	read_stats(&base);
	WRITE_ONCE(race_done, false);
	pthread_create(&reader, NULL, stats_reader, NULL);
	for (i = 0; i < RACERS; i++)
		pthread_create(&churn[i], NULL, tvm_churn, NULL);
	for (i = 0; i < RACERS; i++) {
		pthread_join(churn[i], &ret);
		TEST_ASSERT(!ret, "a racing KVM_CREATE_VM failed: %ld", (long)ret);
	}
	WRITE_ONCE(race_done, true);
	pthread_join(reader, NULL);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("%d threads x %d TVMs with stats reads: all pages back\n",
			      RACERS, RACE_ROUNDS);
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
	ksft_set_plan(5);
	test_vm_types();
	test_create_destroy();
	test_tvm_properties();
	test_concurrent();
	test_tvm_limit();
	ksft_finished();
}
