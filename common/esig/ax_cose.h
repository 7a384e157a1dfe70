/*
 * ax_cose.h - COSE_Key (RFC 9052 / RFC 9053) for the two WebAuthn algorithms Axiom accepts:
 * ES256 (kty EC2, crv P-256) and EdDSA (kty OKP, crv Ed25519).
 *
 * Invariants: (1) the decoder accepts only the deterministic CBOR that the encoder writes
 * (a definite map of the required labels, each once, in any order, shortest-form integers,
 * definite byte strings of exactly 32 bytes) and rejects any other label or trailing byte;
 * (2) a decoded key's alg is consistent with its kty and crv. It does not check that the
 * point is on the curve: the key constructor in ax_webauthn does. Pure: no I/O, no globals.
 */
#ifndef AX_COSE_H
#define AX_COSE_H

#include <stddef.h>
#include <stdint.h>

#include "ax_err.h"

#define AX_COSE_ALG_ES256     (-7)
#define AX_COSE_ALG_EDDSA     (-8)
#define AX_COSE_ES256_KEY_LEN 77 /* a5 01 02 03 26 20 01 21 58 20 x 22 58 20 y */
#define AX_COSE_EDDSA_KEY_LEN 42 /* a4 01 01 03 27 20 06 21 58 20 x */
#define AX_COSE_KEY_MAX       128

struct ax_cose_key {
	int alg;       /* AX_COSE_ALG_ES256 or AX_COSE_ALG_EDDSA */
	uint8_t x[32]; /* EC2 x coordinate, or the Ed25519 public key */
	uint8_t y[32]; /* EC2 y coordinate; zero for EdDSA */
};

/* Write the COSE_Key of an ES256 public key (x, y) into out. */
void ax_cose_encode_es256(
    uint8_t out[AX_COSE_ES256_KEY_LEN], const uint8_t x[32], const uint8_t y[32]);

/* Write the COSE_Key of an Ed25519 public key into out. */
void ax_cose_encode_eddsa(uint8_t out[AX_COSE_EDDSA_KEY_LEN], const uint8_t pub[32]);

/* Decode the COSE_Key buf[0..len) into *out; AX_EINVAL on anything outside invariant (1). */
int ax_cose_decode(struct ax_cose_key *out, const uint8_t *buf, size_t len, struct ax_err *err);

#endif
