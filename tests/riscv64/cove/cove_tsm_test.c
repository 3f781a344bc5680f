// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance test of the reference CoVE TSM and OpenSBI's TSM-driver,
 * speaking SBI (SUPD, COVH) directly from the host kernel.  Loaded by
 * cove_tsm_run in the riscv64 test guest booted on tvmm's firmware; prints
 * KTAP to the kernel log and fails to load if any case fails.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/csr.h>
#include <asm/sbi.h>

#include "payload.h"

#define SBI_EXT_SUPD		0x53555044
#define SBI_EXT_COVH		0x434F5648
#define SBI_EXT_OPENSBI		0x0A000001	/* FID 0: TEERET, the TSM's only */
#define COVH_SDID_SHIFT		26
#define COVH_GET_TSM_INFO	0
#define COVH_CONVERT_PAGES	1
#define COVH_RECLAIM_PAGES	2
#define COVH_GLOBAL_FENCE	3
#define COVH_LOCAL_FENCE	4
#define COVH_CREATE_TVM		5
#define COVH_FINALIZE_TVM	6
#define COVH_DESTROY_TVM	8
#define COVH_ADD_TVM_MEMORY_REGION	9
#define COVH_ADD_TVM_PAGE_TABLE_PAGES	10
#define COVH_ADD_TVM_MEASURED_PAGES	11
#define COVH_ADD_TVM_ZERO_PAGES	12
#define COVH_ADD_TVM_SHARED_PAGES	13
#define COVH_CREATE_TVM_VCPU	14
#define COVH_RUN_TVM_VCPU	15
#define COVH_TVM_FENCE		16
#define COVH_TVM_INVALIDATE_PAGES	17
#define COVH_TVM_VALIDATE_PAGES	18
#define COVH_TVM_REMOVE_PAGES	19
#define TVMM_COVH_GET_STATS	0xf000	/* this TSM's own (tsm/README.md) */
#define TVMM_COVH_READ_TVM_MEASUREMENT	0xf001
#define TSM_MAX_VCPUS		8
#define PAGE_4K			0
#define PAGE_2MB		1

#define SBI_EXT_NACL		0x4E41434C
#define NACL_PROBE_FEATURE	0
#define NACL_SET_SHMEM		1
#define NACL_SHMEM_ORDER	2	/* 12 KiB used */
#define NACL_GPR(n)		(n)	/* u64 index into the shared memory */
#define NACL_CSR(csr)		(512 + ((((csr) >> 2) & 0x300) | ((csr) & 0xff)))
#define CSR_HTVAL_NR		0x643
#define CSR_HTINST_NR		0x64a
#define CSR_HVIP_NR		0x645
#define CSR_VSIE_NR		0x204
#define SBI_EXT_COVG		0x434F5647
#define TEST_EID		0x54534554
#define SBI_EXT_HSM_EID		0x48534D
#ifndef SBI_ERR_NO_SHMEM
#define SBI_ERR_NO_SHMEM	-9
#endif
#ifndef SBI_ERR_INVALID_STATE
#define SBI_ERR_INVALID_STATE	-10
#endif

#define TSM_READY		2
#define TSM_MAX_TVMS		16
#define TSM_IMPL_ID		0x74766d6d
#define CAP_MEMORY_ALLOCATION	5

static bool expect_tsm = true;
module_param(expect_tsm, bool, 0444);
MODULE_PARM_DESC(expect_tsm, "the firmware has a TSM (else: check that nothing offers COVH)");

static unsigned long tsm_base = 0x17f000000UL;
module_param(tsm_base, ulong, 0444);
MODULE_PARM_DESC(tsm_base, "physical address of the TSM's memory");

struct tsm_info {
	u32 tsm_state;
	u32 tsm_impl_id;
	u32 tsm_version;
	u32 pad;
	u64 tsm_capabilities;
	u64 tvm_state_pages;
	u64 tvm_max_vcpus;
	u64 tvm_vcpu_state_pages;
};

struct tvm_params {
	unsigned long pgd;
	unsigned long state;
};

struct tsm_stats {
	u64 converting;
	u64 confidential;
	u64 assigned;
	u64 shared_mapped;
	u64 shared_maps;
	u64 tvms;
	u64 gstage_pool_used;
	u64 gstage_pool_size;
};

static int case_no, failed;
static void *buf;	/* a page of the host's memory */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		pr_info("    # %s:%d: %s\n", __func__, __LINE__, #cond);	\
		return false;						\
	}								\
} while (0)

static struct sbiret covh(unsigned long fid, unsigned long a0, unsigned long a1)
{
	return sbi_ecall(SBI_EXT_COVH, fid, a0, a1, 0, 0, 0, 0);
}

static struct sbiret covh3(unsigned long fid, unsigned long a0, unsigned long a1,
			   unsigned long a2)
{
	return sbi_ecall(SBI_EXT_COVH, fid, a0, a1, a2, 0, 0, 0);
}

static struct sbiret covh6(unsigned long fid, unsigned long a0, unsigned long a1,
			   unsigned long a2, unsigned long a3, unsigned long a4,
			   unsigned long a5)
{
	return sbi_ecall(SBI_EXT_COVH, fid, a0, a1, a2, a3, a4, a5);
}

/* A condition that must hold; else the case fails (after its cleanup). */
#define CHECK_GOTO(cond) do {						\
	if (!(cond)) {							\
		pr_info("    # %s:%d: %s\n", __func__, __LINE__, #cond);	\
		goto out;						\
	}								\
} while (0)

/* A call that must fail with @want (or succeed, for 0); else the case fails. */
#define EXPECT(call, want) do {						\
	long __err = (call).error, __want = (want);			\
	if (__err != __want) {						\
		pr_info("    # %s:%d: %s: %ld, want %ld\n", __func__,	\
			__LINE__, #call, __err, __want);		\
		goto out;						\
	}								\
} while (0)

static bool supd_probe(void)
{
	CHECK(sbi_probe_extension(SBI_EXT_SUPD) > 0);
	return true;
}

static bool supd_active_domains(void)
{
	struct sbiret r = sbi_ecall(SBI_EXT_SUPD, 0, 0, 0, 0, 0, 0, 0);

	CHECK(r.error == SBI_SUCCESS);
	CHECK(r.value == 0x3);
	r = sbi_ecall(SBI_EXT_SUPD, 1, 0, 0, 0, 0, 0, 0);
	CHECK(r.error == SBI_ERR_NOT_SUPPORTED);
	return true;
}

static bool covh_probe(void)
{
	CHECK(sbi_probe_extension(SBI_EXT_COVH) > 0);
	return true;
}

/* TEERET is the TSM domain's: the host neither sees nor may call it. */
static bool teeret_hidden(void)
{
	struct sbiret r;

	CHECK(sbi_probe_extension(SBI_EXT_OPENSBI) <= 0);
	r = sbi_ecall(SBI_EXT_OPENSBI, 0, 0, 0, 0, 0, 0, 0);
	CHECK(r.error == SBI_ERR_NOT_SUPPORTED);
	return true;
}

static bool tsm_info(void)
{
	struct tsm_info *info = buf;
	struct sbiret r;

	memset(buf, 0xa5, PAGE_SIZE);
	r = covh(COVH_GET_TSM_INFO, virt_to_phys(buf), sizeof(*info));
	CHECK(r.error == SBI_SUCCESS);
	CHECK(r.value == sizeof(*info));
	CHECK(info->tsm_state == TSM_READY);
	CHECK(info->tsm_impl_id == TSM_IMPL_ID);
	CHECK(info->tsm_version != 0);
	CHECK(info->tsm_capabilities & BIT(CAP_MEMORY_ALLOCATION));
	/* Nothing past the structure is written. */
	CHECK(((u8 *)buf)[sizeof(*info)] == 0xa5);
	pr_info("    # TSM version %#x, capabilities %#llx, %llu vCPU(s)\n",
		info->tsm_version, info->tsm_capabilities, info->tvm_max_vcpus);
	return true;
}

static bool tsm_info_bad_input(void)
{
	unsigned long pa = virt_to_phys(buf);
	struct sbiret r;

	r = covh(COVH_GET_TSM_INFO, pa, sizeof(struct tsm_info) - 1);
	CHECK(r.error == SBI_ERR_INVALID_PARAM);
	r = covh(COVH_GET_TSM_INFO, pa + 2, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_ADDRESS);
	/* The TSM's own memory, MMIO (the UART), past the end, wrapping. */
	r = covh(COVH_GET_TSM_INFO, tsm_base, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_ADDRESS);
	r = covh(COVH_GET_TSM_INFO, tsm_base - 16, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_ADDRESS);
	r = covh(COVH_GET_TSM_INFO, 0x10000000, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_ADDRESS);
	r = covh(COVH_GET_TSM_INFO, -16UL, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_ADDRESS);
	/* OpenSBI's own memory. */
	r = covh(COVH_GET_TSM_INFO, 0x80000000, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_ADDRESS);
	return true;
}

/* The TSM writes only into the host's own pages, never a converted one. */
static bool tsm_info_into_converted_page(void)
{
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long pa;
	bool ok;

	CHECK(page);
	pa = page_to_phys(page);
	memset(page_address(page), 0x3c, PAGE_SIZE);
	ok = !covh(COVH_CONVERT_PAGES, pa, 1).error &&
	     covh(COVH_GET_TSM_INFO, pa, sizeof(struct tsm_info)).error ==
	     SBI_ERR_INVALID_ADDRESS &&
	     ((u8 *)page_address(page))[0] == 0x3c &&
	     !covh(COVH_RECLAIM_PAGES, pa, 1).error;
	__free_page(page);
	CHECK(ok);
	return true;
}

