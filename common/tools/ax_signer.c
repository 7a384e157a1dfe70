/*
 * ax_signer.c - intent, assertion and Sign command line; see ax_signer.h for the invariants.
 */
#include "ax_signer.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_codec.h"
#include "ax_webauthn.h"

static const char *const symbols[] = { "AUTHORSHIP", "REVIEW", "APPROVAL", "RESPONSIBILITY" };

int
ax_signer_intent(uint8_t hash[AX_HASH_LEN], struct ax_signer_request *req, struct ax_err *err)
{
	struct ax_intent in;
	int rc;

	if (req->nonce_len == 0) {
		if ((rc = ax_intent_new_nonce(req->nonce, AX_INTENT_NONCE_MAX, err)) != AX_OK)
			return rc;
		req->nonce_len = AX_INTENT_NONCE_MAX;
	}
	if ((rc = ax_intent_set(&in, req->actor, req->lineage_id, req->version, req->record_hash,
	         req->meaning, req->nonce, req->nonce_len, err)) != AX_OK)
		return rc;
	return ax_intent_hash(hash, &in, err);
}

int
ax_signer_line(char *line, size_t cap, const struct ax_signer_request *req,
    const uint8_t *client_data, size_t client_data_len, const uint8_t *auth_data,
    size_t auth_data_len, const uint8_t *sig, size_t sig_len, struct ax_err *err)
{
	uint8_t cid[AX_UUID_LEN];
	char cid_text[37], lineage[37], factor[37];
	json_t *sign = NULL, *cmd = NULL;
	char *text = NULL;
	int rc = AX_OK;

	if (req->meaning < AX_MEANING_AUTHORSHIP || req->meaning > AX_MEANING_RESPONSIBILITY)
		return ax_err_set(err, AX_EINVAL, "unknown meaning");
	if (RAND_bytes(cid, sizeof(cid)) != 1)
		return ax_err_set(err, AX_ERR, "the CSPRNG failed");
	cid[6] = (uint8_t)((cid[6] & 0x0f) | 0x40); /* UUID version 4 */
	cid[8] = (uint8_t)((cid[8] & 0x3f) | 0x80);
	ax_uuid_format(cid_text, cid);
	ax_uuid_format(lineage, req->lineage_id);
	ax_uuid_format(factor, req->factor_id);
	sign = json_pack("{s:I, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:s, s:s?}", "version",
	    (json_int_t)req->version, "record_hash", ax_json_hex(req->record_hash, AX_HASH_LEN),
	    "meaning", symbols[req->meaning - 1], "nonce", ax_json_hex(req->nonce, req->nonce_len),
	    "factor_id", factor, "client_data", ax_json_hex(client_data, client_data_len),
	    "authenticator_data", ax_json_hex(auth_data, auth_data_len), "signature",
	    ax_json_hex(sig, sig_len), "id_token", req->id_token ? req->id_token : "", "comment",
	    req->comment);
	if (sign == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	cmd = json_pack("{s:s, s:s, s:I, s:s, s:s, s:{s:o}}", "command_id", cid_text, "actor",
	    req->actor, "issued_at", (json_int_t)req->issued_at_us, "reason",
	    req->reason ? req->reason : "", "lineage_id", lineage, "payload", "Sign", sign);
	if (cmd == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	if ((text = json_dumps(cmd, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	if (strlen(text) >= cap) {
		rc = ax_err_set(
		    err, AX_EINVAL, "the Sign command is longer than %zu bytes", cap - 1);
		goto out;
	}
	memcpy(line, text, strlen(text) + 1);
out:
	free(text);
	if (cmd != NULL)
		json_decref(cmd); /* owns sign */
	else
		json_decref(sign);
	return rc;
}

int
ax_signer_rp_id(char *rp, size_t cap, const char *origin, struct ax_err *err)
{
	const char *h, *end;

	if (origin == NULL || strncmp(origin, "https://", 8) != 0) /* before reading past it */
		return ax_err_set(err, AX_EINVAL, "the origin must be https://host[:port]");
	h = origin + 8;
	end = h + strcspn(h, ":/");
	if (end == h || (size_t)(end - h) >= cap)
		return ax_err_set(err, AX_EINVAL, "the origin must be https://host[:port]");
	memcpy(rp, h, (size_t)(end - h));
	rp[end - h] = '\0';
	return AX_OK;
}

int
ax_signer_softauth_line(char *line, size_t cap, struct ax_signer_request *req,
    struct ax_softauth *sa, struct ax_err *err)
{
	struct ax_softauth_assertion a;
	uint8_t hash[AX_HASH_LEN];
	char rp[256];
	int rc;

	if ((rc = ax_signer_intent(hash, req, err)) != AX_OK)
		return rc;
	if ((rc = ax_signer_rp_id(rp, sizeof(rp), req->origin, err)) != AX_OK)
		return rc;
	if ((rc = ax_softauth_get_assertion(sa, &a, rp, req->origin, hash, sizeof(hash),
	         (uint8_t)(AX_WA_FLAG_UP | (req->user_verified ? AX_WA_FLAG_UV : 0)), err)) !=
	    AX_OK)
		return rc;
	return ax_signer_line(line, cap, req, a.client_data_json, a.client_data_json_len,
	    a.auth_data, sizeof(a.auth_data), a.sig, a.sig_len, err);
}
