/*
 * ax_sign.c - Sign command -> verified sign_record element; see ax_sign.h for the invariants.
 *
 * Proof layout in a Sign command of contract revision 3 (one factor_id per command):
 *   FIDO2 factor:    client_data, authenticator_data, signature (DER); the credential id is
 *                    the registered one (the factor id names it);
 *   password factor: signature = be64(attested-at, microseconds) || Ed25519 signature of the
 *                    attestation message v1 (docs/signing-intent.md section 4), key id = the
 *                    factor id in its 36-character text form;
 *   OIDC:            id_token, with or without one of the factors above; the issuer is the
 *                    registered one whose iss equals the token's, the subject must be the
 *                    signer's user id.
 */
#include "ax_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_attest.h"
#include "ax_b64url.h"
#include "ax_batch_element.h"
#include "ax_cose.h"
#include "ax_hex.h"
#include "ax_oidc.h"
#include "ax_pg.h"
#include "ax_webauthn.h"

#define ISS_MAX 512

static const uint8_t ed25519_spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
	0x70, 0x03, 0x21, 0x00 };

void
ax_sign_context_clear(struct ax_sign_context *ctx)
{
	free(ctx->credential_id);
	free(ctx->public_key);
	free(ctx->issuer_audience);
	free(ctx->issuer_jwks);
	memset(ctx, 0, sizeof(*ctx));
}

/* Record reason (and its detail) as d's refusal unless an earlier one was recorded. */
static void
refuse(struct ax_sign_decision *d, const char *reason, const char *detail)
{
	if (d->refusal[0] != '\0')
		return; /* the first refusal wins */
	snprintf(d->refusal, sizeof(d->refusal), "%.63s", reason);
	snprintf(d->detail, sizeof(d->detail), "%.255s", detail);
}

void
ax_sign_token_issuer(char *iss, size_t cap, const char *token)
{
	const char *p1, *p2;
	uint8_t *payload = NULL;
	size_t len, plen = 0;
	json_t *j = NULL;
	struct ax_err err;

	iss[0] = '\0';
	if (token == NULL || (len = strlen(token)) == 0 || len > AX_OIDC_TOKEN_MAX)
		return;
	if ((p1 = strchr(token, '.')) == NULL || (p2 = strchr(p1 + 1, '.')) == NULL)
		return;
	if ((payload = malloc(AX_B64URL_DECODED_MAX((size_t)(p2 - p1 - 1)) + 1)) == NULL)
		return;
	if (ax_b64url_decode(payload, AX_B64URL_DECODED_MAX((size_t)(p2 - p1 - 1)) + 1, &plen,
	        p1 + 1, (size_t)(p2 - p1 - 1), &err) != AX_OK)
		goto out;
	j = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_string(json_object_get(j, "iss")))
		snprintf(iss, cap, "%s", json_string_value(json_object_get(j, "iss")));
out:
	json_decref(j);
	free(payload);
}

/* The rpId of origin "https://host[:port]": host; "" when origin is not of that form. */
static void
rp_id_of(char *out, size_t cap, const char *origin)
{
	const char *h = origin, *end;

	out[0] = '\0';
	if (strncmp(h, "https://", 8) != 0)
		return;
	h += 8;
	end = h + strcspn(h, ":/");
	if (end == h || (size_t)(end - h) >= cap)
		return;
	memcpy(out, h, (size_t)(end - h));
	out[end - h] = '\0';
}

struct ax_sign_cache {
	struct ax_webauthn_key_cache *keys;
	struct ax_webauthn_verifier *v; /* the verifier for origin; NULL before the first */
	char origin[256];
};

int
ax_sign_cache_new(struct ax_sign_cache **out, size_t key_capacity, struct ax_err *err)
{
	struct ax_sign_cache *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return ax_err_set(err, AX_ERR, "out of memory for a signing cache");
	if ((rc = ax_webauthn_key_cache_new(&c->keys, key_capacity, err)) != AX_OK) {
		free(c);
		return rc;
	}
	*out = c;
	return AX_OK;
}

