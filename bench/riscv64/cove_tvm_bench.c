// SPDX-License-Identifier: GPL-2.0
/*
 * CoVE TVM benchmark, built against the KVM selftest library and run in the
 * riscv64 test guest on tvmm's firmware by scripts/bench.sh (BENCH=cove).
 *
 * Exit round trips: the same guest code, a position-independent loop run
 * with translation off, in a normal VM and in a TVM (its code added as
 * measured pages); the guest times each loop with the time CSR:
 *   - ecall:  SBI base get_spec_version, answered by KVM in the kernel
 *             (for the TVM: through TEECALL/TEERET and the TSM);
 *   - mmio:   a 32-bit store to an MMIO address without a memslot (for the
 *             TVM: a region it declared with COVG), which exits to this
 *             program as KVM_EXIT_MMIO.
 * Each loop runs ROUND_TRIPS times, REPS repetitions, fresh VMs each; the
 * result is the median time per round trip.
 *
 * Launch: the time to put LAUNCH_MIB of content into a VM, per MiB, REPS
 * repetitions, median: for the TVM KVM_TVM_ADD_MEASURED_PAGES of the whole
 * range (convert, fence, TSM copy and SHA-384 per page) and
 * KVM_TVM_FINALIZE; for the normal VM (the baseline) a copy into its
 * memslot.
 *
 * Output: "result <name> <value> <unit>" lines, parsed by scripts/bench.sh.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#ifndef PAGE_SIZE
#define PAGE_SIZE	4096UL	/* riscv's processor.h has none */
#endif
#define CODE_GPA	0x80000000UL
#define MMIO_GPA	0x10000000UL
#define ROUND_TRIPS	2000
#define REPS		5
#define LAUNCH_MIB	4
#define BENCH_EXT	0x08FFFFFFUL	/* the selftests' SBI extension */
#define FID_RESULT	0x100

/*
 * The guest: a1 = the MMIO address.  Declares it as an MMIO region (COVG;
 * a normal VM answers "not supported"), then times ROUND_TRIPS ECALLs and
 * ROUND_TRIPS MMIO stores, reporting each time (in time-CSR ticks) with
 * an SBI call to BENCH_EXT, FID_RESULT + n.
 */
extern char bench_guest[], bench_guest_end[];
asm(".pushsection .text\n"
	".balign 4096\n"
	"bench_guest:\n"
	"	mv	s0, a1\n"
	"	li	a7, 0x434F5647\n"	/* COVG add_mmio_region */
	"	li	a6, 0\n"
	"	mv	a0, s0\n"
	"	li	a1, 4096\n"
	"	ecall\n"
	"	li	s1, " __stringify(ROUND_TRIPS) "\n"
	"	rdtime	s2\n"
	"1:	li	a7, 0x10\n"		/* BASE get_spec_version */
	"	li	a6, 0\n"
	"	ecall\n"
	"	addi	s1, s1, -1\n"
	"	bnez	s1, 1b\n"
	"	rdtime	s3\n"
	"	sub	a0, s3, s2\n"
	"	li	a7, 0x08FFFFFF\n"
	"	li	a6, 0x100\n"
	"	ecall\n"
	"	li	s1, " __stringify(ROUND_TRIPS) "\n"
	"	rdtime	s2\n"
	"2:	sw	zero, 0(s0)\n"
	"	addi	s1, s1, -1\n"
	"	bnez	s1, 2b\n"
	"	rdtime	s3\n"
	"	sub	a0, s3, s2\n"
	"	li	a7, 0x08FFFFFF\n"
	"	li	a6, 0x101\n"
	"	ecall\n"
	"3:	j	3b\n"
	"bench_guest_end:\n"
	".popsection\n");

static uint64_t timebase_hz;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

/* A VM of @type with a 2 MiB slot at CODE_GPA (guest_memfd for a TVM). */
static struct kvm_vm *bench_vm(unsigned long type)
{
	const struct vm_shape shape = { .mode = VM_MODE_DEFAULT, .type = type };
	struct kvm_vm *vm = ____vm_create(shape);

	if (type == KVM_RISCV_COVE_VM) {
		vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, CODE_GPA, 0, SZ_2M / PAGE_SIZE,
			   KVM_MEM_GUEST_MEMFD, -1, 0);
		vm_mem_set_private(vm, CODE_GPA, SZ_2M);
	} else {
		vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, CODE_GPA, 0,
					    SZ_2M / PAGE_SIZE, 0);
	}
	return vm;
}

/* Runs @vcpu to its next result report, going through MMIO exits. */
static uint64_t next_result(struct kvm_vcpu *vcpu, unsigned long fid)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO)
			continue;
		TEST_ASSERT(run->exit_reason == KVM_EXIT_RISCV_SBI &&
			    run->riscv_sbi.extension_id == BENCH_EXT &&
			    run->riscv_sbi.function_id == fid,
			    "exit %u (SBI 0x%lx/0x%lx), waiting for result 0x%lx",
			    run->exit_reason, run->riscv_sbi.extension_id,
			    run->riscv_sbi.function_id, fid);
		run->riscv_sbi.ret[0] = 0;
		return run->riscv_sbi.args[0];
	}
}

