// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM RISC-V CoVE host driver: TVMs created and run by a TSM reached
 * through the COVH SBI extension (CoVE deployment model 1: the TSM runs
 * in HS-mode in its own supervisor domain, next to this kernel).
 *
 * At module load the driver probes COVH and asks the TSM for its
 * information; only a TSM that is ready adds KVM_RISCV_COVE_VM to the VM
 * types.  A KVM_RISCV_COVE_VM is a TSM TVM from its creation: KVM
 * converts the TVM's page directory and state pages to confidential
 * memory, fences the conversion on every hart, and creates the TVM; on
 * destruction it destroys the TVM and reclaims those pages.  Nothing in
 * the host touches a page once it is converted until the TSM gave it
 * back.
 *
 * The TSM fences are global, so conversions and reclaims are serialized
 * by cove_lock.  The local fence must run on every hart the TSM knows:
 * KVM converts only while every present CPU is online, and holds CPU
 * hotplug off meanwhile.
 */
#define pr_fmt(fmt) "kvm: CoVE: " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <asm/kvm_cove.h>

#include "cove.h"
#include "cove_sbi.h"

/*
 * The TSM's page-table pool is shared by every TVM: one VM may give it at
 * most this many pages (whole chunks), so that one user cannot take the
 * pool from the others.
 */
static unsigned int cove_max_pt_pages = 192;
module_param(cove_max_pt_pages, uint, 0644);
MODULE_PARM_DESC(cove_max_pt_pages,
		 "CoVE: page-table pages one TVM may give the TSM (default 192, at most 1024)");

static struct sbi_cove_tsm_info cove_tsm_info __ro_after_init;
static bool cove_enabled __ro_after_init;
static bool cove_tsm_is_tvmm __ro_after_init;	/* tvmm's reference TSM: its stats call */
/*
 * Conversions, whose fences are global, and the reclaims that undo them.
 * A reclaim alone needs no fence: the removal paths under kvm->mmu_lock
 * reclaim without it (cove_take_private()).
 */
static DEFINE_MUTEX(cove_lock);

/* tvmm's reference TSM: "tvmm" in ASCII. */
#define COVE_TSM_IMPL_TVMM		0x74766d6dU

/**
 * kvm_riscv_cove_enabled() - Whether KVM offers KVM_RISCV_COVE_VM
 *
 * Return: true if a CoVE TSM answered and is ready.
 */
bool kvm_riscv_cove_enabled(void)
{
	return cove_enabled;
}

/**
 * kvm_riscv_cove_check_extension() - KVM_CAP_TVM_MEASURED_LAUNCH
 * @kvm: the VM, or NULL for the system
 * @ext: the capability
 *
 * Return: 1 for a KVM_RISCV_COVE_VM, or for the system if KVM offers
 * KVM_RISCV_COVE_VM; 0 otherwise.
 */
int kvm_riscv_cove_check_extension(struct kvm *kvm, long ext)
{
	if (ext != KVM_CAP_TVM_MEASURED_LAUNCH)
		return 0;
	return kvm ? !!kvm->arch.cove : cove_enabled;
}

static void cove_local_fence(void *err)
{
	struct sbiret r = sbi_covh(SBI_COVH_LOCAL_FENCE, 0, 0, 0, 0, 0, 0);

	if (r.error)
		atomic_inc(err);
}

/*
 * Converts the ranges to confidential memory and completes the conversion
 * with one fence: global_fence, then local_fence on every CPU.  The TSM
 * waits for every hart, so nothing starts while a CPU is offline (-EBUSY),
 * and none goes offline meanwhile.  On error, the ranges converted so far
 * are reclaimed; one whose reclaim fails keeps @converted set, and its
 * pages must never go back to the page allocator.
 */
static int cove_convert(struct cove_range *ranges, unsigned int n)
{
	atomic_t err = ATOMIC_INIT(0);
	unsigned int i;
	int ret = 0;

	lockdep_assert_held(&cove_lock);
	cpus_read_lock();
	if (!cpumask_equal(cpu_online_mask, cpu_present_mask)) {
		ret = -EBUSY;
		goto out;
	}
	for (i = 0; i < n && !ret; i++) {
		if (sbi_covh(SBI_COVH_CONVERT_PAGES, ranges[i].pa, ranges[i].nr,
			     0, 0, 0, 0).error)
			ret = -EIO;
		else
			ranges[i].converted = true;
	}
	if (!ret && sbi_covh(SBI_COVH_GLOBAL_FENCE, 0, 0, 0, 0, 0, 0).error)
		ret = -EIO;
	if (!ret) {
		on_each_cpu(cove_local_fence, &err, 1);
		if (atomic_read(&err))
			ret = -EIO;
	}
	/* Converting pages, fenced or not, are reclaimable. */
	for (i = 0; i < n && ret; i++) {
		if (ranges[i].converted &&
		    !sbi_covh(SBI_COVH_RECLAIM_PAGES, ranges[i].pa, ranges[i].nr,
			      0, 0, 0, 0).error)
			ranges[i].converted = false;
	}
out:
	cpus_read_unlock();
	return ret;
}

/*
 * Gives the converted ranges back to the host (zeroed by the TSM); a range
 * the TSM refuses keeps @converted set.
 */
static void cove_reclaim(struct cove_range *ranges, unsigned int n)
{
	unsigned int i;

	lockdep_assert_held(&cove_lock);
	for (i = 0; i < n; i++) {
		if (ranges[i].converted &&
		    !sbi_covh(SBI_COVH_RECLAIM_PAGES, ranges[i].pa, ranges[i].nr,
			      0, 0, 0, 0).error)
			ranges[i].converted = false;
	}
}

enum { COVE_RANGE_PGD, COVE_RANGE_STATE, COVE_TVM_RANGES };

/*
 * Frees what of @tvm is the host's: pages the TSM still holds are leaked,
 * never handed back to the page allocator.
 */
