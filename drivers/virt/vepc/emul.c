// SPDX-License-Identifier: GPL-2.0-only
/*
 * The emulated EPC backend: a pool of ordinary pages standing in for the
 * EPC, a software model of the part of the EPCM that the virtual EPC ABI
 * exposes, and reclaim.
 *
 * The model: each page of an instance (a slot) has a type, a SECS parent
 * for child pages, a child count for a SECS, and an "active" flag for a
 * SECS whose enclave a CPU runs in.  EREMOVE fails on a SECS with children
 * (SGX_CHILD_PRESENT) and on a child page of an active enclave
 * (SGX_ENCLAVE_ACT).  A SECS whose instance is released while it has
 * children in another instance is a zombie until its last child is
 * removed.
 *
 * Reclaim, the model of EBLOCK + ETRACK + EWB: when the pool is empty, a
 * resident page that can be reclaimed (not a SECS with children in the
 * pool, which EWB would refuse) is taken from its instance's mappings,
 * sealed (seal.c) and its pool page reused.  The next touch of that page
 * loads it back (ELDU), verifying it.  The victim is chosen by a clock
 * over the resident pages: a PFN mapping has no accessed bit to read, so
 * the hand takes a page out of its mappings first ("aging") and reclaims
 * it only if it comes round again before a touch has mapped the page
 * back.  A pool page that something besides the pool still holds a
 * reference to (KVM's kvm_vcpu_map() of a guest page, which does not
 * follow the MMU notifier) is neither reclaimed nor reused: when its slot
 * lets go of it, the holder keeps it and the pool takes a fresh page.
 *
 * The pages are the host's memory: the VMM that maps them can read and
 * write them, and nothing here emulates the abort-page semantics of real
 * EPC.  The emulation provides the allocation, accounting, reclaim and
 * EPCM bookkeeping, so that the ABI can be exercised on any x86 machine.
 */
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/printk.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <asm/sgx_vepc.h>

#include "vepc.h"

/* Protects everything: the pool, every instance's slots and the model. */
DEFINE_MUTEX(vepc_lock);
struct vepc_stats vepc_stats;

static struct vepc_epc *vepc_pool;
static unsigned long vepc_pool_len;
static LIST_HEAD(vepc_free_list);
static LIST_HEAD(vepc_resident_list);
static LIST_HEAD(vepc_zombie_list);

static void vepc_pool_exit(void);

/* Allocate a pool of @nr_pages pages: 0, or -ENOMEM. */
static int vepc_pool_init(unsigned long nr_pages)
{
	unsigned long i;

	vepc_pool = vcalloc(nr_pages, sizeof(*vepc_pool));
	if (!vepc_pool)
		return -ENOMEM;
	for (i = 0; i < nr_pages; i++) {
		struct vepc_epc *epc = &vepc_pool[i];

		epc->page = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT |
				       __GFP_NOWARN);
		if (!epc->page) {
			vepc_pool_len = i;
			vepc_pool_exit();
			return -ENOMEM;
		}
		list_add_tail(&epc->list, &vepc_free_list);
		cond_resched();
	}
	vepc_pool_len = nr_pages;
	vepc_stats.pool = nr_pages;
	vepc_stats.free = nr_pages;
	return 0;
}

/* Free the pool; no instance and no zombie is left. */
static void vepc_pool_exit(void)
{
	unsigned long i;

	vepc_drop_held();
	for (i = 0; i < vepc_pool_len; i++)
		if (vepc_pool[i].page)
			put_page(vepc_pool[i].page);
	vfree(vepc_pool);
	vepc_pool = NULL;
	vepc_pool_len = 0;
	vepc_stats.pool = 0;
	vepc_stats.free = 0;
	INIT_LIST_HEAD(&vepc_free_list);
}

/* Whether anything but the pool holds a reference to @epc's page. */
static bool vepc_epc_shared(struct vepc_epc *epc)
{
	return page_ref_count(epc->page) != 1;
}

/* Pool pages the "hold" test hook holds, under vepc_lock. */
static struct page *vepc_held[16];
static unsigned int vepc_nr_held;