static bool covh_sdid(void)
{
	unsigned long pa = virt_to_phys(buf);
	struct sbiret r;

	r = covh(COVH_GET_TSM_INFO | (1UL << COVH_SDID_SHIFT), pa, sizeof(struct tsm_info));
	CHECK(r.error == SBI_SUCCESS);
	r = covh(COVH_GET_TSM_INFO | (2UL << COVH_SDID_SHIFT), pa, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_PARAM);
	r = covh(COVH_GET_TSM_INFO | (63UL << COVH_SDID_SHIFT), pa, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_PARAM);
	r = covh(1000, 0, 0);
	CHECK(r.error == SBI_ERR_NOT_SUPPORTED);
	/* FID bits [25:16] are reserved, and so is a6 above bit 31. */
	r = covh(COVH_GET_TSM_INFO | (1UL << 16), pa, sizeof(struct tsm_info));
	CHECK(r.error == SBI_ERR_INVALID_PARAM);
	/* sbi_ecall() takes an int FID: a6 by hand. */
	{
		register unsigned long a0 asm("a0") = pa;
		register unsigned long a1 asm("a1") = sizeof(struct tsm_info);
		register unsigned long a6 asm("a6") = COVH_GET_TSM_INFO | (1UL << 32);
		register unsigned long a7 asm("a7") = SBI_EXT_COVH;

		asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
		CHECK((long)a0 == SBI_ERR_INVALID_PARAM);
	}
	return true;
}

/* The TSM-driver gives the host back the CSRs a TSM would use for TVMs. */
static bool host_csrs_survive(void)
{
	unsigned long vss, vsepc, vstval, htval, sepc, stval, scause, hedeleg, vstvec;
	unsigned long s2, t3, a5, pa = virt_to_phys(buf);
	bool ok;

	local_irq_disable();
	vss = csr_swap(CSR_VSSCRATCH, 0x1234567890abcdefUL);
	vsepc = csr_swap(CSR_VSEPC, 0xfedcba9876543210UL);
	vstval = csr_swap(CSR_VSTVAL, 0x5a5a5a5a5a5a5a5aUL);
	vstvec = csr_swap(CSR_VSTVEC, 0x44440000UL);
	htval = csr_swap(CSR_HTVAL, 0x0123456789UL);
	sepc = csr_swap(CSR_SEPC, 0x1110UL);
	stval = csr_swap(CSR_STVAL, 0x2222UL);
	scause = csr_swap(CSR_SCAUSE, 0x3333UL);
	hedeleg = csr_swap(CSR_HEDELEG, 0x100UL);
	/*
	 * The TSM writes stvec and sscratch and uses every register: the
	 * host must get all of them back but a0 and a1.
	 */
	{
		register unsigned long ra0 asm("a0") = pa;
		register unsigned long ra1 asm("a1") = sizeof(struct tsm_info);
		register unsigned long ra5 asm("a5") = 0xa5a5a5a5UL;
		register unsigned long ra6 asm("a6") = COVH_GET_TSM_INFO;
		register unsigned long ra7 asm("a7") = SBI_EXT_COVH;

		asm volatile("li s2, 0x5252\n\tli t3, 0x7373\n\tecall\n\t"
			     "mv %[s2], s2\n\tmv %[t3], t3"
			     : "+r"(ra0), "+r"(ra1), [s2] "=&r"(s2), [t3] "=&r"(t3),
			       "+r"(ra5), "+r"(ra6), "+r"(ra7)
			     : : "s2", "t3", "memory");
		a5 = ra5;
		ok = ra0 == 0 && ra6 == COVH_GET_TSM_INFO && ra7 == SBI_EXT_COVH;
	}
	ok = ok && s2 == 0x5252 && t3 == 0x7373 && a5 == 0xa5a5a5a5UL;
	ok = ok && csr_read(CSR_VSSCRATCH) == 0x1234567890abcdefUL &&
	     csr_read(CSR_VSEPC) == 0xfedcba9876543210UL &&
	     csr_read(CSR_VSTVAL) == 0x5a5a5a5a5a5a5a5aUL &&
	     csr_read(CSR_VSTVEC) == 0x44440000UL &&
	     csr_read(CSR_HTVAL) == 0x0123456789UL &&
	     csr_read(CSR_SEPC) == 0x1110UL && csr_read(CSR_STVAL) == 0x2222UL &&
	     csr_read(CSR_SCAUSE) == 0x3333UL && csr_read(CSR_HEDELEG) == 0x100UL;
	csr_write(CSR_VSSCRATCH, vss);
	csr_write(CSR_VSEPC, vsepc);
	csr_write(CSR_VSTVAL, vstval);
	csr_write(CSR_VSTVEC, vstvec);
	csr_write(CSR_HTVAL, htval);
	csr_write(CSR_SEPC, sepc);
	csr_write(CSR_STVAL, stval);
	csr_write(CSR_SCAUSE, scause);
	csr_write(CSR_HEDELEG, hedeleg);
	local_irq_enable();
	CHECK(ok);
	return true;
}

/* PMP: the host's domain cannot read the TSM's memory; its own it can. */
static bool host_cannot_read_tsm(void)
{
	void __iomem *tsm, *own;
	u64 v;
	long ret;

	tsm = ioremap(tsm_base, PAGE_SIZE);
	CHECK(tsm);
	ret = copy_from_kernel_nofault(&v, (void __force *)tsm, sizeof(v));
	iounmap(tsm);
	CHECK(ret == -EFAULT);
	own = ioremap(virt_to_phys(buf), PAGE_SIZE);
	CHECK(own);
	ret = copy_from_kernel_nofault(&v, (void __force *)own, sizeof(v));
	iounmap(own);
	CHECK(ret == 0);
	return true;
}

/* Without a TSM (QEMU's own OpenSBI) the host sees no CoVE at all. */
static bool no_tsm(void)
{
	CHECK(sbi_probe_extension(SBI_EXT_SUPD) <= 0);
	CHECK(sbi_probe_extension(SBI_EXT_COVH) <= 0);
	CHECK(covh(COVH_GET_TSM_INFO, virt_to_phys(buf), sizeof(struct tsm_info)).error ==
	      SBI_ERR_NOT_SUPPORTED);
	return true;
}

static void local_fence(void *err)
{
	struct sbiret r = covh(COVH_LOCAL_FENCE, 0, 0);

	if (r.error)
		atomic_inc(err);
}

/* global_fence, then local_fence on every hart: the conversion completes. */
static bool fence_all(void)
{
	atomic_t err = ATOMIC_INIT(0);
	struct sbiret r = covh(COVH_GLOBAL_FENCE, 0, 0);

	CHECK(r.error == SBI_SUCCESS);
	on_each_cpu(local_fence, &err, 1);
	CHECK(!atomic_read(&err));
	return true;
}

static bool convert_fence_reclaim(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 2);
	unsigned long pa;
	struct sbiret r;
	bool ok = false;
	u8 *va;
	int i;

	CHECK(pages);
	va = page_address(pages);
	pa = page_to_phys(pages);
	memset(va, 0x5a, 4 * PAGE_SIZE);
	r = covh(COVH_CONVERT_PAGES, pa, 4);
	if (r.error != SBI_SUCCESS)
		goto out;
	/* Converted already, in part or whole. */
	if (covh(COVH_CONVERT_PAGES, pa, 4).error != SBI_ERR_INVALID_ADDRESS ||
	    covh(COVH_CONVERT_PAGES, pa + 3 * PAGE_SIZE, 1).error != SBI_ERR_INVALID_ADDRESS)
		goto out;
	if (!fence_all())
		goto out;
	/* The fence is over: a new one may start (and is finished at once). */
	if (!fence_all())
		goto out;
	/* Reclaim gives them back zeroed; then they are the host's again. */
	if (covh(COVH_RECLAIM_PAGES, pa, 4).error != SBI_SUCCESS)
		goto out;
	for (i = 0; i < 4 * PAGE_SIZE; i++) {
		if (va[i])
			goto out;
	}
	if (covh(COVH_RECLAIM_PAGES, pa, 4).error != SBI_ERR_INVALID_ADDRESS)
		goto out;
	ok = true;
out:
	__free_pages(pages, 2);
	CHECK(ok);
	return true;
}

/* Converted pages are usable only once every hart has fenced. */
static bool partial_fence(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 4);
	struct tvm_params *params = buf;
	atomic_t err = ATOMIC_INIT(0);
	struct sbiret r, r2;
	unsigned long pa;
	bool ok = false;

	CHECK(pages);
	pa = page_to_phys(pages);
	params->pgd = pa;
	params->state = pa + 4 * PAGE_SIZE;
	if (covh(COVH_CONVERT_PAGES, pa, 16).error)
		goto free;
	/* Started and fenced on this hart only: the conversion is not complete. */
	preempt_disable();
	r = covh(COVH_GLOBAL_FENCE, 0, 0);
	r2 = covh(COVH_LOCAL_FENCE, 0, 0);
	preempt_enable();
	ok = !r.error && !r2.error &&
	     covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params)).error ==
	     SBI_ERR_INVALID_PARAM;
	/* Reclaimed and converted again meanwhile: this fence does not cover it. */
	ok = ok && !covh(COVH_RECLAIM_PAGES, pa, 16).error &&
	     !covh(COVH_CONVERT_PAGES, pa, 16).error;
	on_each_cpu(local_fence, &err, 1);
	ok = ok && !atomic_read(&err) &&
	     covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params)).error ==
	     SBI_ERR_INVALID_PARAM;
	/* The caller's hart fences as it starts one: the others complete it. */
	preempt_disable();
	r = covh(COVH_GLOBAL_FENCE, 0, 0);
	smp_call_function(local_fence, &err, 1);
	preempt_enable();
	ok = ok && !r.error && !atomic_read(&err);
	r = covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params));
	ok = ok && !r.error && !covh(COVH_DESTROY_TVM, r.value, 0).error;
	ok = !covh(COVH_RECLAIM_PAGES, pa, 16).error && ok;
free:
	__free_pages(pages, 4);
	CHECK(ok);
	return true;
}

/* Two global fences cannot overlap. */
static bool global_fence_twice(void)
{
	atomic_t err = ATOMIC_INIT(0);

	CHECK(covh(COVH_GLOBAL_FENCE, 0, 0).error == SBI_SUCCESS);
	CHECK(covh(COVH_GLOBAL_FENCE, 0, 0).error == SBI_ERR_ALREADY_STARTED);
	on_each_cpu(local_fence, &err, 1);
	CHECK(!atomic_read(&err));
	CHECK(covh(COVH_LOCAL_FENCE, 0, 0).error == SBI_SUCCESS);
	return true;
}