static void cove_free_tvm(struct kvm_cove_tvm *tvm)
{
	struct cove_vcpu *cv;
	unsigned int i;

	mutex_lock(&cove_lock);
	cove_reclaim(tvm->ranges, COVE_TVM_RANGES);
	for (i = 0; tvm->vcpus && i < tvm->max_vcpus; i++) {
		cv = &tvm->vcpus[i];
		cove_reclaim(&cv->range, 1);
		if (cv->range.converted)
			pr_err("the TSM kept the state of vCPU %u; leaking it\n", i);
		else if (cv->state)
			__free_pages(cv->state, get_order(cv->range.nr << PAGE_SHIFT));
	}
	mutex_unlock(&cove_lock);
	kfree(tvm->vcpus);
	if (tvm->ranges[COVE_RANGE_PGD].converted ||
	    tvm->ranges[COVE_RANGE_STATE].converted)
		pr_err("the TSM kept pages of a TVM; leaking them\n");
	if (tvm->pgd && !tvm->ranges[COVE_RANGE_PGD].converted)
		__free_pages(tvm->pgd, COVE_TVM_PGD_ORDER);
	if (tvm->state && !tvm->ranges[COVE_RANGE_STATE].converted)
		__free_pages(tvm->state, tvm->state_order);
	kfree(tvm);
}

/*
 * After destroy_tvm: the pages the TVM held (its data, from guest_memfd, and
 * the page-table pages) are confidential and unassigned; reclaim them.
 * A page the TSM keeps is leaked: its reference is never dropped.
 */
static void cove_release_pages(struct kvm_cove_tvm *tvm)
{
	unsigned long gfn, leaked = 0;
	struct cove_range r;
	struct page *page;
	unsigned int i;

	xa_for_each(&tvm->pages, gfn, page) {
		r = (struct cove_range){ page_to_phys(page), 1, true };
		mutex_lock(&cove_lock);
		cove_reclaim(&r, 1);
		mutex_unlock(&cove_lock);
		if (r.converted)
			leaked++;
		else
			put_page(page);
		cond_resched();
	}
	for (i = 0; i < tvm->nr_pt_chunks; i++) {
		r = (struct cove_range){ page_to_phys(tvm->pt_chunks[i]),
					 COVE_PT_CHUNK_PAGES, true };
		mutex_lock(&cove_lock);
		cove_reclaim(&r, 1);
		mutex_unlock(&cove_lock);
		if (r.converted)
			leaked += r.nr;
		else
			__free_pages(tvm->pt_chunks[i], COVE_PT_CHUNK_ORDER);
		cond_resched();
	}
	xa_destroy(&tvm->pages);
	/* destroy_tvm removed every shared mapping. */
	xa_for_each(&tvm->shared, gfn, page)
		kvm_release_page_dirty(page);
	xa_destroy(&tvm->shared);
	if (leaked)
		pr_err("the TSM kept %lu pages of a destroyed TVM; leaking them\n", leaked);
}

/*
 * Gives the TSM another chunk of pages for the TVM's G-stage tables.
 * -ENOSPC when the VM has given its share (cove_max_pt_pages) or the TSM's
 * pool has no room.
 */
static int cove_add_pt_pages(struct kvm_cove_tvm *tvm)
{
	unsigned int max = min_t(unsigned int, READ_ONCE(cove_max_pt_pages),
				 COVE_MAX_PT_CHUNKS * COVE_PT_CHUNK_PAGES);
	struct cove_range r = {};
	struct page *chunk;
	struct sbiret sret;
	int ret;

	if ((tvm->nr_pt_chunks + 1) * COVE_PT_CHUNK_PAGES > max)
		return -ENOSPC;
	chunk = alloc_pages(GFP_KERNEL_ACCOUNT, COVE_PT_CHUNK_ORDER);
	if (!chunk)
		return -ENOMEM;
	r.pa = page_to_phys(chunk);
	r.nr = COVE_PT_CHUNK_PAGES;
	mutex_lock(&cove_lock);
	ret = cove_convert(&r, 1);
	if (!ret) {
		sret = sbi_covh(SBI_COVH_ADD_TVM_PAGE_TABLE_PAGES, tvm->tvm_id, r.pa,
				r.nr, 0, 0, 0);
		if (sret.error) {
			cove_reclaim(&r, 1);
			ret = sret.error == SBI_ERR_FAILURE ? -ENOSPC : -EIO;
		}
	}
	mutex_unlock(&cove_lock);
	/* Kept by the TSM, given or not: reclaimed (or leaked) at destroy. */
	if (!ret || r.converted)
		tvm->pt_chunks[tvm->nr_pt_chunks++] = chunk;
	else
		__free_pages(chunk, COVE_PT_CHUNK_ORDER);
	return ret;
}

/*
 * Makes the memslot of @slot a confidential memory region of the TVM,
 * unless an earlier memslot at the same place did.
 */
static int cove_add_region(struct kvm_cove_tvm *tvm, struct kvm_memory_slot *slot)
{
	gpa_t start = gfn_to_gpa(slot->base_gfn);
	gpa_t end = start + (slot->npages << PAGE_SHIFT);
	unsigned int i;

	for (i = 0; i < tvm->nr_regions; i++) {
		if (start >= tvm->regions[i].start && end <= tvm->regions[i].end)
			return 0;
		if (start < tvm->regions[i].end && tvm->regions[i].start < end)
			return -EINVAL;		/* overlaps without fitting */
	}
	if (tvm->nr_regions == COVE_MAX_REGIONS)
		return -ENOSPC;
	if (sbi_covh(SBI_COVH_ADD_TVM_MEMORY_REGION, tvm->tvm_id, start,
		     end - start, 0, 0, 0).error)
		return -EIO;
	tvm->regions[tvm->nr_regions].start = start;
	tvm->regions[tvm->nr_regions++].end = end;
	return 0;
}

/* A page the TSM kept after an add failed: confidential, not mapped. */
#define COVE_PAGE_KEPT		XA_MARK_1

struct cove_add_page {
	struct kvm_cove_tvm *tvm;
	phys_addr_t src;	/* a kernel page with the content; 0: a zero page */
};

static struct sbiret cove_add_one(struct kvm_cove_tvm *tvm, phys_addr_t src,
				  phys_addr_t pa, gfn_t gfn)
{
	if (src)
		return sbi_covh(SBI_COVH_ADD_TVM_MEASURED_PAGES, tvm->tvm_id, src, pa,
				0 /* 4 KiB */, 1, gfn_to_gpa(gfn));
	return sbi_covh(SBI_COVH_ADD_TVM_ZERO_PAGES, tvm->tvm_id, pa, 0 /* 4 KiB */,
			1, gfn_to_gpa(gfn), 0);
}

