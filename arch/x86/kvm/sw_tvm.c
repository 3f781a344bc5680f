// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measured launch for software-protected VMs (KVM_X86_SW_PROTECTED_VM).
 *
 * The VMM copies the initial image into private guest_memfd pages with
 * KVM_TVM_ADD_MEASURED_PAGES; each page extends a SHA-384 launch digest,
 *
 *	D(0) = 48 zero bytes
 *	D(n) = SHA-384(D(n-1) || le64(gpa) || le64(PAGE_SIZE) || content)
 *
 * so the digest depends on the content, the GPA, the size and the order of
 * the pages.  KVM_TVM_FINALIZE freezes it; afterwards no page can be added,
 * and the guest can read it with the KVM_HC_TVM_GET_MEASUREMENT hypercall.
 *
 * The digest binds the memory: a measured page stays private and unchanged
 * until the VM is destroyed.  Its gfn cannot be converted to shared, no new
 * memslot can cover it once its own is deleted, and its guest_memfd page is
 * sealed (kvm_gmem_seal()).  vCPUs do
 * not run while a launch is being measured, and a VM whose vCPUs ran first
 * cannot start one:
 *
 *	NONE --ADD--> MEASURING --FINALIZE--> FINALIZED
 *	NONE --FINALIZE--> FINALIZED
 *	NONE --KVM_RUN--> UNMEASURED
 *
 * KVM_RUN fails with -EPERM in MEASURING; ADD and FINALIZE fail with -EPERM
 * in FINALIZED and UNMEASURED.
 *
 * This mirrors the add-measured-pages/finalize flow of hardware TVMs (CoVE,
 * SEV-SNP, TDX) so that VMMs launch all of them the same way, but nothing
 * here protects the guest from the host kernel: software protection only
 * keeps private memory out of the VMM's and KVM's accidental reach.
 */
#include <linux/kvm_host.h>
#include <linux/highmem.h>
#include <linux/sizes.h>
#include <crypto/hash.h>

#include "sw_tvm.h"
#include "kvm_cache_regs.h"
#include "mmu.h"
#include "mmu/vtl.h"
#include "x86.h"

enum sw_tvm_launch {
	SW_TVM_LAUNCH_NONE,
	SW_TVM_LAUNCH_MEASURING,
	SW_TVM_LAUNCH_FINALIZED,
	SW_TVM_LAUNCH_UNMEASURED,
};

/* @measured holds the measured gfns; written under slots_lock. */
struct kvm_sw_tvm {
	struct crypto_shash *tfm;
	u8 digest[KVM_TVM_DIGEST_SIZE];
	u64 nr_pages;
	struct xarray measured;
};

/* What kvm_gmem_populate() hands to the callback for one page. */
struct sw_tvm_page {
	struct kvm_sw_tvm *tvm;
	const void *src;
};

int kvm_sw_tvm_check_extension(struct kvm *kvm, long ext)
{
	if (ext != KVM_CAP_TVM_MEASURED_LAUNCH)
		return 0;

	if (!kvm)
		return !!(kvm_caps.supported_vm_types & BIT(KVM_X86_SW_PROTECTED_VM));

	return kvm_is_sw_tvm(kvm);
}

/* Called with slots_lock held. */
static struct kvm_sw_tvm *sw_tvm_get(struct kvm *kvm)
{
	struct kvm_sw_tvm *tvm = kvm->arch.sw_tvm;
	struct crypto_shash *tfm;

	lockdep_assert_held(&kvm->slots_lock);
	if (tvm)
		return tvm;

	tvm = kzalloc(sizeof(*tvm), GFP_KERNEL_ACCOUNT);
	if (!tvm)
		return ERR_PTR(-ENOMEM);

	tfm = crypto_alloc_shash("sha384", 0, 0);
	if (IS_ERR(tfm)) {
		kfree(tvm);
		return ERR_CAST(tfm);
	}
	if (WARN_ON_ONCE(crypto_shash_digestsize(tfm) != KVM_TVM_DIGEST_SIZE)) {
		crypto_free_shash(tfm);
		kfree(tvm);
		return ERR_PTR(-EIO);
	}

