// SPDX-License-Identifier: BSD-2-Clause
/* COVH: the host's calls (CoVE spec, "COVE Host Extension"). */
#include "lock.h"
#include "pages.h"
#include "tsm.h"
#include "tvm.h"
#include "tvmm_ext.h"
#include "vcpu.h"

tsm_lock_t tsm_big_lock;

#define COVH_FID_MASK			0xffffUL

enum covh_fid {
	COVH_GET_TSM_INFO = 0,
	COVH_CONVERT_PAGES = 1,
	COVH_RECLAIM_PAGES = 2,
	COVH_GLOBAL_FENCE = 3,
	COVH_LOCAL_FENCE = 4,
	COVH_CREATE_TVM = 5,
	COVH_FINALIZE_TVM = 6,
	COVH_PROMOTE_TO_TVM = 7,
	COVH_DESTROY_TVM = 8,
	COVH_ADD_TVM_MEMORY_REGION = 9,
	COVH_ADD_TVM_PAGE_TABLE_PAGES = 10,
	COVH_ADD_TVM_MEASURED_PAGES = 11,
	COVH_ADD_TVM_ZERO_PAGES = 12,
	COVH_ADD_TVM_SHARED_PAGES = 13,
	COVH_CREATE_TVM_VCPU = 14,
	COVH_RUN_TVM_VCPU = 15,
	COVH_TVM_FENCE = 16,
	COVH_TVM_INVALIDATE_PAGES = 17,
	COVH_TVM_VALIDATE_PAGES = 18,
	COVH_TVM_REMOVE_PAGES = 19,
};

enum tsm_state {
	TSM_NOT_LOADED = 0,
	TSM_LOADED = 1,
	TSM_READY = 2,
};

#define COVE_TSM_CAP_MEMORY_ALLOCATION	5

/* "tvmm" in ASCII: not one of the spec's reserved IDs (1 Salus, 2 ACE). */
#define TSM_IMPL_ID			0x74766d6dU

struct tsm_info {
	uint32_t tsm_state;
	uint32_t tsm_impl_id;
	uint32_t tsm_version;
	uint32_t _pad;
	uint64_t tsm_capabilities;
	uint64_t tvm_state_pages;
	uint64_t tvm_max_vcpus;
	uint64_t tvm_vcpu_state_pages;
};

_Static_assert(sizeof(struct tsm_info) == 48, "tsm_info layout");

static struct sbiret get_tsm_info(unsigned long addr, unsigned long len)
{
	struct tsm_info info = {
		.tsm_state = TSM_READY,
		.tsm_impl_id = TSM_IMPL_ID,
		.tsm_version = TSM_VERSION,
		.tsm_capabilities = 1UL << COVE_TSM_CAP_MEMORY_ALLOCATION,
		.tvm_state_pages = 1,
		.tvm_max_vcpus = TSM_MAX_VCPUS,
		.tvm_vcpu_state_pages = 1,
	};

	if (addr & 3)
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	if (len < sizeof(info))
		return sbi_err(SBI_ERR_INVALID_PARAM);
	if (!tsm_host_buffer_ok(addr, sizeof(info)))
		return sbi_err(SBI_ERR_INVALID_ADDRESS);
	memcpy((void *)addr, &info, sizeof(info));
	return sbi_ok(sizeof(info));
}

static struct sbiret covh_locked(struct tsm_call *call)
{
	unsigned long *a = call->a;

	switch (a[6] & COVH_FID_MASK) {
	case COVH_GET_TSM_INFO:
		return get_tsm_info(a[0], a[1]);
	case COVH_CONVERT_PAGES:
		return pages_convert(a[0], a[1]);
	case COVH_RECLAIM_PAGES:
		return pages_reclaim(a[0], a[1]);
	case COVH_GLOBAL_FENCE:
		return pages_global_fence(call->hartid);
	case COVH_LOCAL_FENCE:
		return pages_local_fence(call->hartid);
	case COVH_CREATE_TVM:
		return tvm_create(a[0], a[1]);
	case COVH_DESTROY_TVM:
		return tvm_destroy(a[0]);
	case COVH_ADD_TVM_MEMORY_REGION:
		return tvm_add_memory_region(a[0], a[1], a[2]);
	case COVH_ADD_TVM_PAGE_TABLE_PAGES:
		return tvm_add_page_table_pages(a[0], a[1], a[2]);
	case COVH_ADD_TVM_MEASURED_PAGES:
		return tvm_add_measured_pages(a[0], a[1], a[2], a[3], a[4], a[5]);
	case COVH_ADD_TVM_ZERO_PAGES:
		return tvm_add_zero_pages(a[0], a[1], a[2], a[3], a[4]);
	case COVH_ADD_TVM_SHARED_PAGES:
		return tvm_add_shared_pages(a[0], a[1], a[2], a[3], a[4]);
	case COVH_CREATE_TVM_VCPU:
		return tvm_create_vcpu(a[0], a[1], a[2]);
	case COVH_FINALIZE_TVM:
		return tvm_finalize(a[0], a[1], a[2], a[3]);
	case COVH_RUN_TVM_VCPU:
		return vcpu_run(call, a[0], a[1]);
	case COVH_TVM_FENCE:
		return tvm_fence(a[0]);
	case COVH_TVM_INVALIDATE_PAGES:
		return tvm_change_pages(a[0], a[1], a[2], TVM_PAGES_INVALIDATE);
	case COVH_TVM_VALIDATE_PAGES:
		return tvm_change_pages(a[0], a[1], a[2], TVM_PAGES_VALIDATE);
	case COVH_TVM_REMOVE_PAGES:
		return tvm_change_pages(a[0], a[1], a[2], TVM_PAGES_REMOVE);
	case TVMM_COVH_GET_STATS:
		return tvmm_get_stats(a[0], a[1]);
	case TVMM_COVH_READ_TVM_MEASUREMENT:
		return tvmm_read_tvm_measurement(a[0], a[1], a[2], a[3]);
	default:
		return sbi_err(SBI_ERR_NOT_SUPPORTED);
	}
}

struct sbiret tsm_covh(struct tsm_call *call)
{
	struct sbiret ret;

	tsm_lock(&tsm_big_lock, call->hartid);
	pages_init();
	ret = covh_locked(call);
	tsm_unlock(&tsm_big_lock);
	return ret;
}
