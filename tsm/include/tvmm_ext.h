/* SPDX-License-Identifier: BSD-2-Clause */
/* This TSM's own COVH functions (tvmm_ext.c). */
#ifndef TSM_TVMM_EXT_H
#define TSM_TVMM_EXT_H

#include "tsm.h"

#define TVMM_COVH_GET_STATS		0xf000
#define TVMM_COVH_READ_TVM_MEASUREMENT	0xf001

/* get_stats' answer: 8 fields of 64 bits, in this order. */
struct tsm_stats {
	uint64_t converting;	/* converted, fence not complete */
	uint64_t confidential;	/* converted and fenced, no TVM's */
	uint64_t assigned;	/* a TVM's (page directory, state, tables, data, vCPU state) */
	uint64_t shared_mapped;	/* host pages some TVM maps as shared */
	uint64_t shared_maps;	/* those mappings */
	uint64_t tvms;		/* TVMs that exist */
	uint64_t gstage_pool_used;	/* G-stage table pages in use, of */
	uint64_t gstage_pool_size;	/* the TSM's pool */
};

struct sbiret tvmm_get_stats(unsigned long addr, unsigned long len);
struct sbiret tvmm_read_tvm_measurement(unsigned long id, unsigned long index,
					unsigned long addr, unsigned long len);

#endif
