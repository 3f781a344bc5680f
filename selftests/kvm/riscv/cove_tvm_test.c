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
 * tvmm's TSM; they must be back where they started after each case.  The
 * measurement of added pages is checked against SHA-384 computed here, from
 * the layout the TSM documents (tsm/README.md, "Measurement").
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "sbi.h"
#include "sparsebit.h"
#include "test_util.h"

#define COVE_TSM_FILE	"/sys/kernel/debug/kvm/cove_tsm"
#define TSM_MAX_TVMS	16	/* tvmm's reference TSM */
#define TVM_PAGES	5	/* its page directory (4) and state page (1) */
#ifndef PAGE_SIZE
#define PAGE_SIZE	4096UL	/* riscv's processor.h has none */
#endif

struct tsm_stats {
	uint64_t converting, confidential, assigned, shared_mapped, shared_maps;
	uint64_t tvms, gstage_pool_used;
};

static bool expect_tsm;
static int kvm_fd;

/* ------------------------------------------- SHA-384, for the expected digest */

static const uint64_t sha512_k[80] = {
	0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
	0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
	0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
	0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
	0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
	0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
	0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
	0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
	0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
	0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
	0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
	0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
	0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
	0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
	0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
	0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
	0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
	0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
	0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
	0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static uint64_t ror64(uint64_t x, int n)
{
	return (x >> n) | (x << (64 - n));
}

static void sha512_block(uint64_t h[8], const uint8_t *p)
{
	uint64_t w[80], v[8], t1, t2;
	int i, j;

	for (i = 0; i < 16; i++)
		for (w[i] = 0, j = 0; j < 8; j++)
			w[i] = w[i] << 8 | p[i * 8 + j];
	for (i = 16; i < 80; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (ror64(w[i - 15], 1) ^ ror64(w[i - 15], 8) ^ (w[i - 15] >> 7)) +
		       (ror64(w[i - 2], 19) ^ ror64(w[i - 2], 61) ^ (w[i - 2] >> 6));
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 80; i++) {
		t1 = v[7] + (ror64(v[4], 14) ^ ror64(v[4], 18) ^ ror64(v[4], 41)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha512_k[i] + w[i];
		t2 = (ror64(v[0], 28) ^ ror64(v[0], 34) ^ ror64(v[0], 39)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
}

/* SHA-384 of @len bytes at @data (a whole message, at most 8 KiB). */
static void sha384(const uint8_t *data, size_t len, uint8_t out[48])
{
	uint64_t h[8] = {
		0xcbbb9d5dc1059ed8ULL, 0x629a292a367cd507ULL, 0x9159015a3070dd17ULL,
		0x152fecd8f70e5939ULL, 0x67332667ffc00b31ULL, 0x8eb44a8768581511ULL,
		0xdb0c2e0d64f98fa7ULL, 0x47b5481dbefa4fa4ULL,
	};
	uint8_t tail[256] = {};
	size_t full = len & ~127UL, rest = len - full, n, i;

	for (i = 0; i < full; i += 128)
		sha512_block(h, data + i);
	memcpy(tail, data + full, rest);
	tail[rest] = 0x80;
	n = rest + 1 + 16 <= 128 ? 128 : 256;
	for (i = 0; i < 8; i++)
		tail[n - 1 - i] = (uint8_t)((len * 8) >> (8 * i));
	for (i = 0; i < n; i += 128)
		sha512_block(h, tail + i);
	for (i = 0; i < 48; i++)
		out[i] = h[i / 8] >> (56 - 8 * (i % 8));
}

/* The TSM's register 0 after it measured @page at @gpa. */
static void extend_page(uint8_t reg[48], uint64_t gpa, const uint8_t *page)
{
	static uint8_t msg[48 + 8 + 4096];
	int i;

	memcpy(msg, reg, 48);
	for (i = 0; i < 8; i++)
		msg[48 + i] = gpa >> (8 * i);
	memcpy(msg + 56, page, 4096);
	sha384(msg, sizeof(msg), reg);
}

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
	if (memcmp(a, b, sizeof(*a))) {
		ksft_print_msg("TSM counts, now/before:\n");
		ksft_print_msg("converting %lu/%lu, confidential %lu/%lu\n",
			       a->converting, b->converting, a->confidential, b->confidential);
		ksft_print_msg("assigned %lu/%lu, shared %lu/%lu, maps %lu/%lu\n",
			       a->assigned, b->assigned, a->shared_mapped, b->shared_mapped,
			       a->shared_maps, b->shared_maps);
		ksft_print_msg("TVMs %lu/%lu, tables %lu/%lu\n", a->tvms, b->tvms,
			       a->gstage_pool_used, b->gstage_pool_used);
	}
	TEST_ASSERT(!memcmp(a, b, sizeof(*a)), "TSM counts not back (above)");
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
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "KVM_CREATE_VCPU on a TVM: %s", strerror(errno));
	close(vcpu);
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
	ksft_test_result_pass("a TVM: private memory, no gmem mmap, vCPUs; a normal VM too\n");
}

/* ---------------------------------------------------------- measured pages */

#define TVM_GPA		0x80000000UL
#define TVM_SLOT_SIZE	SZ_2M
#define TVM_PAGES_ADDED	4

struct tvm {
	int vm, gmem;
	void *shared;
};

/* A TVM with a guest_memfd memslot of @size at TVM_GPA, nothing private yet. */
static void tvm_with_slot(struct tvm *t, uint64_t size)
{
	struct kvm_create_guest_memfd gmem_args = { .size = size };
	struct kvm_userspace_memory_region2 region = {
		.flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = TVM_GPA,
		.memory_size = size,
	};

	t->vm = create_vm(KVM_RISCV_COVE_VM);
	TEST_ASSERT(t->vm >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	t->gmem = ioctl(t->vm, KVM_CREATE_GUEST_MEMFD, &gmem_args);
	TEST_ASSERT(t->gmem >= 0, "KVM_CREATE_GUEST_MEMFD: %s", strerror(errno));
	t->shared = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(t->shared != MAP_FAILED, "mmap");
	region.userspace_addr = (uintptr_t)t->shared;
	region.guest_memfd = t->gmem;
	TEST_ASSERT(!ioctl(t->vm, KVM_SET_USER_MEMORY_REGION2, &region),
		    "KVM_SET_USER_MEMORY_REGION2: %s", strerror(errno));
}

/* A TVM with a guest_memfd memslot at TVM_GPA, its first 16 pages private. */
static void tvm_with_memory(struct tvm *t)
{
	struct kvm_memory_attributes attrs = {
		.address = TVM_GPA,
		.size = 16 * PAGE_SIZE,
		.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};

	tvm_with_slot(t, TVM_SLOT_SIZE);
	TEST_ASSERT(!ioctl(t->vm, KVM_SET_MEMORY_ATTRIBUTES, &attrs),
		    "KVM_SET_MEMORY_ATTRIBUTES: %s", strerror(errno));
}

static void tvm_close_size(struct tvm *t, size_t size)
{
	close(t->gmem);
	close(t->vm);
	munmap(t->shared, size);
}

static void tvm_close(struct tvm *t)
{
	tvm_close_size(t, TVM_SLOT_SIZE);
}

static int add_pages(int vm, struct kvm_tvm_measured_pages *args)
{
	return ioctl(vm, KVM_TVM_ADD_MEASURED_PAGES, args) ? errno : 0;
}

static void get_measurement(int vm, struct kvm_tvm_measurement *m)
{
	memset(m, 0xa5, sizeof(*m));
	TEST_ASSERT(!ioctl(vm, KVM_TVM_GET_MEASUREMENT, m),
		    "KVM_TVM_GET_MEASUREMENT: %s", strerror(errno));
	TEST_ASSERT(m->digest_size == 48 && !(m->flags & ~KVM_TVM_MEASUREMENT_FINALIZED) &&
		    !(m->reserved[0] | m->reserved[1] | m->reserved[2] | m->reserved[3]),
		    "measurement: size %u, flags 0x%x", m->digest_size, m->flags);
}

/*
 * Pages added to a TVM: the TSM's measurement, which KVM reports, is the
 * SHA-384 chain the TSM documents; the pages are the TSM's and stay private;
 * destroying the TVM gives back every page, page-table pages included.
 */
static void test_measured_pages(void)
{
	static const uint8_t abc_384[48] = {
		0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b, 0xb5, 0xa0, 0x3d, 0x69,
		0x9a, 0xc6, 0x50, 0x07, 0x27, 0x2c, 0x32, 0xab, 0x0e, 0xde, 0xd1, 0x63,
		0x1a, 0x8b, 0x60, 0x5a, 0x43, 0xff, 0x5b, 0xed, 0x80, 0x86, 0x07, 0x2b,
		0xa1, 0xe7, 0xcc, 0x23, 0x58, 0xba, 0xec, 0xa1, 0x34, 0xc8, 0x25, 0xa7,
	};
	struct kvm_memory_attributes to_shared = {
		.address = TVM_GPA + PAGE_SIZE, .size = PAGE_SIZE,
	};
	struct kvm_tvm_measured_pages args = {};
	struct kvm_tvm_measurement m;
	struct tsm_stats base, s;
	uint8_t want[48] = {}, got[48];
	uint8_t *src;
	struct tvm t;
	int i;

	sha384((const uint8_t *)"abc", 3, got);
	TEST_ASSERT(!memcmp(got, abc_384, 48), "the test's own SHA-384 is wrong");

	read_stats(&base);
	src = mmap(NULL, TVM_PAGES_ADDED * PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(src != MAP_FAILED, "mmap");
	for (i = 0; i < TVM_PAGES_ADDED * PAGE_SIZE; i++)
		src[i] = (uint8_t)(i * 7 + i / PAGE_SIZE);

	tvm_with_memory(&t);
	get_measurement(t.vm, &m);
	TEST_ASSERT(!m.nr_pages && !memcmp(m.digest, want, 48), "a fresh TVM's measurement");

	args.gpa = TVM_GPA;
	args.size = TVM_PAGES_ADDED * PAGE_SIZE;
	args.uaddr = (uintptr_t)src;
	TEST_ASSERT(!add_pages(t.vm, &args), "KVM_TVM_ADD_MEASURED_PAGES: %s", strerror(errno));
	TEST_ASSERT(!args.size && args.gpa == TVM_GPA + TVM_PAGES_ADDED * PAGE_SIZE,
		    "the struct says what was not added: nothing");
	for (i = 0; i < TVM_PAGES_ADDED; i++)
		extend_page(want, TVM_GPA + i * PAGE_SIZE, src + i * PAGE_SIZE);
	get_measurement(t.vm, &m);
	TEST_ASSERT(m.nr_pages == TVM_PAGES_ADDED, "nr_pages %llu", m.nr_pages);
	TEST_ASSERT(!memcmp(m.digest, want, 48), "the TSM's digest is not the documented chain");

	read_stats(&s);
	TEST_ASSERT(s.assigned >= base.assigned + TVM_PAGES + TVM_PAGES_ADDED + 1 &&
		    s.converting == base.converting,
		    "assigned %lu from %lu: the TVM's pages and tables", s.assigned, base.assigned);

	/* Theirs: not again, not shared, not punched, not mapped. */
	args.gpa = TVM_GPA;
	args.size = PAGE_SIZE;
	args.uaddr = (uintptr_t)src;
	TEST_ASSERT(add_pages(t.vm, &args) == EEXIST, "a page added twice");
	TEST_ASSERT(ioctl(t.vm, KVM_SET_MEMORY_ATTRIBUTES, &to_shared) && errno == EPERM,
		    "a TVM's page made shared: %d", errno);
	TEST_ASSERT(fallocate(t.gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			      PAGE_SIZE) && errno == EPERM,
		    "a TVM's page punched out: %d", errno);
	/* An unmeasured private page next to them can become shared. */
	to_shared.address = TVM_GPA + 8 * PAGE_SIZE;
	TEST_ASSERT(!ioctl(t.vm, KVM_SET_MEMORY_ATTRIBUTES, &to_shared),
		    "an unmeasured page made shared: %s", strerror(errno));

	/* The memslot goes first and takes the pages back, then the file. */
	TEST_ASSERT(!ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2,
			   &(struct kvm_userspace_memory_region2){
				.flags = KVM_MEM_GUEST_MEMFD,
				.guest_phys_addr = TVM_GPA,
				.guest_memfd = t.gmem }),
		    "deleting the memslot: %s", strerror(errno));
	tvm_close(&t);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	munmap(src, TVM_PAGES_ADDED * PAGE_SIZE);
	ksft_test_result_pass("measured pages: the TSM's digest, kept private, all back\n");
}

/* Every refusal of KVM_TVM_ADD_MEASURED_PAGES, none of which changes a thing. */
static void test_measured_bad_input(void)
{
	struct kvm_tvm_measured_pages args, ok = {
		.gpa = TVM_GPA, .size = PAGE_SIZE,
	};
	struct kvm_tvm_measurement m;
	struct tsm_stats base, s;
	uint8_t *src;
	struct tvm t;
	int normal;

	src = mmap(NULL, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(src != MAP_FAILED, "mmap");
	memset(src, 0x5a, 3 * PAGE_SIZE);
	ok.uaddr = (uintptr_t)src;
	read_stats(&base);
	tvm_with_memory(&t);

#define BAD(field, value, err) do {						\
	args = ok;								\
	args.field = value;							\
	TEST_ASSERT(add_pages(t.vm, &args) == (err),				\
		    #field " = " #value ": errno %d, want %d", errno, err);	\
} while (0)
	BAD(flags, 1, EINVAL);
	BAD(reserved[3], 1, EINVAL);
	BAD(size, 0, EINVAL);
	BAD(size, 100, EINVAL);
	BAD(gpa, TVM_GPA + 8, EINVAL);
	BAD(uaddr, (uintptr_t)src + 8, EINVAL);
	BAD(gpa, -4096UL, EINVAL);				/* wraps */
	BAD(uaddr, -4096UL, EINVAL);				/* wraps */
	BAD(gpa, 1UL << 60, EINVAL);				/* beyond the G-stage */
	BAD(gpa, TVM_GPA + 16 * PAGE_SIZE, EINVAL);		/* shared */
	BAD(gpa, TVM_GPA + TVM_SLOT_SIZE, EINVAL);		/* no memslot */
	BAD(uaddr, 4096, EFAULT);
#undef BAD
	get_measurement(t.vm, &m);
	TEST_ASSERT(!m.nr_pages, "a refused add measured %llu pages", m.nr_pages);

	/* Three pages, the third one shared: two added, the struct says so. */
	args = ok;
	args.gpa = TVM_GPA + 14 * PAGE_SIZE;
	args.size = 3 * PAGE_SIZE;
	TEST_ASSERT(add_pages(t.vm, &args) == EINVAL, "a range running into shared memory");
	TEST_ASSERT(args.gpa == TVM_GPA + 16 * PAGE_SIZE && args.size == PAGE_SIZE &&
		    args.uaddr == (uintptr_t)src + 2 * PAGE_SIZE,
		    "progress: gpa 0x%llx size 0x%llx", args.gpa, args.size);
	get_measurement(t.vm, &m);
	TEST_ASSERT(m.nr_pages == 2, "%llu pages measured, want 2", m.nr_pages);

	/* Not yet: finalize, and the capability that would promise it. */
	TEST_ASSERT(ioctl(t.vm, KVM_TVM_FINALIZE, 0) && errno == EINVAL,
		    "KVM_TVM_FINALIZE without vCPU 0: %d", errno);
	tvm_close(&t);

	/* Other VMs have none of it. */
	normal = create_vm(KVM_RISCV_DEFAULT_VM);
	TEST_ASSERT(normal >= 0, "KVM_CREATE_VM(default)");
	args = ok;
	TEST_ASSERT(add_pages(normal, &args) == EINVAL, "a normal VM took measured pages");
	TEST_ASSERT(ioctl(normal, KVM_TVM_GET_MEASUREMENT, &m) && errno == EINVAL,
		    "a normal VM has a measurement");
	close(normal);

	read_stats(&s);
	assert_stats_equal(&s, &base);
	munmap(src, 3 * PAGE_SIZE);
	ksft_test_result_pass("measured pages: every bad input refused, progress reported\n");
}

#define MAX_PT_PARAM	"/sys/module/kvm/parameters/cove_max_pt_pages"
#define WIDE_SIZE	(1UL << 30)
#define STRIDE		SZ_2M

static unsigned int read_max_pt(void)
{
	FILE *f = fopen(MAX_PT_PARAM, "r");
	unsigned int v = 0;

	TEST_ASSERT(f && fscanf(f, "%u", &v) == 1, "read %s", MAX_PT_PARAM);
	fclose(f);
	return v;
}

static void write_max_pt(unsigned int v)
{
	FILE *f = fopen(MAX_PT_PARAM, "w");

	TEST_ASSERT(f && fprintf(f, "%u\n", v) > 0 && !fclose(f), "write %s", MAX_PT_PARAM);
}

/* Adds the page at @gpa (made private first); returns 0 or the errno. */
static int add_private_page(struct tvm *t, uint64_t gpa, const void *src)
{
	struct kvm_memory_attributes attrs = {
		.address = gpa, .size = PAGE_SIZE,
		.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	struct kvm_tvm_measured_pages args = {
		.gpa = gpa, .size = PAGE_SIZE, .uaddr = (uintptr_t)src,
	};

	TEST_ASSERT(!ioctl(t->vm, KVM_SET_MEMORY_ATTRIBUTES, &attrs),
		    "KVM_SET_MEMORY_ATTRIBUTES: %s", strerror(errno));
	return add_pages(t->vm, &args);
}

/*
 * Pages 2 MiB apart each need a G-stage table: KVM gives the TSM chunk
 * after chunk, up to its share, then ENOSPC; all of it comes back.
 */
static void test_page_table_pages(void)
{
	unsigned int saved = read_max_pt(), n;
	struct tsm_stats base, s;
	static uint8_t src[4096] __aligned(4096);
	struct tvm t;
	int err = 0;

	read_stats(&base);
	tvm_with_slot(&t, WIDE_SIZE);
	for (n = 0; n < 12; n++)
		TEST_ASSERT(!add_private_page(&t, TVM_GPA + n * STRIDE, src),
			    "page %u: %s", n, strerror(errno));
	read_stats(&s);
	TEST_ASSERT(s.gstage_pool_used >= base.gstage_pool_used + 12 &&
		    s.assigned >= base.assigned + TVM_PAGES + 12 + 12,
		    "12 pages 2 MiB apart: %lu tables in use, %lu assigned",
		    s.gstage_pool_used - base.gstage_pool_used, s.assigned - base.assigned);
	tvm_close_size(&t, WIDE_SIZE);
	read_stats(&s);
	assert_stats_equal(&s, &base);

	/* A share of 8 pages: two chunks, then ENOSPC. */
	write_max_pt(8);
	tvm_with_slot(&t, WIDE_SIZE);
	for (n = 0; n < 64 && !err; n++)
		err = add_private_page(&t, TVM_GPA + n * STRIDE, src);
	write_max_pt(saved);
	TEST_ASSERT(err == ENOSPC && n > 2 && n <= 9,
		    "with 8 table pages: page %u gave errno %d", n - 1, err);
	read_stats(&s);
	TEST_ASSERT(s.assigned - base.assigned <= TVM_PAGES + 8 + n,
		    "the TVM holds %lu pages", s.assigned - base.assigned);
	tvm_close_size(&t, WIDE_SIZE);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("page-table pages: given as needed, capped, all back\n");
}

/*
 * Deleting a memslot takes the TVM's pages there back: the TSM's counts go
 * down and the offset binds again; but a launch that lost a measured page
 * takes no more pages and cannot be finalized.  A memslot that straddles an
 * earlier one's region is refused.
 */
static void test_regions_and_rebinding(void)
{
	struct kvm_create_guest_memfd gmem_args = { .size = TVM_SLOT_SIZE };
	struct kvm_userspace_memory_region2 region = {
		.flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = TVM_GPA,
		.memory_size = TVM_SLOT_SIZE,
	};
	static uint8_t src[4096] __aligned(4096);
	struct tsm_stats base, before, s;
	unsigned int max_pt;
	struct tvm t, t2;
	int gmem3, vcpu;

	read_stats(&base);
	tvm_with_memory(&t);
	TEST_ASSERT(!add_private_page(&t, TVM_GPA, src), "first page: %s", strerror(errno));
	read_stats(&before);
	region.userspace_addr = (uintptr_t)t.shared;
	region.guest_memfd = t.gmem;
	region.memory_size = 0;
	TEST_ASSERT(!ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2, &region), "delete the memslot");
	read_stats(&s);
	TEST_ASSERT(s.assigned == before.assigned - 1,
		    "deleting the memslot: the TVM holds %lu pages, held %lu",
		    s.assigned, before.assigned);

	/* The offset binds again; the launch lost a page: no adds, no finalize. */
	region.memory_size = TVM_SLOT_SIZE;
	TEST_ASSERT(!ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2, &region),
		    "binding the offset again: %s", strerror(errno));
	TEST_ASSERT(add_private_page(&t, TVM_GPA, src) == EPERM,
		    "adding to a launch that lost a page: %d", errno);
	vcpu = ioctl(t.vm, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	TEST_ASSERT(ioctl(t.vm, KVM_TVM_FINALIZE, 0) && errno == EPERM,
		    "finalizing a launch that lost a page: %d", errno);
	close(vcpu);
	tvm_close(&t);

	/*
	 * A region from an add that failed (no page-table pages allowed),
	 * which left no page: its memslot goes without a loss, and a memslot
	 * half over the region is refused.
	 */
	tvm_with_memory(&t2);
	max_pt = read_max_pt();
	write_max_pt(0);
	TEST_ASSERT(add_private_page(&t2, TVM_GPA, src) == ENOSPC,
		    "an add without page-table pages: %d", errno);
	write_max_pt(max_pt);
	region.guest_memfd = t2.gmem;
	region.userspace_addr = (uintptr_t)t2.shared;
	region.memory_size = 0;
	TEST_ASSERT(!ioctl(t2.vm, KVM_SET_USER_MEMORY_REGION2, &region), "delete it");
	gmem3 = ioctl(t2.vm, KVM_CREATE_GUEST_MEMFD, &gmem_args);
	TEST_ASSERT(gmem3 >= 0, "KVM_CREATE_GUEST_MEMFD");
	region.guest_phys_addr = TVM_GPA + TVM_SLOT_SIZE / 2;
	region.memory_size = TVM_SLOT_SIZE;
	region.guest_memfd = gmem3;
	TEST_ASSERT(!ioctl(t2.vm, KVM_SET_USER_MEMORY_REGION2, &region),
		    "a straddling memslot: %s", strerror(errno));
	TEST_ASSERT(add_private_page(&t2, TVM_GPA + TVM_SLOT_SIZE, src) == EINVAL,
		    "a page of a memslot straddling a region: %d", errno);

	close(gmem3);
	tvm_close(&t2);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("regions: %s; straddling memslots refused\n",
			      "memslot deletion takes pages back, a lost launch ends");
}

#define RACE_PAGES	64

struct add_race {
	struct tvm *t;
	uint8_t *src;
	int added, refused;
};

/* Adds every page of the memslot, one at a time, whatever happens. */
static void *race_adder(void *arg)
{
	struct add_race *a = arg;
	int i;

	for (i = 0; i < RACE_PAGES; i++) {
		struct kvm_tvm_measured_pages args = {
			.gpa = TVM_GPA + i * PAGE_SIZE, .size = PAGE_SIZE,
			.uaddr = (uintptr_t)a->src,
		};

		if (add_pages(a->t->vm, &args))
			a->refused++;
		else
			a->added++;
	}
	return NULL;
}

/*
 * One thread adds pages while another deletes and recreates the memslot,
 * converts pages back and forth and punches holes: every add either
 * succeeds or fails cleanly, what was added stays private, and every page
 * comes back at destruction (no splat: the harness fails on one).
 */
static void test_add_races(void)
{
	struct kvm_userspace_memory_region2 region = {
		.flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = TVM_GPA,
		.memory_size = TVM_SLOT_SIZE,
	};
	struct kvm_create_guest_memfd gmem_args = { .size = TVM_SLOT_SIZE };
	struct kvm_memory_attributes attrs = { .size = PAGE_SIZE };
	unsigned int nr_files = 0;
	struct kvm_tvm_measurement m;
	int files[20];
	struct tsm_stats base, s;
	struct add_race a = {};
	pthread_t adder;
	struct tvm t;
	int i;

	a.src = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(a.src != MAP_FAILED, "mmap");
	read_stats(&base);
	tvm_with_memory(&t);
	attrs.address = TVM_GPA;
	attrs.size = RACE_PAGES * PAGE_SIZE;
	attrs.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	TEST_ASSERT(!ioctl(t.vm, KVM_SET_MEMORY_ATTRIBUTES, &attrs), "private");
	region.userspace_addr = (uintptr_t)t.shared;
	region.guest_memfd = t.gmem;
	a.t = &t;
	pthread_create(&adder, NULL, race_adder, &a);
	for (i = 0; i < 200; i++) {
		/* Each may fail (a page the TVM holds): only crashes count. */
		attrs.address = TVM_GPA + (i % RACE_PAGES) * PAGE_SIZE;
		attrs.size = PAGE_SIZE;
		attrs.attributes = 0;
		ioctl(t.vm, KVM_SET_MEMORY_ATTRIBUTES, &attrs);
		attrs.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
		ioctl(t.vm, KVM_SET_MEMORY_ATTRIBUTES, &attrs);
		fallocate(t.gmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  ((i * 7) % RACE_PAGES) * PAGE_SIZE, PAGE_SIZE);
		if (i % 10 == 5) {
			region.memory_size = 0;
			ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2, &region);
			region.memory_size = TVM_SLOT_SIZE;
			/* Refused (EPERM) once an offset is sealed: a new file. */
			if (ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2, &region) &&
			    nr_files < ARRAY_SIZE(files)) {
				files[nr_files] = ioctl(t.vm, KVM_CREATE_GUEST_MEMFD, &gmem_args);
				region.guest_memfd = files[nr_files++];
				ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2, &region);
			}
		}
	}
	pthread_join(adder, NULL);
	get_measurement(t.vm, &m);
	TEST_ASSERT(a.added + a.refused == RACE_PAGES && m.nr_pages == (uint64_t)a.added,
		    "%d added, %d refused, %llu measured", a.added, a.refused, m.nr_pages);
	/* Deleted memslots took theirs back; a released file takes its own. */
	while (nr_files)
		close(files[--nr_files]);
	tvm_close(&t);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	munmap(a.src, PAGE_SIZE);
	ksft_test_result_pass("adds racing memslot, attribute and hole changes: %d of %d added, all back\n",
			      a.added, RACE_PAGES);
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

/* ------------------------------------------------------------ running TVMs */

/*
 * A TVM guest is the selftest library's: its code, data, stacks and page
 * tables in a guest_memfd memslot (slot 0, at TVM_GPA), every page the
 * library wrote added measured.  The TSM starts vCPU 0 at its entry point
 * with translation off, a0 its ID and a1 the argument, nothing else; the
 * entry stub below, mapped at its own GPA too, loads what the library set
 * up (satp, gp, sp, sscratch, stvec, pc) from a boot block the argument
 * points at, turns paging on and jumps to the guest code.  vCPU 1 is
 * started the same way by vCPU 0 with SBI HSM.
 *
 * Private memory is out of the host's reach, so the guest reports through
 * SBI calls with the values in registers (REPORT_FID of the selftests'
 * SBI extension), not ucall.
 */
#define RUN_SLOT0_PAGES	2048		/* 8 MiB at TVM_GPA, slot 0 */
#define ZERO_GPA	0xc0000000UL	/* slot 1: private, never added */
#define ZERO_PAGES	16
#define MMIO_GPA	0x10000000UL	/* no memslot; the TVM's MMIO region */
#define SHARE_GPA	(ZERO_GPA + 2 * PAGE_SIZE)	/* shared, then private again */
#define SHARE2_GPA	(ZERO_GPA + 3 * PAGE_SIZE)	/* shared at the end */
#define RACE_GPA	(ZERO_GPA + 4 * PAGE_SIZE)	/* test_shared_race() */
#define RACE_SHARED	8
#define RACE_TICKS	20000000UL	/* 2 s of guest time (10 MHz) */
#define REPORT_FID	2
#define SIP_SSIP	BIT(1)
#define SIP_STIP	BIT(5)
#define SIP_SEIP	BIT(9)

#define SBI_EXT_TIME_EID	0x54494D45
#define SBI_EXT_IPI_EID		0x735049
#define SBI_EXT_HSM_EID		0x48534D
#define SBI_EXT_COVG_EID	0x434F5647
#define COVG_ADD_MMIO_REGION	0
#define COVG_SHARE_MEMORY	2
#define COVG_UNSHARE_MEMORY	3
#define COVG_ALLOW_EXT_IRQ	4
#define COVG_READ_MEASUREMENT	10

enum report {
	R_SUM = 1, R_MSMT0, R_MSMT1, R_MMIO, R_ZERO, R_STOLEN, R_PUNCHED, R_SHARE, R_REMAPPED,
	R_UNSHARE,
	R_TICK, R_TIMER, R_EXT_RAISE, R_EXT, R_HSM, R_IPI, R_DONE, R_V1_DONE, R_RACED,
};

struct tvm_boot {
	uint64_t satp, gp, sp, sscratch, stvec, pc;
};

/* Guest memory, measured. */
static struct tvm_boot tvm_boot[2];
static uint64_t entry_gpa, boot1_gpa, msmt_gpa, nr_guest_vcpus, race_mode;
static uint64_t guest_data[64];
static uint64_t vcpu1_flag;
static uint8_t msmt_page[4096] __aligned(4096);

/* The entry stub: a0 = vCPU ID, a1 = its struct tvm_boot (a GPA). */
extern char tvm_entry[], tvm_entry_end[];
asm(".pushsection .text\n"
	".balign 64\n"
	".global tvm_entry\n"
	"tvm_entry:\n"
	"	ld t0, 0(a1)\n"
	"	ld gp, 8(a1)\n"
	"	ld sp, 16(a1)\n"
	"	ld t1, 24(a1)\n"
	"	csrw sscratch, t1\n"
	"	ld t1, 32(a1)\n"
	"	csrw stvec, t1\n"
	"	ld t1, 40(a1)\n"
	"	csrw satp, t0\n"
	"	sfence.vma\n"
	"	jr t1\n"
	".global tvm_entry_end\n"
	"tvm_entry_end:\n"
	".popsection\n");

/* An interrupt: no more of them (sie = 0), back to where it came. */
extern char tvm_irq_trap[];
asm(".pushsection .text\n"
	".balign 4\n"
	"tvm_irq_trap:\n"
	"	csrw sie, zero\n"
	"	sret\n"
	".popsection\n");

static void report(unsigned long what, unsigned long a, unsigned long b,
		   unsigned long c, unsigned long d)
{
	sbi_ecall(KVM_RISCV_SELFTESTS_SBI_EXT, REPORT_FID, what, a, b, c, d, 0);
}

static void report_digest(unsigned long what, long err)
{
	uint64_t *w = (uint64_t *)msmt_page;

	report(what, err, w[0], w[1], w[2]);
	report(what, w[3], w[4], w[5], 0);
}

/* Polls sip for @bit for up to ~10 s of guest time. */
static bool guest_wait_sip(unsigned long bit)
{
	uint64_t start = csr_read(CSR_TIME);

	while (!(csr_read(CSR_SIP) & bit)) {
		if (csr_read(CSR_TIME) - start > 100000000UL)
			return false;
	}
	return true;
}

/*
 * Takes interrupts for up to @ticks of guest time; true if one came
 * (tvm_irq_trap clears sie).  QEMU 7.2 shows a TVM only SSIP when it
 * reads sip, so the timer is seen by taking its interrupt.
 */
static bool guest_irq_taken(uint64_t ticks)
{
	uint64_t start = csr_read(CSR_TIME);

	csr_set(CSR_SSTATUS, SR_SIE);
	while (csr_read(CSR_SIE) && csr_read(CSR_TIME) - start < ticks)
		;
	csr_clear(CSR_SSTATUS, SR_SIE);
	return !csr_read(CSR_SIE);
}

static void guest_vcpu1(void)
{
	struct sbiret r;

	WRITE_ONCE(vcpu1_flag, 0x1111);
	r = sbi_ecall(SBI_EXT_IPI_EID, 0, 1, 0, 0, 0, 0, 0);	/* vCPU 0 */
	report(R_V1_DONE, r.error, csr_read(CSR_SSCRATCH), 0, 0);
	sbi_ecall(SBI_EXT_HSM_EID, 1, 0, 0, 0, 0, 0, 0);	/* hart_stop */
	for (;;)
		;
}

/*
 * Writes and reads its shared pages while the VMM keeps dropping them:
 * each round sees either its own write or a new page, never another
 * round's value.
 */
static void guest_shared_race(void)
{
	uint64_t round, i, stale = 0, v, start;
	struct sbiret r;

	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_SHARE_MEMORY, RACE_GPA, RACE_SHARED * PAGE_SIZE,
		      0, 0, 0, 0);
	start = csr_read(CSR_TIME);
	for (round = 1; csr_read(CSR_TIME) - start < RACE_TICKS; round++) {
		for (i = 0; i < RACE_SHARED; i++) {
			uint64_t *p = (uint64_t *)(RACE_GPA + i * PAGE_SIZE);

			v = READ_ONCE(*p);
			if (v && v != round - 1)
				stale++;
			WRITE_ONCE(*p, round);
		}
	}
	report(R_RACED, r.error, stale, round, 0);
	for (;;)
		;
}

static void tvm_guest_code(void)
{
	volatile uint32_t *mmio = (volatile uint32_t *)MMIO_GPA;
	volatile uint64_t *zero = (volatile uint64_t *)(ZERO_GPA + PAGE_SIZE);
	uint64_t *shp = (uint64_t *)SHARE_GPA;
	uint64_t sum = 0, v0, timer, cleared;
	struct sbiret r;
	int i;

	if (csr_read(CSR_SSCRATCH) == 1)
		guest_vcpu1();
	if (race_mode)
		guest_shared_race();

	for (i = 0; i < ARRAY_SIZE(guest_data); i++)
		sum += guest_data[i];
	report(R_SUM, sum, 0, 0, 0);

	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_READ_MEASUREMENT, msmt_gpa, 48, 0, 0, 0, 0);
	report_digest(R_MSMT0, r.error);
	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_READ_MEASUREMENT, msmt_gpa, 48, 1, 0, 0, 0);
	report_digest(R_MSMT1, r.error);

	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_ADD_MMIO_REGION, MMIO_GPA, PAGE_SIZE, 0, 0, 0, 0);
	mmio[0] = 0x12345678;
	v0 = *(volatile uint64_t *)(MMIO_GPA + 8);
	report(R_MMIO, r.error, v0, 0, 0);

	v0 = zero[3];
	zero[3] = 0xabcdef;
	report(R_ZERO, v0, zero[3], 0, 0);
	/* The VMM made the page shared meanwhile: gone, a new zero page. */
	v0 = zero[3];
	zero[3] = 0x77;
	report(R_STOLEN, v0, zero[3], 0, 0);
	/* Then it punched it out of guest_memfd: gone again. */
	report(R_PUNCHED, zero[3], 0, 0, 0);

	/*
	 * A private page, shared (COVG): the host's data comes in, the
	 * guest's goes out, and a page the host replaces is the one the
	 * guest sees next; unshared, it is a new zero page, and what the
	 * guest wrote there before it shared it is gone.
	 */
	WRITE_ONCE(shp[0], 0x5ec2e7);
	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_SHARE_MEMORY, SHARE_GPA, PAGE_SIZE, 0, 0, 0, 0);
	v0 = READ_ONCE(shp[0]);
	WRITE_ONCE(shp[1], 0x6e57);
	report(R_SHARE, r.error, v0, 0, 0);
	report(R_REMAPPED, READ_ONCE(shp[0]), READ_ONCE(shp[1]), 0, 0);
	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_UNSHARE_MEMORY, SHARE_GPA, PAGE_SIZE, 0, 0, 0, 0);
	v0 = READ_ONCE(shp[0]);
	WRITE_ONCE(shp[2], 0x5ec2e7);
	report(R_UNSHARE, r.error, v0, READ_ONCE(shp[2]), 0);

	/*
	 * The timer fires once, then not after it is set to never.  It
	 * fires while interrupts are off, and stays pending across an exit
	 * to the VMM (the vCPU is put) until they are on.
	 */
	v0 = csr_read(CSR_STVEC);
	csr_write(CSR_STVEC, (unsigned long)tvm_irq_trap);
	csr_set(CSR_SIE, SIP_STIP);
	timer = csr_read(CSR_TIME);
	sbi_ecall(SBI_EXT_TIME_EID, 0, timer + 10000, 0, 0, 0, 0, 0);	/* 1 ms */
	while (csr_read(CSR_TIME) - timer < 300000)			/* 30 ms */
		;
	report(R_TICK, 0, 0, 0, 0);
	timer = guest_irq_taken(100000000UL);				/* 10 s */
	sbi_ecall(SBI_EXT_TIME_EID, 0, -1UL, 0, 0, 0, 0, 0);
	csr_set(CSR_SIE, SIP_STIP);
	cleared = !guest_irq_taken(500000UL);		/* 50 ms */
	csr_write(CSR_SIE, 0);
	csr_write(CSR_STVEC, v0);
	report(R_TIMER, timer, cleared, 0, 0);

	/*
	 * The VMM raises VSEIP (KVM_INTERRUPT): the TSM keeps it out until
	 * the TVM allows external interrupts (COVG), then it is taken.
	 */
	csr_write(CSR_STVEC, (unsigned long)tvm_irq_trap);
	report(R_EXT_RAISE, 0, 0, 0, 0);
	csr_set(CSR_SIE, SIP_SEIP);
	cleared = !guest_irq_taken(500000UL);				/* 50 ms */
	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_ALLOW_EXT_IRQ, -1UL, 0, 0, 0, 0, 0);
	csr_set(CSR_SIE, SIP_SEIP);
	timer = guest_irq_taken(100000000UL);				/* 10 s */
	csr_write(CSR_SIE, 0);
	csr_write(CSR_STVEC, v0);
	report(R_EXT, cleared, timer, r.error, 0);

	if (nr_guest_vcpus == 2) {
		r = sbi_ecall(SBI_EXT_HSM_EID, 0, 1, entry_gpa, boot1_gpa, 0, 0, 0);
		report(R_HSM, r.error, 0, 0, 0);
		v0 = guest_wait_sip(SIP_SSIP);
		csr_clear(CSR_SIP, SIP_SSIP);
		report(R_IPI, v0, READ_ONCE(vcpu1_flag), !(csr_read(CSR_SIP) & SIP_SSIP), 0);
	}
	/* Shared memory the TVM still maps when its memslot goes. */
	r = sbi_ecall(SBI_EXT_COVG_EID, COVG_SHARE_MEMORY, SHARE2_GPA, PAGE_SIZE, 0, 0, 0, 0);
	WRITE_ONCE(*(uint64_t *)SHARE2_GPA, 0x5a5a);
	report(R_DONE, r.error, 0, 0, 0);
	for (;;)
		;
}

