// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hardware backend: real EPC from the SGX core, through the pages it
 * exports for virtual EPC devices (<asm/sgx_epc.h>, symbol namespace
 * SGX_VEPC).  It does what upstream's /dev/sgx_vepc does, with this
 * module's caps and accounting: a page is allocated on first touch and
 * never reclaimed (the EPC of all instances together is the machine's),
 * REMOVE_ALL and release EREMOVE in hardware, and a SECS whose children
 * live in another instance waits on a zombie list until a later release
 * can remove it.  It has no EPCM model (VEPC_IOC_EMUL_SET_PAGE is ENOTTY)
 * and no reclaim.
 *
 * Untested: the machines this is developed on have no SGX.  See
 * Documentation/virt/kvm/x86/vepc.rst, "The hardware backend".
 */
#include <linux/err.h>
#include <linux/list.h>
#include <linux/slab.h>

#include <asm/sgx.h>
#include <asm/sgx_epc.h>
#include <asm/sgx_vepc.h>

#include "vepc.h"

static LIST_HEAD(vepc_sgx_zombies);

static int vepc_sgx_init(unsigned long pool_pages)
{
	if (!boot_cpu_has(X86_FEATURE_SGX))
		return -ENODEV;
	return 0;
}

static void vepc_sgx_exit(void)
{
}

/* An EPC page for @slot on its first touch; it stays until release. */
static int vepc_sgx_fault(struct vepc_slot *slot, unsigned long *pfn)
{
	struct sgx_epc_page *page;

	if (!slot->hw) {
		page = sgx_vepc_epc_alloc(slot);
		if (IS_ERR(page))
			return PTR_ERR(page);
		slot->hw = page;
		slot->owner->nr_resident++;
	}
	*pfn = sgx_vepc_epc_pfn(slot->hw);
	return 0;
}

static int vepc_sgx_eremove(struct vepc_slot *slot)
{
	int ret = sgx_vepc_epc_eremove(slot->hw);

	if (ret == SGX_CHILD_PRESENT)
		return VEPC_CHILD_PRESENT;
	return ret ? -EBUSY : 0;	/* SGX_ENCLAVE_ACT, or a #GP */
}

/* Free @slot's page if EREMOVE lets it: true if it did. */
static bool vepc_sgx_free(struct vepc_slot *slot)
{
	if (sgx_vepc_epc_free(slot->hw))
		return false;
	vepc_stats.held--;
	kfree(slot);
	return true;
}

/*
 * Children first: every page that EREMOVE lets go of, then again for the
 * SECS pages whose children were in this instance.  What is left has
 * children elsewhere: zombies, which every release tries again, as it
 * may have removed their last child.
 */
static void vepc_sgx_release(struct vepc *vepc)
{
	struct vepc_slot *slot, *tmp;
	unsigned long index;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		xa_for_each(&vepc->slots, index, slot) {
			if (pass == 1) {
				xa_erase(&vepc->slots, index);
				if (!vepc_sgx_free(slot)) {
					slot->owner = NULL;
					list_add_tail(&slot->zombie_node,
						      &vepc_sgx_zombies);
					vepc_stats.zombies++;
				}
			} else if (vepc_sgx_free(slot)) {
				xa_erase(&vepc->slots, index);
			}
			cond_resched();
		}
	}
	list_for_each_entry_safe(slot, tmp, &vepc_sgx_zombies, zombie_node) {
		list_del(&slot->zombie_node);
		if (vepc_sgx_free(slot))
			vepc_stats.zombies--;
		else
			list_add(&slot->zombie_node, &vepc_sgx_zombies);
		cond_resched();
	}
}

const struct vepc_backend vepc_sgx_backend = {
	.id		= VEPC_BACKEND_SGX,
	.name		= "SGX EPC (untested)",
	.init		= vepc_sgx_init,
	.exit		= vepc_sgx_exit,
	.fault		= vepc_sgx_fault,
	.eremove	= vepc_sgx_eremove,
	.release	= vepc_sgx_release,
};
