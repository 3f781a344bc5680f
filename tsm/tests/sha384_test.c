// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TSM's SHA-384, built for the host: hashes stdin in chunks of the
 * sizes given on the command line (cycled), so that every path through
 * sha384_update() is taken, and prints the digest as sha384sum does.
 * scripts/build-opensbi.sh compares it with sha384sum on several inputs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sha384.h"

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	struct sha384_ctx ctx;
	uint8_t digest[SHA384_DIGEST_SIZE];
	size_t n, want;
	int i, arg = 1;

	sha384_init(&ctx);
	for (;;) {
		want = argc > 1 ? strtoul(argv[arg], NULL, 0) : sizeof(buf);
		if (!want || want > sizeof(buf))
			want = sizeof(buf);
		if (argc > 1)
			arg = arg + 1 < argc ? arg + 1 : 1;
		n = fread(buf, 1, want, stdin);
		if (!n)
			break;
		sha384_update(&ctx, buf, n);
	}
	sha384_final(&ctx, digest);
	for (i = 0; i < SHA384_DIGEST_SIZE; i++)
		printf("%02x", digest[i]);
	printf("  -\n");
	return 0;
}