struct run_tvm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu[2];
	int nr_vcpus;
	uint8_t reg0[48], reg1[48];	/* the measurement the TSM must have */
	uint64_t nr_measured;
};

static uint64_t get_reg(struct kvm_vcpu *vcpu, uint64_t id)
{
	uint64_t val;

	vcpu_get_reg(vcpu, id, &val);
	return val;
}

/* The host's view of the guest's boot block of vCPU @i, from its registers. */
static void fill_boot(struct run_tvm *t, int i)
{
	struct tvm_boot *b = addr_gva2hva(t->vm, (vm_vaddr_t)&tvm_boot[i]);
	struct kvm_vcpu *v = t->vcpu[i];

	b->satp = get_reg(v, RISCV_GENERAL_CSR_REG(satp));
	b->gp = get_reg(v, RISCV_CORE_REG(regs.gp));
	b->sp = get_reg(v, RISCV_CORE_REG(regs.sp));
	b->sscratch = get_reg(v, RISCV_GENERAL_CSR_REG(sscratch));
	b->stvec = get_reg(v, RISCV_GENERAL_CSR_REG(stvec));
	b->pc = (uint64_t)tvm_guest_code;
}

#define set_guest(vm, var, val) \
	(*(typeof(var) *)addr_gva2hva(vm, (vm_vaddr_t)&(var)) = (val))