void
ax_sign_cache_free(struct ax_sign_cache *c)
{
	if (c == NULL)
		return;
	ax_webauthn_key_cache_free(c->keys);
	ax_webauthn_verifier_free(c->v);
	free(c);
}

/* The verifier for origin (rpId rp, UV left to the database) into *v: cache's when it was
 * made for the same origin (or made and kept there now), else a new one in *owned. */
static int
fido2_verifier(const struct ax_webauthn_verifier **v, struct ax_webauthn_verifier **owned,
    struct ax_sign_cache *cache, const char *origin, const char *rp, struct ax_err *err)
{
	struct ax_webauthn_verifier *nv = NULL;
	struct ax_webauthn_policy pol;
	const char *origins[1] = { origin };
	int rc;

	*v = NULL;
	*owned = NULL;
	if (cache != NULL && cache->v != NULL && strcmp(cache->origin, origin) == 0) {
		*v = cache->v;
		return AX_OK;
	}
	memset(&pol, 0, sizeof(pol));
	pol.rp_id = rp;
	pol.origins = origins;
	pol.n_origins = 1;
	pol.require_uv = false; /* UV is a session decision: the database takes it (11.200) */
	if ((rc = ax_webauthn_verifier_new(&nv, &pol, err)) != AX_OK)
		return rc;
	if (cache != NULL && strlen(origin) < sizeof(cache->origin)) {
		ax_webauthn_verifier_free(cache->v);
		cache->v = nv;
		snprintf(cache->origin, sizeof(cache->origin), "%s", origin);
	} else {
		*owned = nv;
	}
	*v = nv;
	return AX_OK;
}

/* Verify the WebAuthn proof of in against the FIDO2 factor of ctx, with cache's keys and
 * verifier when cache is not NULL; a refusal goes into d. */
static int
verify_fido2(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_sign_cache *cache, struct ax_err *err)
{
	struct ax_webauthn_key *owned_key = NULL;
	struct ax_webauthn_verifier *owned_v = NULL;
	const struct ax_webauthn_key *key = NULL;
	const struct ax_webauthn_verifier *v = NULL;
	struct ax_webauthn_cred cred;
	struct ax_webauthn_assertion a;
	struct ax_webauthn_result res;
	struct ax_err verr;
	const char *origin = ctx->origin[0] ? ctx->origin : AX_SIGN_DEFAULT_ORIGIN;
	char rp[256];
	enum ax_pk_format fmt;
	int rc = AX_OK, vr;

	if (in->client_data_len == 0 || in->auth_data_len == 0 || in->signature_len == 0) {
		refuse(d, "factor_proof_missing",
		    "a FIDO2 factor needs client_data, authenticator_data and signature");
		return AX_OK;
	}
	if (ctx->public_key_len > 0 && (ctx->public_key[0] == 0xa5 || ctx->public_key[0] == 0xa4))
		fmt = AX_PK_COSE;
	else if (ctx->public_key_len == 64 || ctx->public_key_len == 65 ||
	         ctx->public_key_len == 32)
		fmt = AX_PK_RAW;
	else
		fmt = AX_PK_DER;
	vr = cache != NULL ? ax_webauthn_key_cache_get(&key, cache->keys, ctx->cose_alg, fmt,
	                         ctx->public_key, ctx->public_key_len, &verr)
	                   : ax_webauthn_key_new(&owned_key, ctx->cose_alg, fmt, ctx->public_key,
	                         ctx->public_key_len, &verr);
	if (vr == AX_EINVAL) {
		refuse(d, "factor_key_invalid", verr.msg);
		goto out;
	} else if (vr != AX_OK) { /* out of memory: no decision, the batch fails */
		*err = verr;
		rc = vr;
		goto out;
	}
	if (owned_key != NULL)
		key = owned_key;
	rp_id_of(rp, sizeof(rp), origin);
	if (rp[0] == '\0') {
		refuse(d, "factor_key_invalid", "the registered origin is not https://host");
		goto out;
	}
	if ((rc = fido2_verifier(&v, &owned_v, cache, origin, rp, err)) != AX_OK)
		goto out;
	memset(&cred, 0, sizeof(cred));
	cred.id = ctx->credential_id;
	cred.id_len = ctx->credential_id_len;
	cred.key = key;
	cred.owner = ctx->owner;
	cred.revoked = ctx->factor_revoked;
	cred.sign_count = 0; /* regression is decided per partition by the database */
	memset(&a, 0, sizeof(a));
	a.cred_id = ctx->credential_id;
	a.cred_id_len = ctx->credential_id_len;
	a.auth_data = in->auth_data;
	a.auth_data_len = in->auth_data_len;
	a.client_data_json = in->client_data;
	a.client_data_json_len = in->client_data_len;
	a.sig = in->signature;
	a.sig_len = in->signature_len;
	vr = ax_webauthn_verify(&res, v, &cred, in->actor, &a, d->intent_hash, &verr);
	if (vr == AX_OK) {
		d->verified |= AX_SIGN_FIDO2;
		d->user_verified = (res.flags & AX_WA_FLAG_UV) != 0;
		d->has_sign_count = true;
		d->sign_count = res.sign_count;
		memcpy(d->factor_ids[d->n_factor_ids++], in->factor_id, AX_UUID_LEN);
	} else if (vr == AX_EINVAL) {
		refuse(d, ax_webauthn_reason_name(res.reason),
		    verr.detail[0] ? verr.detail : verr.msg);
	} else {
		*err = verr;
		rc = vr;
	}
out:
	ax_webauthn_verifier_free(owned_v);
	ax_webauthn_key_free(owned_key);
	return rc;
}

