/*
 * ax_verify_bench.c - micro-benchmark of the C record chain checker (issue 7: "the C
 * verifier checks at least 1,000,000 record versions per second"); see ax_verify.h.
 *
 * Invariants: pure (no peer, no globals); the synthetic chain is valid, so a failure
 * reported during the timed pass is a bug and makes the run fail; only the checker's work
 * (row assembly, canonical encoding, SHA-256, link checks) is timed, not the set-up.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_clock.h"
#include "ax_verify.h"

#define BENCH_CHAIN 10 /* versions per lineage */

/* Put the big-endian counter n into the last 8 bytes of a UUID with prefix tag. */
static void
bench_uuid(uint8_t out[AX_UUID_LEN], uint8_t tag, uint64_t n)
{
	int i;

	memset(out, 0, AX_UUID_LEN);
	out[0] = tag;
	out[6] = 0x40; /* version 4 */
	out[8] = 0x80; /* variant */
	for (i = 15; i >= 8 && n > 0; i--, n >>= 8)
		out[i] |= (uint8_t)(n & 0xff);
}

/* Fill row i of the synthetic data set (prev: hash of row i-1 of the same lineage). */
static void
bench_row(struct ax_verify_version *r, int64_t i, const uint8_t *prev, const uint8_t *hash,
    const uint8_t *content, size_t content_len)
{
	int64_t v = i % BENCH_CHAIN + 1;

	memset(r, 0, sizeof(*r));
	bench_uuid(r->record_id, 0x0a, (uint64_t)i);
	bench_uuid(r->id, 0x1d, (uint64_t)(i / BENCH_CHAIN));
	r->version = v;
	if (v > 1) {
		r->has_previous_record_id = 1;
		bench_uuid(r->previous_record_id, 0x0a, (uint64_t)(i - 1));
		r->previous_record_hash = prev;
		r->previous_record_hash_len = AX_HASH_LEN;
	}
	r->record_hash = hash;
	r->record_hash_len = AX_HASH_LEN;
	r->record_type = "spec";
	r->facility_id = "F1";
	r->domain_id = "QC";
	r->title = "pH of buffer A, revision";
	r->content = content;
	r->content_len = content_len;
	r->created_by = "alice@example.org";
	r->created_at_us = INT64_C(1767225600000000) + i;
}

int
ax_verify_bench_records(
    int64_t n, size_t content_len, double *rate, double *seconds, struct ax_err *err)
{
	struct ax_verify_records *v = NULL;
	struct ax_verify_version row;
	struct ax_verify_failure f;
	struct ax_canon_record c;
	struct ax_sha256 *sha = NULL;
	uint8_t *hashes = NULL, *content = NULL;
	double t0;
	int64_t i;
	int rc;

	*rate = 0;
	*seconds = 0;
	if (n < 1 || n > INT64_C(100000000) || content_len > 1u << 20)
		return ax_err_set(err, AX_EINVAL, "benchmark size out of range");
	if ((hashes = malloc((size_t)n * AX_HASH_LEN)) == NULL ||
	    (content = malloc(content_len + 1)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory building the benchmark data");
		goto out;
	}
	for (i = 0; i < (int64_t)content_len; i++)
		content[i] = (uint8_t)(i * 131 + 7);
	if ((rc = ax_sha256_new(&sha, err)) != AX_OK)
		goto out;
	/* set-up, untimed: the hashes the database would have stored */
	for (i = 0; i < n; i++) {
		bench_row(&row, i, i > 0 ? hashes + (i - 1) * AX_HASH_LEN : NULL,
		    hashes + i * AX_HASH_LEN, content, content_len);
		memset(&c, 0, sizeof(c));
		memcpy(c.record_id, row.record_id, AX_UUID_LEN);
		memcpy(c.id, row.id, AX_UUID_LEN);
		c.version = row.version;
		if ((c.has_previous = row.has_previous_record_id)) {
			memcpy(c.previous_record_id, row.previous_record_id, AX_UUID_LEN);
			memcpy(c.previous_record_hash, row.previous_record_hash, AX_HASH_LEN);
		}
		c.record_type = row.record_type;
		c.facility_id = row.facility_id;
		c.domain_id = row.domain_id;
		c.title = row.title;
		c.content = row.content;
		c.content_len = row.content_len;
		c.created_by = row.created_by;
		c.created_at_us = row.created_at_us;
		if ((rc = ax_canon_record_hash(hashes + i * AX_HASH_LEN, sha, &c, err)) != AX_OK)
			goto out;
	}
	if ((rc = ax_verify_records_new(&v, err)) != AX_OK)
		goto out;
	t0 = ax_mono_s();
	for (i = 0; i < n; i++) {
		bench_row(&row, i, i > 0 ? hashes + (i - 1) * AX_HASH_LEN : NULL,
		    hashes + i * AX_HASH_LEN, content, content_len);
		if ((rc = ax_verify_records_feed(v, &row, &f, err)) == AX_VERIFY_BROKEN) {
			rc = ax_err_set(err, AX_ERR, "the synthetic chain did not verify");
			ax_err_detail(err, "%s", f.problem);
			goto out;
		}
		if (rc != AX_OK)
			goto out;
	}
	*seconds = ax_mono_s() - t0;
	*rate = *seconds > 0 ? (double)n / *seconds : 0;
	rc = AX_OK;
out:
	ax_verify_records_free(v);
	ax_sha256_free(sha);
	free(hashes);
	free(content);
	return rc;
}
