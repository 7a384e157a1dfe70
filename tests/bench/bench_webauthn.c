/*
 * bench_webauthn.c - WebAuthn assertion verifications per second against raw ECDSA P-256
 * verifies, measured in the same run (common/tools/ax_sigbench.h; `axiom bench` reports the same).
 *
 * Usage: bench_webauthn [seconds per measurement, default 2]
 */
#include <stdio.h>
#include <stdlib.h>

#include "ax_sigbench.h"

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 2.0, wa, raw;
	struct ax_err err;

	if (secs <= 0)
		secs = 2.0;
	if (ax_sigbench_run(secs, &wa, &raw, &err) != AX_OK) {
		ax_err_print(stderr, "bench_webauthn", &err);
		return EXIT_FAILURE;
	}
	printf("webauthn assertion verifications/s: %.0f (%.1f us each)\n", wa, 1e6 / wa);
	printf("raw ECDSA P-256 verifies/s:         %.0f (%.1f us each)\n", raw, 1e6 / raw);
	printf("webauthn / raw:                      %.2f\n", wa / raw);
	return EXIT_SUCCESS;
}
