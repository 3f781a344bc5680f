/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_GUEST_MEMFD_H__
#define __KVM_GUEST_MEMFD_H__

#include <linux/fs.h>
#include <linux/kvm_host.h>

/* The file side of a guest_memfd: one per file, bound to one VM. */
struct kvm_gmem {
	struct kvm *kvm;
	struct xarray bindings;
	struct list_head entry;
};

/* GUEST_MEMFD_FLAG_* the file was created with. */
static inline u64 kvm_gmem_flags(struct inode *inode)
{
	return (u64)(unsigned long)inode->i_private;
}

int kvm_gmem_mmap(struct file *file, struct vm_area_struct *vma);

#endif /* __KVM_GUEST_MEMFD_H__ */