static bool convert_bad_input(void)
{
	unsigned long pa = virt_to_phys(buf);

	CHECK(covh(COVH_CONVERT_PAGES, pa + 8, 1).error == SBI_ERR_INVALID_ADDRESS);
	CHECK(covh(COVH_CONVERT_PAGES, pa, 0).error == SBI_ERR_INVALID_PARAM);
	CHECK(covh(COVH_CONVERT_PAGES, pa, -1UL >> 1).error == SBI_ERR_INVALID_PARAM);
	CHECK(covh(COVH_CONVERT_PAGES, -4096UL, 1).error == SBI_ERR_INVALID_ADDRESS);
	CHECK(covh(COVH_CONVERT_PAGES, pa, 513).error == SBI_ERR_INVALID_PARAM);
	CHECK(covh(COVH_CONVERT_PAGES, tsm_base, 1).error == SBI_ERR_INVALID_ADDRESS);
	CHECK(covh(COVH_CONVERT_PAGES, 0x10000000, 1).error == SBI_ERR_INVALID_ADDRESS);
	/* OpenSBI's own memory. */
	CHECK(covh(COVH_CONVERT_PAGES, 0x80000000, 1).error == SBI_ERR_INVALID_ADDRESS);
	/* All or nothing: the last page is the TSM's, so none converts. */
	CHECK(covh(COVH_CONVERT_PAGES, tsm_base - PAGE_SIZE, 2).error ==
	      SBI_ERR_INVALID_ADDRESS);
	CHECK(covh(COVH_RECLAIM_PAGES, tsm_base - PAGE_SIZE, 1).error ==
	      SBI_ERR_INVALID_ADDRESS);
	/* Never converted. */
	CHECK(covh(COVH_RECLAIM_PAGES, pa, 1).error == SBI_ERR_INVALID_ADDRESS);
	CHECK(covh(COVH_RECLAIM_PAGES, pa + 8, 1).error == SBI_ERR_INVALID_ADDRESS);
	CHECK(covh(COVH_RECLAIM_PAGES, pa, 0).error == SBI_ERR_INVALID_PARAM);
	return true;
}

/*
 * 16 pages of host memory, 16 KiB aligned: converted and fenced for a TVM
 * (4 page directory, 1 state, the rest page-table pages), reclaimed after.
 */
#define TVM_PAGES 16

static bool create_destroy_tvm(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 4);
	struct tvm_params *params = buf;
	unsigned long pa, id, id2;
	struct sbiret r;
	bool ok = false;

	CHECK(pages);
	pa = page_to_phys(pages);
	if (covh(COVH_CONVERT_PAGES, pa, TVM_PAGES).error || !fence_all())
		goto free;

	/* Bad parameters first: none of them takes a page. */
	params->pgd = pa + PAGE_SIZE;		/* not 16 KiB aligned */
	params->state = pa + 4 * PAGE_SIZE;
	if (covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params)).error !=
	    SBI_ERR_INVALID_PARAM)
		goto reclaim;
	params->pgd = pa;
	params->state = pa + 2 * PAGE_SIZE;	/* inside the page directory */
	if (covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params)).error !=
	    SBI_ERR_INVALID_PARAM)
		goto reclaim;
	params->state = virt_to_phys(buf);	/* not converted */
	if (covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params)).error !=
	    SBI_ERR_INVALID_PARAM)
		goto reclaim;
	params->state = pa + 4 * PAGE_SIZE;
	/* The parameters in a converted page. */
	if (covh(COVH_CREATE_TVM, pa + 6 * PAGE_SIZE, sizeof(*params)).error !=
	    SBI_ERR_INVALID_ADDRESS)
		goto reclaim;
	params->state = pa + 4 * PAGE_SIZE;
	if (covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params) - 1).error !=
	    SBI_ERR_INVALID_PARAM ||
	    covh(COVH_CREATE_TVM, tsm_base, sizeof(*params)).error != SBI_ERR_INVALID_ADDRESS ||
	    covh(COVH_CREATE_TVM, virt_to_phys(params) + 4, sizeof(*params)).error !=
	    SBI_ERR_INVALID_ADDRESS)
		goto reclaim;

	r = covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params));
	if (r.error) {
		pr_info("    # create_tvm: %ld\n", r.error);
		goto reclaim;
	}
	id = r.value;
	/* Its pages are in use: not reclaimable, not usable twice. */
	if (covh(COVH_RECLAIM_PAGES, pa, 1).error != SBI_ERR_INVALID_ADDRESS ||
	    covh(COVH_RECLAIM_PAGES, pa + 4 * PAGE_SIZE, 1).error != SBI_ERR_INVALID_ADDRESS ||
	    covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params)).error !=
	    SBI_ERR_INVALID_PARAM ||
	    covh(COVH_DESTROY_TVM, id + TSM_MAX_TVMS, 0).error != SBI_ERR_INVALID_PARAM ||
	    covh(COVH_DESTROY_TVM, id - TSM_MAX_TVMS, 0).error != SBI_ERR_INVALID_PARAM)
		goto destroy;
	/* Regions: 4 KiB granules, no overlap, below 2^50. */
	if (covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0x80000000, 0x100000).error ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0x800ff000, 0x2000).error !=
	    SBI_ERR_INVALID_ADDRESS ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0x90000800, 0x1000).error !=
	    SBI_ERR_INVALID_ADDRESS ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0x90000000, 0x800).error !=
	    SBI_ERR_INVALID_PARAM ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0x90000000, 0).error !=
	    SBI_ERR_INVALID_PARAM ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id, 1UL << 50, 0x1000).error !=
	    SBI_ERR_INVALID_ADDRESS ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id, -4096UL, 0x2000).error !=
	    SBI_ERR_INVALID_ADDRESS ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, id + 1, 0x90000000, 0x1000).error !=
	    SBI_ERR_INVALID_PARAM ||
	    covh3(COVH_ADD_TVM_MEMORY_REGION, 0, 0x90000000, 0x1000).error !=
	    SBI_ERR_INVALID_PARAM)
		goto destroy;
	/* Page-table pages: converted ones only, each once. */
	if (covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 5 * PAGE_SIZE, 11).error ||
	    covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 5 * PAGE_SIZE, 1).error !=
	    SBI_ERR_INVALID_ADDRESS ||
	    covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, virt_to_phys(buf), 1).error !=
	    SBI_ERR_INVALID_ADDRESS ||
	    covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa, 0).error != SBI_ERR_INVALID_PARAM ||
	    covh(COVH_RECLAIM_PAGES, pa + 15 * PAGE_SIZE, 1).error != SBI_ERR_INVALID_ADDRESS)
		goto destroy;
	ok = true;
destroy:
	r = covh(COVH_DESTROY_TVM, id, 0);
	ok = ok && !r.error;
	/* Destroyed: the ID is gone, and its pages can make another TVM. */
	ok = ok && covh(COVH_DESTROY_TVM, id, 0).error == SBI_ERR_INVALID_PARAM;
	ok = ok && covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0xa0000000, 0x1000).error ==
		   SBI_ERR_INVALID_PARAM;
	r = covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params));
	ok = ok && !r.error;
	id2 = r.value;
	ok = ok && id2 != id;
	ok = ok && !covh(COVH_DESTROY_TVM, id2, 0).error;
reclaim:
	ok = !covh(COVH_RECLAIM_PAGES, pa, TVM_PAGES).error && ok;
free:
	__free_pages(pages, 4);
	CHECK(ok);
	return true;
}

/*
 * Converts (and fences) @n pages from @pa and makes a TVM of them: its page
 * directory at @pa, its state page at @pa + 4 pages, a 1 MiB confidential
 * region at GPA.  Returns the TVM's ID, or 0 if a step failed (the pages
 * are left converted, or not, for the caller's cleanup).
 */
#define GPA		0x80000000UL

static unsigned long new_tvm(unsigned long pa, unsigned long n)
{
	struct tvm_params *params = buf;
	struct sbiret r;

	if (covh(COVH_CONVERT_PAGES, pa, n).error || !fence_all())
		return 0;
	params->pgd = pa;
	params->state = pa + 4 * PAGE_SIZE;
	r = covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params));
	if (r.error)
		return 0;
	if (covh3(COVH_ADD_TVM_MEMORY_REGION, r.value, GPA, 0x100000).error) {
		covh(COVH_DESTROY_TVM, r.value, 0);
		return 0;
	}
	return r.value;
}

/*
 * A TVM built the whole way short of running it: page-table pages as its
 * quota, measured pages (the copy, not the source, is what it gets), vCPUs,
 * finalize, then zero pages; every refusal the spec lists on the way.
 * Destroying it scrubs what it held: reclaim finds zeroes.
 */
#define BUILD_PAGES	32	/* converted: 0-3 pgd, 4 state, 5-10 tables, */
#define DATA		12	/* 12-13 measured, 14-15 zero, 16-17 vCPU state */

static bool build_tvm(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 5), *src_pages = alloc_pages(GFP_KERNEL, 1);
	unsigned long pa, src, id = 0, i;
	bool ok = false, reclaimed = false;
	u8 *va, *src_va;

	CHECK(pages && src_pages);
	pa = page_to_phys(pages);
	va = page_address(pages);
	src = page_to_phys(src_pages);
	src_va = page_address(src_pages);
	for (i = 0; i < 2 * PAGE_SIZE; i++)
		src_va[i] = (u8)(i * 7 + 1);
	id = new_tvm(pa, BUILD_PAGES);
	CHECK_GOTO(id);

	/* Two table pages: the first mapping needs three. */
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 5 * PAGE_SIZE, 2), 0);
	EXPECT(covh6(COVH_ADD_TVM_MEASURED_PAGES, id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2,
		     GPA), SBI_ERR_FAILURE);
	/* Nothing was taken: the destination is still unassigned. */
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + DATA * PAGE_SIZE, 1), 0);
	EXPECT(covh(COVH_CONVERT_PAGES, pa + DATA * PAGE_SIZE, 1), 0);
	if (!fence_all())
		goto out;
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 7 * PAGE_SIZE, 4), 0);
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 11 * PAGE_SIZE, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 11 * PAGE_SIZE, 513),
	       SBI_ERR_INVALID_PARAM);

	/* Measured pages: each refusal before the one that works. */