	tvm->tfm = tfm;
	xa_init(&tvm->measured);
	/* Pairs with READ_ONCE() in the lockless readers. */
	WRITE_ONCE(kvm->arch.sw_tvm, tvm);
	return tvm;
}

/* The digest after @content at @gpa, into @next; tvm->digest is unchanged. */
static int sw_tvm_extend(struct kvm_sw_tvm *tvm, gpa_t gpa, const void *content,
			 u8 next[KVM_TVM_DIGEST_SIZE])
{
	SHASH_DESC_ON_STACK(desc, tvm->tfm);
	__le64 hdr[2] = { cpu_to_le64(gpa), cpu_to_le64(PAGE_SIZE) };
	int r;

	desc->tfm = tvm->tfm;
	r = crypto_shash_init(desc) ?:
	    crypto_shash_update(desc, tvm->digest, sizeof(tvm->digest)) ?:
	    crypto_shash_update(desc, (const u8 *)hdr, sizeof(hdr)) ?:
	    crypto_shash_update(desc, content, PAGE_SIZE) ?:
	    crypto_shash_final(desc, next);
	shash_desc_zero(desc);
	return r;
}

/* Pairs with the fully ordered cmpxchg() in sw_tvm_launch_move(). */
static bool sw_tvm_finalized(struct kvm *kvm)
{
	return smp_load_acquire(&kvm->arch.sw_tvm_launch) == SW_TVM_LAUNCH_FINALIZED;
}

/*
 * Move the launch from one of the states in @from (a mask of their bits) to
 * @to.  Return: 0, or -EPERM if the launch is in another state.
 */
static int sw_tvm_launch_move(struct kvm *kvm, unsigned long from,
			      unsigned int to)
{
	unsigned int old = READ_ONCE(kvm->arch.sw_tvm_launch);

	for (;;) {
		unsigned int cur;

		if (old == to)
			return 0;
		if (!(from & BIT(old)))
			return -EPERM;
		cur = cmpxchg(&kvm->arch.sw_tvm_launch, old, to);
		if (cur == old)
			return 0;
		old = cur;
	}
}

static int sw_tvm_post_populate(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn,
				void __user *src, int order, void *opaque)
{
	struct sw_tvm_page *page = opaque;
	u8 next[KVM_TVM_DIGEST_SIZE];
	void *dst;
	int r;

	if (WARN_ON_ONCE(order))
		return -EIO;

	/*
	 * Measure, then seal the page and remember its gfn, and only then let
	 * the measurement count: a failure at any step leaves neither a sealed
	 * page outside the digest nor a digest over a page that is not held
	 * private.  Sealing is for good, so it is the last step that can fail.
	 */
	r = sw_tvm_extend(page->tvm, gfn_to_gpa(gfn), page->src, next);
	if (r)
		return r;
	r = xa_err(xa_store(&page->tvm->measured, gfn, xa_mk_value(1),
			    GFP_KERNEL_ACCOUNT));
	if (!r)
		r = kvm_gmem_seal(gfn_to_memslot(kvm, gfn), gfn);
	if (r) {
		xa_erase(&page->tvm->measured, gfn);
		return r;
	}
	memcpy(page->tvm->digest, next, sizeof(next));

	dst = kmap_local_pfn(pfn);
	memcpy(dst, page->src, PAGE_SIZE);
	kunmap_local(dst);
	page->tvm->nr_pages++;
	return 0;
}

/*
 * Add one page: the source was copied to @buf without locks held, so that
 * no user fault happens under the guest_memfd invalidate lock.
 */
static int sw_tvm_add_page(struct kvm *kvm, gpa_t gpa, const void *buf)
{
	struct sw_tvm_page page = { .src = buf };
	long r;

	guard(mutex)(&kvm->slots_lock);

	page.tvm = sw_tvm_get(kvm);
	if (IS_ERR(page.tvm))
		return PTR_ERR(page.tvm);
	r = sw_tvm_launch_move(kvm, BIT(SW_TVM_LAUNCH_NONE),
			       SW_TVM_LAUNCH_MEASURING);
	if (r)
		return r;

	r = kvm_gmem_populate(kvm, gpa_to_gfn(gpa), NULL, 1,
			      sw_tvm_post_populate, &page);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EIO;
}

