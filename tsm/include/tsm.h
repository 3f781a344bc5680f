/* SPDX-License-Identifier: BSD-2-Clause */
/* The reference CoVE TSM: common definitions. */
#ifndef TSM_H
#define TSM_H

#define TSM_MAX_HARTS		64	/* hart IDs 0-63, as OpenSBI's driver allows */
#define TSM_HEADER_MAGIC	0x3130524448534d54	/* "TSMHDR01" */
#define TSM_STACK_SHIFT		14	/* 16 KiB per hart */
#define TSM_VERSION		0x00000001U	/* tsm_info, and attcaps' TCB SVN */
#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* SBI extension IDs */
#define SBI_EXT_COVH		0x434F5648UL
#define SBI_EXT_OPENSBI		0x0A000001UL	/* FID 0: TEERET, 1: TEERET_EXIT */
#define SBI_EXT_NACL		0x4E41434CUL
#define SBI_EXT_COVG		0x434F5647UL
#define SBI_EXT_HSM		0x48534DUL

/* SBI errors */
#define SBI_SUCCESS			0
#define SBI_ERR_FAILED			-1
#define SBI_ERR_NOT_SUPPORTED		-2
#define SBI_ERR_INVALID_PARAM		-3
#define SBI_ERR_DENIED			-4
#define SBI_ERR_INVALID_ADDRESS		-5
#define SBI_ERR_ALREADY_AVAILABLE	-6
#define SBI_ERR_ALREADY_STARTED		-7
#define SBI_ERR_ALREADY_STOPPED		-8
#define SBI_ERR_NO_SHMEM		-9
#define SBI_ERR_INVALID_STATE		-10
#define SBI_ERR_BAD_RANGE		-11

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What OpenSBI's TSM-driver tells the TSM (include/sbi/sbi_cove.h there). */
#define TSM_BOOT_INFO_MAGIC	0x4f464e494d53545fULL
#define TSM_BOOT_INFO_VERSION	1
#define TSM_MAX_MEM_RANGES	8
#define TSM_FEAT_ENVCFG		(1U << 0)	/* henvcfg exists (priv 1.12) */
#define TSM_FEAT_SSTC		(1U << 1)	/* vstimecmp exists */
struct tsm_boot_info {
	uint64_t magic;
	uint32_t version;
	uint32_t num_mem_ranges;
	uint64_t tsm_base;
	uint64_t tsm_size;
	struct {
		uint64_t base;
		uint64_t size;
	} mem[TSM_MAX_MEM_RANGES];
	uint32_t hart_count;
	uint32_t max_hartid;
	uint64_t hart_mask;
	uint32_t num_excluded;
	uint32_t features;	/* TSM_FEAT_* */
	struct {
		uint64_t base;
		uint64_t size;
	} excluded[TSM_MAX_MEM_RANGES];
};

/* A TEECALL as the TSM-driver hands it over (entry.S builds it). */
struct tsm_call {
	unsigned long a[8];	/* a6: FID (with SDID bits), a7: EID */
	unsigned long hartid;
	const struct tsm_boot_info *boot;
	/* Set by run_tvm_vcpu: answer with TEERET_EXIT, which gives the
	 * host these scause and stval. */
	unsigned long exit;
	unsigned long exit_scause;
	unsigned long exit_stval;
};

struct sbiret {
	long error;
	unsigned long value;
};

static inline struct sbiret sbi_err(long error)
{
	return (struct sbiret){ .error = error };
}

static inline struct sbiret sbi_ok(unsigned long value)
{
	return (struct sbiret){ .error = SBI_SUCCESS, .value = value };
}

/* Whether [a, a + alen) and [b, b + blen) share a byte (neither wraps). */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* tsm.c */
struct sbiret tsm_dispatch(struct tsm_call *call);
/* Whether a fault in the TSM has made every later call fail. */
bool tsm_is_broken(void);
bool tsm_host_range_ok(uint64_t addr, uint64_t len);
bool tsm_host_buffer_ok(uint64_t addr, uint64_t len);
/* Most pages one call converts, reclaims or assigns. */
#define TSM_MAX_PAGES_PER_CALL	512
extern const struct tsm_boot_info *tsm_boot;

/* covh.c */
struct sbiret tsm_covh(struct tsm_call *call);

/* vcpu.c */
struct sbiret tsm_nacl(struct tsm_call *call);

/* lib.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif /* __ASSEMBLER__ */

#endif