/* Verify the gateway's attestation in in->signature against the attestor key of ctx. */
static int
verify_password(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_err *err)
{
	struct ax_attest_key key;
	struct ax_attestation att;
	struct ax_attest_policy pol = { AX_SIGN_ATTEST_AGE_US, AX_SIGN_ATTEST_SKEW_US };
	enum ax_attest_reason reason = AX_ATT_OK;
	struct ax_err verr;
	char kid[37];
	uint64_t at = 0;
	size_t i;
	int vr;

	if (in->signature_len != AX_SIGN_ATTEST_PROOF_LEN) {
		refuse(d, "factor_proof_missing",
		    "a password factor needs signature = be64(attested-at) || 64-byte Ed25519 "
		    "signature");
		return AX_OK;
	}
	memset(&key, 0, sizeof(key));
	ax_uuid_format(kid, in->factor_id);
	key.key_id = kid;
	key.revoked = ctx->factor_revoked;
	if (ctx->public_key_len == AX_ATTEST_PUB_LEN)
		memcpy(key.public_key, ctx->public_key, AX_ATTEST_PUB_LEN);
	else if (ctx->public_key_len == sizeof(ed25519_spki_prefix) + AX_ATTEST_PUB_LEN &&
	         memcmp(ctx->public_key, ed25519_spki_prefix, sizeof(ed25519_spki_prefix)) == 0)
		memcpy(key.public_key, ctx->public_key + sizeof(ed25519_spki_prefix),
		    AX_ATTEST_PUB_LEN);
	else {
		refuse(d, "factor_key_invalid", "the attestor key is not an Ed25519 public key");
		return AX_OK;
	}
	memset(&att, 0, sizeof(att));
	snprintf(att.key_id, sizeof(att.key_id), "%s", kid);
	memcpy(att.intent_hash, d->intent_hash, AX_HASH_LEN);
	for (i = 0; i < 8; i++)
		at = (at << 8) | in->signature[i];
	att.attested_at_us = (int64_t)at;
	memcpy(att.sig, in->signature + 8, AX_ATTEST_SIG_LEN);
	vr = ax_attest_verify(&reason, &key, &att, d->intent_hash, in->event_time_us, &pol, &verr);
	if (vr == AX_OK) {
		d->verified |= AX_SIGN_PASSWORD;
		memcpy(d->factor_ids[d->n_factor_ids++], in->factor_id, AX_UUID_LEN);
	} else if (vr == AX_EINVAL) {
		refuse(d, ax_attest_reason_name(reason), verr.detail[0] ? verr.detail : verr.msg);
	} else {
		*err = verr;
		return vr;
	}
	return AX_OK;
}