static int sw_tvm_add_pages(struct kvm *kvm, struct kvm_tvm_measured_pages *args)
{
	void *buf;
	int r = 0;

	if (args->flags || memchr_inv(args->reserved, 0, sizeof(args->reserved)))
		return -EINVAL;
	if (!args->size || !PAGE_ALIGNED(args->gpa) || !PAGE_ALIGNED(args->size) ||
	    !PAGE_ALIGNED(args->uaddr))
		return -EINVAL;
	if (args->gpa + args->size < args->gpa ||
	    args->uaddr + args->size < args->uaddr)
		return -EINVAL;
	if (gpa_to_gfn(args->gpa + args->size - 1) > kvm_mmu_max_gfn())
		return -EINVAL;

	buf = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	/* On failure gpa, uaddr and size describe what was not added. */
	while (args->size) {
		if (signal_pending(current)) {
			r = -EINTR;
			break;
		}
		if (copy_from_user(buf, u64_to_user_ptr(args->uaddr), PAGE_SIZE)) {
			r = -EFAULT;
			break;
		}
		r = sw_tvm_add_page(kvm, args->gpa, buf);
		if (r)
			break;

		args->gpa += PAGE_SIZE;
		args->uaddr += PAGE_SIZE;
		args->size -= PAGE_SIZE;
		cond_resched();
	}

	free_page((unsigned long)buf);
	return r;
}

static int sw_tvm_finalize(struct kvm *kvm)
{
	struct kvm_sw_tvm *tvm;

	guard(mutex)(&kvm->slots_lock);

	tvm = sw_tvm_get(kvm);
	if (IS_ERR(tvm))
		return PTR_ERR(tvm);
	if (sw_tvm_finalized(kvm))
		return -EPERM;

	/* cmpxchg() orders the digest before the state the hypercall reads. */
	return sw_tvm_launch_move(kvm, BIT(SW_TVM_LAUNCH_NONE) |
				  BIT(SW_TVM_LAUNCH_MEASURING),
				  SW_TVM_LAUNCH_FINALIZED);
}

static void sw_tvm_get_measurement(struct kvm *kvm, struct kvm_tvm_measurement *m)
{
	struct kvm_sw_tvm *tvm;

	memset(m, 0, sizeof(*m));
	m->digest_size = KVM_TVM_DIGEST_SIZE;

	guard(mutex)(&kvm->slots_lock);
	tvm = kvm->arch.sw_tvm;
	if (!tvm)
		return;

	memcpy(m->digest, tvm->digest, sizeof(tvm->digest));
	m->nr_pages = tvm->nr_pages;
	if (sw_tvm_finalized(kvm))
		m->flags |= KVM_TVM_MEASUREMENT_FINALIZED;
}

int kvm_sw_tvm_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_TVM_ADD_MEASURED_PAGES: {
		struct kvm_tvm_measured_pages args;
		int r;

		if (!kvm_is_sw_tvm(kvm))
			return -EINVAL;
		if (copy_from_user(&args, argp, sizeof(args)))
			return -EFAULT;
		/* Progress is reported whatever the outcome. */
		r = sw_tvm_add_pages(kvm, &args);
		if (copy_to_user(argp, &args, sizeof(args)))
			return -EFAULT;
		return r;
	}
	case KVM_TVM_FINALIZE:
		if (!kvm_is_sw_tvm(kvm))
			return -EINVAL;
		return sw_tvm_finalize(kvm);
	case KVM_TVM_GET_MEASUREMENT: {
		struct kvm_tvm_measurement m;

		if (!kvm_is_sw_tvm(kvm))
			return -EINVAL;
		sw_tvm_get_measurement(kvm, &m);
		return copy_to_user(argp, &m, sizeof(m)) ? -EFAULT : 0;
	}
	default:
		return -ENOTTY;
	}
}