/**
 * vepc_hold() - Hold the pool page of @slot as kvm_vcpu_map() does, for tests
 * @slot: a resident slot
 *
 * An extra reference, as KVM takes to map guest memory into the kernel:
 * reclaim must pass the page over, and a release orphan it.  Called with
 * vepc_lock held.
 *
 * Return: 0; -ENOENT if @slot is not resident; -ENOSPC if 16 pages are
 * held already.
 */
int vepc_hold(struct vepc_slot *slot)
{
	lockdep_assert_held(&vepc_lock);
	if (!slot->epc)
		return -ENOENT;
	if (vepc_nr_held == ARRAY_SIZE(vepc_held))
		return -ENOSPC;
	get_page(slot->epc->page);
	vepc_held[vepc_nr_held++] = slot->epc->page;
	return 0;
}

/**
 * vepc_drop_held() - Put the references vepc_hold() took
 *
 * Called with vepc_lock held, or when the module unloads.
 */
void vepc_drop_held(void)
{
	while (vepc_nr_held)
		put_page(vepc_held[--vepc_nr_held]);
}

/*
 * Back to the free list.  A page someone else still holds is theirs: the
 * pool drops its reference and takes a fresh page, or, failing that,
 * shrinks by one.
 */
static void vepc_epc_put(struct vepc_epc *epc)
{
	epc->slot = NULL;
	if (vepc_epc_shared(epc)) {
		put_page(epc->page);
		epc->page = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT |
				       __GFP_NOWARN);
		vepc_stats.orphaned++;
		if (!epc->page) {
			list_del_init(&epc->list);
			vepc_stats.pool--;
			return;
		}
	}
	list_move(&epc->list, &vepc_free_list);
	vepc_stats.free++;
}

/* @slot's pool page holds its content: count it with its SECS. */
static void vepc_slot_set_resident(struct vepc_slot *slot, struct vepc_epc *epc)
{
	epc->slot = slot;
	slot->epc = epc;
	slot->aging = false;
	if (slot->owner)
		slot->owner->nr_resident++;
	if (slot->secs)
		slot->secs->res_children++;
}

/* Detach @slot's pool page, whose content is saved or no longer needed. */
static void vepc_slot_evict(struct vepc_slot *slot)
{
	vepc_epc_put(slot->epc);
	slot->epc = NULL;
	if (slot->owner)
		slot->owner->nr_resident--;
	if (slot->secs)
		slot->secs->res_children--;
}

static void vepc_slot_drop_sealed(struct vepc_slot *slot)
{
	vepc_sealed_free(slot->sealed);
	slot->sealed = NULL;
	if (slot->owner)
		slot->owner->nr_sealed--;
	vepc_stats.sealed--;
}

/*
 * Reclaim @slot's page: out of every mapping, sealed, back to the pool.
 * -EBUSY if something else still holds the page.
 */
static int vepc_reclaim_slot(struct vepc_slot *slot)
{
	struct vepc *owner = slot->owner;
	int ret;

	if (owner)
		unmap_mapping_pages(&owner->mapping, slot->index, 1, false);
	if (vepc_epc_shared(slot->epc))
		return -EBUSY;
	ret = vepc_seal(slot, slot->epc->page,
			owner ? owner->memcg : slot->memcg);
	if (ret)
		return ret;
	vepc_slot_evict(slot);
	if (owner) {
		owner->nr_sealed++;
		owner->nr_reclaims++;
	}
	vepc_stats.sealed++;
	vepc_stats.reclaims++;
	return 0;
}

/*
 * Reclaim one resident page, moving the clock's hand (the head of the
 * resident list) at most twice round: a page that is not aging is taken
 * out of its mappings and marked aging, an aging page is reclaimed, a
 * SECS with children in the pool is passed over.
 */
static int vepc_reclaim_one(void)
{
	unsigned long n = 2 * (vepc_stats.pool - vepc_stats.free);
	struct vepc_slot *slot;
	struct vepc_epc *epc;
	int ret = -ENOMEM;

	while (n--) {
		epc = list_first_entry(&vepc_resident_list, struct vepc_epc,
				       list);
		slot = epc->slot;
		list_move_tail(&epc->list, &vepc_resident_list);
		if (slot->type == VEPC_PT_SECS && slot->res_children)
			continue;
		if (!slot->aging) {
			if (slot->owner)
				unmap_mapping_pages(&slot->owner->mapping,
						    slot->index, 1, false);
			slot->aging = true;
			continue;
		}
		ret = vepc_reclaim_slot(slot);
		if (!ret)
			break;
		cond_resched();
	}
	return ret;
}

