/* SPDX-License-Identifier: BSD-2-Clause */
/* TVMs: creation, memory regions, page-table pages, destruction (tvm.c). */
#ifndef TSM_TVM_H
#define TSM_TVM_H

#include "tsm.h"

#define TSM_MAX_TVMS		16
#define TSM_MAX_REGIONS		16
/* G-stage Sv48x4: guest physical addresses below 2^50. */
#define TSM_GPA_BITS		50
#define TSM_PGD_PAGES		4	/* the 16 KiB root of Sv48x4 */
#define TSM_MAX_VCPUS		8
#define TSM_PAGE_4K		0	/* enum tsm_page_type: the only one mapped */
#define TVM_IDENTITY_SIZE	64

/* Measurement registers (sbi_covg_read_measurement's indexes, later). */
enum {
	TVM_MSMT_PAGES = 0,	/* measured pages, with their GPAs */
	TVM_MSMT_CONFIG = 1,	/* boot vCPU entry PC and argument */
	TVM_MSMT_REGS,
};

struct sbiret tvm_create(unsigned long params_addr, unsigned long params_len);
struct sbiret tvm_destroy(unsigned long id);
struct sbiret tvm_add_memory_region(unsigned long id, unsigned long gpa,
				    unsigned long len);
struct sbiret tvm_add_page_table_pages(unsigned long id, unsigned long base,
				       unsigned long num);
struct sbiret tvm_add_measured_pages(unsigned long id, unsigned long src,
				     unsigned long dest, unsigned long type,
				     unsigned long num, unsigned long gpa);
struct sbiret tvm_add_zero_pages(unsigned long id, unsigned long base,
				 unsigned long type, unsigned long num,
				 unsigned long gpa);
struct sbiret tvm_create_vcpu(unsigned long id, unsigned long vcpu_id,
			      unsigned long state_page);
struct sbiret tvm_fence(unsigned long id);
struct sbiret tvm_invalidate_pages(unsigned long id, unsigned long gpa,
				   unsigned long len);
struct sbiret tvm_validate_pages(unsigned long id, unsigned long gpa,
				 unsigned long len);
struct sbiret tvm_remove_pages(unsigned long id, unsigned long gpa,
			       unsigned long len);
struct sbiret tvm_finalize(unsigned long id, unsigned long entry_pc,
			   unsigned long entry_arg, unsigned long identity_addr);

#endif