/* Adds every page of slot 0 the library wrote, and computes register 0. */
static void add_written_pages(struct run_tvm *t)
{
	struct userspace_mem_region *slot0 = memslot2region(t->vm, 0);
	struct kvm_tvm_measured_pages args = {};
	uint64_t gfn, first = TVM_GPA >> 12;
	uint8_t *host = slot0->host_mem;

	for (gfn = first; gfn < first + RUN_SLOT0_PAGES; gfn++) {
		if (sparsebit_is_set(slot0->unused_phy_pages, gfn))
			continue;
		args.gpa = gfn << 12;
		args.size = PAGE_SIZE;
		args.uaddr = (uintptr_t)(host + ((gfn - first) << 12));
		TEST_ASSERT(!ioctl(t->vm->fd, KVM_TVM_ADD_MEASURED_PAGES, &args),
			    "ADD_MEASURED_PAGES(0x%lx): %s", gfn << 12, strerror(errno));
		extend_page(t->reg0, gfn << 12, host + ((gfn - first) << 12));
		t->nr_measured++;
	}
}

/*
 * A measured TVM running tvm_guest_code on @nr_vcpus vCPUs, finalized;
 * guest_shared_race() instead if @race.
 */
static void run_tvm_create(struct run_tvm *t, int nr_vcpus, bool race)
{
	const struct vm_shape shape = { .mode = VM_MODE_DEFAULT, .type = KVM_RISCV_COVE_VM };
	uint64_t entry = (uint64_t)tvm_entry, page, i, arg;
	uint8_t msg[64] = {};

	memset(t, 0, sizeof(*t));
	t->nr_vcpus = nr_vcpus;
	t->vm = ____vm_create(shape);
	vm_mem_add(t->vm, VM_MEM_SRC_ANONYMOUS, TVM_GPA, 0, RUN_SLOT0_PAGES,
		   KVM_MEM_GUEST_MEMFD, -1, 0);
	for (i = 0; i < NR_MEM_REGIONS; i++)
		t->vm->memslots[i] = 0;
	vm_mem_set_private(t->vm, TVM_GPA, RUN_SLOT0_PAGES * PAGE_SIZE);
	vm_mem_add(t->vm, VM_MEM_SRC_ANONYMOUS, ZERO_GPA, 1, ZERO_PAGES,
		   KVM_MEM_GUEST_MEMFD, -1, 0);
	vm_mem_set_private(t->vm, ZERO_GPA, ZERO_PAGES * PAGE_SIZE);
	kvm_vm_elf_load(t->vm, program_invocation_name);
	for (i = 0; i < nr_vcpus; i++)
		t->vcpu[i] = vm_vcpu_add(t->vm, i, tvm_guest_code);

	/* The stub at its GPA too (paging goes on under it), MMIO, slot 1. */
	entry = addr_gva2gpa(t->vm, entry);
	for (page = entry & ~0xfffUL; page < entry + (tvm_entry_end - tvm_entry); page += 4096)
		virt_pg_map(t->vm, page, page);
	virt_pg_map(t->vm, MMIO_GPA, MMIO_GPA);
	for (i = 0; i < ZERO_PAGES; i++)
		virt_pg_map(t->vm, ZERO_GPA + i * PAGE_SIZE, ZERO_GPA + i * PAGE_SIZE);

	for (i = 0; i < nr_vcpus; i++)
		fill_boot(t, i);
	for (i = 0; i < ARRAY_SIZE(guest_data); i++)
		set_guest(t->vm, guest_data[i], i * 0x0101010101010101UL);
	set_guest(t->vm, entry_gpa, entry);
	set_guest(t->vm, boot1_gpa, addr_gva2gpa(t->vm, (vm_vaddr_t)&tvm_boot[1]));
	set_guest(t->vm, msmt_gpa, addr_gva2gpa(t->vm, (vm_vaddr_t)msmt_page));
	set_guest(t->vm, nr_guest_vcpus, nr_vcpus);
	set_guest(t->vm, race_mode, race);

	/* vCPU 0 enters at the stub with its boot block; register 1 says so. */
	arg = addr_gva2gpa(t->vm, (vm_vaddr_t)&tvm_boot[0]);
	vcpu_set_reg(t->vcpu[0], RISCV_CORE_REG(regs.pc), entry);
	vcpu_set_reg(t->vcpu[0], RISCV_CORE_REG(regs.a1), arg);
	for (i = 0; i < 8; i++) {
		msg[48 + i] = entry >> (8 * i);
		msg[56 + i] = arg >> (8 * i);
	}
	sha384(msg, sizeof(msg), t->reg1);

	add_written_pages(t);
	TEST_ASSERT(__vcpu_run(t->vcpu[0]) && errno == EPERM, "KVM_RUN before finalize: %d",
		    errno);
	vm_ioctl(t->vm, KVM_TVM_FINALIZE, NULL);
}