/* Verify in->id_token against the registered issuer of ctx, for subject = the actor. */
static int
verify_oidc(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_err *err)
{
	struct ax_oidc_verifier *v = NULL;
	struct ax_oidc_issuer_config cfg;
	struct ax_oidc_policy pol = { AX_SIGN_OIDC_SKEW_US, AX_SIGN_OIDC_AUTH_AGE_US,
		AX_SIGN_OIDC_TOKEN_AGE_US };
	struct ax_oidc_result res;
	struct ax_err verr;
	char iss[ISS_MAX];
	int vr;

	ax_sign_token_issuer(iss, sizeof(iss), in->id_token);
	if (!ctx->issuer_found) {
		refuse(
		    d, "oidc_unknown_issuer", "no OIDC issuer is registered for the token's iss");
		return AX_OK;
	}
	if (ctx->issuer_revoked) {
		refuse(d, "oidc_issuer_revoked", "the token's issuer was revoked");
		return AX_OK;
	}
	cfg.issuer = iss;
	cfg.audience = ctx->issuer_audience ? ctx->issuer_audience : "";
	cfg.jwks = ctx->issuer_jwks ? ctx->issuer_jwks : "";
	cfg.jwks_len = strlen(cfg.jwks);
	if (ax_oidc_verifier_new(&v, &cfg, &pol, &verr) != AX_OK) {
		refuse(d, "oidc_issuer_jwks_invalid", verr.msg);
		return AX_OK;
	}
	vr = ax_oidc_verify(&res, v, in->id_token, strlen(in->id_token), in->actor, d->intent_hash,
	    in->event_time_us, &verr);
	if (vr == AX_OK) {
		d->verified |= AX_SIGN_OIDC;
		memcpy(d->factor_ids[d->n_factor_ids++], ctx->issuer_factor_id, AX_UUID_LEN);
	} else if (vr == AX_EINVAL) {
		refuse(d,
		    res.reason == AX_OIDC_OK ? "oidc_token_malformed"
		                             : ax_oidc_reason_name(res.reason),
		    verr.detail[0] ? verr.detail : verr.msg);
	} else {
		*err = verr;
	}
	ax_oidc_verifier_free(v);
	return vr == AX_EINVAL ? AX_OK : vr;
}

int
ax_sign_verify(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_err *err)
{
	return ax_sign_verify_cached(d, in, ctx, NULL, err);
}

int
ax_sign_verify_cached(struct ax_sign_decision *d, const struct ax_sign_input *in,
    const struct ax_sign_context *ctx, struct ax_sign_cache *cache, struct ax_err *err)
{
	struct ax_intent intent;
	struct ax_err ierr;
	bool factor_proof =
	    in->client_data_len > 0 || in->auth_data_len > 0 || in->signature_len > 0;
	bool token = in->id_token != NULL && in->id_token[0] != '\0';
	int rc;

	memset(d, 0, sizeof(*d));
	if (in->record_hash_len != AX_HASH_LEN) {
		refuse(d, "intent_invalid", "the record hash is not 32 bytes");
		return AX_OK;
	}
	if (ax_intent_set(&intent, in->actor, in->lineage_id, in->version, in->record_hash,
	        (enum ax_meaning)(in->meaning + 1), in->nonce, in->nonce_len, &ierr) != AX_OK) {
		refuse(d, "intent_invalid", ierr.msg);
		return AX_OK;
	}
	if ((rc = ax_intent_hash(d->intent_hash, &intent, err)) != AX_OK)
		return rc;
	d->has_intent_hash = true;
	if (!factor_proof && !token) {
		refuse(d, "factor_proof_missing", "the command carries no factor proof");
		return AX_OK;
	}
	if (factor_proof) {
		if (!ctx->factor_found)
			refuse(d, "factor_unknown",
			    "the factor id names no factor registered before the event time");
		else if (strcmp(ctx->factor_type, "fido2") == 0)
			rc = verify_fido2(d, in, ctx, cache, err);
		else if (strcmp(ctx->factor_type, "password") == 0)
			rc = verify_password(d, in, ctx, err);
		else
			refuse(d, "factor_proof_missing",
			    "an OIDC issuer factor takes only an id_token");
		if (rc != AX_OK)
			return rc;
	}
	if (token && (rc = verify_oidc(d, in, ctx, err)) != AX_OK)
		return rc;
	if (d->refusal[0] != '\0') {
		d->verified = 0; /* one refused proof refuses the signing */
		d->n_factor_ids = 0;
	}
	return AX_OK;
}

