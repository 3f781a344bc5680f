/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The virtual EPC device's own ioctls, beside upstream's
 * SGX_IOC_VEPC_REMOVE_ALL (<asm/sgx.h>).  See
 * Documentation/virt/kvm/x86/vepc.rst.
 */
#ifndef _UAPI_ASM_X86_SGX_VEPC_H
#define _UAPI_ASM_X86_SGX_VEPC_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* SGX_MAGIC; upstream's SGX and TEE ioctls use numbers 0x00-0x1f. */
#define VEPC_IOC_MAGIC		0xA4

/* vepc_info.backend */
#define VEPC_BACKEND_EMULATED	1
#define VEPC_BACKEND_SGX	2

/**
 * struct vepc_info - VEPC_IOC_GET_INFO: the pool and this instance
 * @backend:		VEPC_BACKEND_*
 * @flags:		0 (reserved for future use)
 * @pool_pages:		EPC pages in the pool, all instances together
 * @pool_free:		pages of the pool that are free
 * @max_pages:		global cap: pages all instances may hold together
 *			(module parameter max_pages)
 * @limit_pages:	this instance's cap on @held (0: none but the global cap)
 * @held:		pages this instance holds: every page it has touched
 *			(resident, reclaimed, or discarded by REMOVE_ALL)
 * @resident:		this instance's pages in the pool
 * @reclaimed:		this instance's pages currently written back
 * @nr_reclaims:	times a page of this instance was written back
 * @nr_reloads:		times a page of this instance was loaded again
 * @id:			this instance's number (debugfs, sealed pages)
 * @reserved:		0
 */
struct vepc_info {
	__u32 backend;
	__u32 flags;
	__u64 pool_pages;
	__u64 pool_free;
	__u64 max_pages;
	__u64 limit_pages;
	__u64 resident;
	__u64 reclaimed;
	__u64 nr_reclaims;
	__u64 nr_reloads;
	__u64 id;
	__u64 held;
	__u64 reserved[5];
};

/**
 * struct vepc_limit - VEPC_IOC_SET_LIMIT: cap this instance
 * @limit_pages:	pages this instance may hold (vepc_info.held); 0 removes
 *			the instance's own cap
 * @flags:		0
 * @reserved:		0
 */
struct vepc_limit {
	__u64 limit_pages;
	__u32 flags;
	__u32 reserved;
};

/* vepc_emul_page.type: the EPCM page types the emulated backend models. */
#define VEPC_PT_SECS		0
#define VEPC_PT_TCS		1
#define VEPC_PT_REG		2
#define VEPC_PT_VA		3
#define VEPC_PT_TRIM		4
#define VEPC_PT_FREE		0xff	/* EPCM entry invalid (after EREMOVE) */

/* vepc_emul_page.flags */
#define VEPC_EMUL_ACTIVE	0x1	/* a CPU runs in the enclave */

/**
 * struct vepc_emul_page - VEPC_IOC_EMUL_SET_PAGE: what a guest's ENCLS would
 *			   do to the EPCM entry of one page (emulated backend)
 * @offset:		byte offset of the page in this instance (page aligned);
 *			the page must have been faulted in
 * @type:		VEPC_PT_*; a child type needs a parent SECS
 * @flags:		VEPC_EMUL_* (SECS only)
 * @secs_fd:		instance holding the parent SECS: a file descriptor
 *			of this device, or -1 for this instance
 * @reserved:		0
 * @secs_offset:	byte offset of the parent SECS in that instance
 */
struct vepc_emul_page {
	__u64 offset;
	__u32 type;
	__u32 flags;
	__s32 secs_fd;
	__u32 reserved;
	__u64 secs_offset;
};

#define VEPC_IOC_GET_INFO	_IOR(VEPC_IOC_MAGIC, 0xe0, struct vepc_info)
#define VEPC_IOC_SET_LIMIT	_IOW(VEPC_IOC_MAGIC, 0xe1, struct vepc_limit)
#define VEPC_IOC_EMUL_SET_PAGE	_IOW(VEPC_IOC_MAGIC, 0xe2, struct vepc_emul_page)

#endif /* _UAPI_ASM_X86_SGX_VEPC_H */