/* The conversions the TVM asked for, as the VMM made them. */
static int nr_to_shared, nr_to_private;

/*
 * Runs @vcpu to its next report of @what; MMIO exits are checked on the
 * way, and the TVM's conversions (KVM_EXIT_MEMORY_FAULT) made.
 */
static void next_report(struct kvm_vcpu *vcpu, unsigned long what, uint64_t out[4])
{
	struct kvm_run *run = vcpu->run;
	int r;

	for (;;) {
		r = __vcpu_run(vcpu);
		if (r && errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
			uint64_t gpa = run->memory_fault.gpa, size = run->memory_fault.size;

			TEST_ASSERT(gpa >= ZERO_GPA + PAGE_SIZE && size && !(size % PAGE_SIZE) &&
				    gpa + size <= ZERO_GPA + ZERO_PAGES * PAGE_SIZE,
				    "memory fault at 0x%lx, %lu bytes, flags 0x%llx",
				    gpa, size, run->memory_fault.flags);
			if (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE) {
				vm_mem_set_private(vcpu->vm, gpa, size);
				nr_to_private++;
			} else {
				vm_mem_set_shared(vcpu->vm, gpa, size);
				nr_to_shared++;
			}
			continue;
		}
		TEST_ASSERT(!r, "KVM_RUN (waiting for report %lu): %s, exit %u", what,
			    strerror(errno), run->exit_reason);
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write) {
			TEST_ASSERT(run->mmio.phys_addr == MMIO_GPA && run->mmio.len == 4 &&
				    *(uint32_t *)run->mmio.data == 0x12345678,
				    "MMIO store: 0x%llx, %u bytes", run->mmio.phys_addr,
				    run->mmio.len);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			TEST_ASSERT(run->mmio.phys_addr == MMIO_GPA + 8 && run->mmio.len == 8,
				    "MMIO load: 0x%llx, %u bytes", run->mmio.phys_addr,
				    run->mmio.len);
			*(uint64_t *)run->mmio.data = 0x1122334455667788UL;
			continue;
		}
		TEST_ASSERT(run->exit_reason == KVM_EXIT_RISCV_SBI &&
			    run->riscv_sbi.extension_id == KVM_RISCV_SELFTESTS_SBI_EXT,
			    "exit %u waiting for report %lu (data 0x%llx 0x%llx)", run->exit_reason,
			    what, run->internal.data[0], run->internal.data[1]);
		TEST_ASSERT(run->riscv_sbi.function_id == REPORT_FID,
			    "the guest trapped (FID %lu) before report %lu",
			    run->riscv_sbi.function_id, what);
		TEST_ASSERT(run->riscv_sbi.args[0] == what, "report %lu, not %lu",
			    run->riscv_sbi.args[0], what);
		memcpy(out, &run->riscv_sbi.args[1], 4 * sizeof(uint64_t));
		run->riscv_sbi.ret[0] = 0;
		return;
	}
}

