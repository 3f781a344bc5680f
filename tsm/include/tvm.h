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

struct sbiret tvm_create(unsigned long params_addr, unsigned long params_len);
struct sbiret tvm_destroy(unsigned long id);
struct sbiret tvm_add_memory_region(unsigned long id, unsigned long gpa,
				    unsigned long len);
struct sbiret tvm_add_page_table_pages(unsigned long id, unsigned long base,
				       unsigned long num);

#endif