/*
 * kvm_gmem_populate() callback, with the guest_memfd invalidate lock held:
 * the guest_memfd page at @pfn becomes the TSM's (converted and fenced),
 * then the TVM's page at @gfn: a measured page with the content of the
 * source before finalize, a zero page after.  KVM keeps a reference to the
 * page until the TSM gives it back.
 */
static int cove_post_populate(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn,
			      void __user *src, int order, void *opaque)
{
	struct cove_add_page *ap = opaque;
	struct kvm_cove_tvm *tvm = ap->tvm;
	struct cove_range r = { PFN_PHYS(pfn), 1 };
	struct page *page = pfn_to_page(pfn);
	struct kvm_memory_slot *slot;
	struct sbiret sret;
	bool kept = false;
	int ret, tries;

	if (order)
		return -EIO;	/* guest_memfd folios are 4 KiB on 6.12 */
	slot = gfn_to_memslot(kvm, gfn);
	ret = xa_insert(&tvm->pages, gfn, page, GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY) {
		/* The same sealed page, still confidential: add it again. */
		if (!xa_get_mark(&tvm->pages, gfn, COVE_PAGE_KEPT))
			return -EEXIST;
		if (xa_load(&tvm->pages, gfn) != page)
			return -EIO;
		r.converted = true;
		kept = true;
	} else if (ret) {
		return ret;
	}
	if (!kept) {
		ret = ap->src ? cove_add_region(tvm, slot) : 0;
		/*
		 * A measured page is sealed: never mapped by the host, punched
		 * or bound again, as the launch digest covers it.  A zero page
		 * may be punched out: cove_unmap_private() takes it back.
		 */
		if (!ret && ap->src)
			ret = kvm_gmem_seal(slot, gfn);
		if (!ret) {
			mutex_lock(&cove_lock);
			ret = cove_convert(&r, 1);
			mutex_unlock(&cove_lock);
		}
	}
	/*
	 * A page needs at most three new tables: if the TSM is short of them
	 * (SBI_ERR_FAILED), give it a chunk and try once more.
	 */
	for (tries = 0; !ret; tries++) {
		sret = cove_add_one(tvm, ap->src, r.pa, gfn);
		if (!sret.error)
			break;
		if (sret.error == SBI_ERR_FAILURE && !tries)
			ret = cove_add_pt_pages(tvm);
		else
			ret = sret.error == SBI_ERR_FAILURE ? -ENOSPC : -EIO;
	}
	if (ret) {
		if (r.converted) {
			mutex_lock(&cove_lock);
			cove_reclaim(&r, 1);
			mutex_unlock(&cove_lock);
		}
		if (!r.converted) {
			xa_erase(&tvm->pages, gfn);
			if (kept)
				put_page(page);
		} else if (!kept) {
			/* Kept by the TSM: reclaimed at destroy, or added again. */
			get_page(page);
			xa_set_mark(&tvm->pages, gfn, COVE_PAGE_KEPT);
		}
		return ret;
	}
	if (kept)
		xa_clear_mark(&tvm->pages, gfn, COVE_PAGE_KEPT);
	else
		get_page(page);
	if (ap->src)
		tvm->nr_measured++;
	return 0;
}

static int cove_add_measured_pages(struct kvm *kvm, struct kvm_tvm_measured_pages *args)
{
	struct cove_add_page ap = { .tvm = kvm->arch.cove };
	void *buf;
	long n;
	int ret = 0;

	if (args->flags || memchr_inv(args->reserved, 0, sizeof(args->reserved)))
		return -EINVAL;
	if (!args->size || !PAGE_ALIGNED(args->gpa) || !PAGE_ALIGNED(args->size) ||
	    !PAGE_ALIGNED(args->uaddr))
		return -EINVAL;
	if (args->gpa + args->size < args->gpa ||
	    args->uaddr + args->size < args->uaddr)
		return -EINVAL;
	if (args->gpa + args->size > BIT_ULL(kvm_riscv_gstage_gpa_bits()))
		return -EINVAL;

	buf = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	ap.src = virt_to_phys(buf);

	/* On failure gpa, uaddr and size describe what was not added. */
	while (args->size) {
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (copy_from_user(buf, u64_to_user_ptr(args->uaddr), PAGE_SIZE)) {
			ret = -EFAULT;
			break;
		}
		mutex_lock(&kvm->slots_lock);
		if (ap.tvm->finalized || READ_ONCE(ap.tvm->lost_measured))
			n = -EPERM;
		else
			n = kvm_gmem_populate(kvm, gpa_to_gfn(args->gpa), NULL, 1,
					      cove_post_populate, &ap);
		mutex_unlock(&kvm->slots_lock);
		if (n != 1) {
			ret = n < 0 ? n : -EINVAL;
			break;
		}
		args->gpa += PAGE_SIZE;
		args->uaddr += PAGE_SIZE;
		args->size -= PAGE_SIZE;
		cond_resched();
	}
	free_page((unsigned long)buf);
	return ret;
}

/**
 * cove_gpa_in_region() - Whether a GPA is in one of the TVM's memory regions
 * @tvm: the TVM
 * @gpa: the address
 *
 * Return: true if the TSM can give the TVM confidential memory there.
 */
bool cove_gpa_in_region(struct kvm_cove_tvm *tvm, gpa_t gpa)
{
	unsigned int i;

	for (i = 0; i < tvm->nr_regions; i++) {
		if (gpa >= tvm->regions[i].start && gpa < tvm->regions[i].end)
			return true;
	}
	return false;
}

/**
 * cove_fault_in_private() - Give a finalized TVM a zero page at a private gfn
 * @kvm: the VM
 * @gfn: the gfn, private, in a guest_memfd memslot inside a region
 *
 * Called from KVM_RUN without kvm->srcu held.
 *
 * Return: 0; -EEXIST if the TVM has the page already; -EINVAL if the gfn is
 * not private (any more) or has no guest_memfd; -ENOSPC if the TSM needs
 * page-table pages the VM may not give; -ENOMEM, -EBUSY, -EIO, -EINTR.
 */
int cove_fault_in_private(struct kvm *kvm, gfn_t gfn)
{
	struct cove_add_page ap = { .tvm = kvm->arch.cove };
	long n;

	mutex_lock(&kvm->slots_lock);
	n = kvm_gmem_populate(kvm, gfn, NULL, 1, cove_post_populate, &ap);
	mutex_unlock(&kvm->slots_lock);
	if (n == 1)
		return 0;
	return n < 0 ? n : -EINVAL;
}

