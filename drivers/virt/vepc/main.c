// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual EPC: SGX Enclave Page Cache handed raw to a VMM, which maps it
 * into a guest.  The ABI is upstream's /dev/sgx_vepc
 * (arch/x86/kernel/cpu/sgx/virt.c): open() makes an instance, mmap() with
 * MAP_SHARED maps it (pages allocated on first touch), and
 * SGX_IOC_VEPC_REMOVE_ALL EREMOVEs every page.  Behind it is a backend
 * layer: the emulated backend (emul.c) and, built in a kernel whose SGX
 * core exports its EPC pages (CONFIG_VEPC_SGX), real EPC (sgx.c).  On top of
 * upstream: oversubscription (pages reclaimed and sealed when the pool is
 * full, seal.c), caps per instance and for all instances, accounting in
 * debugfs, and the emulated backend's control of its EPCM model.
 *
 * See Documentation/virt/kvm/x86/vepc.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpufeature.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <uapi/asm/sgx.h>
#include <asm/sgx_vepc.h>

#include "vepc.h"

static unsigned long pool_pages = 4096;
module_param(pool_pages, ulong, 0444);
MODULE_PARM_DESC(pool_pages, "EPC pages of the emulated backend's pool");

static unsigned long max_pages;
module_param(max_pages, ulong, 0644);
MODULE_PARM_DESC(max_pages,
		 "Pages all instances may hold together (0 at load: see vepc.rst)");

static unsigned long instance_limit;
module_param(instance_limit, ulong, 0644);
MODULE_PARM_DESC(instance_limit, "Cap of a new instance in pages (0: none)");

static char *backend = "emulated";
module_param(backend, charp, 0444);
MODULE_PARM_DESC(backend, "Where EPC pages come from: emulated or sgx");

static const struct vepc_backend *vepc_be;

/* Under vepc_lock. */
static LIST_HEAD(vepc_list);
static u64 vepc_next_id;
static struct dentry *vepc_debugfs;

static const struct address_space_operations vepc_aops = {};

/*
 * An access may need several pages at once (an instruction and its
 * operands, a guest page walk); a pool smaller than this could take one
 * away to give another, for ever.
 */
#define VEPC_MIN_POOL	64
static const struct file_operations vepc_fops;

/*
 * The slot of a page @vepc touches for the first time: an invalid EPCM
 * entry, not resident.  -ENOSPC at the instance's cap; -ENOMEM at the
 * global cap or without memory.
 */
static struct vepc_slot *vepc_slot_new(struct vepc *vepc, unsigned long index,
				       unsigned long max_held)
{
	struct vepc_slot *slot;
	int ret;

	lockdep_assert_held(&vepc_lock);
	if (vepc->limit && vepc->nr_slots >= vepc->limit)
		return ERR_PTR(-ENOSPC);
	if (vepc_stats.held >= max_held)
		return ERR_PTR(-ENOMEM);
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot)
		return ERR_PTR(-ENOMEM);
	slot->owner = vepc;
	slot->owner_id = vepc->id;
	slot->index = index;
	slot->type = VEPC_PT_FREE;
	INIT_LIST_HEAD(&slot->zombie_node);
	ret = xa_err(xa_store(&vepc->slots, index, slot, GFP_KERNEL_ACCOUNT));
	if (ret) {
		kfree(slot);
		return ERR_PTR(ret);
	}
	vepc->nr_slots++;
	vepc_stats.held++;
	return slot;
}

/*
 * Make the page at @index of @vepc resident and give its PFN; a page
 * touched for the first time gets its slot, which goes again if the
 * backend fails.
 */
static int vepc_page_fault(struct vepc *vepc, unsigned long index,
			   unsigned long *pfn)
{
	struct vepc_slot *slot = xa_load(&vepc->slots, index);
	int ret;

	if (slot)
		return vepc_be->fault(slot, pfn);
	slot = vepc_slot_new(vepc, index, READ_ONCE(max_pages));
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	ret = vepc_be->fault(slot, pfn);
	if (ret) {
		xa_erase(&vepc->slots, index);
		vepc->nr_slots--;
		vepc_stats.held--;
		kfree(slot);
	}
	return ret;
}

/*
 * A page is mapped while vepc_lock is held, and reclaim takes it out of
 * the instance's mappings under the same lock: a PTE never points to a
 * pool page that holds another page's content.
 */
