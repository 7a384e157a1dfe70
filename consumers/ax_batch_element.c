/*
 * ax_batch_element.c - decoded command -> element of apply_partition_batch; see the header.
 */
#include "ax_batch_element.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_avro_validate.h"
#include "ax_hex.h"
#include "ax_sign.h"

#define REASON_UNEXPRESSIBLE "invalid_field"

static json_t *
json_uuid(const uint8_t u[AX_UUID_LEN])
{
	char s[37];

	ax_uuid_format(s, u);
	return json_string(s);
}

void
ax_derive_record_id(
    uint8_t out[AX_UUID_LEN], const uint8_t command_id[AX_UUID_LEN], struct ax_sha256 *sha)
{
	static const char tag[] = "axiom/record-id/v1";
	uint8_t buf[sizeof(tag) - 1 + AX_UUID_LEN], h[AX_HASH_LEN];
	struct ax_err err;

	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, command_id, AX_UUID_LEN);
	if (ax_sha256_digest(sha, h, buf, sizeof(buf), &err) != AX_OK)
		abort(); /* a digest that cannot run is not a per-message condition */
	memcpy(out, h, AX_UUID_LEN);
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x80); /* version 8: application-defined */
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* The record_id a command names, or the one derived from its command id when it names none. */
static int
record_id_of(uint8_t out[AX_UUID_LEN], const char *given, const struct ax_message *m,
    struct ax_sha256 *sha, struct ax_err *err)
{
	if (given == NULL || given[0] == '\0') {
		ax_derive_record_id(out, m->command_id, sha);
		return AX_OK;
	}
	if (!ax_uuid_parse(out, given, strlen(given)))
		return ax_err_set(err, AX_EINVAL, "record_id \"%.40s\" is not a UUID", given);
	return AX_OK;
}

static const char *
gate_of(const struct ax_cmd_record_type_config *c)
{
	if (c->gate != NULL && c->gate[0] != '\0')
		return c->gate;
	return c->review_required ? "review_approve" : "none";
}

static const char *const meaning_names[] = { "authorship", "review", "approval", "responsibility" };