/**
 * cove_more_pt_pages() - Give the TSM another chunk of G-stage table pages
 * @kvm: the VM; called without kvm->srcu held
 *
 * Return: 0; -ENOSPC when the VM has given its share or the TSM's pool is
 * full; -ENOMEM, -EBUSY, -EIO.
 */
int cove_more_pt_pages(struct kvm *kvm)
{
	int ret;

	mutex_lock(&kvm->slots_lock);
	ret = cove_add_pt_pages(kvm->arch.cove);
	mutex_unlock(&kvm->slots_lock);
	return ret;
}

/*
 * Mappings taken from the TVM at a time: each batch is one TSM fence, with
 * kvm->mmu_lock held.
 */
#define COVE_REMOVE_BATCH	32

/*
 * Removes the TVM's mappings at @gfns[i] where @removed[i] is false, and
 * sets it for those the TSM removed.  Invalidate, tvm_fence, then remove:
 * the fence completes once every vCPU that was in the guest has left it,
 * which kicking them (KVM waits for the IPIs) makes happen.  With
 * kvm->mmu_lock held, which keeps the TVM's fences one at a time.  An
 * invalidate that fails is not fatal: the page may be invalidated already.
 */
static void cove_unmap(struct kvm *kvm, const gfn_t *gfns, unsigned int n, bool *removed)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	unsigned int i;

	lockdep_assert_held(&kvm->mmu_lock);
	for (i = 0; i < n; i++) {
		if (!removed[i])
			sbi_covh(SBI_COVH_TVM_INVALIDATE_PAGES, tvm->tvm_id,
				 gfn_to_gpa(gfns[i]), PAGE_SIZE, 0, 0, 0);
	}
	if (sbi_covh(SBI_COVH_TVM_FENCE, tvm->tvm_id, 0, 0, 0, 0, 0).error)
		return;
	kvm_make_all_cpus_request(kvm, KVM_REQ_HFENCE_GVMA_VMID_ALL);
	for (i = 0; i < n; i++) {
		if (!removed[i])
			removed[i] = !sbi_covh(SBI_COVH_TVM_REMOVE_PAGES, tvm->tvm_id,
					       gfn_to_gpa(gfns[i]), PAGE_SIZE, 0, 0, 0).error;
	}
}

/*
 * Up to COVE_REMOVE_BATCH gfns of @xa from *@index to @end (exclusive),
 * with @kept[i] set for pages the TSM holds but does not map (an add
 * failed: COVE_PAGE_KEPT).  Moves *@index past the last.
 */
static unsigned int cove_gather(struct xarray *xa, unsigned long *index, gfn_t end,
				gfn_t *gfns, bool *kept)
{
	unsigned int n;

	for (n = 0; n < COVE_REMOVE_BATCH && xa_find(xa, index, end - 1, XA_PRESENT); n++) {
		kept[n] = xa_get_mark(xa, *index, COVE_PAGE_KEPT);
		gfns[n] = (*index)++;
	}
	return n;
}

/*
 * With kvm->mmu_lock held: takes the TVM's private pages at @gfns (from
 * cove_gather()) out of it, removed and reclaimed (the TSM zeroes them),
 * and out of tvm->pages, all under the lock, so that no other path takes
 * the same page.  @pages[i] gets the page whose reference the caller now
 * drops, or NULL where the TSM keeps it: made present again if it was not
 * removed, kept (COVE_PAGE_KEPT) if it was removed but not given back.
 * Pages taken before finalize were measured: the TVM can no longer be
 * finalized.  Returns how many pages stayed.
 */
static unsigned int cove_take_private(struct kvm *kvm, const gfn_t *gfns, unsigned int n,
				      bool *removed, struct page **pages)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	unsigned int i, stayed = 0;
	bool lost = false;
	struct page *page;
	u32 mapped = 0;

	lockdep_assert_held(&kvm->mmu_lock);
	BUILD_BUG_ON(COVE_REMOVE_BATCH > 32);
	/* Kept pages are the TSM's but not mapped (not measured either). */
	for (i = 0; i < n; i++)
		mapped |= (u32)!removed[i] << i;
	cove_unmap(kvm, gfns, n, removed);
	for (i = 0; i < n; i++)
		lost |= removed[i] && (mapped & BIT(i));
	for (i = 0; i < n; i++) {
		pages[i] = NULL;
		if (!removed[i]) {
			sbi_covh(SBI_COVH_TVM_VALIDATE_PAGES, tvm->tvm_id,
				 gfn_to_gpa(gfns[i]), PAGE_SIZE, 0, 0, 0);
			stayed++;
			continue;
		}
		page = xa_load(&tvm->pages, gfns[i]);
		if (sbi_covh(SBI_COVH_RECLAIM_PAGES, page_to_phys(page), 1, 0, 0, 0, 0).error) {
			xa_set_mark(&tvm->pages, gfns[i], COVE_PAGE_KEPT);
			stayed++;
			continue;
		}
		xa_erase(&tvm->pages, gfns[i]);
		pages[i] = page;
	}
	/* Finalize sets finalized under kvm->mmu_lock too. */
	if (lost && !tvm->finalized)
		WRITE_ONCE(tvm->lost_measured, true);
	return stayed;
}

/*
 * Takes back the TVM's private pages in [@start, @end) (cove_take_private()),
 * unseals them in guest_memfd, through @slot or, if NULL, the memslot each
 * gfn is in, and releases them.
 */
static int cove_remove_private(struct kvm *kvm, gfn_t start, gfn_t end,
			       struct kvm_memory_slot *slot)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	struct page *pages[COVE_REMOVE_BATCH];
	bool removed[COVE_REMOVE_BATCH];
	gfn_t gfns[COVE_REMOVE_BATCH];
	unsigned long index = start;
	struct kvm_memory_slot *s;
	unsigned int n, i, stayed = 0;

	lockdep_assert_held(&kvm->slots_lock);
	do {
		spin_lock(&kvm->mmu_lock);
		n = cove_gather(&tvm->pages, &index, end, gfns, removed);
		if (n)
			stayed += cove_take_private(kvm, gfns, n, removed, pages);
		spin_unlock(&kvm->mmu_lock);

		for (i = 0; i < n; i++) {
			if (!pages[i])
				continue;
			s = slot ?: gfn_to_memslot(kvm, gfns[i]);
			if (s && kvm_slot_can_be_private(s))
				kvm_gmem_unseal(s, gfns[i], pages[i]);
			put_page(pages[i]);
		}
		cond_resched();
	} while (n == COVE_REMOVE_BATCH);
	if (stayed)
		pr_warn_ratelimited("the TSM kept %u pages of a TVM\n", stayed);
	return stayed ? -EIO : 0;
}

