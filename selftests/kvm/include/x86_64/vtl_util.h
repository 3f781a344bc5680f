/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of per-VTL memory attributes
 * (Documentation/virt/kvm/x86/vtl-memory-attributes.rst).
 */
#ifndef SELFTEST_KVM_VTL_UTIL_H
#define SELFTEST_KVM_VTL_UTIL_H

#include "processor.h"

/*
 * The library gives every vCPU all of KVM's supported CPUID, SVM or VMX
 * included, and a VM with VTL layers refuses both (nested guests would
 * bypass the layers).  Drop them from the library's cached copy; call this
 * before creating a vCPU of such a VM.
 */
static inline void vtl_supported_cpuid_without_nested(void)
{
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)kvm_get_supported_cpuid();
	int i;

	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 1)
			c->entries[i].ecx &= ~BIT(5);	/* VMX */
		if (c->entries[i].function == 0x80000001)
			c->entries[i].ecx &= ~BIT(2);	/* SVM */
	}
}

#endif /* SELFTEST_KVM_VTL_UTIL_H */
