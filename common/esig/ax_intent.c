/*
 * ax_intent.c - signing intent and its canonical encoding; see ax_intent.h for the
 * invariants and docs/signing-intent.md for the byte layout.
 */
#include "ax_intent.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char *const meaning_names[] = { NULL, "authorship", "review", "approval",
	"responsibility" };

const char *
ax_meaning_name(enum ax_meaning meaning)
{
	if ((int)meaning < AX_MEANING_AUTHORSHIP || (int)meaning > AX_MEANING_RESPONSIBILITY)
		return NULL;
	return meaning_names[meaning];
}

int
ax_meaning_parse(enum ax_meaning *out, const char *name, struct ax_err *err)
{
	int i;

	for (i = AX_MEANING_AUTHORSHIP; i <= AX_MEANING_RESPONSIBILITY; i++) {
		if (strcmp(name, meaning_names[i]) == 0) {
			*out = (enum ax_meaning)i;
			return AX_OK;
		}
	}
	ax_err_set(err, AX_EINVAL, "unknown signature meaning");
	ax_err_detail(err, "A meaning is one of authorship, review, approval, responsibility.");
	return AX_EINVAL;
}

/* Check that text is 1..AX_INTENT_TEXT_MAX bytes of UTF-8 without NUL; what names it. */
static int
intent_check_text(const char *what, const uint8_t *text, size_t len, struct ax_err *err)
{
	if (len == 0 || len > AX_INTENT_TEXT_MAX) {
		ax_err_set(err, AX_EINVAL, "invalid signing intent: %s has %zu bytes", what, len);
		ax_err_detail(err, "A %s has 1 to %d bytes.", what, AX_INTENT_TEXT_MAX);
		return AX_EINVAL;
	}
	if (!ax_utf8_valid(text, len)) {
		ax_err_set(err, AX_EINVAL, "invalid signing intent: %s is not valid UTF-8", what);
		ax_err_detail(err, "Text must be UTF-8 without NUL characters.");
		return AX_EINVAL;
	}
	return AX_OK;
}

int
ax_intent_new_nonce(uint8_t *nonce, size_t len, struct ax_err *err)
{
	if (len < AX_INTENT_NONCE_MIN || len > AX_INTENT_NONCE_MAX)
		return ax_err_set(err, AX_EINVAL, "invalid nonce length %zu", len);
	if (RAND_bytes(nonce, (int)len) != 1)
		return ax_err_set(err, AX_ERR, "could not draw a random nonce");
	return AX_OK;
}

int
ax_intent_set(struct ax_intent *out, const char *signer, const uint8_t lineage_id[AX_UUID_LEN],
    int64_t version, const uint8_t record_hash[AX_HASH_LEN], enum ax_meaning meaning,
    const uint8_t *nonce, size_t nonce_len, struct ax_err *err)
{
	size_t ls = strnlen(signer, AX_INTENT_TEXT_MAX + 1);
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = intent_check_text("signer", (const uint8_t *)signer, ls, err)) != AX_OK)
		return rc;
	if (version < 1)
		return ax_err_set(err, AX_EINVAL,
		    "invalid signing intent: version %lld is not positive", (long long)version);
	if (ax_meaning_name(meaning) == NULL)
		return ax_err_set(
		    err, AX_EINVAL, "invalid signing intent: unknown meaning %d", (int)meaning);
	if (nonce_len < AX_INTENT_NONCE_MIN || nonce_len > AX_INTENT_NONCE_MAX) {
		ax_err_set(
		    err, AX_EINVAL, "invalid signing intent: nonce has %zu bytes", nonce_len);
		ax_err_detail(err, "A nonce has %d to %d random bytes.", AX_INTENT_NONCE_MIN,
		    AX_INTENT_NONCE_MAX);
		return AX_EINVAL;
	}
	memcpy(out->signer, signer, ls);
	memcpy(out->lineage_id, lineage_id, AX_UUID_LEN);
	out->version = version;
	memcpy(out->record_hash, record_hash, AX_HASH_LEN);
	out->meaning = meaning;
	memcpy(out->nonce, nonce, nonce_len);
	out->nonce_len = nonce_len;
	return AX_OK;
}