/* ---- element ---------------------------------------------------------------------------- */

/* Decode the hex string of key k of e into a malloc'ed buffer (*out, *len); 0 or -1. */
static int
hex_get(const json_t *e, const char *k, uint8_t **out, size_t *len)
{
	const json_t *j = json_object_get(e, k);

	return ax_hex_decode_new(out, len, json_string_value(j), json_string_length(j));
}

static const char *const meaning_names[] = { "authorship", "review", "approval", "responsibility" };

int
ax_sign_element(json_t *e, const struct ax_message *m, int64_t et_us, struct ax_err *err)
{
	const struct ax_cmd_sign *s = &m->u.sign;
	char lineage[37], factor[37], sid[37];

	(void)et_us;
	ax_uuid_format(lineage, m->lineage_id);
	ax_uuid_format(factor, s->factor_id);
	ax_uuid_format(
	    sid, m->command_id); /* a command is applied once: its id names the signature */
	if (json_object_set_new(e, "op", json_string("sign_record")) ||
	    json_object_set_new(e, "signature_id", json_string(sid)) ||
	    json_object_set_new(e, "id", json_string(lineage)) ||
	    json_object_set_new(e, "version", json_integer((json_int_t)s->version)) ||
	    json_object_set_new(
	        e, "record_hash", ax_json_hex(s->record_hash.p, s->record_hash.len)) ||
	    json_object_set_new(e, "meaning", json_string(meaning_names[s->meaning & 3])) ||
	    json_object_set_new(e, "_sg_meaning", json_integer(s->meaning)) ||
	    json_object_set_new(e, "nonce", ax_json_hex(s->nonce.p, s->nonce.len)) ||
	    json_object_set_new(e, "_sg_factor_id", json_string(factor)) ||
	    json_object_set_new(
	        e, "_sg_client_data", ax_json_hex(s->client_data.p, s->client_data.len)) ||
	    json_object_set_new(e, "_sg_authenticator_data",
	        ax_json_hex(s->authenticator_data.p, s->authenticator_data.len)) ||
	    json_object_set_new(
	        e, "_sg_signature", ax_json_hex(s->signature.p, s->signature.len)) ||
	    json_object_set_new(e, "_sg_id_token", json_string(s->id_token ? s->id_token : "")) ||
	    (s->comment != NULL && json_object_set_new(e, "comment", json_string(s->comment))))
		return ax_err_set(err, AX_ERR, "out of memory");
	return AX_OK;
}

/* Append one field of the proofs encoding v1 (tag, be32 length, bytes) to buf at *off. */
static void
put_field(uint8_t *buf, size_t *off, uint8_t tag, const uint8_t *p, size_t n)
{
	buf[(*off)++] = tag;
	buf[(*off)++] = (uint8_t)(n >> 24);
	buf[(*off)++] = (uint8_t)(n >> 16);
	buf[(*off)++] = (uint8_t)(n >> 8);
	buf[(*off)++] = (uint8_t)n;
	if (n > 0)
		memcpy(buf + *off, p, n);
	*off += n;
}

/* The raw proofs as stored in axiom.signatures.proofs: "axiom/proofs/v1" | uuid factor id |
 * bytes client_data | bytes authenticator_data | bytes signature | text id_token. */
