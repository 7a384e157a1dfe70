/*
 * ax_sigbench.h - signature verification rate, measured in-process for `axiom bench` and
 * tests/bench/bench_webauthn: WebAuthn assertion verifications as a writer runs them (the key
 * from its ax_webauthn_key_cache, then ax_webauthn_verify: strict clientDataJSON, every
 * relying-party check, the signature) against raw ECDSA
 * P-256 / SHA-256 verifies (OpenSSL EVP_DigestVerify over the same signed bytes, what
 * `openssl speed ecdsap256` measures), in the same run on one thread.
 */
#ifndef AX_SIGBENCH_H
#define AX_SIGBENCH_H

#include "ax_err.h"

/* Run each measurement for about seconds; fill both rates (per second). */
int ax_sigbench_run(
    double seconds, double *webauthn_per_s, double *raw_ecdsa_per_s, struct ax_err *err);

#endif
