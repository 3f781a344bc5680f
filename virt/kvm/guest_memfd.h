/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_GUEST_MEMFD_H__
#define __KVM_GUEST_MEMFD_H__

#include <linux/fs.h>
#include <linux/kvm_host.h>

/*
 * The file side of a guest_memfd: one per file, bound to one VM.  @sealed
 * holds the offsets that kvm_gmem_seal() made private and immutable for the
 * file's lifetime; written under the mapping's invalidate_lock.
 */
struct kvm_gmem {
	struct kvm *kvm;
	struct xarray bindings;
	struct xarray sealed;
	struct list_head entry;
};

/* GUEST_MEMFD_FLAG_* the file was created with. */
static inline u64 kvm_gmem_flags(struct inode *inode)
{
	return (u64)(unsigned long)inode->i_private;
}

/*
 * Whether a memslot bound to the file takes all of its memory from it, shared
 * pages too (KVM_MEMSLOT_GMEM_ONLY), as upstream does for mmap()able files.
 * An in-place conversion file leaves shared faults on userspace_addr, which
 * maps the same file.
 */
static inline bool kvm_gmem_backs_all(struct inode *inode)
{
	u64 flags = kvm_gmem_flags(inode);

	return (flags & GUEST_MEMFD_FLAG_MMAP) &&
	       !(flags & GUEST_MEMFD_FLAG_INPLACE_CONVERSION);
}

int kvm_gmem_mmap(struct file *file, struct vm_area_struct *vma);

#ifdef CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES
int kvm_gmem_bind_private(struct kvm_gmem *gmem, struct kvm_memory_slot *slot,
			  struct address_space *mapping);
void kvm_gmem_unbind_private(struct kvm_gmem *gmem, struct kvm_memory_slot *slot,
			     struct address_space *mapping);
#else
static inline int kvm_gmem_bind_private(struct kvm_gmem *gmem,
					struct kvm_memory_slot *slot,
					struct address_space *mapping)
{
	return 0;
}

static inline void kvm_gmem_unbind_private(struct kvm_gmem *gmem,
					   struct kvm_memory_slot *slot,
					   struct address_space *mapping)
{
}
#endif

/* Whether any offset in [@start, @end) is sealed. */
static inline bool kvm_gmem_range_sealed(struct kvm_gmem *gmem, pgoff_t start,
					 pgoff_t end)
{
	unsigned long index = start;

	return !xa_empty(&gmem->sealed) &&
	       xa_find(&gmem->sealed, &index, end - 1, XA_PRESENT);
}

#endif /* __KVM_GUEST_MEMFD_H__ */