#define MEASURED(id, s, d, type, n, gpa) \
	covh6(COVH_ADD_TVM_MEASURED_PAGES, id, s, d, type, n, gpa)
	EXPECT(MEASURED(id + 1, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(MEASURED(0, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA), SBI_ERR_INVALID_PARAM);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_2MB, 2, GPA), SBI_ERR_INVALID_PARAM);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, 4, 2, GPA), SBI_ERR_INVALID_PARAM);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 0, GPA), SBI_ERR_INVALID_PARAM);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 513, GPA), SBI_ERR_INVALID_PARAM);
	EXPECT(MEASURED(id, src + 8, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(MEASURED(id, pa + 20 * PAGE_SIZE, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA),
	       SBI_ERR_INVALID_ADDRESS);	/* source converted */
	EXPECT(MEASURED(id, tsm_base, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA),
	       SBI_ERR_INVALID_ADDRESS);	/* source the TSM's */
	EXPECT(MEASURED(id, src, src, PAGE_4K, 2, GPA), SBI_ERR_INVALID_ADDRESS);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE + 8, PAGE_4K, 2, GPA),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(MEASURED(id, src, pa, PAGE_4K, 2, GPA), SBI_ERR_INVALID_ADDRESS);	/* pgd */
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA + 8),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA + 0x100000),
	       SBI_ERR_INVALID_ADDRESS);	/* outside every region */
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA + 0xff000),
	       SBI_ERR_INVALID_ADDRESS);	/* across the region's end */
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA), 0);
	/* Twice: the GPA is mapped, the destination is the TVM's. */
	EXPECT(MEASURED(id, src, pa + 14 * PAGE_SIZE, PAGE_4K, 1, GPA + PAGE_SIZE),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(MEASURED(id, src, pa + DATA * PAGE_SIZE, PAGE_4K, 1, GPA + 0x10000),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + DATA * PAGE_SIZE, 1), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + 5 * PAGE_SIZE, 1), SBI_ERR_INVALID_ADDRESS);
	/* The copy was taken at the call: the source may change now. */
	if (memcmp(va + DATA * PAGE_SIZE, src_va, 2 * PAGE_SIZE)) {
		pr_info("    # the measured pages do not hold the source\n");
		goto out;
	}
	/* Zero pages come after finalize. */
	EXPECT(covh6(COVH_ADD_TVM_ZERO_PAGES, id, pa + 14 * PAGE_SIZE, PAGE_4K, 2,
		     GPA + 0x10000, 0), SBI_ERR_INVALID_PARAM);

	/* vCPUs: IDs below tvm_max_vcpus, once each, on a converted page. */
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 0, pa + 16 * PAGE_SIZE), 0);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 0, pa + 17 * PAGE_SIZE), SBI_ERR_INVALID_PARAM);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, TSM_MAX_VCPUS, pa + 17 * PAGE_SIZE),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id + 1, 1, pa + 17 * PAGE_SIZE),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 1, src), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 1, pa + 17 * PAGE_SIZE + 64),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 1, pa + 16 * PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 1, pa + 17 * PAGE_SIZE), 0);

	/* Finalize: the identity is 0 or a 64-byte aligned host buffer. */
	memset(buf, 0x11, 64);
	EXPECT(covh6(COVH_FINALIZE_TVM, id, GPA, GPA + 0x1000, virt_to_phys(buf) + 32, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(COVH_FINALIZE_TVM, id, GPA, GPA + 0x1000, pa + 20 * PAGE_SIZE, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(COVH_FINALIZE_TVM, id + 1, GPA, GPA + 0x1000, 0, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(COVH_FINALIZE_TVM, id, GPA, GPA + 0x1000, virt_to_phys(buf), 0, 0), 0);
	EXPECT(covh6(COVH_FINALIZE_TVM, id, GPA, GPA + 0x1000, 0, 0, 0), SBI_ERR_INVALID_PARAM);
	/* Finalized: no more measured pages, regions or vCPUs. */
	EXPECT(MEASURED(id, src, pa + 14 * PAGE_SIZE, PAGE_4K, 1, GPA + 0x20000),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh3(COVH_ADD_TVM_MEMORY_REGION, id, 0x90000000, 0x1000), SBI_ERR_INVALID_PARAM);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, id, 2, pa + 18 * PAGE_SIZE), SBI_ERR_INVALID_PARAM);

	/* Zero pages now, with the same checks of page, GPA and type. */
#define ZERO(id, base, type, n, gpa) covh6(COVH_ADD_TVM_ZERO_PAGES, id, base, type, n, gpa, 0)
	va[14 * PAGE_SIZE] = 0xee;	/* the host wrote it before handing it over */
	EXPECT(ZERO(id, pa + 14 * PAGE_SIZE, PAGE_2MB, 2, GPA + 0x10000), SBI_ERR_INVALID_PARAM);
	EXPECT(ZERO(id, pa + 14 * PAGE_SIZE, PAGE_4K, 0, GPA + 0x10000), SBI_ERR_INVALID_PARAM);
	EXPECT(ZERO(id + 1, pa + 14 * PAGE_SIZE, PAGE_4K, 2, GPA + 0x10000),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(ZERO(id, src, PAGE_4K, 2, GPA + 0x10000), SBI_ERR_INVALID_ADDRESS);
	EXPECT(ZERO(id, pa + DATA * PAGE_SIZE, PAGE_4K, 2, GPA + 0x10000),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(ZERO(id, pa + 14 * PAGE_SIZE, PAGE_4K, 2, GPA), SBI_ERR_INVALID_ADDRESS);
	EXPECT(ZERO(id, pa + 14 * PAGE_SIZE, PAGE_4K, 2, 0x90000000), SBI_ERR_INVALID_ADDRESS);
	EXPECT(ZERO(id, pa + 14 * PAGE_SIZE, PAGE_4K, 2, GPA + 0x10000), 0);
	if (va[14 * PAGE_SIZE]) {
		pr_info("    # a zero page is not zero\n");
		goto out;
	}
	EXPECT(ZERO(id, pa + 18 * PAGE_SIZE, PAGE_4K, 1, GPA + 0x11000), SBI_ERR_INVALID_ADDRESS);

	/* Destroyed, every page it held is scrubbed and reclaimable. */
	EXPECT(covh(COVH_DESTROY_TVM, id, 0), 0);
	id = 0;
	EXPECT(covh(COVH_RECLAIM_PAGES, pa, BUILD_PAGES), 0);
	reclaimed = true;
	for (i = 0; i < BUILD_PAGES * PAGE_SIZE; i++) {
		if (va[i]) {
			pr_info("    # byte %#lx not scrubbed\n", i);
			goto out;
		}
	}
	ok = true;
out:
	if (id)
		covh(COVH_DESTROY_TVM, id, 0);
	if (pages && !reclaimed && covh(COVH_RECLAIM_PAGES, pa, BUILD_PAGES).error)
		pages = NULL;	/* leaked rather than handed back while converted */
	if (pages)
		__free_pages(pages, 5);
	if (src_pages)
		__free_pages(src_pages, 1);
	return ok;
}

/*
 * Invalidate, fence, validate and remove, in and out of order: each step
 * needs the one before, a refused call changes nothing, and a removed page
 * comes back scrubbed and its GPA free.  No vCPU runs, so a TVM fence
 * completes at once.
 */
static bool invalidate_remove(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 4), *src_pages = alloc_page(GFP_KERNEL);
	unsigned long pa, src, id = 0, i;
	bool ok = false, converted = false;
	u8 *va;

	CHECK(pages && src_pages);
	pa = page_to_phys(pages);
	va = page_address(pages);
	src = page_to_phys(src_pages);
	memset(page_address(src_pages), 0x3c, PAGE_SIZE);
	converted = true;
	id = new_tvm(pa, 16);
	CHECK_GOTO(id);
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 5 * PAGE_SIZE, 6), 0);
	EXPECT(MEASURED(id, src, pa + 12 * PAGE_SIZE, PAGE_4K, 1, GPA), 0);
	EXPECT(MEASURED(id, src, pa + 13 * PAGE_SIZE, PAGE_4K, 1, GPA + PAGE_SIZE), 0);

#define INVAL(id, gpa, len) covh3(COVH_TVM_INVALIDATE_PAGES, id, gpa, len)
#define VALID(id, gpa, len) covh3(COVH_TVM_VALIDATE_PAGES, id, gpa, len)
#define REMOVE(id, gpa, len) covh3(COVH_TVM_REMOVE_PAGES, id, gpa, len)
	EXPECT(INVAL(id + 1, GPA, PAGE_SIZE), SBI_ERR_INVALID_PARAM);
	EXPECT(INVAL(id, GPA, 0), SBI_ERR_INVALID_PARAM);
	EXPECT(INVAL(id, GPA, 0x800), SBI_ERR_INVALID_PARAM);
	EXPECT(INVAL(id, GPA, 513 * PAGE_SIZE), SBI_ERR_INVALID_PARAM);
	EXPECT(INVAL(id, GPA + 8, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(INVAL(id, 1UL << 50, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(INVAL(id, -PAGE_SIZE, 2 * PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(INVAL(id, GPA + 2 * PAGE_SIZE, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	/* One page mapped, one not: refused whole. */
	EXPECT(INVAL(id, GPA + PAGE_SIZE, 2 * PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(VALID(id, GPA + PAGE_SIZE, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(REMOVE(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);

	EXPECT(INVAL(id, GPA, 2 * PAGE_SIZE), 0);
	EXPECT(INVAL(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(REMOVE(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);	/* not fenced */
	EXPECT(VALID(id, GPA, 2 * PAGE_SIZE), 0);
	EXPECT(VALID(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(REMOVE(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);

	EXPECT(INVAL(id, GPA, 2 * PAGE_SIZE), 0);
	/* Invalidated, the GPA still holds its page. */
	EXPECT(MEASURED(id, src, pa + 14 * PAGE_SIZE, PAGE_4K, 1, GPA), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_TVM_FENCE, id + 1, 0), SBI_ERR_INVALID_PARAM);
	EXPECT(covh(COVH_TVM_FENCE, id, 0), 0);
	EXPECT(covh(COVH_TVM_FENCE, id, 0), 0);	/* the last one completed */
	EXPECT(REMOVE(id + 1, GPA, PAGE_SIZE), SBI_ERR_INVALID_PARAM);
	EXPECT(REMOVE(id, GPA, 3 * PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(REMOVE(id, GPA, PAGE_SIZE), 0);
	EXPECT(REMOVE(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	EXPECT(VALID(id, GPA, PAGE_SIZE), SBI_ERR_INVALID_ADDRESS);
	/* Removed: the page is unassigned (and scrubbed), its GPA free. */
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + 13 * PAGE_SIZE, 1), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + 12 * PAGE_SIZE, 1), 0);
	for (i = 0; i < PAGE_SIZE; i++) {
		if (va[12 * PAGE_SIZE + i]) {
			pr_info("    # removed page not scrubbed at %#lx\n", i);
			goto out;
		}
	}
	EXPECT(MEASURED(id, src, pa + 14 * PAGE_SIZE, PAGE_4K, 1, GPA), 0);
	/* Fenced but not removed: validate reverts it. */
	EXPECT(VALID(id, GPA + PAGE_SIZE, PAGE_SIZE), 0);
	EXPECT(INVAL(id, GPA, 2 * PAGE_SIZE), 0);
	EXPECT(VALID(id, GPA, 2 * PAGE_SIZE), 0);

	EXPECT(covh(COVH_DESTROY_TVM, id, 0), 0);
	id = 0;
	EXPECT(covh(COVH_RECLAIM_PAGES, pa, 12), 0);
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + 13 * PAGE_SIZE, 3), 0);
	converted = false;
	ok = true;
out:
	if (id && covh(COVH_DESTROY_TVM, id, 0).error)
		pages = NULL;	/* still a TVM's: leaked rather than freed */
	/* Page by page: those the host has already refuse, which is fine. */
	for (i = 0; converted && pages && i < 16; i++)
		covh(COVH_RECLAIM_PAGES, pa + i * PAGE_SIZE, 1);
	if (pages)
		__free_pages(pages, 4);
	if (src_pages)
		__free_page(src_pages);
	return ok;
}

/*
 * The G-stage tables live in the TSM's pool: donations beyond what the
 * pool holds are refused with nothing taken.
 */
static bool page_table_pool_limit(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 10);
	struct tvm_params *params = buf;
	unsigned long pa, id = 0;
	bool ok = false, converted = false;

	CHECK(pages);
	pa = page_to_phys(pages);
	EXPECT(covh(COVH_CONVERT_PAGES, pa, 512), 0);
	EXPECT(covh(COVH_CONVERT_PAGES, pa + 512 * PAGE_SIZE, 512), 0);
	converted = true;
	if (!fence_all())
		goto out;
	params->pgd = pa;
	params->state = pa + 4 * PAGE_SIZE;
	{
		struct sbiret r = covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params));

		EXPECT(r, 0);
		id = r.value;
	}
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 512 * PAGE_SIZE, 512), 0);
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 8 * PAGE_SIZE, 504), SBI_ERR_FAILURE);
	/* Refused whole: those pages are still unassigned. */
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + 8 * PAGE_SIZE, 504), 0);
	EXPECT(covh(COVH_DESTROY_TVM, id, 0), 0);
	id = 0;
	ok = true;
out:
	if (id)
		covh(COVH_DESTROY_TVM, id, 0);
	if (converted) {
		/*
		 * What is still converted goes back; pages reclaimed above are
		 * refused, so reclaim in pieces.
		 */
		covh(COVH_RECLAIM_PAGES, pa, 8);
		if (covh(COVH_RECLAIM_PAGES, pa + 512 * PAGE_SIZE, 512).error ||
		    (!ok && covh(COVH_RECLAIM_PAGES, pa + 8 * PAGE_SIZE, 504).error))
			pages = NULL;
	}
	if (pages)
		__free_pages(pages, 10);
	return ok;
}

static struct sbiret nacl(unsigned long fid, unsigned long a0, unsigned long a1,
			  unsigned long a2)
{
	return sbi_ecall(SBI_EXT_NACL, fid, a0, a1, a2, 0, 0, 0);
}

/* The NACL shared memory: 4 KiB aligned, the host's own pages, flags 0. */
static bool nacl_shmem(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, NACL_SHMEM_ORDER);
	unsigned long pa;
	bool ok = false;
	int i;

	CHECK(pages);
	pa = page_to_phys(pages);
	if (sbi_probe_extension(SBI_EXT_NACL) <= 0) {
		pr_info("    # NACL is not offered\n");
		goto out;
	}
	for (i = 0; i < 4; i++) {
		struct sbiret r = nacl(NACL_PROBE_FEATURE, i, 0, 0);

		EXPECT(r, 0);
		if (r.value) {
			pr_info("    # NACL feature %d offered\n", i);
			goto out;
		}
	}
	EXPECT(nacl(NACL_SET_SHMEM, pa, 0, 1), SBI_ERR_INVALID_PARAM);
	EXPECT(nacl(NACL_SET_SHMEM, pa + 8, 0, 0), SBI_ERR_INVALID_PARAM);
	EXPECT(nacl(NACL_SET_SHMEM, pa, 1, 0), SBI_ERR_INVALID_ADDRESS);
	EXPECT(nacl(NACL_SET_SHMEM, tsm_base, 0, 0), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_CONVERT_PAGES, pa + 2 * PAGE_SIZE, 1), 0);
	EXPECT(nacl(NACL_SET_SHMEM, pa, 0, 0), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_RECLAIM_PAGES, pa + 2 * PAGE_SIZE, 1), 0);
	EXPECT(nacl(NACL_SET_SHMEM, pa, 0, 0), 0);
	EXPECT(nacl(NACL_SET_SHMEM, -1UL, -1UL, 0), 0);
	EXPECT(nacl(5, 0, 0, 0), SBI_ERR_NOT_SUPPORTED);
	ok = true;
out:
	__free_pages(pages, NACL_SHMEM_ORDER);
	return ok;
}

/*
 * A TVM that runs: payload.S, measured, on vCPU 0, driven through every
 * exit the TSM reports (forwarded ECALLs, COVG's MMIO regions, MMIO loads
 * and stores, a demand-zero page, the host's interrupts) to the fatal one
 * it ends with.  Runs on one CPU: the NACL shared memory is per hart.
 */
#define RUN_PAGES	32	/* 0-3 pgd, 4 state, 5-10 tables, 11-12 vCPUs, */
#define RUN_MEASURED	13	/* 13-14 payload, 15 zero page, 16 demand page, */
#define RUN_SHARED	17	/* 17, 18: SHARED_GPA before and after sharing */
#define ZERO_GPA	(PAYLOAD_GPA + 0x2000)
#define DEMAND_GPA	(PAYLOAD_GPA + 0x4000)
#define SHARED_GPA	(PAYLOAD_GPA + 0x6000)
#define SHARED_AT_END	(PAYLOAD_GPA + 0x30000)
#define SHARED_VALUE	0x1122334455667788UL
#define MMIO_GPA	0x10000000UL
#define COOKIE		0xc0ffee00c0ffeeUL

struct run_state {
	u64 *shm;
	u64 *host_page;		/* what the TVM shares */
	unsigned long pa, id, host_pa;
	int shared;		/* 0: confidential, 1: shared, 2: back */
	int steps;		/* a bit per report the payload made */
	int words;		/* measurement words that matched */
	int irqs, covg_exits;
	int secondary_runs;	/* vCPU 1 from its start to its stop */
	bool fatal;
	/* The other CPU, while vCPU 0 spins in the guest (racer()). */
	struct task_struct *racer;
	int racer_tries;
	int fence_waited;	/* a TVM fence still waiting for it */
	int remove_refused;	/* a removal refused for that */
	int remove_raced;	/* the vCPU trapped before the removal */
	bool removed;		/* and done once it trapped */
};

/*
 * On the other CPU while vCPU 0 is in the guest: a TVM fence waits for the
 * vCPU to trap into the TSM, and a page invalidated before it cannot be
 * removed until then.  (The demand page: the payload is done with it.)
 */
static int racer(void *arg)
{
	struct run_state *st = arg;

	while (!kthread_should_stop() && !st->removed) {
		st->racer_tries++;
		if (covh3(COVH_TVM_INVALIDATE_PAGES, st->id, DEMAND_GPA, PAGE_SIZE).error ||
		    covh(COVH_TVM_FENCE, st->id, 0).error)
			break;
		if (covh(COVH_TVM_FENCE, st->id, 0).error == SBI_ERR_ALREADY_STARTED) {
			/* The vCPU is in the guest: the fence waits for it. */
			long err = covh3(COVH_TVM_REMOVE_PAGES, st->id, DEMAND_GPA,
					 PAGE_SIZE).error;

			st->fence_waited++;
			if (err && err != SBI_ERR_INVALID_ADDRESS)
				break;
			if (!err) {
				/*
				 * Removed: the vCPU trapped between the fence and
				 * the removal (a host interrupt).  Map the page
				 * again and race once more.
				 */
				if (++st->remove_raced > 50 ||
				    ZERO(st->id, st->pa + 16 * PAGE_SIZE, PAGE_4K, 1,
					 DEMAND_GPA).error)
					break;
				continue;
			}
			st->remove_refused++;
			while (!kthread_should_stop() && !st->removed) {
				st->removed = !covh3(COVH_TVM_REMOVE_PAGES, st->id, DEMAND_GPA,
						     PAGE_SIZE).error;
				usleep_range(200, 400);
			}
			break;
		}
		/* It was out of the guest, so the fence is done: undo, retry. */
		if (covh3(COVH_TVM_VALIDATE_PAGES, st->id, DEMAND_GPA, PAGE_SIZE).error)
			break;
		usleep_range(200, 400);
	}
	/* kthread_stop() needs the thread alive. */
	while (!kthread_should_stop())
		usleep_range(200, 400);
	return 0;
}

/* This TSM's get_stats into @s. */
static bool get_stats(struct tsm_stats *s)
{
	struct sbiret r = covh(TVMM_COVH_GET_STATS, virt_to_phys(buf), sizeof(*s));

	CHECK(r.error == SBI_SUCCESS && r.value == sizeof(*s));
	memcpy(s, buf, sizeof(*s));
	return true;
}

/* Initial register @index of TVM @id, read by the host, is @want. */
static bool host_reads_measurement(unsigned long id, unsigned long index, const u64 *want)
{
	struct sbiret r;

	memset(buf, 0xa5, 64);
	r = covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, index, virt_to_phys(buf), 48, 0, 0);
	CHECK(r.error == SBI_SUCCESS && r.value == 48);
	CHECK(!memcmp(buf, want, 48));
	return true;
}

/*
 * This TSM's own calls: get_stats counts what each conversion, fence,
 * TVM and reclaim moves; read_tvm_measurement gives initial registers
 * only, and refuses what it must.
 */
#define STATS_PAGES	16

static bool stats_and_host_measurement(void)
{
	static const u64 zeros[6];
	struct page *pages = alloc_pages(GFP_KERNEL, 4);
	struct tsm_stats base, s;
	struct tvm_params *params;
	unsigned long pa, id = 0;
	bool ok = false, converted = false;
	struct sbiret r;

	CHECK(pages);
	pa = page_to_phys(pages);
	CHECK_GOTO(get_stats(&base));
	CHECK_GOTO(base.gstage_pool_size == 768 && base.gstage_pool_used <= 768);
	EXPECT(covh(TVMM_COVH_GET_STATS, virt_to_phys(buf), sizeof(s) - 1), SBI_ERR_INVALID_PARAM);
	EXPECT(covh(TVMM_COVH_GET_STATS, tsm_base, sizeof(s)), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_CONVERT_PAGES, pa, STATS_PAGES), 0);
	converted = true;
	CHECK_GOTO(get_stats(&s));
	CHECK_GOTO(s.converting == base.converting + STATS_PAGES);
	CHECK_GOTO(fence_all());
	CHECK_GOTO(get_stats(&s));
	CHECK_GOTO(s.converting == base.converting &&
		   s.confidential == base.confidential + STATS_PAGES);
	/* A TVM: 4 page-directory pages and its state page are assigned. */
	params = buf;
	params->pgd = pa;
	params->state = pa + 4 * PAGE_SIZE;
	r = covh(COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params));
	EXPECT(r, 0);
	id = r.value;
	EXPECT(covh3(COVH_ADD_TVM_MEMORY_REGION, id, GPA, 0x100000), 0);
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, id, pa + 5 * PAGE_SIZE, 2), 0);
	CHECK_GOTO(get_stats(&s));
	CHECK_GOTO(s.tvms == base.tvms + 1 && s.assigned == base.assigned + 7 &&
		   s.confidential == base.confidential + STATS_PAGES - 7);
	/* Initial registers only, of a TVM that exists, into the host's memory. */
	CHECK_GOTO(host_reads_measurement(id, 0, zeros));
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, 2, virt_to_phys(buf), 48, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, -1UL, virt_to_phys(buf), 48, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id + 1, 0, virt_to_phys(buf), 48, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, 0, virt_to_phys(buf), 47, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, 0, tsm_base, 48, 0, 0),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, 0, pa + 8 * PAGE_SIZE, 48, 0, 0),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_DESTROY_TVM, id, 0), 0);
	/* A destroyed TVM's registers are gone; converted pages are no buffer. */
	EXPECT(covh6(TVMM_COVH_READ_TVM_MEASUREMENT, id, 0, virt_to_phys(buf), 48, 0, 0),
	       SBI_ERR_INVALID_PARAM);
	id = 0;
	EXPECT(covh(TVMM_COVH_GET_STATS, pa, sizeof(s)), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(TVMM_COVH_GET_STATS, pa - 8, sizeof(s)), SBI_ERR_INVALID_ADDRESS);
	CHECK_GOTO(get_stats(&s));
	CHECK_GOTO(s.tvms == base.tvms && s.assigned == base.assigned &&
		   s.confidential == base.confidential + STATS_PAGES &&
		   s.gstage_pool_used == base.gstage_pool_used);
	EXPECT(covh(COVH_RECLAIM_PAGES, pa, STATS_PAGES), 0);
	converted = false;
	CHECK_GOTO(get_stats(&s));
	CHECK_GOTO(!memcmp(&s, &base, sizeof(s)));
	ok = true;