int
ax_batch_element_build(json_t **out, struct ax_head_need *need, const struct ax_message *m,
    int64_t et_us, struct ax_sha256 *sha, struct ax_err *err)
{
	json_t *e = json_object();
	uint8_t rid[AX_UUID_LEN];
	int rc = AX_OK;

	*out = NULL;
	memset(need, 0, sizeof(*need));
	if (e == NULL)
		return ax_err_set(err, AX_ERR, "out of memory");
	json_object_set_new(e, "command_id", json_uuid(m->command_id));
	json_object_set_new(e, "actor", json_string(m->actor));
	json_object_set_new(e, "reason", json_string(m->reason));
	json_object_set_new(e, "_et_us", json_integer((json_int_t)et_us));

	switch (m->kind) {
	/* control plane */
	case AX_KIND_USER_ENROLL:
		json_object_set_new(e, "op", json_string("enroll_user"));
		json_object_set_new(e, "user_id", json_string(m->u.user_enroll.user_id));
		json_object_set_new(e, "printed_name", json_string(m->u.user_enroll.display_name));
		json_object_set_new(
		    e, "administrator", json_boolean(m->u.user_enroll.administrator));
		if (m->u.user_enroll.db_role != NULL)
			json_object_set_new(e, "db_role", json_string(m->u.user_enroll.db_role));
		break;
	case AX_KIND_USER_DEACTIVATE:
		json_object_set_new(e, "op", json_string("deactivate_user"));
		json_object_set_new(e, "user_id", json_string(m->u.user_deactivate.user_id));
		break;
	case AX_KIND_SCOPE_DEFINE:
		json_object_set_new(e, "op", json_string("define_scope"));
		json_object_set_new(e, "kind",
		    json_string(
		        m->u.scope_define.kind == AX_CMD_SCOPE_FACILITY ? "facility" : "domain"));
		json_object_set_new(e, "key", json_string(m->u.scope_define.key));
		json_object_set_new(e, "name", json_string(m->u.scope_define.name));
		break;
	case AX_KIND_RECORD_TYPE_CONFIG:
		json_object_set_new(e, "op", json_string("configure_record_type"));
		json_object_set_new(
		    e, "record_type", json_string(m->u.record_type_config.record_type));
		json_object_set_new(e, "domain_id", json_string(m->u.record_type_config.domain));
		json_object_set_new(e, "gate", json_string(gate_of(&m->u.record_type_config)));
		break;
	case AX_KIND_GRANT:
		json_object_set_new(e, "op", json_string("grant_access"));
		json_object_set_new(e, "grant_id", json_uuid(m->u.grant.grant_id));
		json_object_set_new(e, "user_id", json_string(m->u.grant.user_id));
		json_object_set_new(e, "facility_id", json_string(m->u.grant.facility));
		json_object_set_new(e, "domain_id", json_string(m->u.grant.domain));
		json_object_set_new(e, "tier", json_string(m->u.grant.access_level));
		if (m->u.grant.expires_at.present)
			json_object_set_new(
			    e, "_expires_us", json_integer((json_int_t)m->u.grant.expires_at.us));
		break;
	case AX_KIND_GRANT_REVOKE:
		json_object_set_new(e, "op", json_string("revoke_grant"));
		json_object_set_new(e, "grant_id", json_uuid(m->u.grant_revoke.grant_id));
		break;
	case AX_KIND_DELEGATE:
		json_object_set_new(e, "op", json_string("delegate"));
		json_object_set_new(e, "delegation_id", json_uuid(m->u.delegate.delegation_id));
		json_object_set_new(e, "source_grant_id", json_uuid(m->u.delegate.source_grant_id));
		json_object_set_new(e, "delegatee", json_string(m->u.delegate.delegatee));
		json_object_set_new(e, "kind",
		    json_string(m->u.delegate.kind == AX_CMD_DELEGATION_HORIZONTAL ? "horizontal"
		                                                                   : "vertical"));
		json_object_set_new(
		    e, "_expires_us", json_integer((json_int_t)m->u.delegate.expires_at));
		break;
	case AX_KIND_DELEGATION_REVOKE:
		json_object_set_new(e, "op", json_string("revoke_delegation"));
		json_object_set_new(
		    e, "delegation_id", json_uuid(m->u.delegation_revoke.delegation_id));
		break;
	case AX_KIND_TICK:
		json_object_set_new(e, "op", json_string("tick"));
		break;
	/* e-signature registry (db/0009_esign.sql) */
	case AX_KIND_FACTOR_REGISTER: {
		const struct ax_cmd_factor_register *c = &m->u.factor_register;
		static const char *const types[] = { "fido2", "password", "oidc" };

		json_object_set_new(e, "op", json_string("register_factor"));
		json_object_set_new(e, "factor_id", json_uuid(c->factor_id));
		json_object_set_new(e, "factor_type",
		    json_string(
		        types[c->factor_type >= 0 && c->factor_type < 3 ? c->factor_type : 0]));
		json_object_set_new(e, "user_id", json_string(c->user_id));
		/* revision 3 has no audience field: an OIDC issuer's credential_id carries it */
		if (c->factor_type == AX_CMD_FACTOR_OIDC) {
			char *aud = strndup((const char *)c->credential_id.p, c->credential_id.len);

			if (aud == NULL)
				goto oom;
			json_object_set_new(e, "audience", json_string(aud));
			free(aud);
		} else {
			json_object_set_new(e, "credential_id",
			    ax_json_hex(c->credential_id.p, c->credential_id.len));
		}
		json_object_set_new(
		    e, "public_key", ax_json_hex(c->public_key.p, c->public_key.len));
		json_object_set_new(e, "cose_alg", json_integer(c->cose_alg));
		json_object_set_new(e, "issuer", json_string(c->issuer));
		json_object_set_new(e, "jwks", json_string(c->jwks));
		break;
	}
	case AX_KIND_FACTOR_REVOKE:
		json_object_set_new(e, "op", json_string("revoke_factor"));
		json_object_set_new(e, "factor_id", json_uuid(m->u.factor_revoke.factor_id));
		break;
	case AX_KIND_SIGNING_POLICY: {
		const struct ax_cmd_signing_policy *c = &m->u.signing_policy;

		json_object_set_new(e, "op", json_string("set_signing_policy"));
		json_object_set_new(e, "record_type", json_string(c->record_type));
		json_object_set_new(e, "meaning", json_string(meaning_names[c->meaning & 3]));
		json_object_set_new(e, "require_fido2", json_boolean(c->require_fido2));
		json_object_set_new(e, "require_oidc", json_boolean(c->require_oidc));
		json_object_set_new(e, "require_password", json_boolean(c->require_password));
		break;
	}

	/* data plane */
	case AX_KIND_CREATE_RECORD: {
		const struct ax_cmd_create_record *c = &m->u.create_record;
		struct ax_canon_record r;
		uint8_t h[AX_HASH_LEN];

		if ((rc = record_id_of(rid, c->record_id, m, sha, err)) != AX_OK)
			goto fail;
		memset(&r, 0, sizeof(r));
		memcpy(r.record_id, rid, AX_UUID_LEN);
		memcpy(r.id, m->lineage_id, AX_UUID_LEN);
		r.version = 1;
		r.record_type = c->record_type;
		r.facility_id = c->facility;
		r.domain_id = c->domain;
		r.title = c->title;
		r.content = (const uint8_t *)c->content;
		r.content_len = strlen(c->content);
		r.created_by = m->actor;
		r.created_at_us = et_us;
		if ((rc = ax_canon_record_hash(h, sha, &r, err)) != AX_OK)
			goto fail;
		json_object_set_new(e, "op", json_string("create_record"));
		json_object_set_new(e, "record_id", json_uuid(rid));
		json_object_set_new(e, "id", json_uuid(m->lineage_id));
		json_object_set_new(e, "record_type", json_string(c->record_type));
		json_object_set_new(e, "facility_id", json_string(c->facility));
		json_object_set_new(e, "title", json_string(c->title));
		json_object_set_new(e, "content", ax_json_hex(r.content, r.content_len));
		json_object_set_new(e, "record_hash", ax_json_hex(h, AX_HASH_LEN));
		need->produces_valid = true;
		need->produces.found = true;
		memcpy(need->produces.record_id, rid, AX_UUID_LEN);
		need->produces.version = 1;
		memcpy(need->produces.record_hash, h, AX_HASH_LEN);
		snprintf(need->produces.record_type, sizeof(need->produces.record_type), "%s",
		    c->record_type);
		snprintf(need->produces.facility_id, sizeof(need->produces.facility_id), "%s",
		    c->facility);
		snprintf(
		    need->produces.domain_id, sizeof(need->produces.domain_id), "%s", c->domain);
		break;
	}
	case AX_KIND_NEW_VERSION: {
		const struct ax_cmd_new_version *c = &m->u.new_version;

		if ((rc = record_id_of(rid, c->record_id, m, sha, err)) != AX_OK)
			goto fail;
		json_object_set_new(e, "op", json_string("new_version"));
		json_object_set_new(e, "record_id", json_uuid(rid));
		json_object_set_new(e, "id", json_uuid(m->lineage_id));
		json_object_set_new(e, "title", json_string(c->title));
		json_object_set_new(
		    e, "content", ax_json_hex((const uint8_t *)c->content, strlen(c->content)));
		need->needed = true;
		memcpy(need->lineage, m->lineage_id, AX_UUID_LEN);
		need->base_version = c->base_version;
		break;
	}
	case AX_KIND_LIFECYCLE_TRANSITION:
		json_object_set_new(e, "op", json_string("transition_record"));
		json_object_set_new(e, "id", json_uuid(m->lineage_id));
		json_object_set_new(
		    e, "version", json_integer((json_int_t)m->u.lifecycle_transition.version));
		json_object_set_new(
		    e, "to_status", json_string(m->u.lifecycle_transition.to_state));
		break;
	case AX_KIND_PROPOSE_CHANGE: {
		const struct ax_cmd_propose_change *c = &m->u.propose_change;

		json_object_set_new(e, "op", json_string("propose_change"));
		json_object_set_new(e, "change_id", json_uuid(c->change_id));
		json_object_set_new(e, "id", json_uuid(m->lineage_id));
		json_object_set_new(e, "base_version", json_integer((json_int_t)c->base_version));
		json_object_set_new(e, "title", json_string(c->title));
		json_object_set_new(
		    e, "content", ax_json_hex((const uint8_t *)c->content, strlen(c->content)));
		break;
	}
	case AX_KIND_SUBMIT_CHANGE:
		json_object_set_new(e, "op", json_string("submit_change"));
		json_object_set_new(e, "change_id", json_uuid(m->u.submit_change.change_id));
		break;
	case AX_KIND_REVIEW_CHANGE:
		json_object_set_new(e, "op", json_string("review_change"));
		json_object_set_new(e, "change_id", json_uuid(m->u.review_change.change_id));
		if (m->u.review_change.comment != NULL && m->u.review_change.comment[0] != '\0') {
			char *why = NULL;
			size_t n = strlen(m->reason) + strlen(m->u.review_change.comment) + 4;

			if ((why = malloc(n)) == NULL)
				goto oom;
			snprintf(why, n, "%s: %s", m->reason, m->u.review_change.comment);
			json_object_set_new(e, "reason", json_string(why));
			free(why);
		}
		break;
	case AX_KIND_APPROVE_CHANGE:
		json_object_set_new(e, "op", json_string("approve_change"));
		json_object_set_new(e, "change_id", json_uuid(m->u.approve_change.change_id));
		break;
	case AX_KIND_REJECT_CHANGE:
		json_object_set_new(e, "op", json_string("reject_change"));
		json_object_set_new(e, "change_id", json_uuid(m->u.reject_change.change_id));
		break;
	case AX_KIND_APPLY_CHANGE:
		if ((rc = record_id_of(rid, m->u.apply_change.record_id, m, sha, err)) != AX_OK)
			goto fail;
		json_object_set_new(e, "op", json_string("apply_change"));
		json_object_set_new(e, "change_id", json_uuid(m->u.apply_change.change_id));
		json_object_set_new(e, "record_id", json_uuid(rid));
		need->needed = true;
		need->is_change = true;
		memcpy(need->lineage, m->lineage_id, AX_UUID_LEN);
		memcpy(need->change_id, m->u.apply_change.change_id, AX_UUID_LEN);
		break;
	case AX_KIND_SIGN: /* verified later, per batch: consumers/ax_sign.h */
		if ((rc = ax_sign_element(e, m, et_us, err)) != AX_OK)
			goto fail;
		break;
	default:
		rc = ax_err_set(
		    err, AX_EINVAL, "a %s message is not a command", ax_kind_name(m->kind));
		goto fail;
	}
	*out = e;
	return AX_OK;
oom:
	rc = ax_err_set(err, AX_ERR, "out of memory");
fail:
	json_decref(e);
	return rc;
}

