// SPDX-License-Identifier: BSD-2-Clause
/*
 * This TSM's own COVH functions, numbered from 0xf000: in the range the
 * spec leaves unallocated (1088-65535), at its top, away from where a
 * future allocation would start.  They give the host what COVH has no
 * call for and the host driver's tests need:
 *
 * - 0xf000 get_stats(addr, len): struct tsm_stats (below) into the host's
 *   buffer; returns the bytes written.  What the TSM holds, so that a test
 *   can tell that a host returned every page it gave.
 * - 0xf001 read_tvm_measurement(tvm_id, index, addr, len): an initial
 *   measurement register (0: measured pages, 1: the boot vCPU's entry) of
 *   a TVM into the host's buffer; returns the bytes written (48).  These
 *   are what the host loaded and are no secret; the runtime registers,
 *   which the TVM extends, are not readable by the host.
 *
 * Errors: SBI_ERR_INVALID_PARAM for a short buffer, an unknown TVM or an
 * index that is not an initial register; SBI_ERR_INVALID_ADDRESS for a
 * buffer that is not the host's memory.
 */
#include "gstage.h"
#include "pages.h"
#include "tsm.h"
#include "tvm.h"
#include "tvmm_ext.h"

struct sbiret tvmm_get_stats(unsigned long addr, unsigned long len)
{
	struct tsm_stats s = { 0 };

	if (len < sizeof(s))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (!tsm_host_buffer_ok(addr, sizeof(s)))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	pages_count(&s);
	s.tvms = tvm_count();
	s.gstage_pool_used = gstage_pool_used();
	s.gstage_pool_size = GSTAGE_POOL_PAGES;
	memcpy((void *)addr, &s, sizeof(s));
	return sbi_ok(sizeof(s));
}

struct sbiret tvmm_read_tvm_measurement(unsigned long id, unsigned long index,
					unsigned long addr, unsigned long len)
{
	struct tvm *t = tvm_lookup(id);

	if (!t || index >= TVM_MSMT_INITIAL || len < SHA384_DIGEST_SIZE)
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (!tsm_host_buffer_ok(addr, SHA384_DIGEST_SIZE))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	memcpy((void *)addr, t->msmt[index], SHA384_DIGEST_SIZE);
	return sbi_ok(SHA384_DIGEST_SIZE);
}