/**
 * cove_fault_in_shared() - Map a host page at a shared gfn of a TVM
 * @kvm: the VM
 * @slot: the memslot of @gfn
 * @gfn: the gfn, shared (or in a memslot without guest_memfd)
 * @mmu_seq: kvm->mmu_invalidate_seq, read before the caller found @gfn shared
 *
 * The TSM maps the memslot's page read-write (add_tvm_shared_pages) if the
 * TVM shared the gfn; KVM keeps a reference to the page until the TSM no
 * longer maps it (kvm_riscv_cove_unmap_gfn_range()).  Called from KVM_RUN
 * with kvm->srcu held.
 *
 * Return: 0 if the page is mapped, or an invalidation raced and the guest
 * is to fault again; -EEXIST if another vCPU mapped it; -EINVAL if the TSM
 * refused the gfn (the TVM did not share it); -EFAULT if the memslot has
 * no page there the TSM could map writable; -EAGAIN if the TSM needs
 * page-table pages (cove_more_pt_pages()); -EINTR, -ENOMEM, -EIO.
 */
int cove_fault_in_shared(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn,
			 unsigned long mmu_seq)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	struct page *page;
	struct sbiret r;
	bool writable;
	kvm_pfn_t pfn;
	int ret = 0;

	if (slot->flags & KVM_MEM_READONLY)
		return -EFAULT;
	pfn = __gfn_to_pfn_memslot(slot, gfn, false, true, NULL, true, &writable, NULL);
	if (is_sigpending_pfn(pfn))
		return -EINTR;
	if (is_error_noslot_pfn(pfn))
		return -EFAULT;
	/* The TSM maps host RAM only, and KVM must hold the page. */
	page = kvm_pfn_to_refcounted_page(pfn);
	if (!page || !writable) {
		kvm_release_pfn_clean(pfn);
		return -EFAULT;
	}

	/* Tracked before the TSM maps it, all under kvm->mmu_lock. */
	spin_lock(&kvm->mmu_lock);
	if (mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn))
		goto unlock;
	ret = xa_insert(&tvm->shared, gfn, page, GFP_ATOMIC | __GFP_ACCOUNT);
	if (ret) {
		ret = ret == -EBUSY ? -EEXIST : ret;
		goto unlock;
	}
	r = sbi_covh(SBI_COVH_ADD_TVM_SHARED_PAGES, tvm->tvm_id, page_to_phys(page),
		     0 /* 4 KiB */, 1, gfn_to_gpa(gfn), 0);
	if (!r.error) {
		page = NULL;
	} else {
		xa_erase(&tvm->shared, gfn);
		if (r.error == SBI_ERR_FAILURE)
			ret = -EAGAIN;
		else
			ret = r.error == SBI_ERR_INVALID_ADDRESS ? -EINVAL : -EIO;
	}
unlock:
	spin_unlock(&kvm->mmu_lock);
	if (page)
		kvm_release_page_clean(page);
	return ret;
}

/*
 * Takes the host pages the TVM maps as shared memory in [@start, @end) out
 * of it and drops KVM's references to them; a page the TSM does not remove
 * keeps its reference and is never freed.  With kvm->mmu_lock held, which
 * is dropped between batches if @may_block.
 */
static void cove_unmap_shared(struct kvm *kvm, gfn_t start, gfn_t end, bool may_block)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	bool removed[COVE_REMOVE_BATCH];
	gfn_t gfns[COVE_REMOVE_BATCH];
	unsigned long index = start;
	unsigned int n, i;

	if (!tvm || start >= end || xa_empty(&tvm->shared))
		return;
	lockdep_assert_held(&kvm->mmu_lock);
	do {
		n = cove_gather(&tvm->shared, &index, end, gfns, removed);
		if (!n)
			break;
		cove_unmap(kvm, gfns, n, removed);
		for (i = 0; i < n; i++) {
			if (removed[i])
				kvm_release_page_dirty(xa_erase(&tvm->shared, gfns[i]));
			else
				pr_warn_ratelimited("the TSM keeps host page 0x%llx mapped; keeping it\n",
						    gfn_to_gpa(gfns[i]));
		}
		if (may_block)
			cond_resched_lock(&kvm->mmu_lock);
	} while (n == COVE_REMOVE_BATCH);
}

/*
 * guest_memfd takes the private pages in [@start, @end) away (a hole
 * punched, its file released, a memory failure): they leave the TVM and
 * go back to the host (cove_take_private()), with kvm->mmu_lock held
 * throughout; guest_memfd drops the seals with the file.  A page the TSM
 * does not remove stays the TVM's; one it does not give back stays kept.
 */
static void cove_unmap_private(struct kvm *kvm, gfn_t start, gfn_t end, bool may_block)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	struct page *pages[COVE_REMOVE_BATCH];
	bool removed[COVE_REMOVE_BATCH];
	gfn_t gfns[COVE_REMOVE_BATCH];
	unsigned long index = start;
	unsigned int n, i, stayed = 0;

	if (!tvm || start >= end || xa_empty(&tvm->pages))
		return;
	lockdep_assert_held(&kvm->mmu_lock);
	do {
		n = cove_gather(&tvm->pages, &index, end, gfns, removed);
		if (!n)
			break;
		stayed += cove_take_private(kvm, gfns, n, removed, pages);
		for (i = 0; i < n; i++) {
			if (pages[i])
				put_page(pages[i]);
		}
		if (may_block)
			cond_resched_lock(&kvm->mmu_lock);
	} while (n == COVE_REMOVE_BATCH);
	if (stayed)
		pr_warn_ratelimited("the TSM kept %u pages of a TVM\n", stayed);
}