static void expect_digest(struct kvm_vcpu *vcpu, unsigned long what, const uint8_t *want)
{
	uint64_t a[4], b[4], got[6];

	next_report(vcpu, what, a);
	next_report(vcpu, what, b);
	TEST_ASSERT(!a[0], "COVG read_measurement: %ld", (long)a[0]);
	memcpy(got, &a[1], 24);
	memcpy(&got[3], b, 24);
	TEST_ASSERT(!memcmp(got, want, 48), "the TVM reads register %lu: not the expected one",
		    what == R_MSMT0 ? 0UL : 1UL);
}

static bool vcpu1_done;

static void sigusr1(int sig)
{
}

static void *run_vcpu1(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_mp_state mp;
	uint64_t v[4];

	/* Powered off until vCPU 0 starts it: KVM_RUN waits. */
	next_report(vcpu, R_V1_DONE, v);
	TEST_ASSERT(!v[0] && v[1] == 1, "vCPU 1: IPI %ld, sscratch %lu", (long)v[0], v[1]);
	/*
	 * Then it stops itself (SBI HSM) and KVM_RUN waits again; the main
	 * thread's signals get it out, until one finds it stopped.
	 */
	do {
		TEST_ASSERT(__vcpu_run(vcpu) && errno == EINTR &&
			    vcpu->run->exit_reason == KVM_EXIT_INTR,
			    "vCPU 1 stopping: KVM_RUN %d, exit %u", errno, vcpu->run->exit_reason);
		vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	} while (mp.mp_state != KVM_MP_STATE_STOPPED);
	WRITE_ONCE(vcpu1_done, true);
	return NULL;
}