static vm_fault_t vepc_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vepc *vepc = vma->vm_private_data;
	unsigned long index = vma->vm_pgoff +
			      PFN_DOWN(vmf->address - vma->vm_start);
	unsigned long pfn;
	vm_fault_t ret;
	int err;

	/* Killed while waiting: no page; the task dies on its way out. */
	if (mutex_lock_killable(&vepc_lock))
		return VM_FAULT_NOPAGE;
	err = vepc_page_fault(vepc, index, &pfn);
	if (!err)
		ret = vmf_insert_pfn(vma, vmf->address, pfn);
	mutex_unlock(&vepc_lock);
	if (!err)
		return ret;

	/* The SGX core can free EPC: try again, as upstream's device does. */
	if (err == -EBUSY && (vmf->flags & FAULT_FLAG_ALLOW_RETRY)) {
		if (!(vmf->flags & FAULT_FLAG_RETRY_NOWAIT))
			release_fault_lock(vmf);
		return VM_FAULT_RETRY;
	}
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct vepc_vm_ops = {
	.fault = vepc_fault,
};

static int vepc_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	vma->vm_ops = &vepc_vm_ops;
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTDUMP | VM_DONTCOPY);
	vma->vm_private_data = file->private_data;
	return 0;
}

/*
 * SGX_IOC_VEPC_REMOVE_ALL: EREMOVE every page.  Returns the number of SECS
 * pages that still have children (the caller tries again once their
 * children are gone), or -EBUSY if a CPU runs in an enclave of the
 * instance.  The pages stay with the instance, as upstream's.
 */
static long vepc_remove_all(struct vepc *vepc)
{
	struct vepc_slot *slot;
	unsigned long index;
	long failures = 0;
	int ret;

	mutex_lock(&vepc_lock);
	xa_for_each(&vepc->slots, index, slot) {
		ret = vepc_be->eremove(slot);
		if (ret < 0) {
			failures = ret;
			break;
		}
		failures += ret;
		cond_resched();
	}
	mutex_unlock(&vepc_lock);
	return failures;
}

static long vepc_get_info(struct vepc *vepc, void __user *argp)
{
	struct vepc_info info = {
		.backend = vepc_be->id,
		.max_pages = READ_ONCE(max_pages),
	};

	mutex_lock(&vepc_lock);
	info.pool_pages = vepc_stats.pool;
	info.pool_free = vepc_stats.free;
	info.limit_pages = vepc->limit;
	info.held = vepc->nr_slots;
	info.resident = vepc->nr_resident;
	info.reclaimed = vepc->nr_sealed;
	info.nr_reclaims = vepc->nr_reclaims;
	info.nr_reloads = vepc->nr_reloads;
	info.id = vepc->id;
	mutex_unlock(&vepc_lock);

	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

/*
 * Any cap at or below instance_limit; above it, or none, only with
 * CAP_SYS_RESOURCE, as instance_limit is the administrator's.
 */
static long vepc_set_limit(struct vepc *vepc, void __user *argp)
{
	unsigned long admin = READ_ONCE(instance_limit);
	struct vepc_limit lim;

	if (copy_from_user(&lim, argp, sizeof(lim)))
		return -EFAULT;
	if (lim.flags || lim.reserved)
		return -EINVAL;
	if (admin && (!lim.limit_pages || lim.limit_pages > admin) &&
	    !capable(CAP_SYS_RESOURCE))
		return -EPERM;

	mutex_lock(&vepc_lock);
	vepc->limit = lim.limit_pages;
	mutex_unlock(&vepc_lock);
	return 0;
}

/* Which parent a type needs: 1 a SECS, 0 none. */
static int vepc_type_parent(u32 type)
{
	switch (type) {
	case VEPC_PT_SECS:
	case VEPC_PT_VA:
		return 0;
	case VEPC_PT_TCS:
	case VEPC_PT_REG:
	case VEPC_PT_TRIM:
		return 1;
	default:
		return -EINVAL;
	}
}

static long vepc_emul_set_page(struct vepc *vepc, void __user *argp)
{
	struct vepc_slot *slot, *secs = NULL;
	struct vepc *svepc = NULL;
	struct vepc_emul_page p;
	struct fd f = {};
	int parent;
	long ret;

	if (!vepc_be->emul)
		return -ENOTTY;
	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	parent = vepc_type_parent(p.type);
	if (parent < 0 || p.reserved || (p.flags & ~VEPC_EMUL_ACTIVE) ||
	    (p.flags && p.type != VEPC_PT_SECS) ||
	    !PAGE_ALIGNED(p.offset) || !PAGE_ALIGNED(p.secs_offset))
		return -EINVAL;
	if (!parent && (p.secs_fd != -1 || p.secs_offset))
		return -EINVAL;

	if (parent && p.secs_fd == -1) {
		svepc = vepc;
	} else if (parent) {
		f = fdget(p.secs_fd);
		if (fd_empty(f))
			return -EBADF;
		if (fd_file(f)->f_op != &vepc_fops) {
			fdput(f);
			return -EINVAL;
		}
		svepc = fd_file(f)->private_data;
	}

	mutex_lock(&vepc_lock);
	ret = -ENOENT;
	slot = xa_load(&vepc->slots, p.offset >> PAGE_SHIFT);
	if (svepc)
		secs = xa_load(&svepc->slots, p.secs_offset >> PAGE_SHIFT);
	if (slot && (!svepc || secs))
		ret = vepc_emul_set(slot, p.type, p.flags, secs);
	mutex_unlock(&vepc_lock);

	fdput(f);
	return ret;
}

static long vepc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vepc *vepc = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case SGX_IOC_VEPC_REMOVE_ALL:
		if (arg)
			return -EINVAL;
		return vepc_remove_all(vepc);
	case VEPC_IOC_GET_INFO:
		return vepc_get_info(vepc, argp);
	case VEPC_IOC_SET_LIMIT:
		return vepc_set_limit(vepc, argp);
	case VEPC_IOC_EMUL_SET_PAGE:
		return vepc_emul_set_page(vepc, argp);
	default:
		return -ENOTTY;
	}
}

