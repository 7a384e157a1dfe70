/*
 * ax_sign_reverify.c - re-verify stored e-signatures offline; see ax_sign_reverify.h.
 */
#include "ax_sign_reverify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_codec.h"
#include "ax_intent.h"
#include "ax_pg.h"
#include "ax_sign.h"

#define PROOFS_TAG "axiom/proofs/v1"

/* Read one field (tag, be32 length) of buf at *off; its bytes in *p, *n; 0 or -1. */
static int
field(const uint8_t *buf, size_t len, size_t *off, uint8_t tag, const uint8_t **p, size_t *n)
{
	size_t l;

	if (len - *off < 5 || buf[*off] != tag)
		return -1;
	l = ((size_t)buf[*off + 1] << 24) | ((size_t)buf[*off + 2] << 16) |
	    ((size_t)buf[*off + 3] << 8) | buf[*off + 4];
	*off += 5;
	if (len - *off < l)
		return -1;
	*p = buf + *off;
	*n = l;
	*off += l;
	return 0;
}

/* The proofs v1 of a stored signature, borrowed from the decoded buffer. */
struct proofs {
	const uint8_t *factor_id, *client_data, *auth_data, *sig, *token;
	size_t n_factor, client_data_len, auth_data_len, sig_len, token_len;
};

static int
proofs_decode(struct proofs *pr, const uint8_t *buf, size_t len)
{
	const uint8_t *tag;
	size_t tag_len, off = 0;

	if (field(buf, len, &off, 0x01, &tag, &tag_len) || tag_len != strlen(PROOFS_TAG) ||
	    memcmp(tag, PROOFS_TAG, tag_len) != 0 ||
	    field(buf, len, &off, 0x05, &pr->factor_id, &pr->n_factor) ||
	    pr->n_factor != AX_UUID_LEN ||
	    field(buf, len, &off, 0x02, &pr->client_data, &pr->client_data_len) ||
	    field(buf, len, &off, 0x02, &pr->auth_data, &pr->auth_data_len) ||
	    field(buf, len, &off, 0x02, &pr->sig, &pr->sig_len) ||
	    field(buf, len, &off, 0x01, &pr->token, &pr->token_len) || off != len)
		return -1;
	return 0;
}

/* Fill ctx with the registry as of signed_us (text timestamp et) for factor and issuer. */
static int
context(PGconn *conn, struct ax_sign_context *ctx, const char *et, const char *factor,
    const char *iss, struct ax_err *err)
{
	const char *params[3] = { et, factor, iss };
	PGresult *res;
	int rc = AX_OK;

	res = PQexecParams(conn,
	    "SELECT f.factor_type, f.user_id, encode(f.credential_id, 'hex'), "
	    "  encode(f.public_key, 'hex'), f.cose_alg, f.issuer, "
	    "  f.revoked_at IS NOT NULL AND f.revoked_at < $1::timestamptz, "
	    "  i.factor_id, i.audience, i.jwks, "
	    "  i.revoked_at IS NOT NULL AND i.revoked_at < $1::timestamptz "
	    "FROM (SELECT 1) one "
	    "LEFT JOIN axiom.signing_factors f ON f.factor_id = $2::uuid "
	    "  AND f.registered_at < $1::timestamptz "
	    "LEFT JOIN LATERAL (SELECT * FROM axiom.signing_factors x WHERE x.factor_type = 'oidc' "
	    "  AND x.issuer = $3 AND x.registered_at < $1::timestamptz "
	    "  ORDER BY (x.revoked_at IS NULL OR x.revoked_at >= $1::timestamptz) DESC, "
	    "  x.registered_at DESC LIMIT 1) i ON true",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = ax_pg_err(err, conn, res, "could not read the factor registry");
		goto out;
	}
	ctx->watermark_us = INT64_MAX;
	if (!PQgetisnull(res, 0, 0)) {
		ctx->factor_found = true;
		snprintf(ctx->factor_type, sizeof(ctx->factor_type), "%s", PQgetvalue(res, 0, 0));
		snprintf(ctx->owner, sizeof(ctx->owner), "%s", PQgetvalue(res, 0, 1));
		if (ax_pg_get_hex(&ctx->credential_id, &ctx->credential_id_len, res, 0, 2) ||
		    ax_pg_get_hex(&ctx->public_key, &ctx->public_key_len, res, 0, 3)) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
		ctx->cose_alg = (int)strtol(PQgetvalue(res, 0, 4), NULL, 10);
		if (strcmp(ctx->factor_type, "fido2") == 0)
			snprintf(ctx->origin, sizeof(ctx->origin), "%s", PQgetvalue(res, 0, 5));
		ctx->factor_revoked = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	}
	if (!PQgetisnull(res, 0, 7)) {
		ctx->issuer_found = true;
		ax_uuid_parse(ctx->issuer_factor_id, PQgetvalue(res, 0, 7), 36);
		ctx->issuer_audience = strdup(PQgetvalue(res, 0, 8));
		ctx->issuer_jwks = strdup(PQgetvalue(res, 0, 9));
		ctx->issuer_revoked = strcmp(PQgetvalue(res, 0, 10), "t") == 0;
		if (ctx->issuer_audience == NULL || ctx->issuer_jwks == NULL)
			rc = ax_err_set(err, AX_ERR, "out of memory");
	}
out:
	PQclear(res);
	return rc;
}