out:
	if (id && covh(COVH_DESTROY_TVM, id, 0).error)
		pages = NULL;
	if (converted && pages && covh(COVH_RECLAIM_PAGES, pa, STATS_PAGES).error)
		pages = NULL;
	if (pages)
		__free_pages(pages, 4);
	return ok;
}

/* One report (a forwarded ECALL to TEST_EID); false if it is wrong. */
static bool run_report(struct run_state *st)
{
	u64 *shm = st->shm, fid = shm[NACL_GPR(16)];
	u64 a0 = shm[NACL_GPR(10)], a1 = shm[NACL_GPR(11)], a2 = shm[NACL_GPR(12)];

	switch (fid) {
	case 1:	/* the data page's sum, the entry argument, the vCPU ID */
		if (a0 != 512 * 0x0123456789abcdefULL || a1 != PAYLOAD_ENTRY_ARG || a2)
			break;
		shm[NACL_GPR(10)] = COOKIE;
		st->steps |= BIT(1);
		return true;
	case 2:	/* the MMIO load + 1 (sign-extended), the C.LW (truncated) */
		if (a0 != 0xffffffff80000002ULL || a1 != 0x7fffffff)
			break;
		st->steps |= BIT(2);
		return true;
	case 3:	/* a measurement word */
		if (a0 > 2 || a1 > 5 || a2 != payload_msmt[a0][a1]) {
			pr_info("    # measurement %llu word %llu: %#llx, want %#llx\n",
				a0, a1, a2, a0 < 3 && a1 < 6 ? payload_msmt[a0][a1] : 0);
			break;
		}
		st->words++;
		return true;
	case 5:	/* the demand-zero page: zero, then what it stored */
		if (a0 || a1 != 0x5a5a)
			break;
		st->steps |= BIT(5);
		/* It spins next: race it from the other CPU. */
		st->racer = kthread_run_on_cpu(racer, st, 1, "cove-racer");
		if (IS_ERR(st->racer))
			st->racer = NULL;
		return true;
	case 8:	/* the host's page, and what the TVM wrote into it */
		if (a0 != SHARED_VALUE || st->host_page[1] != 0x99)
			break;
		st->steps |= BIT(8);
		return true;
	case 9:	/* unshared: a fresh zeroed confidential page */
		if (a0 || a1)
			break;
		st->steps |= BIT(9);
		return true;
	case 17: /* raise an external interrupt the TVM has not allowed */
		shm[NACL_CSR(CSR_HVIP_NR)] = BIT(10);	/* VSEIP */
		st->steps |= BIT(17);
		return true;
	case 18: /* it did not come */
		if (a0)
			break;
		st->steps |= BIT(18);
		return true;
	case 19: /* allowed, it came: a supervisor external interrupt */
		if (a0 != (BIT(63) | 9))
			break;
		shm[NACL_CSR(CSR_HVIP_NR)] = 0;
		st->steps |= BIT(19);
		return true;
	case 20: /* denied again: raise it anyway */
		shm[NACL_CSR(CSR_HVIP_NR)] = BIT(10);
		st->steps |= BIT(20);
		return true;
	case 21: /* it stayed out */
		if (a0)
			break;
		st->steps |= BIT(21);
		return true;
	case 22: /* one ID allowed: it came */
		if (a0 != (BIT(63) | 9))
			break;
		shm[NACL_CSR(CSR_HVIP_NR)] = 0;
		st->steps |= BIT(22);
		return true;
	case 23: /* attcaps: hash algorithm 0 (SHA-384), no certificate format */
		if (a0)
			break;
		st->steps |= BIT(23);
		return true;
	case 24: /* the host's page, shared as the TVM ends */
		if (a0 != SHARED_VALUE)
			break;
		st->steps |= BIT(24);
		return true;
	case 16: /* the injected timer interrupt, as the TVM's handler saw it */
		if (a0 != (BIT(63) | 5) || !(shm[NACL_CSR(CSR_HVIP_NR)] & BIT(6)))
			break;
		shm[NACL_CSR(CSR_HVIP_NR)] = 0;
		st->steps |= BIT(16);
		return true;
	case 14:
		/* vCPU 1: its ID, vCPU 0's argument, nothing of its last run */
		if (a0 != 1 || a1 != 0xabc || a2)
			break;
		st->steps |= BIT(14);
		return true;
	case 15: /* vCPU 1 asked for vCPU 0's status: started */
		if (a0 || a1)
			break;
		st->steps |= BIT(15);
		return true;
	case 12:
		/*
		 * attcaps: TCB SVN 1; SHA-384, no certificates; 2 initial and
		 * 4 runtime registers; register 2 runtime, no TCG PCR
		 */
		if (a0 != 1 || a1 != 0x0402 || a2 != 0xff00000001ULL)
			break;
		st->steps |= BIT(12);
		return true;
	case 13: /* its COVH call came here, and got this host's answer */
		if (a1 != 0x5555)
			break;
		st->steps |= BIT(13);
		return true;
	case 10: /* the guest's VSSIP and sie, as the TSM publishes them */
		if (shm[NACL_CSR(CSR_HVIP_NR)] != BIT(2) || shm[NACL_CSR(CSR_VSIE_NR)] != 0x20)
			break;
		shm[NACL_CSR(CSR_HVIP_NR)] = 0;	/* not the host's to clear */
		st->steps |= BIT(10);
		return true;
	case 11: /* still pending until the guest cleared it, as published */
		if (!(a0 & 2) || a2 & 2 || a1 != 0x20 || shm[NACL_CSR(CSR_HVIP_NR)] & BIT(2))
			break;
		st->steps |= BIT(11);
		return true;
	case 6:	/* after the spin: the cookie from step 1 */
		if (st->racer)
			kthread_stop(st->racer);
		st->racer = NULL;
		if (a0 != COOKIE)
			break;
		st->steps |= BIT(6);
		return true;
	}
	pr_info("    # report %#llx: %#llx %#llx %#llx\n", fid, a0, a1, a2);
	return false;
}

/*
 * Invalidate, fence, remove: what the host does to a page the TVM shares
 * or unshares; the vCPU is blocked until then.
 */
