/*
 * ax_canon.c - canonical encoding v1; see ax_canon.h and docs/canonical-encoding.md.
 */
#include "ax_canon.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct ax_sha256 {
	EVP_MD *md;      /* fetched once */
	EVP_MD_CTX *ctx; /* reused per digest */
};

int
ax_sha256_new(struct ax_sha256 **out, struct ax_err *err)
{
	struct ax_sha256 *h = NULL;
	int rc = AX_OK;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory creating a SHA-256 context");
		goto out;
	}
	if ((h->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (h->ctx = EVP_MD_CTX_new()) == NULL) {
		rc = ax_err_set(err, AX_ERR, "could not fetch SHA-256 from OpenSSL");
		goto out;
	}
	*out = h;
	h = NULL;
out:
	ax_sha256_free(h);
	return rc;
}

void
ax_sha256_free(struct ax_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

int
ax_sha256_digest(struct ax_sha256 *h, uint8_t out[AX_HASH_LEN], const uint8_t *buf, size_t len,
    struct ax_err *err)
{
	unsigned int n = 0;

	if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, buf, len) != 1 || EVP_DigestFinal_ex(h->ctx, out, &n) != 1 ||
	    n != AX_HASH_LEN)
		return ax_err_set(err, AX_ERR, "could not compute a SHA-256 digest");
	return AX_OK;
}