static void test_run(int nr_vcpus)
{
	struct sigaction sa = { .sa_handler = sigusr1 };
	struct kvm_interrupt irq = {};
	struct kvm_tvm_measurement m;
	struct userspace_mem_region *slot1;
	struct tsm_stats base, s, s2;
	uint64_t v[4], sum = 0;
	uint64_t *hp;
	struct run_tvm t;
	pthread_t thread;
	int i;

	read_stats(&base);
	run_tvm_create(&t, nr_vcpus, false);
	get_measurement(t.vm->fd, &m);
	TEST_ASSERT(m.nr_pages == t.nr_measured && (m.flags & KVM_TVM_MEASUREMENT_FINALIZED) &&
		    !memcmp(m.digest, t.reg0, 48),
		    "KVM_TVM_GET_MEASUREMENT: %llu pages (%lu added), flags %u, digest %s",
		    m.nr_pages, t.nr_measured, m.flags,
		    memcmp(m.digest, t.reg0, 48) ? "differs" : "matches");
	if (nr_vcpus == 2) {
		TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
		WRITE_ONCE(vcpu1_done, false);
		pthread_create(&thread, NULL, run_vcpu1, t.vcpu[1]);
	}

	next_report(t.vcpu[0], R_SUM, v);
	for (i = 0; i < ARRAY_SIZE(guest_data); i++)
		sum += i * 0x0101010101010101UL;
	TEST_ASSERT(v[0] == sum, "the guest's sum 0x%lx, not 0x%lx", v[0], sum);
	expect_digest(t.vcpu[0], R_MSMT0, t.reg0);
	expect_digest(t.vcpu[0], R_MSMT1, t.reg1);
	next_report(t.vcpu[0], R_MMIO, v);
	TEST_ASSERT(!v[0] && v[1] == 0x1122334455667788UL, "MMIO: region %ld, load 0x%lx",
		    (long)v[0], v[1]);
	next_report(t.vcpu[0], R_ZERO, v);
	TEST_ASSERT(!v[0] && v[1] == 0xabcdef, "zero page: read 0x%lx, then 0x%lx", v[0], v[1]);

	/*
	 * The VMM makes the zero page shared on its own: KVM takes it back
	 * from the TSM.  The TVM, which did not share it, cannot use the
	 * host's page there: it exits private, and gets a new zero page.
	 */
	read_stats(&s);
	vm_mem_set_shared(t.vm, ZERO_GPA + PAGE_SIZE, PAGE_SIZE);
	read_stats(&s2);
	TEST_ASSERT(s2.assigned == s.assigned - 1, "made shared: %lu TVM pages, were %lu",
		    s2.assigned, s.assigned);
	nr_to_shared = 0;
	nr_to_private = 0;
	next_report(t.vcpu[0], R_STOLEN, v);
	TEST_ASSERT(!v[0] && v[1] == 0x77 && nr_to_private == 1 && !nr_to_shared,
		    "a page taken back: read 0x%lx, %d conversions", v[0], nr_to_private);

	/* A zero page punched out of guest_memfd goes back to the host. */
	slot1 = memslot2region(t.vm, 1);
	read_stats(&s);
	TEST_ASSERT(!fallocate(slot1->region.guest_memfd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, slot1->region.guest_memfd_offset + PAGE_SIZE,
			       PAGE_SIZE), "punching a zero page: %s", strerror(errno));
	read_stats(&s2);
	TEST_ASSERT(s2.assigned == s.assigned - 1, "punched: %lu TVM pages, were %lu",
		    s2.assigned, s.assigned);
	next_report(t.vcpu[0], R_PUNCHED, v);
	TEST_ASSERT(!v[0], "a punched page reads 0x%lx", v[0]);

	/* Shared: the host's page in the TVM, both ways. */
	hp = addr_gpa2hva(t.vm, SHARE_GPA);
	hp[0] = 0x4057;
	nr_to_shared = 0;
	nr_to_private = 0;
	next_report(t.vcpu[0], R_SHARE, v);
	read_stats(&s);
	TEST_ASSERT(!v[0] && v[1] == 0x4057 && hp[1] == 0x6e57 && nr_to_shared == 1,
		    "share: COVG %ld, read 0x%lx, wrote 0x%lx, %d conversions", (long)v[0], v[1],
		    hp[1], nr_to_shared);
	TEST_ASSERT(s.shared_maps == base.shared_maps + 1, "share: %llu shared mappings",
		    (unsigned long long)s.shared_maps);
	/* The host takes its page away: the TVM must not keep it. */
	TEST_ASSERT(!madvise(hp, PAGE_SIZE, MADV_DONTNEED), "madvise: %s", strerror(errno));
	read_stats(&s);
	TEST_ASSERT(s.shared_maps == base.shared_maps,
		    "a page the host let go is still mapped in the TVM (%llu mappings)",
		    (unsigned long long)s.shared_maps);
	hp[0] = 0x2222;
	next_report(t.vcpu[0], R_REMAPPED, v);
	TEST_ASSERT(v[0] == 0x2222 && !v[1], "the TVM reads 0x%lx 0x%lx, not the host's new page",
		    v[0], v[1]);
	next_report(t.vcpu[0], R_UNSHARE, v);
	read_stats(&s);
	TEST_ASSERT(!v[0] && !v[1] && v[2] == 0x5ec2e7 && nr_to_private == 1,
		    "unshare: COVG %ld, read 0x%lx, then 0x%lx, %d conversions", (long)v[0],
		    v[1], v[2], nr_to_private);
	TEST_ASSERT(hp[0] == 0x2222 && !hp[2] && s.shared_maps == base.shared_maps,
		    "unshare: the host's page 0x%lx 0x%lx, %llu shared mappings", hp[0], hp[2],
		    (unsigned long long)s.shared_maps);
	next_report(t.vcpu[0], R_TICK, v);
	next_report(t.vcpu[0], R_TIMER, v);
	TEST_ASSERT(v[0] && v[1], "timer: fired %lu, then quiet %lu", v[0], v[1]);
	next_report(t.vcpu[0], R_EXT_RAISE, v);
	irq.irq = KVM_INTERRUPT_SET;
	vcpu_ioctl(t.vcpu[0], KVM_INTERRUPT, &irq);
	next_report(t.vcpu[0], R_EXT, v);
	TEST_ASSERT(v[0] && v[1] && !v[2], "VSEIP: kept out %lu, then taken %lu (COVG %ld)",
		    v[0], v[1], (long)v[2]);
	irq.irq = KVM_INTERRUPT_UNSET;
	vcpu_ioctl(t.vcpu[0], KVM_INTERRUPT, &irq);
	if (nr_vcpus == 2) {
		next_report(t.vcpu[0], R_HSM, v);
		TEST_ASSERT(!v[0], "HSM hart_start: %ld", (long)v[0]);
		next_report(t.vcpu[0], R_IPI, v);
		TEST_ASSERT(v[0] && v[1] == 0x1111 && v[2], "IPI: seen %lu, flag 0x%lx, cleared %lu",
			    v[0], v[1], v[2]);
	}
	nr_to_shared = 0;
	next_report(t.vcpu[0], R_DONE, v);
	read_stats(&s);
	TEST_ASSERT(!v[0] && nr_to_shared == 1 && s.shared_maps == base.shared_maps + 1,
		    "second share: COVG %ld, %d conversions, %lu shared mappings", (long)v[0],
		    nr_to_shared, s.shared_maps);

	if (nr_vcpus == 2) {
		while (!READ_ONCE(vcpu1_done)) {
			pthread_kill(thread, SIGUSR1);
			usleep(10000);
		}
		pthread_join(thread, NULL);
	}
	/* Its memslot deleted, the host's page leaves the TVM. */
	vm_mem_region_delete(t.vm, 1);
	read_stats(&s);
	TEST_ASSERT(s.shared_maps == base.shared_maps,
		    "a deleted memslot's page is still mapped in the TVM");

	/* Destroyed, the TVM gives back every page. */
	TEST_ASSERT(s.tvms == base.tvms + 1, "one TVM running");
	kvm_vm_free(t.vm);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("a measured TVM, %d vCPU%s: data, measurement, MMIO, memory, %s\n",
			      nr_vcpus, nr_vcpus > 1 ? "s" : "",
			      nr_vcpus > 1 ? "conversions, timer, VSEIP, HSM, IPI" :
					     "conversions, timer, VSEIP");
}