/* One run of the guest: ns per ECALL and per MMIO round trip. */
static void round_trips(unsigned long type, double *ecall_ns, double *mmio_ns)
{
	size_t len = bench_guest_end - bench_guest;
	struct kvm_vm *vm = bench_vm(type);
	struct kvm_tvm_measured_pages args = {};
	struct kvm_vcpu *vcpu;
	void *code = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

	TEST_ASSERT(code && len <= PAGE_SIZE, "guest code");
	memset(code, 0, PAGE_SIZE);
	memcpy(code, bench_guest, len);
	vcpu = __vm_vcpu_add(vm, 0);
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.pc), CODE_GPA);
	vcpu_set_reg(vcpu, RISCV_CORE_REG(regs.a1), MMIO_GPA);
	if (type == KVM_RISCV_COVE_VM) {
		args.gpa = CODE_GPA;
		args.size = PAGE_SIZE;
		args.uaddr = (uintptr_t)code;
		vm_ioctl(vm, KVM_TVM_ADD_MEASURED_PAGES, &args);
		vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	} else {
		memcpy(addr_gpa2hva(vm, CODE_GPA), code, PAGE_SIZE);
	}
	*ecall_ns = next_result(vcpu, FID_RESULT) * 1e9 / timebase_hz / ROUND_TRIPS;
	*mmio_ns = next_result(vcpu, FID_RESULT + 1) * 1e9 / timebase_hz / ROUND_TRIPS;
	free(code);
	kvm_vm_free(vm);
}

/* Seconds per MiB to put LAUNCH_MIB of content into a VM of @type. */
static double launch(unsigned long type, const uint8_t *src)
{
	const struct vm_shape shape = { .mode = VM_MODE_DEFAULT, .type = type };
	struct kvm_tvm_measured_pages args = {
		.gpa = CODE_GPA, .size = LAUNCH_MIB * SZ_1M, .uaddr = (uintptr_t)src,
	};
	struct kvm_vm *vm = ____vm_create(shape);
	double t;

	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS, CODE_GPA, 0, LAUNCH_MIB * SZ_1M / PAGE_SIZE,
		   type == KVM_RISCV_COVE_VM ? KVM_MEM_GUEST_MEMFD : 0, -1, 0);
	if (type == KVM_RISCV_COVE_VM) {
		vm_mem_set_private(vm, CODE_GPA, LAUNCH_MIB * SZ_1M);
		__vm_vcpu_add(vm, 0);
		t = now_s();
		vm_ioctl(vm, KVM_TVM_ADD_MEASURED_PAGES, &args);
		vm_ioctl(vm, KVM_TVM_FINALIZE, NULL);
	} else {
		t = now_s();
		memcpy(addr_gpa2hva(vm, CODE_GPA), src, LAUNCH_MIB * SZ_1M);
	}
	t = now_s() - t;
	kvm_vm_free(vm);
	return t / LAUNCH_MIB;
}

/* The time CSR's frequency, from the device tree QEMU gave the host. */
static uint64_t read_timebase(void)
{
	FILE *f = fopen("/proc/device-tree/cpus/timebase-frequency", "rb");
	uint8_t be[4];

	TEST_ASSERT(f && fread(be, 1, 4, f) == 4, "timebase-frequency");
	fclose(f);
	return (uint64_t)be[0] << 24 | be[1] << 16 | be[2] << 8 | be[3];
}

int main(void)
{
	double ecall[2][REPS], mmio[2][REPS], load[2][REPS];
	static const char * const name[2] = { "normal", "tvm" };
	unsigned long types[2] = { KVM_RISCV_DEFAULT_VM, KVM_RISCV_COVE_VM };
	uint8_t *src = aligned_alloc(PAGE_SIZE, LAUNCH_MIB * SZ_1M);
	int i, k;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_RISCV_COVE_VM));
	TEST_ASSERT(src, "aligned_alloc");
	for (i = 0; i < LAUNCH_MIB * SZ_1M; i++)
		src[i] = i * 31 + (i >> 12);
	timebase_hz = read_timebase();
	/* Interleaved, so that both see the same machine. */
	for (i = 0; i < REPS; i++) {
		for (k = 0; k < 2; k++) {
			round_trips(types[k], &ecall[k][i], &mmio[k][i]);
			load[k][i] = launch(types[k], src);
		}
	}
	for (k = 0; k < 2; k++) {
		printf("result %s_ecall_ns %.0f ns\n", name[k], median(ecall[k], REPS));
		printf("result %s_mmio_ns %.0f ns\n", name[k], median(mmio[k], REPS));
		printf("result %s_launch_ms_per_mib %.3f ms\n", name[k],
		       median(load[k], REPS) * 1e3);
	}
	free(src);
	return 0;
}
