/* SPDX-License-Identifier: BSD-2-Clause */
/* SHA-384 (FIPS 180-4), for the TVM measurement registers (sha384.c). */
#ifndef TSM_SHA384_H
#define TSM_SHA384_H

#include <stddef.h>
#include <stdint.h>

#define SHA384_DIGEST_SIZE	48
#define SHA384_BLOCK_SIZE	128

struct sha384_ctx {
	uint64_t h[8];
	uint64_t bytes;		/* message length so far; < 2^61 here */
	uint8_t block[SHA384_BLOCK_SIZE];
};

void sha384_init(struct sha384_ctx *ctx);
void sha384_update(struct sha384_ctx *ctx, const void *data, size_t len);
void sha384_final(struct sha384_ctx *ctx, uint8_t digest[SHA384_DIGEST_SIZE]);

#endif