/* Field types of docs/canonical-encoding.md section 1. */
enum { T_TEXT = 0x01, T_BYTES = 0x02, T_INT64 = 0x03, T_UUID = 0x05 };

/* Append a field: type, big-endian u32 length, len bytes; the caller checked the room. */
static void
put_field(uint8_t *buf, size_t *off, uint8_t type, const void *bytes, size_t len)
{
	buf[*off] = type;
	buf[*off + 1] = (uint8_t)(len >> 24);
	buf[*off + 2] = (uint8_t)(len >> 16);
	buf[*off + 3] = (uint8_t)(len >> 8);
	buf[*off + 4] = (uint8_t)len;
	memcpy(buf + *off + 5, bytes, len);
	*off += 5 + len;
}

int
ax_intent_encode(
    uint8_t *buf, size_t cap, size_t *len, const struct ax_intent *in, struct ax_err *err)
{
	const char *mn = ax_meaning_name(in->meaning);
	size_t ls = strnlen(in->signer, sizeof(in->signer));
	size_t need, off = 0;
	uint8_t v[8];
	int i;

	*len = 0;
	if (mn == NULL || in->version < 1 || ls == 0 || ls > AX_INTENT_TEXT_MAX ||
	    in->nonce_len < AX_INTENT_NONCE_MIN || in->nonce_len > AX_INTENT_NONCE_MAX)
		return ax_err_set(err, AX_EINVAL, "could not encode an invalid signing intent");
	need = 7 * 5 + strlen(AX_INTENT_TAG) + ls + AX_UUID_LEN + 8 + AX_HASH_LEN + strlen(mn) +
	       in->nonce_len;
	if (cap < need)
		return ax_err_set(err, AX_EINVAL,
		    "signing intent encoding needs %zu bytes, %zu available", need, cap);
	for (i = 0; i < 8; i++)
		v[i] = (uint8_t)((uint64_t)in->version >> (56 - 8 * i));
	put_field(buf, &off, T_TEXT, AX_INTENT_TAG, strlen(AX_INTENT_TAG));
	put_field(buf, &off, T_TEXT, in->signer, ls);
	put_field(buf, &off, T_UUID, in->lineage_id, AX_UUID_LEN);
	put_field(buf, &off, T_INT64, v, sizeof(v));
	put_field(buf, &off, T_BYTES, in->record_hash, AX_HASH_LEN);
	put_field(buf, &off, T_TEXT, mn, strlen(mn));
	put_field(buf, &off, T_BYTES, in->nonce, in->nonce_len);
	*len = off;
	return AX_OK;
}

/* Read a field of type and lo..hi bytes at buf[*off]; what names it in the error. */
static int
get_field(const uint8_t **field, size_t *flen, const uint8_t *buf, size_t len, size_t *off,
    uint8_t type, size_t lo, size_t hi, const char *what, struct ax_err *err)
{
	uint32_t n;

	if (len - *off < 5)
		return ax_err_set(
		    err, AX_EINVAL, "invalid signing intent encoding: %s is truncated", what);
	if (buf[*off] != type)
		return ax_err_set(err, AX_EINVAL,
		    "invalid signing intent encoding: %s has type 0x%02x, not 0x%02x", what,
		    buf[*off], type);
	n = (uint32_t)buf[*off + 1] << 24 | (uint32_t)buf[*off + 2] << 16 |
	    (uint32_t)buf[*off + 3] << 8 | buf[*off + 4];
	*off += 5;
	if (n < lo || n > hi || n > len - *off)
		return ax_err_set(err, AX_EINVAL,
		    "invalid signing intent encoding: %s length %u is out of bounds", what, n);
	*field = buf + *off;
	*flen = n;
	*off += n;
	return AX_OK;
}