static bool run_remove(struct run_state *st, unsigned long gpa)
{
	EXPECT(covh(COVH_RUN_TVM_VCPU, st->id, 0), SBI_ERR_INVALID_STATE);
	EXPECT(covh3(COVH_TVM_INVALIDATE_PAGES, st->id, gpa, PAGE_SIZE), 0);
	EXPECT(covh(COVH_RUN_TVM_VCPU, st->id, 0), SBI_ERR_INVALID_STATE);
	EXPECT(covh(COVH_TVM_FENCE, st->id, 0), 0);
	EXPECT(covh3(COVH_TVM_REMOVE_PAGES, st->id, gpa, PAGE_SIZE), 0);
	return true;
out:
	return false;
}

/* The TVM shared SHARED_GPA (st->shared 1) or took it back (2). */
static bool run_share_exit(struct run_state *st)
{
	/* Shares elsewhere have nothing mapped: nothing to remove. */
	if (st->shm[NACL_GPR(10)] != SHARED_GPA)
		return true;
	if (st->shared == 0) {
		/* Its confidential page goes; nothing else may map there. */
		if (!run_remove(st, SHARED_GPA))
			return false;
		EXPECT(ZERO(st->id, st->pa + 19 * PAGE_SIZE, PAGE_4K, 1, SHARED_GPA),
		       SBI_ERR_INVALID_ADDRESS);
		st->shared = 1;
		return true;
	}
	if (st->shared == 1) {
		/* The host's page, mapped twice: convertible once both went. */
		EXPECT(covh(COVH_RUN_TVM_VCPU, st->id, 0), SBI_ERR_INVALID_STATE);
		EXPECT(covh3(COVH_TVM_INVALIDATE_PAGES, st->id, SHARED_GPA, 2 * PAGE_SIZE), 0);
		EXPECT(covh(COVH_TVM_FENCE, st->id, 0), 0);
		EXPECT(covh(COVH_CONVERT_PAGES, st->host_pa, 1), SBI_ERR_INVALID_ADDRESS);
		EXPECT(covh3(COVH_TVM_REMOVE_PAGES, st->id, SHARED_GPA, PAGE_SIZE), 0);
		EXPECT(covh(COVH_RUN_TVM_VCPU, st->id, 0), SBI_ERR_INVALID_STATE);
		EXPECT(covh(COVH_CONVERT_PAGES, st->host_pa, 1), SBI_ERR_INVALID_ADDRESS);
		EXPECT(covh3(COVH_TVM_REMOVE_PAGES, st->id, SHARED_GPA + PAGE_SIZE, PAGE_SIZE), 0);
		EXPECT(covh(COVH_CONVERT_PAGES, st->host_pa, 1), 0);
		EXPECT(covh(COVH_RECLAIM_PAGES, st->host_pa, 1), 0);
		st->shared = 2;
		return true;
	}
out:
	return false;
}

/*
 * A fault at SHARED_GPA: a confidential page before and after, the host's
 * own page while it is shared (mapped at both shared pages).
 */
static bool run_shared_fault(struct run_state *st)
{
	unsigned long page = st->pa + (st->shared ? RUN_SHARED + 1 : RUN_SHARED) * PAGE_SIZE;

	if (st->shared != 1)
		return !ZERO(st->id, page, PAGE_4K, 1, SHARED_GPA).error;
	st->host_page[0] = SHARED_VALUE;
	/* Shared pages: the host's own, into a shared range only. */
	EXPECT(covh6(COVH_ADD_TVM_SHARED_PAGES, st->id, page, PAGE_4K, 1, SHARED_GPA, 0),
	       SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh6(COVH_ADD_TVM_SHARED_PAGES, st->id, st->host_pa, PAGE_4K, 1,
		     DEMAND_GPA + PAGE_SIZE, 0), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh6(COVH_ADD_TVM_SHARED_PAGES, st->id, st->host_pa, PAGE_2MB, 1, SHARED_GPA,
		     0), SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(COVH_ADD_TVM_SHARED_PAGES, st->id + 1, st->host_pa, PAGE_4K, 1,
		     SHARED_GPA, 0), SBI_ERR_INVALID_PARAM);
	EXPECT(covh6(COVH_ADD_TVM_SHARED_PAGES, st->id, st->host_pa, PAGE_4K, 1, SHARED_GPA, 0),
	       0);
	EXPECT(covh6(COVH_ADD_TVM_SHARED_PAGES, st->id, st->host_pa, PAGE_4K, 1,
		     SHARED_GPA + PAGE_SIZE, 0), 0);
	/* Mapped into the TVM, the host's page cannot be converted. */
	EXPECT(covh(COVH_CONVERT_PAGES, st->host_pa, 1), SBI_ERR_INVALID_ADDRESS);
	return true;
out:
	return false;
}

/* A guest page fault: MMIO emulated here, or the demand-zero page. */
static bool run_fault(struct run_state *st, unsigned long scause, unsigned long stval)
{
	u64 *shm = st->shm, htinst = shm[NACL_CSR(CSR_HTINST_NR)];
	u64 gpa = shm[NACL_CSR(CSR_HTVAL_NR)] << 2 | (stval & 3);

	if (gpa == MMIO_GPA + 4 && scause == 21 && htinst == 0x2503) {	/* lw a0 */
		shm[NACL_GPR(10)] = 0x80000001;
		return true;
	}
	if (gpa == MMIO_GPA + 8 && scause == 23 && htinst == 0xa03023 &&	/* sd a0 */
	    shm[NACL_GPR(10)] == 0xffffffff80000002ULL)
		return true;
	if (gpa == MMIO_GPA + 12 && scause == 23 && htinst == 0xa02023 &&	/* sw a0 */
	    shm[NACL_GPR(10)] == 0x12345678)
		return true;
	if (gpa == MMIO_GPA + 16 && scause == 21 && htinst == 0x2501) {	/* c.lw */
		shm[NACL_GPR(10)] = 0x17fffffffULL;	/* upper bits dropped */
		return true;
	}
	if (gpa == DEMAND_GPA && scause == 21 && !htinst)
		return !covh6(COVH_ADD_TVM_ZERO_PAGES, st->id, st->pa + 16 * PAGE_SIZE,
			      PAGE_4K, 1, DEMAND_GPA, 0).error;
	if (gpa == SHARED_GPA && !htinst)
		return run_shared_fault(st);
	if (gpa == SHARED_AT_END && !htinst) {
		st->host_page[0] = SHARED_VALUE;	/* reclaim zeroed it */
		return !covh6(COVH_ADD_TVM_SHARED_PAGES, st->id, st->host_pa, PAGE_4K, 1,
			      SHARED_AT_END, 0).error;
	}
	pr_info("    # fault %lu at %#llx, htinst %#llx, a0 %#llx\n", scause, gpa, htinst,
		shm[NACL_GPR(10)]);
	return false;
}

static int run_loop(struct run_state *st, unsigned long vcpu);

/* vCPU 0 started vCPU 1 (SBI HSM): run it until it stops. */
static int run_secondary(struct run_state *st)
{
	int rc;

	/* The target, and nothing of where or with what it starts. */
	if (st->shm[NACL_GPR(10)] != 1 || st->shm[NACL_GPR(11)] || st->shm[NACL_GPR(12)]) {
		pr_info("    # hart_start exit: a0 %#llx a1 %#llx a2 %#llx\n",
			st->shm[NACL_GPR(10)], st->shm[NACL_GPR(11)], st->shm[NACL_GPR(12)]);
		return -EIO;
	}
	rc = run_loop(st, 1);
	if (rc)
		return rc;
	st->secondary_runs++;
	/* Stopped: it runs no more until started again. */
	if (covh(COVH_RUN_TVM_VCPU, st->id, 1).error != SBI_ERR_INVALID_PARAM)
		return -EIO;
	return 0;
}

/* Runs @vcpu until it ends (vCPU 0: the fatal exit) or stops (vCPU 1). */
static int run_loop(struct run_state *st, unsigned long vcpu)
{
	int n;

	/* Some 100 exits, and the host's interrupts during the spin. */
	for (n = 0; n < 5000; n++) {
		unsigned long flags, scause, stval;
		struct sbiret r;
		u64 a6, a7;

		/* scause and stval are the exit's until an interrupt comes. */
		local_irq_save(flags);
		r = covh(COVH_RUN_TVM_VCPU, st->id, vcpu);
		scause = csr_read(CSR_SCAUSE);
		stval = csr_read(CSR_STVAL);
		local_irq_restore(flags);
		if (r.error) {
			pr_info("    # run vCPU %lu: %ld\n", vcpu, r.error);
			return -EIO;
		}
		if (r.value) {
			/* Only the virtual instruction that ends the payload. */
			st->fatal = vcpu == 0 && scause == 22;
			if (!st->fatal)
				pr_info("    # vCPU %lu: fatal exit, scause %lu\n", vcpu, scause);
			return 0;
		}
		if (scause & BIT(63)) {
			st->irqs++;
			continue;
		}
		a6 = st->shm[NACL_GPR(16)];
		a7 = st->shm[NACL_GPR(17)];
		if (scause == 10 && a7 == SBI_EXT_COVG) {
			st->covg_exits++;
			/* MMIO regions, measurements: nothing; shares: */
			if ((a6 == 2 || a6 == 3) && !run_share_exit(st))
				return -EIO;
			continue;
		}
		if (scause == 10 && a7 == SBI_EXT_HSM_EID && a6 == 0 && vcpu == 0) {
			if (run_secondary(st))
				return -EIO;
			continue;
		}
		if (scause == 10 && a7 == SBI_EXT_HSM_EID && a6 == 1 && vcpu == 1)
			return 0;
		if (scause == 10 && a7 == SBI_EXT_HSM_EID && a6 == 3) {
			st->shm[NACL_GPR(10)] = 0;	/* a retentive suspend: done */
			continue;
		}
		if (scause == 10 && a7 == SBI_EXT_TIME && vcpu == 0) {
			/* "Set the timer": it fires at once, through hvip. */
			st->shm[NACL_CSR(CSR_HVIP_NR)] = BIT(6);	/* VSTIP */
			st->shm[NACL_GPR(10)] = 0;
			continue;
		}
		if (scause == 10 && a7 == SBI_EXT_COVH) {
			st->shm[NACL_GPR(10)] = 0x5555;	/* the TVM's COVH call */
			continue;
		}
		if (scause == 10 && a7 == TEST_EID) {
			if (!run_report(st))
				return -EIO;
			continue;
		}
		if ((scause == 21 || scause == 23) && run_fault(st, scause, stval))
			continue;
		pr_info("    # vCPU %lu exit %lu: a7 %#llx a6 %#llx a0 %#llx\n", vcpu, scause,
			a7, a6, st->shm[NACL_GPR(10)]);
		return -EIO;
	}
	pr_info("    # vCPU %lu never finished\n", vcpu);
	return -EIO;
}

