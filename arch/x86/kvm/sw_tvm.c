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
#include "x86.h"

struct kvm_sw_tvm {
	struct crypto_shash *tfm;
	u8 digest[KVM_TVM_DIGEST_SIZE];
	u64 nr_pages;
	bool finalized;
};

/* What kvm_gmem_populate() hands to the callback for one page. */
struct sw_tvm_page {
	struct kvm_sw_tvm *tvm;
	const void *src;
};

static bool kvm_is_sw_tvm(struct kvm *kvm)
{
	return kvm->arch.vm_type == KVM_X86_SW_PROTECTED_VM;
}

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
	kvm->arch.sw_tvm = tvm;
	return tvm;
}

static int sw_tvm_extend(struct kvm_sw_tvm *tvm, gpa_t gpa, const void *content)
{
	SHASH_DESC_ON_STACK(desc, tvm->tfm);
	__le64 hdr[2] = { cpu_to_le64(gpa), cpu_to_le64(PAGE_SIZE) };
	int r;

	desc->tfm = tvm->tfm;
	r = crypto_shash_init(desc) ?:
	    crypto_shash_update(desc, tvm->digest, sizeof(tvm->digest)) ?:
	    crypto_shash_update(desc, (const u8 *)hdr, sizeof(hdr)) ?:
	    crypto_shash_update(desc, content, PAGE_SIZE) ?:
	    crypto_shash_final(desc, tvm->digest);
	shash_desc_zero(desc);
	return r;
}

static int sw_tvm_post_populate(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn,
				void __user *src, int order, void *opaque)
{
	struct sw_tvm_page *page = opaque;
	void *dst;
	int r;

	if (WARN_ON_ONCE(order))
		return -EIO;

	r = sw_tvm_extend(page->tvm, gfn_to_gpa(gfn), page->src);
	if (r)
		return r;

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
	if (page.tvm->finalized)
		return -EPERM;

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
	if (tvm->finalized)
		return -EPERM;

	/* Pairs with the lockless read in kvm_sw_tvm_hypercall(). */
	smp_store_release(&tvm->finalized, true);
	return 0;
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
	if (tvm->finalized)
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
		r = sw_tvm_add_pages(kvm, &args);
		if (r != -EINVAL && copy_to_user(argp, &args, sizeof(args)))
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
	if (!tvm || !smp_load_acquire(&tvm->finalized))
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

void kvm_sw_tvm_destroy_vm(struct kvm *kvm)
{
	struct kvm_sw_tvm *tvm = kvm->arch.sw_tvm;

	if (!tvm)
		return;

	crypto_free_shash(tvm->tfm);
	kfree_sensitive(tvm);
	kvm->arch.sw_tvm = NULL;
}
