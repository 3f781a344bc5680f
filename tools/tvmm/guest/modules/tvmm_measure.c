// SPDX-License-Identifier: GPL-2.0
/*
 * tvmm_measure: how the tvmm test guest reads its launch measurement.
 *
 * At load, asks the host for the digest of its measured launch with the
 * KVM_HC_TVM_GET_MEASUREMENT hypercall (Documentation/virt/kvm/x86/
 * sw-tvm-measured-launch.rst), which returns it in registers, and shows it
 * as /sys/module/tvmm_measure/parameters/digest: 96 hex digits, or
 * "error N" with the hypercall's (negative) status.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <asm/alternative.h>
#include <asm/cpufeatures.h>
#include <asm/kvm_para.h>

#define KVM_HC_TVM_GET_MEASUREMENT	0x7476
#define TVM_DIGEST_SIZE			48

static char digest[2 * TVM_DIGEST_SIZE + 1];
module_param_string(digest, digest, sizeof(digest), 0444);
MODULE_PARM_DESC(digest, "the launch digest (hex), or \"error N\"");

static int __init tvmm_measure_init(void)
{
	unsigned long rax = KVM_HC_TVM_GET_MEASUREMENT, rbx = 0, rcx, rdx, rsi, rdi, r8;
	u64 regs[6];

	if (!kvm_para_available()) {
		snprintf(digest, sizeof(digest), "error: not a KVM guest");
		return 0;
	}
	/* The digest comes back in RBX, RCX, RDX, RSI, RDI and R8. */
	asm volatile(ALTERNATIVE("vmcall", "vmmcall", X86_FEATURE_VMMCALL) "\n\t"
		     "mov %%r8, %[r8]"
		     : "+a" (rax), "+b" (rbx), "=c" (rcx), "=d" (rdx), "=S" (rsi),
		       "=D" (rdi), [r8] "=r" (r8)
		     : : "r8", "memory");
	if (rax) {
		snprintf(digest, sizeof(digest), "error %ld", (long)rax);
		return 0;
	}
	regs[0] = rbx;
	regs[1] = rcx;
	regs[2] = rdx;
	regs[3] = rsi;
	regs[4] = rdi;
	regs[5] = r8;
	bin2hex(digest, regs, TVM_DIGEST_SIZE);
	digest[2 * TVM_DIGEST_SIZE] = '\0';
	return 0;
}
module_init(tvmm_measure_init);

MODULE_DESCRIPTION("tvmm test guest: read the launch measurement");
MODULE_LICENSE("GPL");