int
ax_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		uint8_t c = s[i];

		if (c < 0x80) {
			if (c == 0)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* The encoder's cursor: writes when buf is non-NULL, only counts otherwise. */
struct enc {
	uint8_t *buf;
	size_t len;
};

static void
put(struct enc *e, const void *p, size_t n)
{
	if (e->buf != NULL && n > 0)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void
put_header(struct enc *e, enum ax_canon_type type, uint32_t len)
{
	uint8_t h[5] = { (uint8_t)type, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
		(uint8_t)(len >> 8), (uint8_t)len };

	put(e, h, sizeof(h));
}

static void
put_null(struct enc *e)
{
	uint8_t t = AX_CANON_NULL;

	put(e, &t, 1);
}

static void
put_bytes(struct enc *e, enum ax_canon_type type, const uint8_t *p, size_t n)
{
	put_header(e, type, (uint32_t)n);
	put(e, p, n);
}

static void
put_int64(struct enc *e, enum ax_canon_type type, int64_t v)
{
	uint64_t u = (uint64_t)v;
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, u >>= 8)
		b[i] = (uint8_t)(u & 0xff);
	put_bytes(e, type, b, sizeof(b));
}

static void
put_text(struct enc *e, const char *s)
{
	put_bytes(e, AX_CANON_TEXT, (const uint8_t *)s, strlen(s));
}

static int
check_text(const char *s, const char *field, struct ax_err *err)
{
	size_t n;

	if (s == NULL)
		return ax_err_set(err, AX_EINVAL, "record field %s is missing", field);
	n = strlen(s);
	if (n > AX_CANON_MAX_FIELD)
		return ax_err_set(err, AX_EINVAL, "record field %s is longer than %u bytes", field,
		    AX_CANON_MAX_FIELD);
	if (!ax_utf8_valid((const uint8_t *)s, n))
		return ax_err_set(err, AX_EINVAL, "record field %s is not valid UTF-8", field);
	return AX_OK;
}

/* Write the fields of r in the order of docs/canonical-encoding.md section 3. */
static void
encode(struct enc *e, const struct ax_canon_record *r)
{
	put_text(e, AX_CANON_RECORD_TAG);
	put_bytes(e, AX_CANON_UUID, r->record_id, AX_UUID_LEN);
	put_bytes(e, AX_CANON_UUID, r->id, AX_UUID_LEN);
	put_int64(e, AX_CANON_INT64, r->version);
	if (r->has_previous) {
		put_bytes(e, AX_CANON_UUID, r->previous_record_id, AX_UUID_LEN);
		put_bytes(e, AX_CANON_BYTES, r->previous_record_hash, AX_HASH_LEN);
	} else {
		put_null(e);
		put_null(e);
	}
	put_text(e, r->record_type);
	put_text(e, r->facility_id);
	put_text(e, r->domain_id);
	put_text(e, r->title);
	put_bytes(e, AX_CANON_BYTES, r->content, r->content_len);
	put_text(e, r->created_by);
	put_int64(e, AX_CANON_TIMESTAMP, r->created_at_us);
	if (r->has_change_id)
		put_bytes(e, AX_CANON_UUID, r->change_id, AX_UUID_LEN);
	else
		put_null(e);
}

int
ax_canon_record_encode(
    uint8_t **out, size_t *out_len, const struct ax_canon_record *r, struct ax_err *err)
{
	struct enc e = { NULL, 0 };
	int rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = check_text(r->record_type, "record_type", err)) != AX_OK ||
	    (rc = check_text(r->facility_id, "facility_id", err)) != AX_OK ||
	    (rc = check_text(r->domain_id, "domain_id", err)) != AX_OK ||
	    (rc = check_text(r->title, "title", err)) != AX_OK ||
	    (rc = check_text(r->created_by, "created_by", err)) != AX_OK)
		return rc;
	if (r->content == NULL && r->content_len > 0)
		return ax_err_set(err, AX_EINVAL, "record field content is missing");
	if (r->content_len > AX_CANON_MAX_FIELD)
		return ax_err_set(err, AX_EINVAL, "record field content is longer than %u bytes",
		    AX_CANON_MAX_FIELD);
	encode(&e, r); /* count */
	if ((e.buf = malloc(e.len)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory encoding a record");
	e.len = 0;
	encode(&e, r); /* write */
	*out = e.buf;
	*out_len = e.len;
	return AX_OK;
}

int
ax_canon_record_hash(uint8_t out[AX_HASH_LEN], struct ax_sha256 *h, const struct ax_canon_record *r,
    struct ax_err *err)
{
	uint8_t *buf = NULL; /* freed at out: */
	size_t len;
	int rc;

	if ((rc = ax_canon_record_encode(&buf, &len, r, err)) != AX_OK)
		goto out;
	rc = ax_sha256_digest(h, out, buf, len, err);
out:
	free(buf);
	return rc;
}

/* Write text s, or the NULL tag when s is NULL (the SQL twin's canon_text(NULL)). */
static void
put_text_or_null(struct enc *e, const char *s)
{
	if (s == NULL)
		put_null(e);
	else
		put_text(e, s);
}

/* Check ledger text field s (NULL allowed when nullable); AX_EINVAL says which field. */
static int
check_ledger_text(const char *s, int nullable, const char *field, struct ax_err *err)
{
	size_t n;

	if (s == NULL)
		return nullable ? AX_OK
		                : ax_err_set(err, AX_EINVAL, "ledger field %s is missing", field);
	n = strlen(s);
	if (n > AX_CANON_MAX_FIELD)
		return ax_err_set(err, AX_EINVAL, "ledger field %s is longer than %u bytes", field,
		    AX_CANON_MAX_FIELD);
	if (!ax_utf8_valid((const uint8_t *)s, n))
		return ax_err_set(err, AX_EINVAL, "ledger field %s is not valid UTF-8", field);
	return AX_OK;
}

/* Write the fields of l in the order of docs/canonical-encoding.md section 4. */
static void
encode_ledger(struct enc *e, const struct ax_canon_ledger *l)
{
	put_text(e, AX_CANON_LEDGER_TAG);
	put_text(e, l->topic);
	put_int64(e, AX_CANON_INT64, (int64_t)l->partition);
	put_int64(e, AX_CANON_INT64, l->seq);
	put_int64(e, AX_CANON_INT64, l->offset);
	if (l->has_command_id)
		put_bytes(e, AX_CANON_UUID, l->command_id, AX_UUID_LEN);
	else
		put_null(e);
	put_text_or_null(e, l->actor);
	put_int64(e, AX_CANON_TIMESTAMP, l->event_time_us);
	put_text(e, l->decision);
	put_text_or_null(e, l->reason_code);
	if (l->record_hash != NULL)
		put_bytes(e, AX_CANON_BYTES, l->record_hash, l->record_hash_len);
	else
		put_null(e);
	put_bytes(e, AX_CANON_BYTES, l->previous_entry_hash, AX_HASH_LEN);
}

int
ax_canon_ledger_encode(
    uint8_t **out, size_t *out_len, const struct ax_canon_ledger *l, struct ax_err *err)
{
	struct enc e = { NULL, 0 };
	int rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = check_ledger_text(l->topic, 0, "topic", err)) != AX_OK ||
	    (rc = check_ledger_text(l->actor, 1, "actor", err)) != AX_OK ||
	    (rc = check_ledger_text(l->decision, 0, "decision", err)) != AX_OK ||
	    (rc = check_ledger_text(l->reason_code, 1, "reason_code", err)) != AX_OK)
		return rc;
	if (l->record_hash_len > AX_CANON_MAX_FIELD)
		return ax_err_set(err, AX_EINVAL,
		    "ledger field record_hash is longer than %u bytes", AX_CANON_MAX_FIELD);
	encode_ledger(&e, l); /* count */
	if ((e.buf = malloc(e.len)) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory encoding a ledger entry");
	e.len = 0;
	encode_ledger(&e, l); /* write */
	*out = e.buf;
	*out_len = e.len;
	return AX_OK;
}

int
ax_canon_ledger_hash(uint8_t out[AX_HASH_LEN], struct ax_sha256 *h, const struct ax_canon_ledger *l,
    struct ax_err *err)
{
	uint8_t *buf = NULL; /* freed at out: */
	size_t len;
	int rc;

	if ((rc = ax_canon_ledger_encode(&buf, &len, l, err)) != AX_OK)
		goto out;
	rc = ax_sha256_digest(h, out, buf, len, err);
out:
	free(buf);
	return rc;
}