int
ax_intent_decode(struct ax_intent *out, const uint8_t *buf, size_t len, struct ax_err *err)
{
	const uint8_t *f;
	size_t fl, off = 0;
	char signer[AX_INTENT_TEXT_MAX + 1], mname[16];
	uint8_t lineage[AX_UUID_LEN], hash[AX_HASH_LEN];
	enum ax_meaning meaning;
	uint64_t v = 0;
	int i, rc;

	memset(out, 0, sizeof(*out));
	if (len > AX_INTENT_ENCODED_MAX)
		return ax_err_set(
		    err, AX_EINVAL, "invalid signing intent encoding: %zu bytes", len);
	if ((rc = get_field(&f, &fl, buf, len, &off, T_TEXT, 0, 64, "tag", err)) != AX_OK)
		return rc;
	if (fl != strlen(AX_INTENT_TAG) || memcmp(f, AX_INTENT_TAG, fl) != 0) {
		ax_err_set(err, AX_EINVAL, "invalid signing intent encoding: unknown tag");
		ax_err_detail(err, "Only \"%s\" is understood.", AX_INTENT_TAG);
		return AX_EINVAL;
	}
	if ((rc = get_field(
	         &f, &fl, buf, len, &off, T_TEXT, 1, AX_INTENT_TEXT_MAX, "signer", err)) != AX_OK)
		return rc;
	memcpy(signer, f, fl);
	signer[fl] = '\0';
	if (strlen(signer) != fl)
		return ax_err_set(err, AX_EINVAL, "invalid signing intent encoding: NUL in signer");
	if ((rc = get_field(&f, &fl, buf, len, &off, T_UUID, AX_UUID_LEN, AX_UUID_LEN, "lineage id",
	         err)) != AX_OK)
		return rc;
	memcpy(lineage, f, fl);
	if ((rc = get_field(&f, &fl, buf, len, &off, T_INT64, 8, 8, "version", err)) != AX_OK)
		return rc;
	for (i = 0; i < 8; i++)
		v = v << 8 | f[i];
	if ((rc = get_field(&f, &fl, buf, len, &off, T_BYTES, AX_HASH_LEN, AX_HASH_LEN,
	         "record hash", err)) != AX_OK)
		return rc;
	memcpy(hash, f, fl);
	if ((rc = get_field(
	         &f, &fl, buf, len, &off, T_TEXT, 1, sizeof(mname) - 1, "meaning", err)) != AX_OK)
		return rc;
	memcpy(mname, f, fl);
	mname[fl] = '\0';
	if (strlen(mname) != fl || ax_meaning_parse(&meaning, mname, err) != AX_OK)
		return ax_err_set(
		    err, AX_EINVAL, "invalid signing intent encoding: unknown meaning");
	if ((rc = get_field(&f, &fl, buf, len, &off, T_BYTES, AX_INTENT_NONCE_MIN,
	         AX_INTENT_NONCE_MAX, "nonce", err)) != AX_OK)
		return rc;
	if (off != len) {
		ax_err_set(err, AX_EINVAL, "invalid signing intent encoding: trailing bytes");
		ax_err_detail(err, "%zu bytes follow the last field.", len - off);
		return AX_EINVAL;
	}
	if (v > INT64_MAX)
		return ax_err_set(err, AX_EINVAL, "invalid signing intent encoding: bad version");
	return ax_intent_set(out, signer, lineage, (int64_t)v, hash, meaning, f, fl, err);
}

int
ax_intent_hash(uint8_t out[AX_HASH_LEN], const struct ax_intent *in, struct ax_err *err)
{
	uint8_t buf[AX_INTENT_ENCODED_MAX];
	size_t len;
	int rc;

	if ((rc = ax_intent_encode(buf, sizeof(buf), &len, in, err)) != AX_OK)
		return rc;
	if (EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL) != 1)
		return ax_err_set(err, AX_ERR, "could not hash the signing intent");
	return AX_OK;
}