/**
 * kvm_sw_tvm_hypercall() - KVM_HC_TVM_GET_MEASUREMENT
 * @vcpu: the calling vCPU
 * @flags: the first hypercall argument, must be 0
 *
 * Returns the finalized launch digest in RBX, RCX, RDX, RSI, RDI and R8 (in
 * that order, each 8 bytes of the digest in memory order).
 *
 * Return: 0, -KVM_ENOSYS for other VM types, -KVM_EINVAL for nonzero @flags,
 * or -KVM_EPERM while the launch is not finalized.
 */
unsigned long kvm_sw_tvm_hypercall(struct kvm_vcpu *vcpu, unsigned long flags)
{
	struct kvm_sw_tvm *tvm = READ_ONCE(vcpu->kvm->arch.sw_tvm);
	u64 w[KVM_TVM_DIGEST_SIZE / 8];

	if (!kvm_is_sw_tvm(vcpu->kvm))
		return -KVM_ENOSYS;
	if (flags)
		return -KVM_EINVAL;
	/* Once finalized, the digest never changes again. */
	if (!tvm || !sw_tvm_finalized(vcpu->kvm))
		return -KVM_EPERM;

	memcpy(w, tvm->digest, sizeof(w));
	kvm_rbx_write(vcpu, w[0]);
	kvm_rcx_write(vcpu, w[1]);
	kvm_rdx_write(vcpu, w[2]);
	kvm_rsi_write(vcpu, w[3]);
	kvm_rdi_write(vcpu, w[4]);
	kvm_r8_write(vcpu, w[5]);
	return 0;
}

/* Whether any gfn in [@start, @end) was measured. */
static bool sw_tvm_range_measured(struct kvm *kvm, gfn_t start, gfn_t end)
{
	struct kvm_sw_tvm *tvm = READ_ONCE(kvm->arch.sw_tvm);
	unsigned long index = start;

	return tvm && start < end &&
	       xa_find(&tvm->measured, &index, end - 1, XA_PRESENT);
}

/**
 * kvm_sw_tvm_vcpu_may_run() - Whether KVM_RUN may enter the guest
 * @kvm: the vCPU's VM
 *
 * The first KVM_RUN of a VM that has not started a measured launch makes
 * it an unmeasured VM for good.
 *
 * Return: 0, or -EPERM while a launch is being measured.
 */
int kvm_sw_tvm_vcpu_may_run(struct kvm *kvm)
{
	if (!kvm_is_sw_tvm(kvm) || sw_tvm_finalized(kvm))
		return 0;

	return sw_tvm_launch_move(kvm, BIT(SW_TVM_LAUNCH_NONE) |
				  BIT(SW_TVM_LAUNCH_UNMEASURED),
				  SW_TVM_LAUNCH_UNMEASURED);
}

/**
 * kvm_sw_tvm_prepare_memory_region() - Keep measured gfns where they were
 * @kvm: the VM, with slots_lock held
 * @old: the memslot being moved or deleted, or NULL
 * @new: the memslot being created or moved, or NULL
 * @change: what happens
 *
 * Measured gfns live in guest_memfd memslots, which cannot be moved.  Such a
 * memslot can be deleted (its sealed pages stay private, the guest loses
 * those gfns), but no memslot may cover a measured gfn again.
 *
 * Return: 0, or -EPERM.
 */
int kvm_sw_tvm_prepare_memory_region(struct kvm *kvm,
				     const struct kvm_memory_slot *old,
				     const struct kvm_memory_slot *new,
				     enum kvm_mr_change change)
{
	if (!kvm_is_sw_tvm(kvm))
		return 0;

	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    sw_tvm_range_measured(kvm, new->base_gfn, new->base_gfn + new->npages))
		return -EPERM;
	return 0;
}

/*
 * KVM_SET_MEMORY_ATTRIBUTES: a measured gfn stays private, and a gfn that a
 * VTL layer restricts cannot become private (private faults ignore layers).
 */