/**
 * vepc_reclaim() - Reclaim pages now, as the pool does when it is empty
 * @nr: how many
 *
 * Return: the number reclaimed.
 */
unsigned long vepc_reclaim(unsigned long nr)
{
	unsigned long done = 0;

	lockdep_assert_held(&vepc_lock);
	while (done < nr && !vepc_reclaim_one()) {
		done++;
		cond_resched();
	}
	return done;
}

/* A pool page, reclaiming one if none is free; its content is stale. */
static struct vepc_epc *vepc_epc_get(void)
{
	struct vepc_epc *epc;

	if (list_empty(&vepc_free_list) && vepc_reclaim_one())
		return NULL;
	epc = list_first_entry(&vepc_free_list, struct vepc_epc, list);
	list_move_tail(&epc->list, &vepc_resident_list);
	vepc_stats.free--;
	return epc;
}

static void vepc_slot_free(struct vepc_slot *slot)
{
	if (slot->epc)
		vepc_slot_evict(slot);
	if (slot->sealed)
		vepc_slot_drop_sealed(slot);
	if (slot->memcg)
		mem_cgroup_put(slot->memcg);
	vepc_stats.held--;
	kfree(slot);
}

/*
 * Make @slot, a page of an instance, resident: zeroed on first touch, or
 * a reclaimed page loaded back after verifying it.  Returns 0; -ENOMEM
 * without a pool page (none free, none reclaimable) or memory; -EBADMSG
 * if the sealed copy failed verification, now or before.
 */
static int vepc_emul_fault(struct vepc_slot *slot, unsigned long *pfn)
{
	struct vepc_epc *epc;
	int ret;

	lockdep_assert_held(&vepc_lock);
	if (slot->epc) {
		slot->aging = false;
		goto out;
	}
	if (slot->bad)
		return -EBADMSG;

	epc = vepc_epc_get();
	if (!epc)
		return -ENOMEM;
	if (slot->sealed) {
		ret = vepc_unseal(slot, epc->page);
		if (ret) {
			vepc_epc_put(epc);
			if (ret == -EBADMSG) {
				slot->bad = true;
				vepc_stats.unseal_failures++;
			}
			return ret;
		}
		vepc_slot_drop_sealed(slot);
		slot->owner->nr_reloads++;
		vepc_stats.reloads++;
	} else {
		clear_highpage(epc->page);
	}
	vepc_slot_set_resident(slot, epc);
out:
	*pfn = page_to_pfn(slot->epc->page);
	return 0;
}

/* The content of @slot becomes zeroes. */
static void vepc_slot_discard(struct vepc_slot *slot)
{
	if (slot->epc)
		clear_highpage(slot->epc->page);
	if (slot->sealed)
		vepc_slot_drop_sealed(slot);
	slot->bad = false;
}

/*
 * EREMOVE in the model: the page's EPCM entry becomes invalid and its
 * content zeroes.  Removing the last child of a zombie SECS frees the
 * zombie.  An invalid entry stays as it is, content included, unless its
 * sealed copy failed verification: that copy is discarded, so that the
 * page can be used again.  @release: the instance is being released, no
 * CPU can run its enclaves.  Returns 0; VEPC_CHILD_PRESENT for a SECS
 * with children; -EBUSY for a child page of an enclave a CPU runs in (the
 * model's SGX_ENCLAVE_ACT).
 */
static int vepc_eremove(struct vepc_slot *slot, bool release)
{
	struct vepc_slot *secs = slot->secs;

	lockdep_assert_held(&vepc_lock);
	if (slot->type == VEPC_PT_FREE) {
		if (slot->bad)
			vepc_slot_discard(slot);
		return 0;
	}
	if (slot->type == VEPC_PT_SECS && slot->children)
		return VEPC_CHILD_PRESENT;
	if (!release && secs && (secs->flags & VEPC_EMUL_ACTIVE))
		return -EBUSY;

	slot->type = VEPC_PT_FREE;
	slot->flags = 0;
	vepc_slot_discard(slot);
	if (secs) {
		if (slot->epc)
			secs->res_children--;
		slot->secs = NULL;
		if (!--secs->children && secs->zombie) {
			list_del(&secs->zombie_node);
			vepc_stats.zombies--;
			vepc_slot_free(secs);
		}
	}
	return 0;
}

