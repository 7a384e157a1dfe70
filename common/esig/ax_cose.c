/*
 * ax_cose.c - COSE_Key encode / strict decode; see ax_cose.h for the invariants.
 */
#include "ax_cose.h"

#include <stdbool.h>
#include <string.h>

void
ax_cose_encode_es256(uint8_t out[AX_COSE_ES256_KEY_LEN], const uint8_t x[32], const uint8_t y[32])
{
	static const uint8_t head[] = { 0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58,
		0x20 };

	memcpy(out, head, sizeof(head));
	memcpy(out + 10, x, 32);
	out[42] = 0x22;
	out[43] = 0x58;
	out[44] = 0x20;
	memcpy(out + 45, y, 32);
}

void
ax_cose_encode_eddsa(uint8_t out[AX_COSE_EDDSA_KEY_LEN], const uint8_t pub[32])
{
	static const uint8_t head[] = { 0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58,
		0x20 };

	memcpy(out, head, sizeof(head));
	memcpy(out + 10, pub, 32);
}

/* Read a shortest-form CBOR integer in -256..255 at buf[*off] into *v. */
static bool
cose_get_int(const uint8_t *buf, size_t len, size_t *off, int *v)
{
	uint8_t b;

	if (*off >= len)
		return false;
	b = buf[(*off)++];
	if (b <= 0x17) {
		*v = b;
		return true;
	}
	if (b >= 0x20 && b <= 0x37) {
		*v = -1 - (b - 0x20);
		return true;
	}
	if ((b == 0x18 || b == 0x38) && *off < len && buf[*off] >= 0x18) {
		*v = b == 0x18 ? buf[*off] : -1 - buf[*off];
		(*off)++;
		return true;
	}
	return false;
}

/* Read a definite 32-byte CBOR byte string (header 58 20) at buf[*off] into out. */
static bool
cose_get_bstr32(const uint8_t *buf, size_t len, size_t *off, uint8_t out[32])
{
	if (len - *off < 34 || buf[*off] != 0x58 || buf[*off + 1] != 0x20)
		return false;
	memcpy(out, buf + *off + 2, 32);
	*off += 34;
	return true;
}

int
ax_cose_decode(struct ax_cose_key *out, const uint8_t *buf, size_t len, struct ax_err *err)
{
	size_t off = 1, n, i;
	int label, v, kty = 0, crv = 0, alg = 0;
	unsigned seen = 0; /* bit per label: 1 kty, 3 alg, -1 crv, -2 x, -3 y */
	unsigned bit;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > AX_COSE_KEY_MAX || buf[0] < 0xa1 || buf[0] > 0xb7)
		goto bad;
	n = buf[0] - 0xa0u;
	for (i = 0; i < n; i++) {
		if (!cose_get_int(buf, len, &off, &label))
			goto bad;
		switch (label) {
		case 1:
			bit = 1u;
			break;
		case 3:
			bit = 2u;
			break;
		case -1:
			bit = 4u;
			break;
		case -2:
			bit = 8u;
			break;
		case -3:
			bit = 16u;
			break;
		default:
			goto bad;
		}
		if (seen & bit)
			goto bad;
		seen |= bit;
		if (label == -2 || label == -3) {
			if (!cose_get_bstr32(buf, len, &off, label == -2 ? out->x : out->y))
				goto bad;
			continue;
		}
		if (!cose_get_int(buf, len, &off, &v))
			goto bad;
		if (label == 1)
			kty = v;
		else if (label == 3)
			alg = v;
		else
			crv = v;
	}
	if (off != len)
		goto bad;
	if (alg == AX_COSE_ALG_ES256 && kty == 2 && crv == 1 && seen == 31u) {
		out->alg = alg;
		return AX_OK;
	}
	if (alg == AX_COSE_ALG_EDDSA && kty == 1 && crv == 6 && seen == 15u) {
		out->alg = alg;
		return AX_OK;
	}
	ax_err_set(err, AX_EINVAL, "unsupported COSE key");
	ax_err_detail(err,
	    "Only ES256 (EC2, P-256) and EdDSA (OKP, Ed25519) keys are accepted; "
	    "this key has kty %d, alg %d, crv %d.",
	    kty, alg, crv);
	return AX_EINVAL;
bad:
	memset(out, 0, sizeof(*out));
	ax_err_set(err, AX_EINVAL, "invalid COSE key encoding");
	ax_err_detail(err, "A COSE key is a CBOR map of the labels 1, 3, -1, -2 (and -3 for EC2), "
	                   "each once, in shortest form, with nothing after it.");
	return AX_EINVAL;
}