int kvm_arch_check_memory_attributes(struct kvm *kvm, gfn_t start, gfn_t end,
				     unsigned long attributes)
{
	lockdep_assert_held(&kvm->slots_lock);

	if (!(attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) &&
	    sw_tvm_range_measured(kvm, start, end))
		return -EPERM;
	if ((attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) &&
	    kvm_vtl_range_restricted(kvm, start, end))
		return -EINVAL;
	return 0;
}

/*
 * Private memory as KVM's emulator sees it.
 *
 * A private gfn has no userspace mapping that holds its content (a
 * guest_memfd mapping faults on it, any other holds the shared view), so
 * the accesses KVM emulates for the guest (instruction fetches, page-table
 * walks and their accessed/dirty updates, PAE PDPTE loads, emulated loads,
 * stores and atomics) reach a private gfn through guest_memfd.
 *
 * Only the guest's own: KVM_RUN sets sw_tvm_guest_access once it has taken
 * the VMM's register changes, so a walk or PDPTE load that the VMM starts
 * (KVM_TRANSLATE, KVM_SET_SREGS, sync_regs) cannot read or write private
 * memory through a CR3 of its choice; nor can a nested guest's (nested
 * TVMs are not supported: its walks would disagree with the shadow MMU's
 * re-reads, which cannot sleep).  Those accesses fail as for an unreadable
 * gfn.  An emulated access to a private gfn never becomes an MMIO exit,
 * which would hand the VMM the data, and a failed emulation does not report
 * the instruction's bytes.
 */

/*
 * The memslot of a private gfn of this sw TVM, if it can hold private memory
 * (a private gfn without one is MMIO to the MMU as well), else NULL.
 */
static struct kvm_memory_slot *sw_tvm_private_slot(struct kvm_vcpu *vcpu,
						   gfn_t gfn)
{
	struct kvm_memory_slot *slot;

	if (!kvm_mem_is_private(vcpu->kvm, gfn))
		return NULL;
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn);
	return kvm_slot_can_be_private(slot) ? slot : NULL;
}

/**
 * __kvm_sw_tvm_is_private() - Whether @gpa is private memory of a sw TVM
 * @vcpu: a vCPU of a software-protected VM
 * @gpa: the guest physical address
 *
 * Return: true for a private gfn in a guest_memfd memslot.
 */
bool __kvm_sw_tvm_is_private(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	return sw_tvm_private_slot(vcpu, gpa_to_gfn(gpa));
}

/* The guest_memfd page behind @gpa, if @gpa is private memory of a sw TVM. */
static int sw_tvm_private_page(struct kvm_vcpu *vcpu, gpa_t gpa,
			       struct page **page)
{
	gfn_t gfn = gpa_to_gfn(gpa);
	struct kvm_memory_slot *slot = sw_tvm_private_slot(vcpu, gfn);
	kvm_pfn_t pfn;
	int r;

	if (!slot)
		return -ENOENT;
	if (!vcpu->arch.sw_tvm_guest_access || is_guest_mode(vcpu))
		return -EPERM;

	r = kvm_gmem_get_pfn(vcpu->kvm, slot, gfn, &pfn, NULL);
	if (r)
		return r == -ENOENT ? -EFAULT : r;
	*page = pfn_to_page(pfn);
	return 0;
}

static int sw_tvm_access(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			 unsigned int len, bool write)
{
	struct page *page;
	void *va;
	int r;

	r = sw_tvm_private_page(vcpu, gpa, &page);
	if (r)
		return r;

	va = kmap_local_page(page);
	if (write)
		memcpy(va + offset_in_page(gpa), data, len);
	else
		memcpy(data, va + offset_in_page(gpa), len);
	kunmap_local(va);
	if (write) {
		kvm_vcpu_mark_page_dirty(vcpu, gpa_to_gfn(gpa));
		kvm_release_page_dirty(page);
	} else {
		kvm_release_page_clean(page);
	}
	return 0;
}

