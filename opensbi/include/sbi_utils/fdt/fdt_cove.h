/*
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The CoVE TSM's supervisor domain, from the device tree.
 */

#ifndef __FDT_COVE_H__
#define __FDT_COVE_H__

#ifdef CONFIG_FDT_COVE

/**
 * fdt_cove_init() - Register the domain instance node with a
 * "cove-tsm-region" property as the CoVE TSM's domain.
 * @fdt: the device tree, domains still in it
 *
 * Return: 0 if there is no such node or it was registered, else a negative
 * SBI error.
 */
int fdt_cove_init(const void *fdt);

#else

static inline int fdt_cove_init(const void *fdt) { return 0; }

#endif

#endif