static json_t *
proofs_json(const struct ax_sign_input *in)
{
	static const char tag[] = "axiom/proofs/v1";
	size_t tok = strlen(in->id_token), n, off = 0;
	uint8_t *buf;
	json_t *j;

	n = 6 * 5 + (sizeof(tag) - 1) + AX_UUID_LEN + in->client_data_len + in->auth_data_len +
	    in->signature_len + tok;
	if ((buf = malloc(n)) == NULL)
		return NULL;
	put_field(buf, &off, 0x01, (const uint8_t *)tag, sizeof(tag) - 1);
	put_field(buf, &off, 0x05, in->factor_id, AX_UUID_LEN);
	put_field(buf, &off, 0x02, in->client_data, in->client_data_len);
	put_field(buf, &off, 0x02, in->auth_data, in->auth_data_len);
	put_field(buf, &off, 0x02, in->signature, in->signature_len);
	put_field(buf, &off, 0x01, (const uint8_t *)in->id_token, tok);
	j = ax_json_hex(buf, off);
	free(buf);
	return j;
}

/* One Sign element being completed. */
struct pending {
	size_t index;
	char iss[ISS_MAX];
	struct ax_sign_context ctx;
};

/* Decode hex column col of row (NULL: nothing) into a malloc'ed buffer; 0 or -1. */
static int
hex_col(PGresult *res, int row, int col, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (PQgetisnull(res, row, col))
		return 0;
	return ax_pg_get_hex(out, len, res, row, col);
}

/* The signing context of each pending element (lookup), prepared once per connection. */
static const struct ax_pg_stmt contexts_stmt = { "ax_sign_contexts",
	"SELECT x.i, CASE WHEN isfinite(c.watermark) THEN (extract(epoch FROM c.watermark) "
	"  * 1000000)::bigint END, c.factor_type, c.user_id, encode(c.credential_id, 'hex'), "
	"  encode(c.public_key, 'hex'), c.cose_alg, c.origin, c.factor_revoked, "
	"  c.issuer_factor_id, c.issuer_audience, c.issuer_jwks, c.issuer_revoked "
	"FROM unnest($1::int[], $2::timestamptz[], $3::uuid[], $4::text[]) AS x(i, et, f, iss) "
	"CROSS JOIN LATERAL axiom_api.signing_context(x.et, x.f, nullif(x.iss, '')) c",
	4 };

/* One round trip: the signing context of every pending element, by axiom_api.signing_context. */
static int
lookup(PGconn *conn, json_t *const *els, struct pending *pend, size_t np, struct ax_err *err)
{
	struct ax_pg_array arr[4] = { { NULL, 0, 0 } };
	size_t i, k;
	const char *params[4];
	PGresult *res = NULL;
	int rc = AX_OK, r;

	for (i = 0; i < np; i++) {
		const json_t *e = els[pend[i].index];
		char num[24];

		snprintf(num, sizeof(num), "%zu", i);
		if (ax_pg_array_add(&arr[0], num) ||
		    ax_pg_array_add(&arr[1], json_string_value(json_object_get(e, "event_time"))) ||
		    ax_pg_array_add(
		        &arr[2], json_string_value(json_object_get(e, "_sg_factor_id"))) ||
		    ax_pg_array_add(&arr[3], pend[i].iss)) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
	}
	for (k = 0; k < 4; k++)
		if ((params[k] = ax_pg_array_text(&arr[k])) == NULL) {
			rc = ax_err_set(err, AX_ERR, "out of memory");
			goto out;
		}
	res = ax_pg_exec_stmt(conn, &contexts_stmt, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = ax_pg_err(err, conn, res, "could not read the signing context of the batch");
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++) {
		struct ax_sign_context *c;

		i = (size_t)strtoul(PQgetvalue(res, r, 0), NULL, 10);
		if (i >= np)
			continue;
		c = &pend[i].ctx;
		c->watermark_us =
		    PQgetisnull(res, r, 1) ? INT64_MIN : strtoll(PQgetvalue(res, r, 1), NULL, 10);
		if (!PQgetisnull(res, r, 2)) {
			c->factor_found = true;
			snprintf(
			    c->factor_type, sizeof(c->factor_type), "%s", PQgetvalue(res, r, 2));
			snprintf(c->owner, sizeof(c->owner), "%s", PQgetvalue(res, r, 3));
			if (hex_col(res, r, 4, &c->credential_id, &c->credential_id_len) ||
			    hex_col(res, r, 5, &c->public_key, &c->public_key_len)) {
				rc = ax_err_set(err, AX_ERR, "out of memory");
				goto out;
			}
			c->cose_alg = (int)strtol(PQgetvalue(res, r, 6), NULL, 10);
			snprintf(c->origin, sizeof(c->origin), "%s", PQgetvalue(res, r, 7));
			c->factor_revoked = strcmp(PQgetvalue(res, r, 8), "t") == 0;
		}
		if (!PQgetisnull(res, r, 9)) {
			c->issuer_found = true;
			ax_uuid_parse(c->issuer_factor_id, PQgetvalue(res, r, 9), 36);
			c->issuer_audience = strdup(PQgetvalue(res, r, 10));
			c->issuer_jwks = strdup(PQgetvalue(res, r, 11));
			c->issuer_revoked = strcmp(PQgetvalue(res, r, 12), "t") == 0;
			if (c->issuer_audience == NULL || c->issuer_jwks == NULL) {
				rc = ax_err_set(err, AX_ERR, "out of memory");
				goto out;
			}
		}
	}
out:
	PQclear(res);
	for (k = 0; k < 4; k++)
		ax_pg_array_free(&arr[k]);
	return rc;
}

