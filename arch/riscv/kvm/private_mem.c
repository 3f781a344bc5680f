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
 */
#include <linux/kvm_host.h>

u64 kvm_riscv_vm_types(void)
{
	u64 types = BIT(KVM_RISCV_DEFAULT_VM);

	if (IS_ENABLED(CONFIG_KVM_RISCV_SW_PROTECTED_VM))
		types |= BIT(KVM_RISCV_SW_PROTECTED_VM);
	return types;
}

int kvm_riscv_vm_set_type(struct kvm *kvm, unsigned long type)
{
	if (type >= BITS_PER_LONG_LONG || !(kvm_riscv_vm_types() & BIT_ULL(type)))
		return -EINVAL;

	kvm->arch.vm_type = type;
	kvm->arch.has_private_mem = type == KVM_RISCV_SW_PROTECTED_VM;
	return 0;
}

bool kvm_arch_gmem_supports_mmap(struct kvm *kvm)
{
	return kvm->arch.vm_type == KVM_RISCV_DEFAULT_VM ||
	       kvm->arch.vm_type == KVM_RISCV_SW_PROTECTED_VM;
}

#ifdef CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES
bool kvm_arch_pre_set_memory_attributes(struct kvm *kvm,
					struct kvm_gfn_range *range)
{
	/* Unmap the range; the next access faults it from its new backing. */
	return kvm_unmap_gfn_range(kvm, range);
}

bool kvm_arch_post_set_memory_attributes(struct kvm *kvm,
					 struct kvm_gfn_range *range)
{
	return false;
}
#endif
