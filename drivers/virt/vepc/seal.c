// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sealing of reclaimed pages, the emulated EWB/ELDU.
 *
 * A reclaimed page is encrypted and authenticated with AES-256-GCM under
 * a key drawn when the module loads.  The associated data binds it to its
 * place and time: the instance's ID, the page index and a version, a
 * 64-bit counter that grows with every seal and is also the nonce, so
 * that a nonce never repeats under the key.  The version alone tells
 * every copy from every other (the slot expects exactly one); the ID and
 * index say where a copy belongs, as a second line.  The ciphertext and tag are
 * what the host keeps in ordinary memory (SGX's EWB output and PCMD); the
 * version stays in the slot (SGX's version-array slot).  Loading a page
 * back verifies the tag against the version the slot expects: a changed
 * byte, another page's copy or an older copy of the same page (a replay)
 * fails with -EBADMSG, and the page is never loaded.
 *
 * The debugfs file "tamper" lets tests attack the sealed copies: see
 * vepc_tamper().
 */
#include <crypto/aead.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vepc.h"

#define VEPC_KEY_SIZE	32
#define VEPC_IV_SIZE	12

static struct crypto_aead *vepc_aead;
static u64 vepc_version;

/* One copy saved by "tamper save", for "tamper replay"; its instance's ID. */
static struct page *vepc_saved_data;
static u8 vepc_saved_tag[VEPC_TAG_SIZE];
static bool vepc_saved;
static u64 vepc_saved_id;

struct vepc_aad {
	__le64 id;
	__le64 index;
	__le64 version;
};

/* What the scatterlists point to: not on the stack, which may be vmalloc'ed. */
struct vepc_crypt_buf {
	struct vepc_aad aad;
	struct vepc_aad aad_dst;
	u8 iv[VEPC_IV_SIZE];
};

/**
 * vepc_seal_init() - Draw the key and set up AES-GCM
 *
 * Return: 0, or the crypto API's error.
 */
int vepc_seal_init(void)
{
	u8 key[VEPC_KEY_SIZE];
	int ret;

	vepc_aead = crypto_alloc_aead("gcm(aes)", 0, 0);
	if (IS_ERR(vepc_aead)) {
		ret = PTR_ERR(vepc_aead);
		vepc_aead = NULL;
		return ret;
	}
	get_random_bytes(key, sizeof(key));
	ret = crypto_aead_setkey(vepc_aead, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	if (!ret)
		ret = crypto_aead_setauthsize(vepc_aead, VEPC_TAG_SIZE);
	if (!ret) {
		vepc_saved_data = alloc_page(GFP_KERNEL);
		if (!vepc_saved_data)
			ret = -ENOMEM;
	}
	if (ret)
		vepc_seal_exit();
	return ret;
}

void vepc_seal_exit(void)
{
	if (vepc_saved_data)
		__free_page(vepc_saved_data);
	vepc_saved_data = NULL;
	vepc_saved = false;
	crypto_free_aead(vepc_aead);
	vepc_aead = NULL;
}

static int vepc_crypt(struct vepc_slot *slot, u64 version, struct page *src,
		      struct page *dst, u8 *tag, bool encrypt)
{
	struct scatterlist sg_src[3], sg_dst[3];
	struct vepc_crypt_buf *buf;
	struct aead_request *req;
	DECLARE_CRYPTO_WAIT(wait);
	__le64 nonce = cpu_to_le64(version);
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	req = aead_request_alloc(vepc_aead, GFP_KERNEL);
	if (!req) {
		kfree(buf);
		return -ENOMEM;
	}
	buf->aad.id = cpu_to_le64(slot->owner_id);
	buf->aad.index = cpu_to_le64(slot->index);
	buf->aad.version = nonce;
	memcpy(buf->iv, &nonce, sizeof(nonce));

	sg_init_table(sg_src, encrypt ? 2 : 3);
	sg_set_buf(&sg_src[0], &buf->aad, sizeof(buf->aad));
	sg_set_page(&sg_src[1], src, PAGE_SIZE, 0);
	if (!encrypt)
		sg_set_buf(&sg_src[2], tag, VEPC_TAG_SIZE);
	sg_init_table(sg_dst, encrypt ? 3 : 2);
	sg_set_buf(&sg_dst[0], &buf->aad_dst, sizeof(buf->aad_dst));
	sg_set_page(&sg_dst[1], dst, PAGE_SIZE, 0);
	if (encrypt)
		sg_set_buf(&sg_dst[2], tag, VEPC_TAG_SIZE);

	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP |
				  CRYPTO_TFM_REQ_MAY_BACKLOG,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, sizeof(buf->aad));
	aead_request_set_crypt(req, sg_src, sg_dst,
			       encrypt ? PAGE_SIZE : PAGE_SIZE + VEPC_TAG_SIZE,
			       buf->iv);
	ret = crypto_wait_req(encrypt ? crypto_aead_encrypt(req) :
					crypto_aead_decrypt(req), &wait);
	aead_request_free(req);
	kfree_sensitive(buf);
	return ret;
}

/**
 * vepc_sealed_free() - Free a sealed copy
 * @sealed: the copy
 */
void vepc_sealed_free(struct vepc_sealed *sealed)
{
	__free_page(sealed->data);
	kfree(sealed);
}

/**
 * vepc_seal() - Seal the content of a page of @slot
 * @slot: a resident slot
 * @src: its content
 * @memcg: the memory cgroup the sealed copy is charged to (its owner's)
 *
 * On success @slot->sealed and @slot->version describe the sealed copy.
 * The allocations do not retry hard: a seal that fails leaves the page
 * resident, and reclaim tries another.  Called with vepc_lock held.
 *
 * Return: 0, -ENOMEM, or the crypto API's error.
 */
int vepc_seal(struct vepc_slot *slot, struct page *src,
	      struct mem_cgroup *memcg)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NORETRY | __GFP_NOWARN;
	struct mem_cgroup *old = set_active_memcg(memcg);
	struct vepc_sealed *sealed;
	u64 version;
	int ret;

	lockdep_assert_held(&vepc_lock);
	sealed = kzalloc(sizeof(*sealed), gfp);
	if (sealed)
		sealed->data = alloc_page(gfp);
	set_active_memcg(old);
	if (!sealed || !sealed->data) {
		kfree(sealed);
		return -ENOMEM;
	}
	/* A version, and so a nonce, is never used twice, even by a failure. */
	version = ++vepc_version;
	ret = vepc_crypt(slot, version, src, sealed->data, sealed->tag, true);
	if (ret) {
		vepc_sealed_free(sealed);
		return ret;
	}
	slot->sealed = sealed;
	slot->version = version;
	return 0;
}

/**
 * vepc_unseal() - Verify and decrypt the sealed copy of @slot
 * @slot: a reclaimed slot of a live instance
 * @dst: where its content goes
 *
 * @slot keeps its sealed copy; the caller frees it once the page is in.
 * Called with vepc_lock held.
 *
 * Return: 0; -EBADMSG if the copy is not the one sealed for @slot at its
 * version; -ENOMEM.
 */
int vepc_unseal(struct vepc_slot *slot, struct page *dst)
{
	lockdep_assert_held(&vepc_lock);
	return vepc_crypt(slot, slot->version, slot->sealed->data, dst,
			  slot->sealed->tag, false);
}

/**
 * vepc_tamper() - Attack the sealed copy of @slot, for tests
 * @slot: a reclaimed slot
 * @op: "flip" changes a bit of the ciphertext; "save" keeps a copy of
 *	the ciphertext and tag; "replay" puts the saved copy in place, over
 *	this page's or another page's (of any instance)
 *
 * Called with vepc_lock held.
 *
 * Return: 0; -ENODATA to replay without a saved copy; -EINVAL for an
 * unknown @op.
 */
int vepc_tamper(struct vepc_slot *slot, const char *op)
{
	struct vepc_sealed *sealed = slot->sealed;
	u8 *p;

	lockdep_assert_held(&vepc_lock);
	if (!strcmp(op, "flip")) {
		p = kmap_local_page(sealed->data);
		p[0] ^= 0x01;
		kunmap_local(p);
	} else if (!strcmp(op, "save")) {
		copy_highpage(vepc_saved_data, sealed->data);
		memcpy(vepc_saved_tag, sealed->tag, VEPC_TAG_SIZE);
		vepc_saved = true;
		vepc_saved_id = slot->owner_id;
	} else if (!strcmp(op, "replay")) {
		if (!vepc_saved)
			return -ENODATA;
		copy_highpage(sealed->data, vepc_saved_data);
		memcpy(sealed->tag, vepc_saved_tag, VEPC_TAG_SIZE);
	} else {
		return -EINVAL;
	}
	return 0;
}

/**
 * vepc_tamper_forget() - Drop the saved copy if instance @id saved it
 * @id: an instance being released
 *
 * Called with vepc_lock held.
 */
void vepc_tamper_forget(u64 id)
{
	lockdep_assert_held(&vepc_lock);
	if (vepc_saved && vepc_saved_id == id)
		vepc_saved = false;
}