int
ax_intent_check_nonce(
    const struct ax_intent *in, ax_nonce_seen_fn seen, void *ctx, struct ax_err *err)
{
	bool was_seen = true;
	char lineage[37];
	int rc;

	if ((rc = seen(ctx, in->nonce, in->nonce_len, &was_seen, err)) != AX_OK)
		return rc;
	if (was_seen) {
		ax_uuid_format(lineage, in->lineage_id);
		ax_err_set(err, AX_ECONFLICT, "signature refused: intent_nonce_replayed");
		ax_err_detail(err,
		    "The nonce of this signing intent (signer %s, lineage %s, version %lld) was "
		    "already consumed by an accepted signature.",
		    in->signer, lineage, (long long)in->version);
		ax_err_hint(err, "Build a new intent with a fresh nonce and sign again.");
		return AX_ECONFLICT;
	}
	return AX_OK;
}

/* One consumed nonce: length then bytes, zero-padded; ordered by (len, bytes). */
struct nonce_key {
	uint8_t len;
	uint8_t bytes[AX_INTENT_NONCE_MAX];
};

struct ax_nonce_set {
	struct nonce_key *keys; /* sorted, n of cap used */
	size_t n, cap;
};

/* Order two keys by length, then bytes. */
static int
nonce_key_cmp(const struct nonce_key *a, const struct nonce_key *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->len);
}

/* Binary-search set for key: true if found; *pos is where it is or would be inserted. */
static bool
nonce_set_find(const struct ax_nonce_set *set, const struct nonce_key *key, size_t *pos)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = nonce_key_cmp(&set->keys[mid], key);

		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

/* Build the key of nonce[0..len); AX_EINVAL if len is outside the nonce bounds. */
static int
nonce_key_make(struct nonce_key *key, const uint8_t *nonce, size_t len, struct ax_err *err)
{
	if (len < AX_INTENT_NONCE_MIN || len > AX_INTENT_NONCE_MAX)
		return ax_err_set(err, AX_EINVAL, "invalid nonce length %zu", len);
	memset(key, 0, sizeof(*key));
	key->len = (uint8_t)len;
	memcpy(key->bytes, nonce, len);
	return AX_OK;
}

int
ax_nonce_set_new(struct ax_nonce_set **out, size_t cap, struct ax_err *err)
{
	struct ax_nonce_set *set = NULL;

	*out = NULL;
	if (cap == 0 || cap > SIZE_MAX / sizeof(struct nonce_key))
		return ax_err_set(err, AX_EINVAL, "invalid nonce set capacity %zu", cap);
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->keys = calloc(cap, sizeof(*set->keys))) == NULL) {
		free(set);
		return ax_err_set(err, AX_ERR, "out of memory for a nonce set of %zu", cap);
	}
	set->cap = cap;
	*out = set;
	return AX_OK;
}

void
ax_nonce_set_free(struct ax_nonce_set *set)
{
	if (set == NULL)
		return;
	free(set->keys);
	free(set);
}

int
ax_nonce_set_seen(void *ctx, const uint8_t *nonce, size_t len, bool *seen, struct ax_err *err)
{
	const struct ax_nonce_set *set = ctx;
	struct nonce_key key;
	size_t pos;
	int rc;

	if ((rc = nonce_key_make(&key, nonce, len, err)) != AX_OK)
		return rc;
	*seen = nonce_set_find(set, &key, &pos);
	return AX_OK;
}

int
ax_nonce_set_add(struct ax_nonce_set *set, const uint8_t *nonce, size_t len, struct ax_err *err)
{
	struct nonce_key key;
	size_t pos;
	int rc;

	if ((rc = nonce_key_make(&key, nonce, len, err)) != AX_OK)
		return rc;
	if (nonce_set_find(set, &key, &pos))
		return ax_err_set(err, AX_ECONFLICT, "signature refused: intent_nonce_replayed");
	if (set->n == set->cap)
		return ax_err_set(err, AX_EINVAL, "nonce set is full (%zu nonces)", set->cap);
	memmove(&set->keys[pos + 1], &set->keys[pos], (set->n - pos) * sizeof(*set->keys));
	set->keys[pos] = key;
	set->n++;
	return AX_OK;
}
