// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM RISC-V private memory: VM types, memory attributes and guest_memfd.
 *
 * A KVM_RISCV_SW_PROTECTED_VM keeps the gfns marked
 * KVM_MEMORY_ATTRIBUTE_PRIVATE in guest_memfd, where the VMM cannot reach
 * them, and faults them into the G-stage from there
 * (kvm_riscv_gstage_map_gmem()).  Software protection guards against bugs
 * and the VMM, not against the host kernel; it is the test bed for the
 * hardware-backed CoVE TVMs, which take the same guest_memfd path.
 *
 * Built with or without CONFIG_KVM_RISCV_SW_PROTECTED_VM: without it only
 * KVM_RISCV_DEFAULT_VM exists, and KVM_RISCV_COVE_VM if a CoVE TSM is
 * there (cove.c).
 */
#include <linux/kvm_host.h>
#include <asm/kvm_cove.h>

u64 kvm_riscv_vm_types(void)
{
	u64 types = BIT(KVM_RISCV_DEFAULT_VM);

	if (IS_ENABLED(CONFIG_KVM_RISCV_SW_PROTECTED_VM))
		types |= BIT(KVM_RISCV_SW_PROTECTED_VM);
	if (kvm_riscv_cove_enabled())
		types |= BIT(KVM_RISCV_COVE_VM);
	return types;
}

int kvm_riscv_vm_set_type(struct kvm *kvm, unsigned long type)
{
	if (type >= BITS_PER_LONG_LONG || !(kvm_riscv_vm_types() & BIT_ULL(type)))
		return -EINVAL;

	kvm->arch.vm_type = type;
	kvm->arch.has_private_mem = type != KVM_RISCV_DEFAULT_VM;
	return 0;
}

#ifdef CONFIG_KVM_PRIVATE_MEM
bool kvm_arch_gmem_supports_mmap(struct kvm *kvm)
{
	return kvm->arch.vm_type == KVM_RISCV_DEFAULT_VM ||
	       kvm->arch.vm_type == KVM_RISCV_SW_PROTECTED_VM;
}
#endif

#ifdef CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES
bool kvm_arch_pre_set_memory_attributes(struct kvm *kvm,
					struct kvm_gfn_range *range)
{
	struct kvm_gfn_range blocks = *range;

	if (kvm_riscv_cove_pre_set_memory_attributes(kvm, range))
		return false;
	/*
	 * Unmap the range; the next access faults it from its new backing.
	 * gstage_unmap_range() leaves a huge leaf that the range covers only
	 * in part, so widen it to the largest leaf the G-stage maps (PUD).
	 */
	blocks.start = ALIGN_DOWN(range->start, PUD_SIZE >> PAGE_SHIFT);
	blocks.end = ALIGN(range->end, PUD_SIZE >> PAGE_SHIFT);
	/* Every mapping is in play: kvm_handle_gfn_range() sets no filter. */
	blocks.attr_filter = KVM_FILTER_SHARED | KVM_FILTER_PRIVATE;
	return kvm_unmap_gfn_range(kvm, &blocks);
}

/* A CoVE TVM gives back what becomes shared, measured pages excepted (cove.c). */
int kvm_arch_check_memory_attributes(struct kvm *kvm, gfn_t start, gfn_t end,
				     unsigned long attributes)
{
	return kvm_riscv_cove_check_memory_attributes(kvm, start, end, attributes);
}

bool kvm_arch_post_set_memory_attributes(struct kvm *kvm,
					 struct kvm_gfn_range *range)
{
	return false;
}
#endif