/*
 * Let go of a slot of an instance being released, already out of its
 * xarray.  The instance's child pages go first.  A SECS that still has
 * children, in another instance, stays as a zombie until they are
 * removed; it keeps a reference to the instance's memory cgroup, which
 * its sealed copy, if it is reclaimed, is charged to.
 */
static void vepc_slot_release(struct vepc_slot *slot)
{
	struct vepc *owner = slot->owner;

	lockdep_assert_held(&vepc_lock);
	if (vepc_eremove(slot, true)) {
		if (slot->epc)
			owner->nr_resident--;
		if (slot->sealed)
			owner->nr_sealed--;
		if (owner->memcg) {
			css_get(&owner->memcg->css);
			slot->memcg = owner->memcg;
		}
		slot->owner = NULL;
		slot->zombie = true;
		slot->flags = 0;
		list_add(&slot->zombie_node, &vepc_zombie_list);
		vepc_stats.zombies++;
		return;
	}
	vepc_slot_free(slot);
}

/**
 * vepc_emul_set() - What a guest's ENCLS would do to an EPCM entry
 * @slot: the target page
 * @type: its new type (VEPC_PT_*, not VEPC_PT_FREE)
 * @flags: VEPC_EMUL_* for a SECS
 * @secs: the parent SECS of a child type, else NULL
 *
 * A valid entry cannot be overwritten, but a SECS can be given new flags.
 *
 * Return: 0; -EBUSY if the entry is valid; -EINVAL if @secs is not a SECS.
 */
int vepc_emul_set(struct vepc_slot *slot, u32 type, u32 flags,
		  struct vepc_slot *secs)
{
	lockdep_assert_held(&vepc_lock);
	if (slot->type != VEPC_PT_FREE) {
		if (type != VEPC_PT_SECS || slot->type != VEPC_PT_SECS)
			return -EBUSY;
		slot->flags = flags;
		return 0;
	}
	if (secs) {
		if (secs->type != VEPC_PT_SECS)
			return -EINVAL;
		secs->children++;
		if (slot->epc)
			secs->res_children++;
	}
	slot->secs = secs;
	slot->type = type;
	slot->flags = flags;
	return 0;
}

/* SGX_IOC_VEPC_REMOVE_ALL's EREMOVE of one page. */
static int vepc_emul_eremove(struct vepc_slot *slot)
{
	return vepc_eremove(slot, false);
}

/* Every page back: the children first, then the SECS pages. */
static void vepc_emul_release(struct vepc *vepc)
{
	struct vepc_slot *slot;
	unsigned long index;
	int pass;

	vepc_tamper_forget(vepc->id);
	for (pass = 0; pass < 2; pass++) {
		xa_for_each(&vepc->slots, index, slot) {
			if (!pass && slot->type == VEPC_PT_SECS)
				continue;
			xa_erase(&vepc->slots, index);
			vepc_slot_release(slot);
			cond_resched();
		}
	}
}

static int vepc_emul_init(unsigned long pool_pages)
{
	int ret;

	ret = vepc_seal_init();
	if (ret) {
		pr_err("vepc: AES-GCM (gcm(aes)) unavailable: %d\n", ret);
		return ret;
	}
	ret = vepc_pool_init(pool_pages);
	if (ret)
		vepc_seal_exit();
	return ret;
}

static void vepc_emul_exit(void)
{
	vepc_pool_exit();
	vepc_seal_exit();
}

const struct vepc_backend vepc_emul_backend = {
	.id		= VEPC_BACKEND_EMULATED,
	.name		= "emulated EPC",
	.init		= vepc_emul_init,
	.exit		= vepc_emul_exit,
	.fault		= vepc_emul_fault,
	.eremove	= vepc_emul_eremove,
	.release	= vepc_emul_release,
	.emul		= true,
};