int
ax_batch_element_complete(json_t *elem, struct ax_head_need *need, const struct ax_head *head,
    struct ax_sha256 *sha, struct ax_err *err)
{
	struct ax_canon_record r;
	uint8_t h[AX_HASH_LEN], *content = NULL;
	const char *content_hex;
	int rc = AX_OK;

	if (!need->needed || !head->found || (need->is_change && !head->change_found))
		return AX_OK; /* the database answers not_found_or_denied */
	/* the head the command edits; another one is refused by the database as stale */
	json_object_set_new(
	    elem, "previous_record_hash", ax_json_hex(head->record_hash, AX_HASH_LEN));
	memset(&r, 0, sizeof(r));
	if (!ax_uuid_parse(r.record_id, json_string_value(json_object_get(elem, "record_id")), 36))
		return ax_err_set(err, AX_ERR, "element without record_id");
	memcpy(r.id, need->lineage, AX_UUID_LEN);
	r.version = head->version + 1;
	r.has_previous = 1;
	memcpy(r.previous_record_id, head->record_id, AX_UUID_LEN);
	memcpy(r.previous_record_hash, head->record_hash, AX_HASH_LEN);
	r.record_type = head->record_type;
	r.facility_id = head->facility_id;
	r.domain_id = head->domain_id;
	r.created_by = json_string_value(json_object_get(elem, "actor"));
	r.created_at_us = (int64_t)json_integer_value(json_object_get(elem, "_et_us"));
	if (need->is_change) {
		r.title = head->change_title;
		r.content = head->change_content;
		r.content_len = head->change_content_len;
		r.has_change_id = 1;
		memcpy(r.change_id, need->change_id, AX_UUID_LEN);
	} else {
		r.title = json_string_value(json_object_get(elem, "title"));
		content_hex = json_string_value(json_object_get(elem, "content"));
		r.content_len = strlen(content_hex) / 2;
		if ((content = malloc(r.content_len + 1)) == NULL)
			return ax_err_set(err, AX_ERR, "out of memory");
		if (ax_hex_decode(content, content_hex, r.content_len) != 0) {
			rc = ax_err_set(err, AX_ERR, "element content is not hex");
			goto out;
		}
		r.content = content;
		if (head->version != need->base_version) {
			/* the command edits another version than the head: the database refuses it
			 * as stale_previous_hash; no hash is claimed */
			json_object_del(elem, "previous_record_hash");
			json_object_set_new(elem, "previous_record_hash",
			    json_string("0000000000000000000000000000000000000000000000000000000000"
			                "000000"));
			goto out;
		}
	}
	if ((rc = ax_canon_record_hash(h, sha, &r, err)) != AX_OK)
		goto out;
	json_object_set_new(elem, "record_hash", ax_json_hex(h, AX_HASH_LEN));
	need->produces_valid = true;
	need->produces = *head;
	need->produces.change_found = false;
	need->produces.change_title = NULL; /* owned by head */
	need->produces.change_content = NULL;
	memcpy(need->produces.record_id, r.record_id, AX_UUID_LEN);
	need->produces.version = r.version;
	memcpy(need->produces.record_hash, h, AX_HASH_LEN);
out:
	free(content);
	return rc;
}

void
ax_iso_time(char out[AX_ISO_TIME_LEN], int64_t us)
{
	int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	time_t t = (time_t)secs;
	struct tm tm;
	char ts[32];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, AX_ISO_TIME_LEN, "%.31s.%06lldZ", ts, (long long)(us - secs * 1000000));
}

void
ax_batch_element_strip(json_t *elem)
{
	json_t *v;

	/* expiry times travel as ISO 8601 text, like the event time */
	if ((v = json_object_get(elem, "_expires_us")) != NULL) {
		char iso[AX_ISO_TIME_LEN];

		ax_iso_time(iso, (int64_t)json_integer_value(v));
		json_object_set_new(elem, "expires_at", json_string(iso));
	}
	json_object_del(elem, "_expires_us");
	json_object_del(elem, "_et_us");
}

const char *
ax_batch_element_quarantine_reason(const struct ax_err *err)
{
	if (err->code == AX_EINVAL && err->lib_code > 0)
		return ax_avro_reason_name(err->lib_code);
	return REASON_UNEXPRESSIBLE;
}