/**
 * __kvm_sw_tvm_rw_guest() - Read or write guest memory for an emulated access
 * @vcpu: a vCPU of a software-protected VM, whose access KVM emulates
 * @gpa: the guest physical address
 * @data: the buffer
 * @len: how many bytes
 * @write: whether to write @data (else read into it)
 *
 * kvm_vcpu_read_guest() or kvm_vcpu_write_guest(), but a private gfn is read
 * from or written in its guest_memfd page.
 *
 * Return: 0 or a negative errno.
 */
int __kvm_sw_tvm_rw_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			  unsigned long len, bool write)
{
	while (len) {
		unsigned int seg = min_t(unsigned long, len,
					 PAGE_SIZE - offset_in_page(gpa));
		int r = sw_tvm_access(vcpu, gpa, data, seg, write);

		if (r == -ENOENT)
			r = write ? kvm_vcpu_write_guest(vcpu, gpa, data, seg) :
				    kvm_vcpu_read_guest(vcpu, gpa, data, seg);
		if (r)
			return r;
		gpa += seg;
		data += seg;
		len -= seg;
	}
	return 0;
}

/**
 * __kvm_sw_tvm_access_private() - Read or write a private gfn, or say it is not
 * @vcpu: a vCPU of a software-protected VM, whose access KVM emulates
 * @gpa: the guest physical address; @len bytes from it stay in one page
 * @data: the buffer
 * @len: how many bytes
 * @write: whether to write @data (else read into it)
 *
 * Return: 0, -ENOENT if @gpa is not a private gfn of a software-protected VM
 * (the caller accesses it as it would otherwise), or another negative errno.
 */
int __kvm_sw_tvm_access_private(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
				unsigned int len, bool write)
{
	if (offset_in_page(gpa) + len > PAGE_SIZE)
		return -EINVAL;
	return sw_tvm_access(vcpu, gpa, data, len, write);
}

/**
 * __kvm_sw_tvm_cmpxchg_private() - Compare and exchange on a private gfn
 * @vcpu: a vCPU of a software-protected VM, whose access KVM emulates
 * @gpa: the guest physical address; @size bytes from it stay in one page
 * @old: the expected value; on a mismatch, the value found
 * @new: the new value
 * @size: 1, 2, 4 or 8
 *
 * The caller marks the gfn dirty (as for a store, whatever the outcome).
 *
 * Return: 0 if exchanged, 1 if the value was not @old, -ENOENT if @gpa is
 * not a private gfn of a software-protected VM, or another negative errno.
 */
int __kvm_sw_tvm_cmpxchg_private(struct kvm_vcpu *vcpu, gpa_t gpa, void *old,
				 const void *new, unsigned int size)
{
	struct page *page;
	bool ok;
	void *p;
	int r;

	if (!size || size > 8 || (size & (size - 1)) ||
	    offset_in_page(gpa) + size > PAGE_SIZE)
		return -EINVAL;
	r = sw_tvm_private_page(vcpu, gpa, &page);
	if (r)
		return r;

	p = kmap_local_page(page) + offset_in_page(gpa);
	switch (size) {
	case 1:
		ok = try_cmpxchg((u8 *)p, (u8 *)old, *(const u8 *)new);
		break;
	case 2:
		ok = try_cmpxchg((u16 *)p, (u16 *)old, *(const u16 *)new);
		break;
	case 4:
		ok = try_cmpxchg((u32 *)p, (u32 *)old, *(const u32 *)new);
		break;
	default:
		ok = try_cmpxchg64((u64 *)p, (u64 *)old, *(const u64 *)new);
		break;
	}
	kunmap_local(p);
	if (ok)
		kvm_release_page_dirty(page);
	else
		kvm_release_page_clean(page);
	return ok ? 0 : 1;
}

void kvm_sw_tvm_destroy_vm(struct kvm *kvm)
{
	struct kvm_sw_tvm *tvm = kvm->arch.sw_tvm;

	if (!tvm)
		return;

	xa_destroy(&tvm->measured);
	crypto_free_shash(tvm->tfm);
	kfree_sensitive(tvm);
	kvm->arch.sw_tvm = NULL;
}