/*
 * Each instance has its own address space, so that reclaim can take one
 * of its pages out of every mapping of that instance, and only those.
 */
static int vepc_open(struct inode *inode, struct file *file)
{
	struct vepc *vepc;

	vepc = kzalloc(sizeof(*vepc), GFP_KERNEL_ACCOUNT);
	if (!vepc)
		return -ENOMEM;
	vepc->memcg = get_mem_cgroup_from_mm(current->mm);
	address_space_init_once(&vepc->mapping);
	vepc->mapping.host = inode;
	vepc->mapping.a_ops = &vepc_aops;
	xa_init(&vepc->slots);
	vepc->limit = READ_ONCE(instance_limit);

	mutex_lock(&vepc_lock);
	vepc->id = vepc_next_id++;
	list_add_tail(&vepc->node, &vepc_list);
	mutex_unlock(&vepc_lock);

	file->f_mapping = &vepc->mapping;
	file->private_data = vepc;
	return 0;
}

/*
 * The last reference is gone, so are the mappings.  Every page goes back:
 * the children first, then the SECS pages, except a SECS with children in
 * another instance, which stays as a zombie until they go.
 */
static int vepc_release(struct inode *inode, struct file *file)
{
	struct vepc *vepc = file->private_data;

	mutex_lock(&vepc_lock);
	list_del(&vepc->node);
	vepc_be->release(vepc);
	mutex_unlock(&vepc_lock);

	xa_destroy(&vepc->slots);
	mem_cgroup_put(vepc->memcg);
	kfree(vepc);
	return 0;
}

static const struct file_operations vepc_fops = {
	.owner		= THIS_MODULE,
	.open		= vepc_open,
	.release	= vepc_release,
	.unlocked_ioctl	= vepc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vepc_mmap,
};

static int vepc_pool_show(struct seq_file *m, void *unused)
{
	struct vepc_stats st;
	unsigned long n = 0;
	struct vepc *vepc;

	mutex_lock(&vepc_lock);
	st = vepc_stats;
	list_for_each_entry(vepc, &vepc_list, node)
		n++;
	mutex_unlock(&vepc_lock);

	seq_printf(m, "pool_pages %lu\nfree %lu\nheld %lu\nzombies %lu\n",
		   st.pool, st.free, st.held, st.zombies);
	seq_printf(m, "reclaimed %lu\nnr_reclaims %lu\nnr_reloads %lu\n",
		   st.sealed, st.reclaims, st.reloads);
	seq_printf(m, "unseal_failures %lu\norphaned %lu\ninstances %lu\n",
		   st.unseal_failures, st.orphaned, n);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vepc_pool);

static int vepc_instances_show(struct seq_file *m, void *unused)
{
	struct vepc *vepc;

	seq_puts(m, "id resident reclaimed nr_reclaims nr_reloads limit\n");
	mutex_lock(&vepc_lock);
	list_for_each_entry(vepc, &vepc_list, node)
		seq_printf(m, "%llu %lu %lu %lu %lu %lu\n", vepc->id,
			   vepc->nr_resident, vepc->nr_sealed,
			   vepc->nr_reclaims, vepc->nr_reloads, vepc->limit);
	mutex_unlock(&vepc_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vepc_instances);

/* "N": reclaim N pages now (as many as can be). */
static ssize_t vepc_reclaim_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	unsigned long nr;
	int ret;

	ret = kstrtoul_from_user(ubuf, len, 0, &nr);
	if (ret)
		return ret;
	mutex_lock(&vepc_lock);
	vepc_reclaim(nr);
	mutex_unlock(&vepc_lock);
	return len;
}

static const struct file_operations vepc_reclaim_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= vepc_reclaim_write,
};