static void
problem(struct ax_sign_reverify_report *rep, const char *sig_id, const char *what)
{
	rep->failed++;
	if (rep->first_problem[0] == '\0')
		snprintf(rep->first_problem, sizeof(rep->first_problem), "signature %.36s: %.400s",
		    sig_id, what);
}

static const char *const meanings[] = { "authorship", "review", "approval", "responsibility" };

/* Re-verify row r of res (see the query in ax_sign_reverify), with the run's cache. */
static int
reverify_one(PGconn *conn, PGresult *res, int r, struct ax_sign_cache *cache,
    struct ax_sign_reverify_report *rep, struct ax_err *err)
{
	const char *sig_id = PQgetvalue(res, r, 0);
	struct ax_sign_context ctx;
	struct ax_sign_input in;
	struct ax_sign_decision d;
	struct proofs pr;
	uint8_t *proofs = NULL, *rh = NULL, *nonce = NULL, *ih = NULL;
	size_t proofs_len, rh_len, nonce_len, ih_len, i;
	char factor[37], iss[512], *token = NULL, types[64];
	int rc = AX_OK;

	memset(&ctx, 0, sizeof(ctx));
	memset(&in, 0, sizeof(in));
	if (PQgetisnull(res, r, 9) || ax_pg_get_hex(&proofs, &proofs_len, res, r, 7) ||
	    proofs_decode(&pr, proofs, proofs_len)) {
		rep->unverifiable++;
		goto out;
	}
	if (ax_pg_get_hex(&rh, &rh_len, res, r, 4) ||
	    ax_pg_get_hex(&nonce, &nonce_len, res, r, 9) ||
	    ax_pg_get_hex(&ih, &ih_len, res, r, 6) ||
	    (token = strndup((const char *)pr.token, pr.token_len)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	in.actor = PQgetvalue(res, r, 1);
	ax_uuid_parse(in.lineage_id, PQgetvalue(res, r, 2), 36);
	in.version = strtoll(PQgetvalue(res, r, 3), NULL, 10);
	in.record_hash = rh;
	in.record_hash_len = rh_len;
	in.meaning = -1;
	for (i = 0; i < 4; i++)
		if (strcmp(PQgetvalue(res, r, 5), meanings[i]) == 0)
			in.meaning = (int)i;
	in.nonce = nonce;
	in.nonce_len = nonce_len;
	memcpy(in.factor_id, pr.factor_id, AX_UUID_LEN);
	in.client_data = pr.client_data;
	in.client_data_len = pr.client_data_len;
	in.auth_data = pr.auth_data;
	in.auth_data_len = pr.auth_data_len;
	in.signature = pr.sig;
	in.signature_len = pr.sig_len;
	in.id_token = token;
	in.event_time_us = strtoll(PQgetvalue(res, r, 10), NULL, 10);
	ax_uuid_format(factor, pr.factor_id);
	ax_sign_token_issuer(iss, sizeof(iss), token);
	if ((rc = context(conn, &ctx, PQgetvalue(res, r, 11), factor, iss, err)) != AX_OK)
		goto out;
	if ((rc = ax_sign_verify_cached(&d, &in, &ctx, cache, err)) != AX_OK)
		goto out;
	snprintf(types, sizeof(types), "%s%s%s", d.verified & AX_SIGN_FIDO2 ? "fido2," : "",
	    d.verified & AX_SIGN_OIDC ? "oidc," : "",
	    d.verified & AX_SIGN_PASSWORD ? "password," : "");
	if (types[0] != '\0')
		types[strlen(types) - 1] = '\0';
	if (d.refusal[0] != '\0')
		problem(rep, sig_id, d.refusal);
	else if (strcmp(types, PQgetvalue(res, r, 8)) != 0)
		problem(rep, sig_id, "the verified factor types differ from the stored ones");
	else if (ih_len != AX_HASH_LEN || memcmp(ih, d.intent_hash, ih_len) != 0)
		problem(rep, sig_id, "the stored intent hash is not the intent's");
	else
		rep->verified++;
out:
	ax_sign_context_clear(&ctx);
	free(proofs);
	free(rh);
	free(nonce);
	free(ih);
	free(token);
	return rc;
}

int
ax_sign_reverify(PGconn *conn, struct ax_sign_reverify_report *rep, struct ax_err *err)
{
	struct ax_sign_cache *cache = NULL; /* keys met again are not parsed again */
	PGresult *res = NULL;
	int rc = AX_OK, r;

	memset(rep, 0, sizeof(*rep));
	if ((rc = ax_sign_cache_new(&cache, AX_SIGN_KEY_CACHE_CAP, err)) != AX_OK)
		return rc;
	res = PQexec(conn,
	    "SELECT s.signature_id, s.signer, s.id, s.version, encode(s.record_hash, 'hex'), "
	    "  s.meaning, encode(s.intent_hash, 'hex'), encode(s.proofs, 'hex'), "
	    "  array_to_string(s.factor_types, ','), encode(e.nonce, 'hex'), "
	    "  (extract(epoch FROM s.signed_at) * 1000000)::bigint, s.signed_at "
	    "FROM axiom.signatures s LEFT JOIN axiom.signature_evidence e "
	    "  ON e.signature_id = s.signature_id ORDER BY s.signed_at, s.signature_id");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not read the stored signatures");
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++) {
		rep->checked++;
		if ((rc = reverify_one(conn, res, r, cache, rep, err)) != AX_OK)
			goto out;
	}
out:
	PQclear(res);
	ax_sign_cache_free(cache);
	return rc;
}