/* Replace e's private keys by the decision d on input in. */
static int
finish_element(json_t *e, const struct ax_sign_input *in, const struct ax_sign_decision *d)
{
	static const char *const types[] = { "fido2", "oidc", "password" };
	static const unsigned bits[] = { AX_SIGN_FIDO2, AX_SIGN_OIDC, AX_SIGN_PASSWORD };
	json_t *ids = json_array(), *tv = json_array();
	char u[37];
	size_t i;
	int bad = ids == NULL || tv == NULL;

	for (i = 0; !bad && i < d->n_factor_ids; i++) {
		ax_uuid_format(u, d->factor_ids[i]);
		bad |= json_array_append_new(ids, json_string(u)) != 0;
	}
	for (i = 0; !bad && i < 3; i++)
		if (d->verified & bits[i])
			bad |= json_array_append_new(tv, json_string(types[i])) != 0;
	if (bad) {
		json_decref(ids);
		json_decref(tv);
		return -1;
	}
	json_object_set_new(e, "factor_ids", ids);
	json_object_set_new(e, "factor_types", tv);
	json_object_set_new(e, "user_verified", json_boolean(d->user_verified));
	if (d->has_sign_count)
		json_object_set_new(e, "sign_count", json_integer((json_int_t)d->sign_count));
	if (d->refusal[0] != '\0') {
		json_object_set_new(e, "refusal", json_string(d->refusal));
		json_object_set_new(e, "refusal_detail", json_string(d->detail));
	}
	/* a refusal before the intent could be built still needs a well-formed element */
	json_object_set_new(e, "intent_hash", ax_json_hex(d->intent_hash, AX_HASH_LEN));
	json_object_set_new(e, "proofs", proofs_json(in));
	json_object_del(e, "_sg_meaning");
	json_object_del(e, "_sg_factor_id");
	json_object_del(e, "_sg_client_data");
	json_object_del(e, "_sg_authenticator_data");
	json_object_del(e, "_sg_signature");
	json_object_del(e, "_sg_id_token");
	return json_object_get(e, "proofs") == NULL ? -1 : 0;
}

