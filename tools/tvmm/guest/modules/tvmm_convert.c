// SPDX-License-Identifier: GPL-2.0
/*
 * tvmm_convert: how the tvmm test guest checks that it can convert its own
 * memory, as a `tvmm run --tvm` guest.
 *
 * At load, if the hypervisor's CPUID offers it, makes a page private and
 * shared again with KVM_HC_MAP_GPA_RANGE (Documentation/virt/kvm/x86/
 * hypercalls.rst), which KVM hands to tvmm;
 * checks that the page kept its content both ways (guest_memfd converts in
 * place), and that tvmm refuses what it must, among it (with busy_disk)
 * a page that a device is using: the descriptor ring of a virtio-blk
 * disk's first queue.  The outcome is
 * /sys/module/tvmm_convert/parameters/result: "ok", "not offered ...",
 * or the step that failed with what the hypercall returned.
 */
#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/virtio.h>
#include <asm/processor.h>

/* tvmm loads the kernel's protected-mode code here, measured and private. */
#define MEASURED_GPA	0x100000ULL
/* The local APIC's page: never RAM. */
#define NOT_RAM_GPA	0xfee00000ULL

/* What tvmm answers a conversion to private of a page a device uses. */
#define TVMM_BUSY	-16L

static char result[160];
module_param_string(result, result, sizeof(result), 0444);
MODULE_PARM_DESC(result, "\"ok\", or the step that failed");

static char busy_disk[64];
module_param_string(busy_disk, busy_disk, sizeof(busy_disk), 0444);
MODULE_PARM_DESC(busy_disk, "a virtio-blk disk (/dev/vda) whose ring must not become private");

static long map_gpa_range(u64 gpa, u64 npages, u64 attrs)
{
	return kvm_hypercall3(KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs);
}

/* Records the first failure; returns whether @got was @want. */
static bool expect(const char *step, long got, long want)
{
	if (got == want)
		return true;
	if (!result[0])
		snprintf(result, sizeof(result), "%s: got %ld, want %ld", step, got, want);
	return false;
}

/* Records @step as the first failure, if none is yet. */
static void fail(const char *step)
{
	if (!result[0])
		snprintf(result, sizeof(result), "%s", step);
}

static void check_refusals(u64 gpa)
{
	const u64 enc = KVM_MAP_GPA_RANGE_ENCRYPTED;

	/* KVM's own checks, then tvmm's. */
	expect("a misaligned GPA", map_gpa_range(gpa + 1, 1, enc), -KVM_EINVAL);
	expect("no pages", map_gpa_range(gpa, 0, enc), -KVM_EINVAL);
	expect("an unknown attribute", map_gpa_range(gpa, 1, BIT(5)), -KVM_EINVAL);
	expect("two page sizes",
	       map_gpa_range(gpa, 1, KVM_MAP_GPA_RANGE_PAGE_SZ_2M | KVM_MAP_GPA_RANGE_PAGE_SZ_1G),
	       -KVM_EINVAL);
	expect("a range that is not RAM", map_gpa_range(NOT_RAM_GPA, 1, enc), -KVM_EINVAL);
	expect("a measured page to shared", map_gpa_range(MEASURED_GPA, 1, 0), -KVM_EPERM);
}

/*
 * The guest-physical address of the descriptor ring of @path's first
 * virtqueue (no DMA API on virtio-mmio without ACCESS_PLATFORM: the ring's
 * physical address), or 0 after recording why there is none.
 */
static u64 disk_ring(const char *path)
{
	struct virtio_device *vdev;
	struct virtqueue *vq;
	struct device *dev;
	struct file *file;
	u64 gpa = 0;

	file = bdev_file_open_by_path(path, BLK_OPEN_READ, NULL, NULL);
	if (IS_ERR(file)) {
		fail("busy_disk cannot be opened");
		return 0;
	}
	dev = disk_to_dev(file_bdev(file)->bd_disk)->parent;
	if (!dev || !dev->bus || strcmp(dev->bus->name, "virtio")) {
		fail("busy_disk is not a virtio disk");
		goto out;
	}
	vdev = dev_to_virtio(dev);
	spin_lock(&vdev->vqs_list_lock);
	vq = list_first_entry_or_null(&vdev->vqs, struct virtqueue, list);
	if (vq)
		gpa = virtqueue_get_desc_addr(vq) & PAGE_MASK;
	spin_unlock(&vdev->vqs_list_lock);
	if (!gpa)
		fail("busy_disk has no virtqueue");
out:
	fput(file);
	return gpa;
}

/* A page the device holds (its ring) cannot be made private. */
static void check_busy(const char *path)
{
	u64 gpa = disk_ring(path);

	if (!gpa)
		return;
	if (!expect("a virtqueue's ring to private",
		    map_gpa_range(gpa, 1, KVM_MAP_GPA_RANGE_ENCRYPTED), TVMM_BUSY))
		/* Converted, perhaps: make sure the device has it back. */
		map_gpa_range(gpa, 1, 0);
}

static int __init tvmm_convert_init(void)
{
	struct page *page;
	u32 base;
	u8 *va;
	u64 gpa;

	/* kvm_para_has_feature() is not for modules: its helper is not exported. */
	base = hypervisor_cpuid_base(KVM_SIGNATURE, 0);
	if (!base || !(cpuid_eax(base | KVM_CPUID_FEATURES) & BIT(KVM_FEATURE_HC_MAP_GPA_RANGE))) {
		snprintf(result, sizeof(result), "not offered (KVM_FEATURE_HC_MAP_GPA_RANGE)");
		return 0;
	}
	page = alloc_page(GFP_KERNEL);
	if (!page) {
		snprintf(result, sizeof(result), "no page");
		return 0;
	}
	va = page_address(page);
	gpa = page_to_phys(page);
	memset(va, 0xa5, PAGE_SIZE);
	if (!expect("to private", map_gpa_range(gpa, 1, KVM_MAP_GPA_RANGE_ENCRYPTED), 0))
		goto out;
	if (memchr_inv(va, 0xa5, PAGE_SIZE))
		fail("the content was not kept when made private");
	memset(va, 0x5a, PAGE_SIZE);
	/* Still private if this fails: never hand it back to the allocator. */
	if (!expect("back to shared", map_gpa_range(gpa, 1, 0), 0))
		return 0;
	if (memchr_inv(va, 0x5a, PAGE_SIZE))
		fail("the content was not kept when made shared");
	check_refusals(gpa);
	if (busy_disk[0])
		check_busy(busy_disk);
out:
	__free_page(page);
	if (!result[0])
		snprintf(result, sizeof(result), "ok");
	return 0;
}
module_init(tvmm_convert_init);

MODULE_DESCRIPTION("tvmm test guest: convert memory with KVM_HC_MAP_GPA_RANGE");
MODULE_LICENSE("GPL");