/*
 * "OP ID INDEX": vepc_tamper() on page INDEX of instance ID, or, for OP
 * "hold", vepc_hold() on it; "drop": vepc_drop_held().
 */
static ssize_t vepc_tamper_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct vepc_slot *slot = NULL;
	unsigned long index;
	struct vepc *vepc;
	char buf[64], op[8], *line;
	int ret, end = 0;
	u64 id;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	line = strim(buf);
	if (!strcmp(line, "drop")) {
		mutex_lock(&vepc_lock);
		vepc_drop_held();
		mutex_unlock(&vepc_lock);
		return len;
	}
	if (sscanf(line, "%7s %llu %lu%n", op, &id, &index, &end) != 3 ||
	    line[end])
		return -EINVAL;

	mutex_lock(&vepc_lock);
	list_for_each_entry(vepc, &vepc_list, node) {
		if (vepc->id == id) {
			slot = xa_load(&vepc->slots, index);
			break;
		}
	}
	if (slot && !strcmp(op, "hold"))
		ret = vepc_hold(slot);
	else
		ret = slot && slot->sealed ? vepc_tamper(slot, op) : -ENOENT;
	mutex_unlock(&vepc_lock);
	return ret ? ret : len;
}

static const struct file_operations vepc_tamper_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= vepc_tamper_write,
};

static struct miscdevice vepc_dev = {
	.minor		= MISC_DYNAMIC_MINOR,
	.fops		= &vepc_fops,
};

/*
 * Upstream's /dev/sgx_vepc registers on SGX hardware with VMX.  Where it
 * cannot be there, this device takes its name, so that VMMs (QEMU's
 * memory-backend-epc) open it unchanged; elsewhere it is tvmm_vepc.
 */
static bool vepc_upstream_may_exist(void)
{
#ifdef CONFIG_X86_SGX_KVM
	return boot_cpu_has(X86_FEATURE_SGX) && boot_cpu_has(X86_FEATURE_VMX);
#else
	return false;
#endif
}

static int __init vepc_init(void)
{
	int ret;

	if (pool_pages < VEPC_MIN_POOL || pool_pages > totalram_pages() / 2) {
		pr_err("pool_pages=%lu: from %u to half of RAM (%lu)\n",
		       pool_pages, VEPC_MIN_POOL, totalram_pages() / 2);
		return -EINVAL;
	}
	/* Sealed copies, beyond the pool, are kernel memory: a quarter of RAM. */
	if (!max_pages)
		max_pages = pool_pages + min(3 * pool_pages, totalram_pages() / 4);

	if (!strcmp(backend, "emulated")) {
		vepc_be = &vepc_emul_backend;
	} else if (!strcmp(backend, "sgx") && IS_ENABLED(CONFIG_VEPC_SGX)) {
		vepc_be = &vepc_sgx_backend;
	} else {
		pr_err("backend=%s: emulated%s\n", backend,
		       IS_ENABLED(CONFIG_VEPC_SGX) ? " or sgx" : " (no sgx in this build)");
		return -EINVAL;
	}
	ret = vepc_be->init(pool_pages);
	if (ret)
		return ret;

	vepc_dev.name = vepc_upstream_may_exist() ? "tvmm_vepc" : "sgx_vepc";
	vepc_dev.nodename = vepc_dev.name;
	ret = misc_register(&vepc_dev);
	if (ret) {
		vepc_be->exit();
		return ret;
	}

	vepc_debugfs = debugfs_create_dir("vepc", NULL);
	debugfs_create_file("pool", 0444, vepc_debugfs, NULL, &vepc_pool_fops);
	debugfs_create_file("instances", 0444, vepc_debugfs, NULL,
			    &vepc_instances_fops);
	if (vepc_be->emul && IS_ENABLED(CONFIG_VEPC_TEST_HOOKS)) {
		debugfs_create_file("reclaim", 0200, vepc_debugfs, NULL,
				    &vepc_reclaim_fops);
		debugfs_create_file("tamper", 0200, vepc_debugfs, NULL,
				    &vepc_tamper_fops);
	}
	pr_info("/dev/%s: %s, %lu pages\n", vepc_dev.name, vepc_be->name,
		vepc_stats.pool);
	return 0;
}
module_init(vepc_init);

static void __exit vepc_exit(void)
{
	debugfs_remove_recursive(vepc_debugfs);
	misc_deregister(&vepc_dev);
	vepc_be->exit();
}
module_exit(vepc_exit);

MODULE_DESCRIPTION("Virtual EPC with an emulated EPC backend");
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: gcm ghash-generic");
#if IS_ENABLED(CONFIG_VEPC_SGX)
MODULE_IMPORT_NS(SGX_VEPC);
#endif