/* Verify element e with its context (and cache, or NULL); complete it. */
static int
complete_one(
    json_t *e, const struct ax_sign_context *ctx, struct ax_sign_cache *cache, struct ax_err *err)
{
	struct ax_sign_input in;
	struct ax_sign_decision d;
	uint8_t *rh = NULL, *nonce = NULL, *cd = NULL, *ad = NULL, *sig = NULL;
	size_t rh_len, nonce_len, cd_len, ad_len, sig_len;
	int rc = AX_OK;

	memset(&in, 0, sizeof(in));
	if (hex_get(e, "record_hash", &rh, &rh_len) || hex_get(e, "nonce", &nonce, &nonce_len) ||
	    hex_get(e, "_sg_client_data", &cd, &cd_len) ||
	    hex_get(e, "_sg_authenticator_data", &ad, &ad_len) ||
	    hex_get(e, "_sg_signature", &sig, &sig_len)) {
		rc = ax_err_set(err, AX_ERR, "a Sign element lost its fields");
		goto out;
	}
	in.actor = json_string_value(json_object_get(e, "actor"));
	ax_uuid_parse(in.lineage_id, json_string_value(json_object_get(e, "id")), 36);
	in.version = (int64_t)json_integer_value(json_object_get(e, "version"));
	in.record_hash = rh;
	in.record_hash_len = rh_len;
	in.meaning = (int)json_integer_value(json_object_get(e, "_sg_meaning"));
	in.nonce = nonce;
	in.nonce_len = nonce_len;
	ax_uuid_parse(in.factor_id, json_string_value(json_object_get(e, "_sg_factor_id")), 36);
	in.client_data = cd;
	in.client_data_len = cd_len;
	in.auth_data = ad;
	in.auth_data_len = ad_len;
	in.signature = sig;
	in.signature_len = sig_len;
	in.id_token = json_string_value(json_object_get(e, "_sg_id_token"));
	in.event_time_us = (int64_t)json_integer_value(json_object_get(e, "_et_us"));
	if (in.actor == NULL || in.id_token == NULL) {
		rc = ax_err_set(err, AX_ERR, "a Sign element lost its fields");
		goto out;
	}
	if ((rc = ax_sign_verify_cached(&d, &in, ctx, cache, err)) != AX_OK)
		goto out;
	if (finish_element(e, &in, &d) != 0)
		rc = ax_err_set(err, AX_ERR, "out of memory");
out:
	free(rh);
	free(nonce);
	free(cd);
	free(ad);
	free(sig);
	return rc;
}

int
ax_sign_complete_batch(
    PGconn *conn, json_t *const *els, size_t n, size_t *cut, int64_t *cut_et_us, struct ax_err *err)
{
	return ax_sign_complete_batch_cached(conn, NULL, els, n, cut, cut_et_us, err);
}

int
ax_sign_complete_batch_cached(PGconn *conn, struct ax_sign_cache *cache, json_t *const *els,
    size_t n, size_t *cut, int64_t *cut_et_us, struct ax_err *err)
{
	struct pending *pend = NULL;
	size_t np = 0, i;
	int rc = AX_OK;

	*cut = n;
	*cut_et_us = 0;
	for (i = 0; i < n; i++)
		if (json_object_get(els[i], "_sg_factor_id") != NULL)
			np++;
	if (np == 0)
		return AX_OK;
	if ((pend = calloc(np, sizeof(*pend))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	for (i = 0, np = 0; i < n; i++) {
		if (json_object_get(els[i], "_sg_factor_id") == NULL)
			continue;
		pend[np].index = i;
		ax_sign_token_issuer(pend[np].iss, sizeof(pend[np].iss),
		    json_string_value(json_object_get(els[i], "_sg_id_token")));
		np++;
	}
	if ((rc = lookup(conn, els, pend, np, err)) != AX_OK)
		goto out;
	for (i = 0; i < np; i++) {
		json_t *e = els[pend[i].index];
		int64_t et = (int64_t)json_integer_value(json_object_get(e, "_et_us"));

		/* invariant 2: a context read before the watermark passed et may miss a control
		 * event at or before et (db/0022); this element and the rest wait for a
		 * watermark of et + 1 */
		if (pend[i].ctx.watermark_us <= et) {
			*cut = pend[i].index;
			*cut_et_us = et + 1;
			break;
		}
		if ((rc = complete_one(e, &pend[i].ctx, cache, err)) != AX_OK)
			goto out;
	}
out:
	for (i = 0; pend != NULL && i < np; i++)
		ax_sign_context_clear(&pend[i].ctx);
	free(pend);
	return rc;
}
