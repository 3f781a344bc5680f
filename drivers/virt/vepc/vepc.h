/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtual EPC: the device (main.c), the emulated EPC backend (emul.c), the
 * sealing of its reclaimed pages (seal.c), and the hardware backend
 * (sgx.c).
 *
 * Everything below is protected by vepc_lock.
 */
#ifndef _VEPC_H
#define _VEPC_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/memcontrol.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

#define VEPC_TAG_SIZE	16

struct vepc_slot;
struct sgx_epc_page;

/**
 * struct vepc_epc - a page of the pool
 * @list:	the free list, or the list of resident pages (oldest first)
 * @page:	the memory behind it
 * @slot:	the slot whose content it holds, NULL while free
 */
struct vepc_epc {
	struct list_head list;
	struct page *page;
	struct vepc_slot *slot;
};

/**
 * struct vepc_sealed - the content of a reclaimed page
 * @data:	the page encrypted
 * @tag:	its authentication tag
 *
 * What EWB writes to memory outside the EPC: ciphertext and MAC.  The
 * version it was sealed with stays in the slot, where the host cannot
 * change it (in SGX, in a version-array page).
 */
struct vepc_sealed {
	struct page *data;
	u8 tag[VEPC_TAG_SIZE];
};

/**
 * struct vepc_slot - one page of an instance: its EPCM entry and content
 * @owner:	the instance; NULL for a zombie SECS
 * @owner_id:	the instance's ID, bound into the sealed copy
 * @memcg:	a zombie's memory cgroup (its instance's), for its sealed copy
 * @index:	its page index in @owner
 * @epc:	the pool page holding its content while resident
 * @hw:		the EPC page (hardware backend)
 * @sealed:	its content while reclaimed
 * @version:	the version @sealed was sealed with
 * @type:	the EPCM page type, VEPC_PT_FREE if the entry is invalid
 * @flags:	VEPC_EMUL_* of a SECS
 * @zombie:	a SECS whose instance is gone but which still has children
 * @aging:	resident, taken out of its mappings by the reclaim clock and
 *		not touched since
 * @bad:	reclaimed, and its sealed copy failed to load
 * @secs:	the parent SECS of a child page, else NULL
 * @children:	the number of child pages of a SECS
 * @res_children: of which resident: EWB refuses a SECS while it has any
 * @zombie_node: on the list of zombies
 *
 * A slot with neither @epc nor @sealed reads as zeroes (EREMOVE of a
 * reclaimed page discards its content).
 */
struct vepc_slot {
	struct vepc *owner;
	u64 owner_id;
	struct mem_cgroup *memcg;
	unsigned long index;
	struct vepc_epc *epc;
	struct sgx_epc_page *hw;
	struct vepc_sealed *sealed;
	u64 version;
	u8 type;
	u8 flags;
	bool zombie;
	bool aging;
	bool bad;
	struct vepc_slot *secs;
	unsigned long children;
	unsigned long res_children;
	struct list_head zombie_node;
};

/**
 * struct vepc - one instance: an open file of the device
 * @mapping:	its own address space, so that reclaim can zap its PTEs
 * @memcg:	the memory cgroup of its opener, charged for its sealed copies
 * @slots:	page index -> struct vepc_slot
 * @nr_slots:	pages it holds, resident, reclaimed or discarded
 * @nr_resident: of which in the pool
 * @nr_sealed:	of which reclaimed
 * @nr_reclaims: times one of its pages was reclaimed
 * @nr_reloads:	times one of its pages was loaded back
 * @limit:	its cap on @nr_slots, 0 for none
 * @id:		unique while the module is loaded; bound into sealed pages
 * @node:	on the list of instances
 */
struct vepc {
	struct address_space mapping;
	struct mem_cgroup *memcg;
	struct xarray slots;
	unsigned long nr_slots;
	unsigned long nr_resident;
	unsigned long nr_sealed;
	unsigned long nr_reclaims;
	unsigned long nr_reloads;
	unsigned long limit;
	u64 id;
	struct list_head node;
};

/**
 * struct vepc_stats - the pool's accounting
 * @pool:	pages in the pool
 * @free:	of which free
 * @held:	slots of all instances and zombies
 * @zombies:	zombie SECS pages
 * @sealed:	reclaimed pages
 * @reclaims:	pages reclaimed since load
 * @reloads:	pages loaded back since load
 * @unseal_failures: reloads refused because the sealed copy was not intact
 * @orphaned:	pool pages left to another holder (KVM) and replaced
 */
struct vepc_stats {
	unsigned long pool;
	unsigned long free;
	unsigned long held;
	unsigned long zombies;
	unsigned long sealed;
	unsigned long reclaims;
	unsigned long reloads;
	unsigned long unseal_failures;
	unsigned long orphaned;
};

extern struct mutex vepc_lock;
extern struct vepc_stats vepc_stats;

/**
 * struct vepc_backend - where the pages of instances come from
 * @id:		VEPC_BACKEND_*
 * @name:	for the log
 * @init:	set up, for a pool of this many pages if it has one
 * @exit:	undo @init; no instance is left
 * @fault:	make @slot's page resident and give its PFN; -EBUSY if the
 *		fault should be retried, another errno for SIGBUS (a new
 *		slot the fault fails for is freed by the caller)
 * @eremove:	EREMOVE @slot's page: 0; VEPC_CHILD_PRESENT for a SECS
 *		with children; -EBUSY if a CPU runs in its enclave
 * @release:	give every page of @vepc back; it has no mapping left
 * @emul:	has the EPCM model (VEPC_IOC_EMUL_SET_PAGE) and reclaim
 *
 * Everything but @init and @exit is called with vepc_lock held.
 */
struct vepc_backend {
	u32 id;
	const char *name;
	int (*init)(unsigned long pool_pages);
	void (*exit)(void);
	int (*fault)(struct vepc_slot *slot, unsigned long *pfn);
	int (*eremove)(struct vepc_slot *slot);
	void (*release)(struct vepc *vepc);
	bool emul;
};

extern const struct vepc_backend vepc_emul_backend;
extern const struct vepc_backend vepc_sgx_backend;

/* emul.c */
int vepc_emul_set(struct vepc_slot *slot, u32 type, u32 flags,
		  struct vepc_slot *secs);
unsigned long vepc_reclaim(unsigned long nr);
int vepc_hold(struct vepc_slot *slot);
void vepc_drop_held(void);

/* seal.c */
int vepc_seal_init(void);
void vepc_seal_exit(void);
int vepc_seal(struct vepc_slot *slot, struct page *src,
	      struct mem_cgroup *memcg);
int vepc_unseal(struct vepc_slot *slot, struct page *dst);
void vepc_sealed_free(struct vepc_sealed *sealed);
int vepc_tamper(struct vepc_slot *slot, const char *op);
void vepc_tamper_forget(u64 id);

/* vepc_eremove(): a SECS that still has children (SGX_CHILD_PRESENT). */
#define VEPC_CHILD_PRESENT	1

#endif /* _VEPC_H */