static int run_tvm_on_cpu(void *arg)
{
	return run_loop(arg, 0);
}

/* NACL shared memory is per hart: set on the CPU that runs. */
static int nacl_set_on_cpu(void *arg)
{
	unsigned long pa = *(unsigned long *)arg;

	return nacl(NACL_SET_SHMEM, pa, pa == -1UL ? -1UL : 0, 0).error;
}

static int run_once_on_cpu(void *arg)
{
	struct run_state *st = arg;

	return covh(COVH_RUN_TVM_VCPU, st->id, 0).error;
}

static bool run_tvm(void)
{
	struct page *pages = alloc_pages(GFP_KERNEL, 5), *src_pages = alloc_pages(GFP_KERNEL, 1);
	struct page *shm_pages = alloc_pages(GFP_KERNEL, NACL_SHMEM_ORDER);
	struct page *host_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	struct run_state st = {};
	unsigned long pa, src, shm_pa, none = -1UL;
	bool ok = false, converted = false;

	CHECK(pages && src_pages && shm_pages && host_page);
	pa = page_to_phys(pages);
	st.pa = pa;
	st.host_pa = page_to_phys(host_page);
	st.host_page = page_address(host_page);
	src = page_to_phys(src_pages);
	memcpy(page_address(src_pages), payload, sizeof(payload));
	shm_pa = page_to_phys(shm_pages);
	st.shm = page_address(shm_pages);
	memset(st.shm, 0, PAGE_SIZE << NACL_SHMEM_ORDER);

	BUILD_BUG_ON(PAYLOAD_GPA != GPA);
	converted = true;
	st.id = new_tvm(pa, RUN_PAGES);
	CHECK_GOTO(st.id);
	EXPECT(covh3(COVH_ADD_TVM_PAGE_TABLE_PAGES, st.id, pa + 5 * PAGE_SIZE, 6), 0);
	EXPECT(MEASURED(st.id, src, pa + RUN_MEASURED * PAGE_SIZE, PAGE_4K, 2, PAYLOAD_GPA), 0);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, st.id, 0, pa + 11 * PAGE_SIZE), 0);
	EXPECT(covh3(COVH_CREATE_TVM_VCPU, st.id, 1, pa + 12 * PAGE_SIZE), 0);
	EXPECT(covh(COVH_RUN_TVM_VCPU, st.id, 0), SBI_ERR_INVALID_PARAM);	/* not final */
	EXPECT(covh6(COVH_FINALIZE_TVM, st.id, PAYLOAD_GPA, PAYLOAD_ENTRY_ARG, 0, 0, 0), 0);
	EXPECT(ZERO(st.id, pa + 15 * PAGE_SIZE, PAGE_4K, 1, ZERO_GPA), 0);
	/* The host reads the initial registers, as the TVM will (below). */
	CHECK_GOTO(host_reads_measurement(st.id, 0, payload_msmt[0]));
	CHECK_GOTO(host_reads_measurement(st.id, 1, payload_msmt[1]));

	/* Each refusal, then the run on CPU 0 with its shared memory. */
	EXPECT(covh(COVH_RUN_TVM_VCPU, st.id + 1, 0), SBI_ERR_INVALID_PARAM);
	EXPECT(covh(COVH_RUN_TVM_VCPU, st.id, TSM_MAX_VCPUS), SBI_ERR_INVALID_PARAM);
	EXPECT(covh(COVH_RUN_TVM_VCPU, st.id, 2), SBI_ERR_INVALID_PARAM);	/* no vCPU 2 */
	EXPECT(covh(COVH_RUN_TVM_VCPU, st.id, 1), SBI_ERR_INVALID_PARAM);	/* not started */
	CHECK_GOTO(!smp_call_on_cpu(0, nacl_set_on_cpu, &none, false));
	CHECK_GOTO(smp_call_on_cpu(0, run_once_on_cpu, &st, false) == SBI_ERR_NO_SHMEM);
	CHECK_GOTO(!smp_call_on_cpu(0, nacl_set_on_cpu, &shm_pa, false));
	CHECK_GOTO(!smp_call_on_cpu(0, run_tvm_on_cpu, &st, false));
	pr_info("    # %d host interrupts ended a run, %d COVG exits\n", st.irqs, st.covg_exits);
	CHECK_GOTO(st.steps == (BIT(1) | BIT(2) | BIT(5) | BIT(6) | BIT(8) | BIT(9) |
				BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) |
				BIT(16) | BIT(17) | BIT(18) | BIT(19) | BIT(20) | BIT(21) |
				BIT(22) | BIT(23) | BIT(24)));
	CHECK_GOTO(st.secondary_runs == 2);
	pr_info("    # from the other CPU: %d tries, %d fences waited, %d removals refused, %d raced\n",
		st.racer_tries, st.fence_waited, st.remove_refused, st.remove_raced);
	CHECK_GOTO(st.fence_waited > 0);
	CHECK_GOTO(st.remove_refused > 0);
	CHECK_GOTO(st.removed);
	CHECK_GOTO(st.words == 18);
	CHECK_GOTO(st.covg_exits == 23);	/* the COVG calls that succeeded */
	CHECK_GOTO(st.shared == 2);
	CHECK_GOTO(st.irqs >= 1);
	CHECK_GOTO(st.fatal);
	/* It ended for good. */
	EXPECT(covh(COVH_RUN_TVM_VCPU, st.id, 0), SBI_ERR_INVALID_PARAM);
	/* Its page shared with the TVM is the host's once the TVM is gone. */
	EXPECT(covh(COVH_CONVERT_PAGES, st.host_pa, 1), SBI_ERR_INVALID_ADDRESS);
	EXPECT(covh(COVH_DESTROY_TVM, st.id, 0), 0);
	st.id = 0;
	EXPECT(covh(COVH_CONVERT_PAGES, st.host_pa, 1), 0);
	EXPECT(covh(COVH_RECLAIM_PAGES, st.host_pa, 1), 0);
	ok = true;
out:
	if (st.racer)
		kthread_stop(st.racer);
	if (st.id && covh(COVH_DESTROY_TVM, st.id, 0).error) {
		pages = NULL;	/* still a TVM's: leaked rather than freed */
		host_page = NULL;
	}
	if (converted && pages && covh(COVH_RECLAIM_PAGES, pa, RUN_PAGES).error)
		pages = NULL;
	smp_call_on_cpu(0, nacl_set_on_cpu, &none, false);
	if (pages)
		__free_pages(pages, 5);
	if (src_pages)
		__free_pages(src_pages, 1);
	if (shm_pages)
		__free_pages(shm_pages, NACL_SHMEM_ORDER);
	if (host_page)
		__free_page(host_page);
	return ok;
}

static atomic_t stop_calls;

static int teecall_loop(void *unused)
{
	while (!atomic_read(&stop_calls))
		covh(COVH_GET_TSM_INFO, virt_to_phys(buf), sizeof(struct tsm_info));
	return 0;
}

static void noop(void *unused)
{
}

/*
 * While one hart keeps entering the TSM, the other sends it IPIs and remote
 * fences: both must arrive (a lost IPI hangs smp_call_function_single(); a
 * refused fence is a splat the harness fails).
 */
static bool ipi_during_teecall(void)
{
	struct task_struct *t;
	int cpu = raw_smp_processor_id() ? 0 : 1, i, err = 0;

	CHECK(num_online_cpus() >= 2);
	atomic_set(&stop_calls, 0);
	t = kthread_run_on_cpu(teecall_loop, NULL, cpu, "cove-teecall");
	CHECK(!IS_ERR(t));
	for (i = 0; i < 300 && !err; i++) {
		err = sbi_remote_sfence_vma_asid(cpu_online_mask, 0, -1UL, 0);
		err = err ?: sbi_remote_fence_i(cpu_online_mask);
		smp_call_function_single(cpu, noop, NULL, 1);
	}
	atomic_set(&stop_calls, 1);
	kthread_stop(t);
	CHECK(!err);
	return true;
}

static void run(bool (*fn)(void), const char *name)
{
	bool ok = fn();

	case_no++;
	failed += !ok;
	pr_info("%s %d %s\n", ok ? "ok" : "not ok", case_no, name);
}

#define RUN(fn) run(fn, #fn)

static int __init cove_tsm_test_init(void)
{
	buf = (void *)get_zeroed_page(GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	pr_info("KTAP version 1\n");
	if (!expect_tsm) {
		pr_info("1..1\n");
		RUN(no_tsm);
		goto out;
	}
	pr_info("1..22\n");
	RUN(supd_probe);
	RUN(supd_active_domains);
	RUN(covh_probe);
	RUN(teeret_hidden);
	RUN(tsm_info);
	RUN(tsm_info_bad_input);
	RUN(tsm_info_into_converted_page);
	RUN(covh_sdid);
	RUN(host_csrs_survive);
	RUN(host_cannot_read_tsm);
	RUN(convert_fence_reclaim);
	RUN(partial_fence);
	RUN(global_fence_twice);
	RUN(convert_bad_input);
	RUN(ipi_during_teecall);
	RUN(create_destroy_tvm);
	RUN(build_tvm);
	RUN(invalidate_remove);
	RUN(nacl_shmem);
	RUN(run_tvm);
	RUN(page_table_pool_limit);
	RUN(stats_and_host_measurement);
out:
	free_page((unsigned long)buf);
	pr_info("# %d passed, %d failed\n", case_no - failed, failed);
	return failed ? -EIO : 0;
}

static void __exit cove_tsm_test_exit(void)
{
}

module_init(cove_tsm_test_init);
module_exit(cove_tsm_test_exit);
MODULE_DESCRIPTION("Conformance test of the reference CoVE TSM");
MODULE_LICENSE("GPL");