/**
 * kvm_riscv_cove_unmap_gfn_range() - Take what a range loses out of a TVM
 * @kvm: the VM, with kvm->mmu_lock held
 * @range: the range, with its attr_filter
 *
 * For MMU notifiers (KVM_FILTER_SHARED): the host pages the TVM maps as
 * shared memory leave it before the host reuses them.  For guest_memfd's
 * invalidations (KVM_FILTER_PRIVATE: a hole punched, the file released, a
 * memory failure): the TVM's private pages leave it and are reclaimed.
 * Nothing for other VMs.
 */
void kvm_riscv_cove_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range)
{
	if (!kvm->arch.cove)
		return;
	if (range->attr_filter & KVM_FILTER_SHARED)
		cove_unmap_shared(kvm, range->start, range->end, range->may_block);
	if (range->attr_filter & KVM_FILTER_PRIVATE)
		cove_unmap_private(kvm, range->start, range->end, range->may_block);
}

/**
 * kvm_riscv_cove_flush_memslot() - A memslot of a TVM goes away
 * @kvm: the VM, with kvm->slots_lock held (not kvm->mmu_lock)
 * @slot: the memslot, deleted or moved (only memslots without guest_memfd
 *	move), still bound to its guest_memfd
 *
 * Everything the TVM has there leaves it: the host pages it maps as shared
 * memory (the memslot no longer tells KVM when the host reuses them) and
 * its private pages, taken back, unsealed and released, so that every page
 * the TVM holds is one of a memslot that exists (but for pages the TSM
 * does not give back).  Before finalize the TVM
 * then lost measured pages and can no longer be finalized.  Nothing for
 * other VMs.
 */
void kvm_riscv_cove_flush_memslot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	gfn_t start = slot->base_gfn, end = slot->base_gfn + slot->npages;

	if (!kvm->arch.cove)
		return;
	lockdep_assert_held(&kvm->slots_lock);
	spin_lock(&kvm->mmu_lock);
	cove_unmap_shared(kvm, start, end, true);
	spin_unlock(&kvm->mmu_lock);
	/*
	 * @slot, not a lookup: the memslots have its invalid copy now, which
	 * has no guest_memfd binding to unseal through.  Pages the TSM keeps
	 * stay the TVM's (reclaimed at destruction) though the memslot goes.
	 */
	cove_remove_private(kvm, start, end, slot);
}

/**
 * kvm_riscv_cove_pre_set_memory_attributes() - A TVM's attribute change
 * @kvm: the VM, with kvm->mmu_lock held
 * @range: the range, with the attributes it gets
 *
 * Its TSM, not KVM's G-stage, maps a TVM's memory: a range that becomes
 * private loses the shared pages the TVM maps there; its private pages went
 * in kvm_riscv_cove_check_memory_attributes() when it became shared.
 *
 * Return: true for a TVM (nothing else to do), false for other VMs.
 */
bool kvm_riscv_cove_pre_set_memory_attributes(struct kvm *kvm, struct kvm_gfn_range *range)
{
	if (!kvm->arch.cove)
		return false;
	if (range->arg.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE)
		cove_unmap_shared(kvm, range->start, range->end, range->may_block);
	return true;
}

/*
 * The boot vCPU's entry point and argument are its pc and a1, as the VMM
 * set them; the TSM measures both.  Every guest_memfd memslot becomes a
 * memory region now: the TSM takes none once the TVM is finalized.
 */
static int cove_finalize(struct kvm *kvm)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	struct kvm_memory_slot *slot;
	struct kvm_vcpu *boot;
	struct sbiret sret;
	int ret = 0, bkt;

	mutex_lock(&kvm->lock);
	boot = kvm_get_vcpu_by_id(kvm, 0);
	if (tvm->finalized || READ_ONCE(tvm->lost_measured))
		ret = -EPERM;
	else if (!boot)
		ret = -EINVAL;
	if (ret)
		goto out;

	mutex_lock(&boot->mutex);
	mutex_lock(&kvm->slots_lock);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		if (kvm_slot_can_be_private(slot)) {
			ret = cove_add_region(tvm, slot);
			if (ret)
				break;
		}
	}
	/*
	 * Under kvm->mmu_lock, as a memory failure takes pages: no measured
	 * page goes between the check and the TSM's finalize.
	 */
	if (!ret) {
		spin_lock(&kvm->mmu_lock);
		if (READ_ONCE(tvm->lost_measured)) {
			ret = -EPERM;
		} else {
			sret = sbi_covh(SBI_COVH_FINALIZE_TVM, tvm->tvm_id,
					boot->arch.guest_context.sepc,
					boot->arch.guest_context.a1, 0, 0, 0);
			if (sret.error)
				ret = -EIO;
			else
				WRITE_ONCE(tvm->finalized, true);
		}
		spin_unlock(&kvm->mmu_lock);
	}
	mutex_unlock(&kvm->slots_lock);
	mutex_unlock(&boot->mutex);
out:
	mutex_unlock(&kvm->lock);
	return ret;
}

static int cove_get_measurement(struct kvm *kvm, struct kvm_tvm_measurement *m)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	struct sbiret r;
	u8 *digest;

	memset(m, 0, sizeof(*m));
	m->digest_size = KVM_TVM_DIGEST_SIZE;
	if (!cove_tsm_is_tvmm)
		return -EOPNOTSUPP;
	digest = kzalloc(KVM_TVM_DIGEST_SIZE, GFP_KERNEL);
	if (!digest)
		return -ENOMEM;
	mutex_lock(&kvm->slots_lock);
	r = sbi_covh(SBI_COVH_TVMM_READ_TVM_MEASUREMENT, tvm->tvm_id, 0,
		     virt_to_phys(digest), KVM_TVM_DIGEST_SIZE, 0, 0);
	m->nr_pages = tvm->nr_measured;
	if (tvm->finalized)
		m->flags |= KVM_TVM_MEASUREMENT_FINALIZED;
	mutex_unlock(&kvm->slots_lock);
	if (!r.error)
		memcpy(m->digest, digest, KVM_TVM_DIGEST_SIZE);
	kfree(digest);
	return r.error ? -EIO : 0;
}

/**
 * kvm_riscv_cove_vm_ioctl() - The VM ioctls of a KVM_RISCV_COVE_VM
 * @kvm: the VM
 * @ioctl: the ioctl
 * @argp: its argument
 *
 * Return: the ioctl's result; -EINVAL for other VMs and other ioctls, as
 * KVM RISC-V answers every architecture VM ioctl it does not know.
 */