/* Whether the kernel log has a line with @text since boot. */
static bool kmsg_has(const char *text)
{
	char line[1024];
	bool found = false;
	ssize_t n;
	int fd;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	TEST_ASSERT(fd >= 0, "open /dev/kmsg: %s", strerror(errno));
	for (;;) {
		n = read(fd, line, sizeof(line) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten meanwhile */
		if (n <= 0)
			break;
		line[n] = 0;
		found |= !!strstr(line, text);
	}
	close(fd);
	return found;
}

struct dropper {
	uint64_t *hva;
	bool stop;
	unsigned long rounds;
};

static void *drop_shared(void *arg)
{
	struct dropper *d = arg;

	while (!READ_ONCE(d->stop)) {
		TEST_ASSERT(!madvise(d->hva, RACE_SHARED * PAGE_SIZE, MADV_DONTNEED),
			    "madvise: %s", strerror(errno));
		d->rounds++;
		usleep(1000);
	}
	return NULL;
}

/*
 * The VMM drops the pages a TVM maps shared while the vCPU is in the guest
 * using them: KVM must kick it out to complete the TSM's fence, and take
 * every page out of the TVM before the host reuses it.
 */
static void test_shared_race(void)
{
	struct dropper d = {};
	struct tsm_stats base, s;
	pthread_t thread;
	struct run_tvm t;
	uint64_t v[4];

	read_stats(&base);
	run_tvm_create(&t, 1, true);
	d.hva = addr_gpa2hva(t.vm, RACE_GPA);
	nr_to_shared = 0;
	nr_to_private = 0;
	pthread_create(&thread, NULL, drop_shared, &d);
	next_report(t.vcpu[0], R_RACED, v);
	WRITE_ONCE(d.stop, true);
	pthread_join(thread, NULL);
	TEST_ASSERT(!v[0] && !v[1] && nr_to_shared == 1 && !nr_to_private,
		    "race: COVG %ld, %lu stale reads, %d conversions", (long)v[0], v[1],
		    nr_to_shared);
	read_stats(&s);
	TEST_ASSERT(s.shared_maps <= base.shared_maps + RACE_SHARED,
		    "race: %lu shared mappings", s.shared_maps);
	/* Each drop took the pages out of the TVM at once, fence and all. */
	TEST_ASSERT(!kmsg_has("the TSM keeps host page"),
		    "race: a dropped page stayed in the TVM (kernel log)");
	TEST_ASSERT(!madvise(d.hva, RACE_SHARED * PAGE_SIZE, MADV_DONTNEED), "madvise");
	read_stats(&s);
	TEST_ASSERT(s.shared_maps == base.shared_maps,
		    "race: %lu pages the host dropped are still mapped in the TVM",
		    s.shared_maps - base.shared_maps);
	kvm_vm_free(t.vm);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	TEST_ASSERT(d.rounds >= 10, "race: only %lu drops", d.rounds);
	ksft_test_result_pass("shared pages dropped under a running TVM: %lu drops in %lu %s\n",
			      d.rounds, v[2], "rounds, all out");
}

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"

static void set_cpu1_online(bool online)
{
	int fd = open(CPU1_ONLINE, O_WRONLY);

	TEST_ASSERT(fd >= 0, "open %s: %s", CPU1_ONLINE, strerror(errno));
	TEST_ASSERT(write(fd, online ? "1" : "0", 1) == 1, "%s %s: %s",
		    online ? "onlining" : "offlining", CPU1_ONLINE, strerror(errno));
	close(fd);
}

/*
 * The TSM's fences wait for every hart: KVM converts pages only while every
 * CPU is online.  With one offline, whatever converts fails with EBUSY and
 * changes nothing; once it is back, the same calls work.
 */
static void test_cpu_offline(void)
{
	struct kvm_tvm_measured_pages args = { .gpa = TVM_GPA, .size = PAGE_SIZE };
	struct tsm_stats base, before, s;
	struct kvm_tvm_measurement m;
	struct tvm t;
	void *src;
	int vcpu;

	if (access(CPU1_ONLINE, W_OK)) {
		ksft_test_result_skip("CPU offline: no CPU hotplug (%s)\n", strerror(errno));
		return;
	}
	src = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(src != MAP_FAILED, "mmap");
	args.uaddr = (uintptr_t)src;
	read_stats(&base);
	tvm_with_memory(&t);
	read_stats(&before);

	set_cpu1_online(false);
	TEST_ASSERT(create_vm(KVM_RISCV_COVE_VM) < 0 && errno == EBUSY,
		    "KVM_CREATE_VM with a CPU offline: %d", errno);
	TEST_ASSERT(ioctl(t.vm, KVM_CREATE_VCPU, 0) < 0 && errno == EBUSY,
		    "KVM_CREATE_VCPU with a CPU offline: %d", errno);
	TEST_ASSERT(add_pages(t.vm, &args) == EBUSY && args.size == PAGE_SIZE,
		    "KVM_TVM_ADD_MEASURED_PAGES with a CPU offline: %d", errno);
	get_measurement(t.vm, &m);
	read_stats(&s);
	TEST_ASSERT(!m.nr_pages && !memcmp(&s, &before, sizeof(s)),
		    "a refusal changed something: %llu pages, %lu converting, %lu assigned",
		    m.nr_pages, s.converting, s.assigned);
	set_cpu1_online(true);

	vcpu = ioctl(t.vm, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "KVM_CREATE_VCPU, all CPUs online: %s", strerror(errno));
	TEST_ASSERT(!add_pages(t.vm, &args), "KVM_TVM_ADD_MEASURED_PAGES, all CPUs online: %s",
		    strerror(errno));
	close(vcpu);
	tvm_close(&t);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	munmap(src, PAGE_SIZE);
	ksft_test_result_pass("CPU offline: creation, vCPUs and adds EBUSY, then work\n");
}

/* Every refusal around finalize and running. */
static void test_run_bad_input(void)
{
	struct kvm_userspace_memory_region2 slot = {};
	struct kvm_tvm_measured_pages args = {};
	struct kvm_one_reg reg = {};
	struct tsm_stats base, s;
	struct kvm_run *run;
	struct tvm t;
	int vcpu0, vcpu1, run_size;
	uint64_t val = 0;

	read_stats(&base);
	TEST_ASSERT(kvm_check_cap(KVM_CAP_TVM_MEASURED_LAUNCH) == 1, "system capability");
	tvm_with_memory(&t);
	TEST_ASSERT(ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_TVM_MEASURED_LAUNCH) == 1,
		    "a TVM's KVM_CAP_TVM_MEASURED_LAUNCH");
	TEST_ASSERT(ioctl(t.vm, KVM_CREATE_VCPU, 8) < 0 && errno == EINVAL,
		    "vCPU ID 8 (the TSM has 8): %d", errno);
	vcpu1 = ioctl(t.vm, KVM_CREATE_VCPU, 1);
	TEST_ASSERT(vcpu1 >= 0, "KVM_CREATE_VCPU(1): %s", strerror(errno));
	TEST_ASSERT(ioctl(t.vm, KVM_CREATE_VCPU, 1) < 0 && errno == EEXIST,
		    "vCPU 1 twice: %d", errno);
	TEST_ASSERT(ioctl(t.vm, KVM_TVM_FINALIZE, 0) < 0 && errno == EINVAL,
		    "finalize without vCPU 0: %d", errno);
	vcpu0 = ioctl(t.vm, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu0 >= 0, "KVM_CREATE_VCPU(0): %s", strerror(errno));
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu0, 0);
	TEST_ASSERT(run != MAP_FAILED, "mmap kvm_run");
	TEST_ASSERT(ioctl(vcpu0, KVM_RUN, 0) < 0 && errno == EPERM, "KVM_RUN before finalize: %d",
		    errno);

	/* Before finalize the registers are the VMM's: pc 0x1000, nowhere. */
	reg.id = RISCV_CORE_REG(regs.pc);
	reg.addr = (uintptr_t)&val;
	val = 0x1000;
	TEST_ASSERT(!ioctl(vcpu0, KVM_SET_ONE_REG, &reg), "SET_ONE_REG(pc): %s", strerror(errno));
	TEST_ASSERT(!ioctl(t.vm, KVM_TVM_FINALIZE, 0), "KVM_TVM_FINALIZE: %s", strerror(errno));

	TEST_ASSERT(ioctl(t.vm, KVM_TVM_FINALIZE, 0) < 0 && errno == EPERM,
		    "finalize twice: %d", errno);
	TEST_ASSERT(ioctl(t.vm, KVM_CREATE_VCPU, 2) < 0 && errno == EPERM,
		    "a vCPU after finalize: %d", errno);
	args.gpa = TVM_GPA;
	args.size = PAGE_SIZE;
	args.uaddr = (uintptr_t)t.shared;
	TEST_ASSERT(add_pages(t.vm, &args) && errno == EPERM, "add after finalize: %d", errno);
	TEST_ASSERT(ioctl(vcpu0, KVM_SET_ONE_REG, &reg) < 0 && errno == EPERM,
		    "SET_ONE_REG after finalize: %d", errno);
	TEST_ASSERT(ioctl(vcpu0, KVM_GET_ONE_REG, &reg) < 0 && errno == EPERM,
		    "GET_ONE_REG after finalize: %d", errno);
	/* No dirty logging of private memory. */
	slot.slot = 1;
	slot.flags = KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES;
	slot.guest_phys_addr = TVM_GPA + TVM_SLOT_SIZE;
	slot.memory_size = PAGE_SIZE;
	slot.userspace_addr = (uintptr_t)t.shared;
	slot.guest_memfd = t.gmem;
	TEST_ASSERT(ioctl(t.vm, KVM_SET_USER_MEMORY_REGION2, &slot) < 0 && errno == EINVAL,
		    "a dirty-logged guest_memfd memslot: %d", errno);

	/* It fetches from 0x1000, which is no memory: the VMM hears of it. */
	TEST_ASSERT(ioctl(vcpu0, KVM_RUN, 0) < 0 && errno == EFAULT &&
		    run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		    run->memory_fault.gpa == 0x1000 && run->memory_fault.size == PAGE_SIZE &&
		    run->memory_fault.flags == KVM_MEMORY_EXIT_FLAG_PRIVATE,
		    "a fetch from no memory: errno %d, exit %u, gpa 0x%llx", errno,
		    run->exit_reason, run->memory_fault.gpa);
	munmap(run, run_size);
	close(vcpu0);
	close(vcpu1);
	tvm_close(&t);
	read_stats(&s);
	assert_stats_equal(&s, &base);
	ksft_test_result_pass("finalize and run: every refusal, and a fault with no memory\n");
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
	ksft_set_plan(15);
	test_vm_types();
	test_create_destroy();
	test_tvm_properties();
	test_measured_pages();
	test_measured_bad_input();
	test_page_table_pages();
	test_regions_and_rebinding();
	test_add_races();
	test_concurrent();
	test_tvm_limit();
	test_cpu_offline();
	test_run_bad_input();
	test_run(1);
	test_run(2);
	test_shared_race();
	ksft_finished();
}
