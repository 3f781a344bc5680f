// SPDX-License-Identifier: BSD-2-Clause
/*
 * The reference CoVE TSM: entry dispatch, the platform's memory as
 * OpenSBI's TSM-driver describes it, and checks of host-supplied addresses.
 */
#include "lock.h"
#include "pages.h"
#include "tsm.h"

const struct tsm_boot_info *tsm_boot;

static bool boot_info_ok(const struct tsm_boot_info *b)
{
	return b->magic == TSM_BOOT_INFO_MAGIC &&
	       b->version == TSM_BOOT_INFO_VERSION &&
	       b->num_mem_ranges >= 1 &&
	       b->num_mem_ranges <= TSM_MAX_MEM_RANGES &&
	       b->num_excluded <= TSM_MAX_MEM_RANGES && b->hart_mask;
}

/*
 * Whether [addr, addr + len) lies in main memory and outside the TSM's own
 * region: memory the host may name in a call.  Converted pages need more
 * checks (the page table, covh.c).
 */
bool tsm_host_range_ok(uint64_t addr, uint64_t len)
{
	uint32_t i;

	if (!len || addr + len < addr)
		return false;
	if (ranges_overlap(addr, len, tsm_boot->tsm_base, tsm_boot->tsm_size))
		return false;
	for (i = 0; i < tsm_boot->num_excluded; i++) {
		if (ranges_overlap(addr, len, tsm_boot->excluded[i].base,
			     tsm_boot->excluded[i].size))
			return false;
	}
	for (i = 0; i < tsm_boot->num_mem_ranges; i++) {
		uint64_t base = tsm_boot->mem[i].base;
		uint64_t size = tsm_boot->mem[i].size;

		if (addr >= base && addr - base <= size && len <= size - (addr - base))
			return true;
	}
	return false;
}

/*
 * Whether [addr, addr + len) is memory the host may hand the TSM to read or
 * write for it: host memory (tsm_host_range_ok) whose every page is the
 * host's, not converted and not a TVM's.  Call with the lock held.
 */
bool tsm_host_buffer_ok(uint64_t addr, uint64_t len)
{
	uint64_t first = addr & ~(PAGE_SIZE - 1);

	return tsm_host_range_ok(addr, len) &&
	       pages_in_state(first, ((addr + len - first - 1) >> PAGE_SHIFT) + 1,
			      PAGE_STATE(PAGE_HOST));
}

/* Set by a fault in the TSM: its state may be half-changed, so no call
 * succeeds any more. */
static bool tsm_broken;

bool tsm_is_broken(void)
{
	return __atomic_load_n(&tsm_broken, __ATOMIC_ACQUIRE);
}

struct sbiret tsm_dispatch(struct tsm_call *call)
{
	if (__atomic_load_n(&tsm_broken, __ATOMIC_ACQUIRE) ||
	    !boot_info_ok(call->boot))
		return sbi_err(SBI_ERR_FAILED);
	tsm_boot = call->boot;
	switch (call->a[7]) {
	case SBI_EXT_COVH:
		return tsm_covh(call);
	case SBI_EXT_NACL:
		return tsm_nacl(call);
	default:
		return sbi_err(SBI_ERR_NOT_SUPPORTED);
	}
}

/*
 * entry.S: an exception in the TSM fails the call and every later one (the
 * checks before each change are meant to make this unreachable).  The lock
 * is released so that other harts' calls fail too instead of spinning.
 */
struct sbiret tsm_fault(unsigned long scause, unsigned long sepc,
			unsigned long stval, unsigned long stack_top)
{
	extern char tsm_stacks[];
	unsigned long hartid = ((stack_top - (unsigned long)tsm_stacks) >>
				TSM_STACK_SHIFT) - 1;

	__atomic_store_n(&tsm_broken, true, __ATOMIC_RELEASE);
	tsm_unlock_if_held(&tsm_big_lock, hartid);
	return sbi_err(SBI_ERR_FAILED);
}