int kvm_riscv_cove_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	if (!kvm->arch.cove)
		return -EINVAL;

	switch (ioctl) {
	case KVM_TVM_ADD_MEASURED_PAGES: {
		struct kvm_tvm_measured_pages args;
		int r;

		if (copy_from_user(&args, argp, sizeof(args)))
			return -EFAULT;
		/* Progress is reported whatever the outcome. */
		r = cove_add_measured_pages(kvm, &args);
		if (copy_to_user(argp, &args, sizeof(args)))
			return -EFAULT;
		return r;
	}
	case KVM_TVM_FINALIZE:
		return cove_finalize(kvm);
	case KVM_TVM_GET_MEASUREMENT: {
		struct kvm_tvm_measurement m;
		int r = cove_get_measurement(kvm, &m);

		if (r)
			return r;
		return copy_to_user(argp, &m, sizeof(m)) ? -EFAULT : 0;
	}
	default:
		return -EINVAL;
	}
}

/**
 * kvm_riscv_cove_check_memory_attributes() - Take back what becomes shared
 * @kvm: the VM, with slots_lock held
 * @start: first gfn
 * @end: gfn after the last
 * @attributes: what the range is about to get
 *
 * A range of a finalized TVM that becomes shared loses its confidential
 * pages first: the TSM removes them and KVM reclaims them (zeroed).  Before
 * finalize every page the TVM has is measured, and stays.
 *
 * Return: 0; -EPERM if the TVM is not finalized and has a page in the
 * range that would become shared; -EIO if the TSM did not give back a page
 * (those before it in the range are taken back already).
 */
int kvm_riscv_cove_check_memory_attributes(struct kvm *kvm, gfn_t start, gfn_t end,
					   unsigned long attributes)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	unsigned long gfn = start;

	lockdep_assert_held(&kvm->slots_lock);
	if (!tvm || (attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) ||
	    !xa_find(&tvm->pages, &gfn, end - 1, XA_PRESENT))
		return 0;
	if (!tvm->finalized)
		return -EPERM;
	return cove_remove_private(kvm, start, end, NULL);
}

/**
 * kvm_riscv_cove_init_vm() - Create the TSM's TVM for a KVM_RISCV_COVE_VM
 * @kvm: the VM, whose type is set
 *
 * Return: 0 (also for other VM types), -ENOMEM, -EBUSY while a CPU is
 * offline, -ENOSPC if the TSM has no room for another TVM, -EIO if the TSM
 * refused or failed otherwise.
 */
int kvm_riscv_cove_init_vm(struct kvm *kvm)
{
	struct sbi_cove_tvm_create_params *params;
	struct kvm_cove_tvm *tvm;
	struct sbiret r;
	int ret;

	if (kvm->arch.vm_type != KVM_RISCV_COVE_VM)
		return 0;

	tvm = kzalloc(sizeof(*tvm), GFP_KERNEL_ACCOUNT);
	params = kzalloc(sizeof(*params), GFP_KERNEL);
	if (!tvm || !params) {
		kfree(tvm);
		kfree(params);
		return -ENOMEM;
	}
	xa_init(&tvm->pages);
	xa_init(&tvm->shared);
	tvm->max_vcpus = min3(cove_tsm_info.tvm_max_vcpus, (u64)KVM_MAX_VCPUS,
			      (u64)COVE_MAX_VCPUS);
	tvm->vcpus = kcalloc(tvm->max_vcpus, sizeof(*tvm->vcpus), GFP_KERNEL_ACCOUNT);
	if (!tvm->vcpus) {
		ret = -ENOMEM;
		goto fail;
	}
	tvm->state_order = get_order(cove_tsm_info.tvm_state_pages << PAGE_SHIFT);
	tvm->pgd = alloc_pages(GFP_KERNEL_ACCOUNT, COVE_TVM_PGD_ORDER);
	tvm->state = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_NOWARN, tvm->state_order);
	if (!tvm->pgd || !tvm->state) {
		ret = -ENOMEM;
		goto fail;
	}
	tvm->ranges[COVE_RANGE_PGD].pa = page_to_phys(tvm->pgd);
	tvm->ranges[COVE_RANGE_PGD].nr = 1UL << COVE_TVM_PGD_ORDER;
	tvm->ranges[COVE_RANGE_STATE].pa = page_to_phys(tvm->state);
	tvm->ranges[COVE_RANGE_STATE].nr = cove_tsm_info.tvm_state_pages;

	mutex_lock(&cove_lock);
	ret = cove_convert(tvm->ranges, COVE_TVM_RANGES);
	mutex_unlock(&cove_lock);
	if (ret)
		goto fail;

	params->tvm_page_directory_addr = tvm->ranges[COVE_RANGE_PGD].pa;
	params->tvm_state_addr = tvm->ranges[COVE_RANGE_STATE].pa;
	r = sbi_covh(SBI_COVH_CREATE_TVM, virt_to_phys(params), sizeof(*params),
		     0, 0, 0, 0);
	if (r.error) {
		/* SBI_ERR_FAILED: tvmm's TSM has no free TVM slot. */
		ret = r.error == SBI_ERR_FAILURE ? -ENOSPC : -EIO;
		goto fail;
	}
	tvm->tvm_id = r.value;
	kfree(params);
	kvm->arch.cove = tvm;
	return 0;

fail:
	kfree(params);
	cove_free_tvm(tvm);
	return ret;
}

/**
 * kvm_riscv_cove_destroy_vm() - Destroy the TVM of a KVM_RISCV_COVE_VM
 * @kvm: the VM, whose vCPUs are gone
 *
 * Destroys the TSM's TVM and reclaims its pages.  Nothing for other VMs.
 */
void kvm_riscv_cove_destroy_vm(struct kvm *kvm)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	struct sbiret r;

	if (!tvm)
		return;
	kvm->arch.cove = NULL;
	r = sbi_covh(SBI_COVH_DESTROY_TVM, tvm->tvm_id, 0, 0, 0, 0, 0);
	if (r.error) {
		/* Its pages stay the TSM's: leak them. */
		pr_err("destroy_tvm(%lu) failed: %ld; leaking its pages\n",
		       tvm->tvm_id, r.error);
		xa_destroy(&tvm->pages);
		xa_destroy(&tvm->shared);
		kfree(tvm);
		return;
	}
	cove_release_pages(tvm);
	cove_free_tvm(tvm);
}

