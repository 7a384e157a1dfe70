/*
 * ax_checkpoint.c - signed ledger checkpoints; see ax_checkpoint.h.
 */
#include "ax_checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_canon.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_pg.h"

struct ax_checkpoint_key {
	EVP_PKEY *pkey;
	uint8_t pub[AX_CHECKPOINT_PUB_LEN];
	uint8_t id[16];
};

void
ax_checkpoint_key_id_of(uint8_t id[16], const uint8_t pub[AX_CHECKPOINT_PUB_LEN])
{
	uint8_t h[32];
	unsigned int n = 0;

	EVP_Digest(pub, AX_CHECKPOINT_PUB_LEN, h, &n, EVP_sha256(), NULL);
	memcpy(id, h, 16);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x80);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

int
ax_checkpoint_key_load(struct ax_checkpoint_key **out, const char *path, struct ax_err *err)
{
	struct ax_checkpoint_key *k = NULL;
	size_t publen = AX_CHECKPOINT_PUB_LEN;
	FILE *fp;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		ax_err_set(err, AX_EINVAL, "could not open the checkpoint key %s", path);
		ax_err_hint(err, "Make one with: openssl genpkey -algorithm ed25519 -out %s", path);
		return AX_EINVAL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		fclose(fp);
		return ax_err_set(err, AX_ERR, "out of memory");
	}
	k->pkey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (k->pkey == NULL || !EVP_PKEY_is_a(k->pkey, "ED25519") ||
	    EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &publen) != 1 ||
	    publen != AX_CHECKPOINT_PUB_LEN) {
		ax_checkpoint_key_free(k);
		return ax_err_set(err, AX_EINVAL, "%s is not an Ed25519 private key in PEM", path);
	}
	ax_checkpoint_key_id_of(k->id, k->pub);
	*out = k;
	return AX_OK;
}

void
ax_checkpoint_key_free(struct ax_checkpoint_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const uint8_t *
ax_checkpoint_key_id(const struct ax_checkpoint_key *k)
{
	return k->id;
}

const uint8_t *
ax_checkpoint_key_public(const struct ax_checkpoint_key *k)
{
	return k->pub;
}

/* Append one field (type, 4-byte big-endian length, bytes); false when it does not fit. */
static int
put(uint8_t *out, size_t cap, size_t *len, uint8_t type, const void *p, size_t n)
{
	if (*len + 5 + n > cap)
		return 0;
	out[(*len)++] = type;
	out[(*len)++] = (uint8_t)(n >> 24);
	out[(*len)++] = (uint8_t)(n >> 16);
	out[(*len)++] = (uint8_t)(n >> 8);
	out[(*len)++] = (uint8_t)n;
	memcpy(out + *len, p, n);
	*len += n;
	return 1;
}

static void
be64(uint8_t b[8], int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--, u >>= 8)
		b[i] = (uint8_t)u;
}

size_t
ax_checkpoint_statement(uint8_t *out, size_t cap, const char *topic, int32_t partition, int64_t seq,
    const uint8_t entry_hash[32], int64_t signed_at_us)
{
	static const char tag[] = "axiom/checkpoint/v1";
	uint8_t p[8], s[8], t[8];
	size_t len = 0;

	be64(p, partition);
	be64(s, seq);
	be64(t, signed_at_us);
	if (!put(out, cap, &len, AX_CANON_TEXT, tag, sizeof(tag) - 1) ||
	    !put(out, cap, &len, AX_CANON_TEXT, topic, strlen(topic)) ||
	    !put(out, cap, &len, AX_CANON_INT64, p, 8) ||
	    !put(out, cap, &len, AX_CANON_INT64, s, 8) ||
	    !put(out, cap, &len, AX_CANON_BYTES, entry_hash, 32) ||
	    !put(out, cap, &len, AX_CANON_TIMESTAMP, t, 8))
		return 0;
	return len;
}

int
ax_checkpoint_sign(uint8_t sig[AX_CHECKPOINT_SIG_LEN], const struct ax_checkpoint_key *k,
    const uint8_t *statement, size_t len, struct ax_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = AX_CHECKPOINT_SIG_LEN;
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, statement, len) == 1 &&
	     siglen == AX_CHECKPOINT_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? AX_OK : ax_err_set(err, AX_ERR, "could not sign a checkpoint");
}

int
ax_checkpoint_valid(const uint8_t pub[AX_CHECKPOINT_PUB_LEN], const uint8_t *statement, size_t len,
    const uint8_t sig[AX_CHECKPOINT_SIG_LEN])
{
	EVP_PKEY *pkey =
	    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, AX_CHECKPOINT_PUB_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = pkey != NULL && ctx != NULL &&
	     EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, AX_CHECKPOINT_SIG_LEN, statement, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}

int
ax_checkpoint_verify_all(
    PGconn *conn, long *checked, struct ax_checkpoint_failure *where, struct ax_err *err)
{
	PGresult *res;
	int i, rc = AX_OK;

	*checked = 0;
	res = PQexec(conn,
	    "SELECT c.topic, c.kafka_partition, c.seq, encode(l.entry_hash, 'hex'), "
	    "  (extract(epoch FROM l.event_time) * 1000000)::bigint, c.key_id, "
	    "  encode(c.public_key, 'hex'), encode(c.signature, 'hex'), "
	    "  (extract(epoch FROM c.signed_at) * 1000000)::bigint, l.seq IS NULL "
	    "FROM axiom.checkpoints c LEFT JOIN axiom.ledger l USING (topic, kafka_partition, seq) "
	    "ORDER BY c.topic, c.kafka_partition, c.seq");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not read the checkpoints");
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *topic = PQgetvalue(res, i, 0);
		int32_t part = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		int64_t seq = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		uint8_t hash[32], pub[AX_CHECKPOINT_PUB_LEN], sig[AX_CHECKPOINT_SIG_LEN], id[16];
		uint8_t st[AX_CHECKPOINT_STATEMENT_MAX];
		char idtext[40];
		size_t len;

		snprintf(where->topic, sizeof(where->topic), "%s", topic);
		where->partition = part;
		where->seq = seq;
		if (strcmp(PQgetvalue(res, i, 9), "t") == 0) {
			rc = ax_err_set(err, AX_ECONFLICT,
			    "the checkpoint names a ledger entry that does not exist");
			goto out;
		}
		if (ax_hex_decode(hash, PQgetvalue(res, i, 3), 32) != 0 ||
		    ax_hex_decode(pub, PQgetvalue(res, i, 6), AX_CHECKPOINT_PUB_LEN) != 0 ||
		    ax_hex_decode(sig, PQgetvalue(res, i, 7), AX_CHECKPOINT_SIG_LEN) != 0) {
			rc = ax_err_set(
			    err, AX_ECONFLICT, "the checkpoint has a malformed key or signature");
			goto out;
		}
		ax_checkpoint_key_id_of(id, pub);
		ax_uuid_format(idtext, id);
		len = ax_checkpoint_statement(st, sizeof(st), topic, part, seq, hash,
		    strtoll(PQgetvalue(res, i, 4), NULL, 10));
		if (strcmp(idtext, PQgetvalue(res, i, 5)) != 0 || len == 0 ||
		    strcmp(PQgetvalue(res, i, 4), PQgetvalue(res, i, 8)) != 0 ||
		    !ax_checkpoint_valid(pub, st, len, sig)) {
			rc = ax_err_set(err, AX_ECONFLICT,
			    "the signed checkpoint does not match the ledger entry as stored now "
			    "(the "
			    "entry or the checkpoint was changed)");
			goto out;
		}
		(*checked)++;
	}
out:
	PQclear(res);
	return rc;
}
