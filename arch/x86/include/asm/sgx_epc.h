/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EPC pages for virtual EPC devices outside the SGX core (symbol namespace
 * SGX_VEPC): what /dev/sgx_vepc does with them, for a module that offers
 * the same ABI.  See arch/x86/kernel/cpu/sgx/virt.c.
 */
#ifndef _ASM_X86_SGX_EPC_H
#define _ASM_X86_SGX_EPC_H

#include <linux/types.h>

struct sgx_epc_page;

#ifdef CONFIG_X86_SGX_KVM
struct sgx_epc_page *sgx_vepc_epc_alloc(void *owner);
int sgx_vepc_epc_eremove(struct sgx_epc_page *page);
int sgx_vepc_epc_free(struct sgx_epc_page *page);
unsigned long sgx_vepc_epc_pfn(struct sgx_epc_page *page);
#endif

#endif /* _ASM_X86_SGX_EPC_H */