/**
 * kvm_riscv_cove_vcpu_precreate() - Create the TSM's vCPU for a TVM vCPU
 * @kvm: the VM, with kvm->lock held
 * @id: the vCPU ID
 *
 * The TSM's vCPU @id is created once, with the first KVM vCPU of that ID,
 * and lives as long as the TVM; a KVM vCPU whose creation fails later
 * leaves it to the next one.
 *
 * Return: 0 (also for other VMs); -EPERM once the TVM is finalized;
 * -EINVAL for an ID the TSM does not offer; -ENOMEM, -EBUSY (a CPU is
 * offline), -EIO.
 */
int kvm_riscv_cove_vcpu_precreate(struct kvm *kvm, unsigned int id)
{
	struct kvm_cove_tvm *tvm = kvm->arch.cove;
	unsigned int order;
	struct cove_vcpu *cv;
	struct sbiret r;
	int ret;

	if (!tvm)
		return 0;
	lockdep_assert_held(&kvm->lock);
	if (id >= tvm->max_vcpus)
		return -EINVAL;
	cv = &tvm->vcpus[id];
	if (cv->created)
		return 0;
	if (tvm->finalized)
		return -EPERM;

	if (!cv->state) {
		order = get_order(cove_tsm_info.tvm_vcpu_state_pages << PAGE_SHIFT);
		cv->state = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_NOWARN, order);
		if (!cv->state)
			return -ENOMEM;
		cv->range.pa = page_to_phys(cv->state);
		cv->range.nr = cove_tsm_info.tvm_vcpu_state_pages;
	}
	mutex_lock(&cove_lock);
	ret = cv->range.converted ? 0 : cove_convert(&cv->range, 1);
	mutex_unlock(&cove_lock);
	if (ret)
		return ret;
	r = sbi_covh(SBI_COVH_CREATE_TVM_VCPU, tvm->tvm_id, id, cv->range.pa, 0, 0, 0);
	if (r.error)
		return -EIO;	/* the pages stay converted, reclaimed at destroy */
	cove_vcpu_timer_init(kvm, cv);
	cv->created = true;
	return 0;
}

static int cove_tsm_show(struct seq_file *m, void *unused)
{
	struct sbi_cove_tvmm_stats *s;
	struct sbiret r;

	seq_printf(m, "impl_id 0x%x\nversion 0x%x\ncapabilities 0x%llx\n",
		   cove_tsm_info.tsm_impl_id, cove_tsm_info.tsm_version,
		   cove_tsm_info.tsm_capabilities);
	if (!cove_tsm_is_tvmm)
		return 0;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	r = sbi_covh(SBI_COVH_TVMM_GET_STATS, virt_to_phys(s), sizeof(*s), 0, 0, 0, 0);
	if (!r.error)
		seq_printf(m, "converting %llu\nconfidential %llu\nassigned %llu\n"
			   "shared_mapped %llu\nshared_maps %llu\ntvms %llu\n"
			   "gstage_pool_used %llu\ngstage_pool_size %llu\n",
			   s->converting, s->confidential, s->assigned,
			   s->shared_mapped, s->shared_maps, s->tvms,
			   s->gstage_pool_used, s->gstage_pool_size);
	kfree(s);
	return r.error ? -EIO : 0;
}
DEFINE_SHOW_ATTRIBUTE(cove_tsm);

/**
 * kvm_riscv_cove_debugfs_init() - Add the TSM's file to KVM's debugfs
 *
 * "cove_tsm" in KVM's debugfs directory: the TSM's information and, for
 * tvmm's reference TSM, what it holds.  Called once KVM's directory exists.
 */
void kvm_riscv_cove_debugfs_init(void)
{
	struct dentry *kvm_dir;

	if (!cove_enabled)
		return;
	/* Removed with KVM's directory at module unload. */
	kvm_dir = debugfs_lookup("kvm", NULL);
	if (IS_ERR_OR_NULL(kvm_dir))
		return;
	debugfs_create_file("cove_tsm", 0444, kvm_dir, NULL, &cove_tsm_fops);
	dput(kvm_dir);
}

/**
 * kvm_riscv_cove_init() - Probe for a CoVE TSM
 *
 * Enables KVM_RISCV_COVE_VM if SBI has COVH and its TSM is ready.  Without
 * a TSM nothing changes.
 */
void __init kvm_riscv_cove_init(void)
{
	struct sbi_cove_tsm_info *info;
	struct sbiret r;

	if (sbi_probe_extension(SBI_EXT_COVH) <= 0)
		return;
	if (sbi_probe_extension(COVE_SBI_EXT_SUPD) <= 0 ||
	    sbi_probe_extension(COVE_SBI_EXT_NACL) <= 0) {
		pr_info("COVH without SUPD or NACL; no TVMs\n");
		return;
	}
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return;
	r = sbi_covh(SBI_COVH_GET_TSM_INFO, virt_to_phys(info), sizeof(*info),
		     0, 0, 0, 0);
	if (r.error || r.value < sizeof(*info)) {
		pr_info("get_tsm_info failed (%ld); no TVMs\n", r.error);
	} else if (info->tsm_state != SBI_COVE_TSM_READY || !info->tvm_state_pages ||
		   info->tvm_state_pages > 512 || !info->tvm_vcpu_state_pages ||
		   info->tvm_vcpu_state_pages > 512 || !info->tvm_max_vcpus) {
		pr_info("TSM not ready (state %u); no TVMs\n", info->tsm_state);
	} else if (cove_nacl_init()) {
		pr_info("no memory for NACL shared memory; no TVMs\n");
	} else {
		cove_tsm_info = *info;
		cove_tsm_is_tvmm = info->tsm_impl_id == COVE_TSM_IMPL_TVMM;
		cove_enabled = true;
		pr_info("TSM 0x%x version 0x%x: TVMs enabled\n",
			info->tsm_impl_id, info->tsm_version);
	}
	kfree(info);
}

/**
 * kvm_riscv_cove_exit() - Undo kvm_riscv_cove_init() at module unload
 */
void kvm_riscv_cove_exit(void)
{
	if (cove_enabled)
		cove_nacl_exit();
}
