// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host userspace mappings of guest_memfd.
 *
 * A guest_memfd created with GUEST_MEMFD_FLAG_MMAP can be mmap()ed.  Its
 * shared pages are mapped on demand; a fault on a private page raises SIGBUS.
 * With GUEST_MEMFD_FLAG_INIT_SHARED the file's memory starts out shared and
 * an offset is private only while it is bound to a memslot whose gfn has
 * KVM_MEMORY_ATTRIBUTE_PRIVATE; without it, every offset is private.  VMs
 * with private memory take INIT_SHARED only with
 * GUEST_MEMFD_FLAG_INPLACE_CONVERSION (this tree's extension); for VMs
 * without, INIT_SHARED is upstream's flag, and no gfn is ever private.
 *
 * Making a range private first removes it from every host userspace
 * mapping; kvm->gmem_mmap_lock, held for write across the attribute update,
 * keeps new mappings out, and the folio lock waits out faults that decided
 * "shared" before the update but have not installed their PTE yet.  A page
 * that anything but the page cache still holds a reference to (a pin, a
 * FOLL_GET reference such as a vmsplice()d pipe buffer, an I/O in flight)
 * cannot be taken away: the conversion fails with -EBUSY and changes
 * nothing.
 *
 * A page that a measured launch added is sealed (kvm_gmem_seal()): it stays
 * private whatever happens to its memslot, cannot be punched out and cannot
 * be bound again, until the file is closed or the architecture, having had
 * the page scrubbed, unseals it (kvm_gmem_unseal()).
 *
 * Binding and unbinding keep private pages private: binding an offset at a
 * private gfn takes it from the host first (-EBUSY if it is referenced),
 * and unbinding discards the private pages of an INIT_SHARED file, which
 * would otherwise read as shared.
 */
#include <linux/delay.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>

#include "kvm_mm.h"
#include "guest_memfd.h"

/**
 * kvm_arch_gmem_supports_mmap() - Whether a VM's guest_memfd may be mapped
 * @kvm: the VM, never NULL
 *
 * Architectures whose private memory is protected by hardware (SEV-SNP, TDX,
 * CoVE) keep the default; those that can let the host map shared guest_memfd
 * pages override it.
 *
 * Return: true if GUEST_MEMFD_FLAG_MMAP is offered for @kvm.
 */
bool __weak kvm_arch_gmem_supports_mmap(struct kvm *kvm)
{
	return false;
}

/*
 * KVM_CAP_GUEST_MEMFD_FLAGS, as upstream defines it: MMAP wherever the host
 * may map guest_memfd, INIT_SHARED only for VMs without private memory (the
 * system fd reports every flag).  In-place conversion for VMs with private
 * memory is this tree's extension and is never reported here.
 */
u64 kvm_gmem_supported_flags(struct kvm *kvm)
{
	if (!kvm)
		return GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	if (!kvm_arch_gmem_supports_mmap(kvm))
		return 0;
	if (kvm_arch_has_private_mem(kvm))
		return GUEST_MEMFD_FLAG_MMAP;
	return GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
}

/* KVM_CAP_GUEST_MEMFD_INPLACE_CONVERSION: 1 if @kvm (any VM, if NULL) may. */
int kvm_gmem_inplace_conversion(struct kvm *kvm)
{
	return !kvm || (kvm_arch_has_private_mem(kvm) &&
			kvm_arch_gmem_supports_mmap(kvm));
}

/*
 * Flags for KVM_CREATE_GUEST_MEMFD: upstream's, plus, for VMs with private
 * memory, INIT_SHARED together with INPLACE_CONVERSION (never one of the
 * two alone, so that a VMM written for upstream gets upstream's -EINVAL).
 */
bool kvm_gmem_valid_flags(struct kvm *kvm, u64 flags)
{
	const u64 inplace = GUEST_MEMFD_FLAG_INIT_SHARED |
			    GUEST_MEMFD_FLAG_INPLACE_CONVERSION;
	u64 valid = kvm_gmem_supported_flags(kvm);

	if (kvm_gmem_inplace_conversion(kvm))
		valid |= inplace;
	if (flags & ~valid)
		return false;
	if ((flags & GUEST_MEMFD_FLAG_INIT_SHARED) &&
	    !(flags & GUEST_MEMFD_FLAG_MMAP))
		return false;
	if (kvm_arch_has_private_mem(kvm) && (flags & inplace) &&
	    (flags & inplace) != inplace)
		return false;
	return true;
}

/* Called with the mapping's invalidate_lock held, so bindings are stable. */
static bool kvm_gmem_index_is_private(struct kvm_gmem *gmem, u64 flags,
				      pgoff_t index)
{
	struct kvm_memory_slot *slot;

	if (!(flags & GUEST_MEMFD_FLAG_INIT_SHARED) ||
	    kvm_gmem_range_sealed(gmem, index, index + 1))
		return true;

	slot = xa_load(&gmem->bindings, index);
	if (!slot)
		return false;

	return kvm_mem_is_private(gmem->kvm,
				  slot->base_gfn + index - slot->gmem.pgoff);
}

static vm_fault_t kvm_gmem_fault_user(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	struct kvm_gmem *gmem = file->private_data;
	struct kvm *kvm = gmem->kvm;
	vm_fault_t ret = VM_FAULT_LOCKED;
	struct folio *folio;

	if (vmf->pgoff >= i_size_read(inode) >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;

	down_read(&kvm->gmem_mmap_lock);
	filemap_invalidate_lock_shared(inode->i_mapping);

	if (kvm_gmem_index_is_private(gmem, kvm_gmem_flags(inode), vmf->pgoff)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}

	folio = filemap_grab_folio(inode->i_mapping, vmf->pgoff);
	if (IS_ERR(folio)) {
		ret = vmf_error(PTR_ERR(folio));
		goto out;
	}

	if (folio_test_hwpoison(folio)) {
		folio_unlock(folio);
		folio_put(folio);
		ret = VM_FAULT_HWPOISON;
		goto out;
	}

	/* Same as a first guest fault: the page starts out zeroed. */
	if (!folio_test_uptodate(folio)) {
		clear_highpage(folio_page(folio, 0));
		folio_mark_uptodate(folio);
	}

	vmf->page = folio_file_page(folio, vmf->pgoff);
out:
	filemap_invalidate_unlock_shared(inode->i_mapping);
	up_read(&kvm->gmem_mmap_lock);
	return ret;
}

static const struct vm_operations_struct kvm_gmem_vm_ops = {
	.fault = kvm_gmem_fault_user,
};

int kvm_gmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (!(kvm_gmem_flags(file_inode(file)) & GUEST_MEMFD_FLAG_MMAP))
		return -ENODEV;

	/* A private copy of guest memory would defeat conversions. */
	if ((vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) !=
	    (VM_SHARED | VM_MAYSHARE))
		return -EINVAL;

	vm_flags_set(vma, VM_DONTDUMP);
	vma->vm_ops = &kvm_gmem_vm_ops;
	return 0;
}

#ifdef CONFIG_KVM_GENERIC_PRIVATE_MEM
/**
 * kvm_gmem_seal() - Keep a guest_memfd page private and immutable
 * @slot: the memslot that binds the page
 * @gfn: the page's gfn in @slot
 *
 * The page can no longer be mapped by host userspace (even once @slot is
 * gone), punched out of the file (-EPERM) or bound to a memslot again
 * (-EPERM), until kvm_gmem_unseal().  Called with the file's invalidate_lock
 * held, as from a kvm_gmem_populate() callback.
 *
 * Return: 0, -ENOMEM, or -EINVAL if @slot has no guest_memfd.
 */
int kvm_gmem_seal(struct kvm_memory_slot *slot, gfn_t gfn)
{
	struct kvm_gmem *gmem;
	struct file *file;
	int r;

	file = get_file_active(&slot->gmem.file);
	if (!file)
		return -EINVAL;

	gmem = file->private_data;
	r = xa_err(xa_store(&gmem->sealed, slot->gmem.pgoff + gfn - slot->base_gfn,
			    xa_mk_value(1), GFP_KERNEL_ACCOUNT));
	fput(file);
	return r;
}

/**
 * kvm_gmem_unseal() - Undo kvm_gmem_seal() for a page whose content is gone
 * @slot: the memslot that binds the page
 * @gfn: the page's gfn in @slot
 * @page: the page the caller sealed there, which it holds a reference to
 *
 * For a page that the hardware took back and scrubbed, such as a CoVE TVM's
 * page its TSM gave back: the offset may be punched out and bound again,
 * and the page is no longer prepared, so that kvm_gmem_populate() may fill
 * it again.  Nothing happens if @slot no longer binds @page at @gfn (its
 * file was closed, or another file is bound there now).  Takes the file's
 * invalidate_lock and the folio lock.
 */
void kvm_gmem_unseal(struct kvm_memory_slot *slot, gfn_t gfn, struct page *page)
{
	struct kvm_gmem *gmem;
	struct folio *folio;
	struct file *file;
	pgoff_t index;

	file = get_file_active(&slot->gmem.file);
	if (!file)
		return;

	gmem = file->private_data;
	index = slot->gmem.pgoff + gfn - slot->base_gfn;
	filemap_invalidate_lock(file->f_mapping);
	folio = filemap_get_folio(file->f_mapping, index);
	if (!IS_ERR(folio)) {
		folio_lock(folio);
		if (folio_file_page(folio, index) == page) {
			xa_erase(&gmem->sealed, index);
			folio_clear_uptodate(folio);
		}
		folio_unlock(folio);
		folio_put(folio);
	}
	filemap_invalidate_unlock(file->f_mapping);
	fput(file);
}
#endif /* CONFIG_KVM_GENERIC_PRIVATE_MEM */

/*
 * Whether @folio, locked, unmapped and held once by the caller's batch, has
 * references beyond the page cache's.  A new folio waits in a per-CPU LRU
 * batch, which holds one reference, until that batch is drained; modules
 * cannot drain other CPUs' batches, so a folio that is not on the LRU yet
 * may have exactly that one more.  Any other reference makes it busy.
 */
static bool kvm_gmem_folio_busy(struct folio *folio)
{
	long expected = folio_nr_pages(folio) + 1;

	if (!folio_test_lru(folio))
		expected++;

	return folio_ref_count(folio) > expected || folio_mapped(folio);
}

/*
 * A reference a page fault or a KVM G-stage/TDP fault in flight holds goes
 * away within microseconds; give it a few milliseconds before calling the
 * folio busy.  Called and returns with the folio locked.
 */
#define KVM_GMEM_BUSY_TRIES	50

static int kvm_gmem_wait_idle(struct folio *folio)
{
	int i;

	for (i = 0; i < KVM_GMEM_BUSY_TRIES; i++) {
		folio_unlock(folio);
		usleep_range(100, 200);
		folio_lock(folio);
		if (!kvm_gmem_folio_busy(folio))
			return 0;
	}
	return -EBUSY;
}

/*
 * Unmap [@start, @start + @nr) from host userspace; -EBUSY if a page in it is
 * referenced by anything but the page cache.  New faults are held off by
 * kvm->gmem_mmap_lock.
 */
static int kvm_gmem_unmap_range(struct address_space *mapping, pgoff_t start,
				pgoff_t nr)
{
	pgoff_t index = start, last = start + nr - 1;
	struct folio_batch fbatch;
	int r = 0;
	unsigned int i;

	unmap_mapping_pages(mapping, start, nr, false);

	folio_batch_init(&fbatch);
	while (!r && filemap_get_folios(mapping, &index, last, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			/* Wait for a fault that is still installing its PTE. */
			folio_lock(folio);
			if (folio_mapped(folio))
				unmap_mapping_pages(mapping, folio->index,
						    folio_nr_pages(folio), false);
			if (kvm_gmem_folio_busy(folio))
				r = kvm_gmem_wait_idle(folio);
			folio_unlock(folio);
			if (r)
				break;
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}

	return r;
}

#ifdef CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES
/*
 * Call @fn for the file offset of every private gfn that @slot binds in
 * @gmem's file, until it fails.
 */
typedef int (*kvm_gmem_offset_fn)(struct kvm_gmem *gmem,
				  struct address_space *mapping, pgoff_t index);

static int kvm_gmem_walk_private(struct kvm_gmem *gmem,
				 struct kvm_memory_slot *slot,
				 struct address_space *mapping,
				 kvm_gmem_offset_fn fn)
{
	struct kvm *kvm = gmem->kvm;
	unsigned long gfn;
	void *entry;
	int r;

	lockdep_assert_held(&kvm->slots_lock);
	if (!kvm_arch_has_private_mem(kvm))
		return 0;

	xa_for_each_range(&kvm->mem_attr_array, gfn, entry, slot->base_gfn,
			  slot->base_gfn + slot->npages - 1) {
		if (!(xa_to_value(entry) & KVM_MEMORY_ATTRIBUTE_PRIVATE))
			continue;
		r = fn(gmem, mapping, slot->gmem.pgoff + gfn - slot->base_gfn);
		if (r)
			return r;
		cond_resched();
	}
	return 0;
}

static int kvm_gmem_take_one(struct kvm_gmem *gmem,
			     struct address_space *mapping, pgoff_t index)
{
	return kvm_gmem_unmap_range(mapping, index, 1);
}

/**
 * kvm_gmem_bind_private() - Take the offsets a new binding makes private
 * @gmem: the file's guest_memfd
 * @slot: the memslot being bound, its bindings stored
 * @mapping: the file's mapping, with its invalidate_lock held
 *
 * With INIT_SHARED, an offset bound at a private gfn becomes private: remove
 * it from host mappings, unless something still references it.
 *
 * Return: 0, or -EBUSY.
 */
int kvm_gmem_bind_private(struct kvm_gmem *gmem, struct kvm_memory_slot *slot,
			  struct address_space *mapping)
{
	if (!(kvm_gmem_flags(mapping->host) & GUEST_MEMFD_FLAG_INIT_SHARED))
		return 0;
	return kvm_gmem_walk_private(gmem, slot, mapping, kvm_gmem_take_one);
}

static int kvm_gmem_discard_one(struct kvm_gmem *gmem,
				struct address_space *mapping, pgoff_t index)
{
	if (!kvm_gmem_range_sealed(gmem, index, index + 1))
		truncate_inode_pages_range(mapping, (loff_t)index << PAGE_SHIFT,
					   ((loff_t)(index + 1) << PAGE_SHIFT) - 1);
	return 0;
}

/**
 * kvm_gmem_unbind_private() - Discard the private pages of a binding
 * @gmem: the file's guest_memfd
 * @slot: the memslot being unbound; KVM no longer maps it
 * @mapping: the file's mapping, with its invalidate_lock held
 *
 * Once unbound, an offset of an INIT_SHARED file is shared: its private
 * content must not become readable by the host.  Sealed pages stay, as
 * they stay private.
 */
void kvm_gmem_unbind_private(struct kvm_gmem *gmem, struct kvm_memory_slot *slot,
			     struct address_space *mapping)
{
	if (kvm_gmem_flags(mapping->host) & GUEST_MEMFD_FLAG_INIT_SHARED)
		kvm_gmem_walk_private(gmem, slot, mapping, kvm_gmem_discard_one);
}

/**
 * kvm_gmem_unmap_shared_begin() - Take gfns about to become private from the host
 * @kvm: the VM, with slots_lock held
 * @start: first gfn
 * @end: gfn after the last
 *
 * On success, kvm->gmem_mmap_lock stays held for write until
 * kvm_gmem_unmap_shared_end(), so the range cannot be mapped again before
 * its attributes are updated.
 *
 * Return: 0, or -EBUSY if the host holds a reference to a page in the range
 * (a pin, a get_user_pages() reference, a pipe buffer).
 */
int kvm_gmem_unmap_shared_begin(struct kvm *kvm, gfn_t start, gfn_t end)
{
	struct kvm_memslot_iter iter;
	int r = 0, i;

	lockdep_assert_held(&kvm->slots_lock);

	down_write(&kvm->gmem_mmap_lock);
	for (i = 0; !r && i < kvm_arch_nr_memslot_as_ids(kvm); i++) {
		struct kvm_memslots *slots = __kvm_memslots(kvm, i);

		kvm_for_each_memslot_in_gfn_range(&iter, slots, start, end) {
			struct kvm_memory_slot *slot = iter.slot;
			gfn_t first = max(start, slot->base_gfn);
			gfn_t last = min(end, slot->base_gfn + slot->npages);
			struct file *file;

			if (!kvm_slot_can_be_private(slot) || first >= last)
				continue;

			file = get_file_active(&slot->gmem.file);
			if (!file)
				continue;
			if (kvm_gmem_flags(file_inode(file)) & GUEST_MEMFD_FLAG_INIT_SHARED)
				r = kvm_gmem_unmap_range(file->f_mapping,
							 slot->gmem.pgoff + first - slot->base_gfn,
							 last - first);
			fput(file);
			if (r)
				break;
		}
	}

	if (r)
		up_write(&kvm->gmem_mmap_lock);
	return r;
}

void kvm_gmem_unmap_shared_end(struct kvm *kvm)
{
	up_write(&kvm->gmem_mmap_lock);
}
#endif /* CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES */
