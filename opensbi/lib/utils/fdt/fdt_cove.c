/*
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The CoVE TSM's supervisor domain, from the device tree: the domain
 * instance node under the domain configuration node whose
 * "cove-tsm-region" property names the memory region node that holds the
 * TSM (docs/cove_tsm_driver.md).
 */

#include <libfdt.h>
#include <sbi/sbi_console.h>
#include <sbi/sbi_cove.h>
#include <sbi/sbi_domain.h>
#include <sbi/sbi_error.h>
#include <sbi/sbi_string.h>
#include <sbi_utils/fdt/fdt_cove.h>
#include <sbi_utils/fdt/fdt_helper.h>

static int fdt_cove_memory(const void *fdt, struct sbi_cove_mem_range *mem,
			   u32 *num)
{
	const char *type;
	u64 addr, size;
	int node, i;

	*num = 0;
	fdt_for_each_subnode(node, fdt, 0) {
		type = fdt_getprop(fdt, node, "device_type", NULL);
		if (!type || sbi_strcmp(type, "memory") ||
		    !fdt_node_is_enabled(fdt, node))
			continue;
		for (i = 0; !fdt_get_node_addr_size(fdt, node, i, &addr, &size);
		     i++) {
			if (*num >= SBI_COVE_MAX_MEM_RANGES)
				return SBI_ENOSPC;
			mem[*num].base = addr;
			mem[*num].size = size;
			(*num)++;
		}
	}
	return *num ? 0 : SBI_ENOENT;
}

int fdt_cove_init(const void *fdt)
{
	struct sbi_cove_mem_range mem[SBI_COVE_MAX_MEM_RANGES];
	u64 base, order;
	const fdt32_t *val;
	struct sbi_domain *dom, *tsm = NULL;
	const char *name;
	int config, node, region, len, rc;
	u32 num;

	config = fdt_node_offset_by_compatible(fdt, -1, "opensbi,domain,config");
	if (config < 0)
		return 0;
	fdt_for_each_subnode(node, fdt, config) {
		if (fdt_node_check_compatible(fdt, node,
					      "opensbi,domain,instance"))
			continue;
		val = fdt_getprop(fdt, node, "cove-tsm-region", &len);
		if (!val)
			continue;
		if (len != sizeof(*val))
			return SBI_EINVAL;
		region = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(*val));
		if (region < 0)
			return SBI_EINVAL;
		val = fdt_getprop(fdt, region, "base", &len);
		if (!val || len != 2 * sizeof(*val))
			return SBI_EINVAL;
		base = ((u64)fdt32_to_cpu(val[0]) << 32) | fdt32_to_cpu(val[1]);
		val = fdt_getprop(fdt, region, "order", &len);
		if (!val || len != sizeof(*val))
			return SBI_EINVAL;
		order = fdt32_to_cpu(*val);
		if (order < 13 || order > 40)
			return SBI_EINVAL;

		name = fdt_get_name(fdt, node, NULL);
		sbi_domain_for_each(dom) {
			if (!sbi_strcmp(dom->name, name))
				tsm = dom;
		}
		if (!tsm)
			return SBI_ENOENT;
		rc = fdt_cove_memory(fdt, mem, &num);
		if (rc)
			return rc;
		rc = sbi_cove_tsm_register(tsm, base, 1ULL << order, mem, num);
		if (rc)
			sbi_printf("cove: no TSM: domain %s refused (error %d)\n",
				   name, rc);
		return rc;
	}
	return 0;
}
