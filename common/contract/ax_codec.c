/*
 * ax_codec.c - the event contract in C; see ax_codec.h for the pipeline and invariants.
 *
 * The C side of the contract is the tables below: one row per C field, naming the Avro
 * field it is read from. Decoding walks a table, asking avro-c for each field by name in the
 * writer's value; a field the writer's revision lacks takes the current schema's default.
 * ax_codec_new checks every row against the current schema, so the tables and the .avsc
 * files cannot drift apart unnoticed.
 *
 * This file is the only one that calls avro-c; it translates avro-c's bare return codes
 * into struct ax_err (AX_AVRO_E_DECODE) and reads avro_strerror only while loading the
 * schemas (single-threaded, before any decoder exists).
 */
#include "ax_codec.h"

#include <avro.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ax_schemas.h"

/* How a C field is filled. */
enum fk {
	FK_STR,       /* string -> const char * */
	FK_OPT_STR,   /* ["null","string"] -> const char *, NULL for null */
	FK_UUID,      /* string (logicalType uuid) -> uint8_t[16] */
	FK_LONG,      /* long -> int64_t */
	FK_OPT_TIME,  /* ["null","long"] -> struct ax_opt_time */
	FK_INT,       /* int -> int32_t */
	FK_BOOL,      /* boolean -> bool */
	FK_BYTES,     /* bytes -> struct ax_bytes */
	FK_OPT_BYTES, /* ["null","bytes"] -> struct ax_bytes, flag at off2 */
	FK_ENUM       /* enum -> int, the index in symbols (the C enum's order) */
};

/* One C field and the Avro field it comes from. */
struct fdesc {
	const char *name;
	enum fk kind;
	size_t off;                 /* offset in the struct the table describes */
	size_t off2;                /* FK_OPT_BYTES: offset of its bool */
	const char *const *symbols; /* FK_ENUM: symbols in C enum order, NULL-terminated */
};

/* One union branch record and its C struct (a member of struct ax_message's union). */
struct rdesc {
	const char *fullname;
	enum ax_kind kind;
	enum ax_family family;
	const struct fdesc *f;
	size_t n;
};

static const char *const delegation_symbols[] = { "HORIZONTAL", "VERTICAL", NULL };
static const char *const factor_symbols[] = { "FIDO2_CREDENTIAL", "PASSWORD_ATTESTOR",
	"OIDC_ISSUER", NULL };
static const char *const meaning_symbols[] = { "AUTHORSHIP", "REVIEW", "APPROVAL", "RESPONSIBILITY",
	NULL };
static const char *const decision_symbols[] = { "ACCEPTED", "REJECTED", "QUARANTINED", NULL };
static const char *const outcome_kind_symbols[] = { "COMMAND", "TICK", NULL };

#define F(st, f, k)                                                                                \
	{                                                                                          \
#f, k, offsetof(struct st, f), 0, NULL                                             \
	}
#define FE(st, f, syms)                                                                            \
	{                                                                                          \
#f, FK_ENUM, offsetof(struct st, f), 0, syms                                       \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define R(nm, k, fam, a)                                                                           \
	{                                                                                          \
		"axiom.v1." nm, k, fam, a, N(a)                                                    \
	}

static const struct fdesc env_control[] = {
	F(ax_message, command_id, FK_UUID),
	F(ax_message, actor, FK_STR),
	F(ax_message, issued_at, FK_LONG),
	F(ax_message, reason, FK_STR),
	F(ax_message, source_system, FK_STR),
};
static const struct fdesc env_data[] = {
	F(ax_message, command_id, FK_UUID),
	F(ax_message, actor, FK_STR),
	F(ax_message, issued_at, FK_LONG),
	F(ax_message, reason, FK_STR),
	F(ax_message, lineage_id, FK_UUID),
	F(ax_message, source_system, FK_STR),
};
static const struct {
	const char *root; /* full name of the family's top-level record */
	const struct fdesc *f;
	size_t n;
} envelopes[AX_FAMILY_COUNT] = {
	[AX_FAMILY_CONTROL] = { "axiom.v1.ControlCommand", env_control, N(env_control) },
	[AX_FAMILY_DATA] = { "axiom.v1.DataCommand", env_data, N(env_data) },
	[AX_FAMILY_AUDIT] = { "axiom.v1.AuditEvent", NULL, 0 },
};

static const struct fdesc d_user_enroll[] = {
	F(ax_cmd_user_enroll, user_id, FK_STR),
	F(ax_cmd_user_enroll, display_name, FK_STR),
	F(ax_cmd_user_enroll, administrator, FK_BOOL),
	F(ax_cmd_user_enroll, db_role, FK_OPT_STR),
};
static const struct fdesc d_user_deactivate[] = {
	F(ax_cmd_user_deactivate, user_id, FK_STR),
};
static const struct fdesc d_grant[] = {
	F(ax_cmd_grant, grant_id, FK_UUID),
	F(ax_cmd_grant, user_id, FK_STR),
	F(ax_cmd_grant, facility, FK_STR),
	F(ax_cmd_grant, domain, FK_STR),
	F(ax_cmd_grant, access_level, FK_STR),
	F(ax_cmd_grant, expires_at, FK_OPT_TIME),
};
static const struct fdesc d_grant_revoke[] = {
	F(ax_cmd_grant_revoke, grant_id, FK_UUID),
};
static const struct fdesc d_delegate[] = {
	F(ax_cmd_delegate, delegation_id, FK_UUID),
	F(ax_cmd_delegate, source_grant_id, FK_UUID),
	F(ax_cmd_delegate, delegatee, FK_STR),
	FE(ax_cmd_delegate, kind, delegation_symbols),
	F(ax_cmd_delegate, facility, FK_STR),
	F(ax_cmd_delegate, access_level, FK_STR),
	F(ax_cmd_delegate, expires_at, FK_LONG),
};
static const struct fdesc d_delegation_revoke[] = {
	F(ax_cmd_delegation_revoke, delegation_id, FK_UUID),
};
static const struct fdesc d_factor_register[] = {
	F(ax_cmd_factor_register, factor_id, FK_UUID),
	FE(ax_cmd_factor_register, factor_type, factor_symbols),
	F(ax_cmd_factor_register, user_id, FK_STR),
	F(ax_cmd_factor_register, credential_id, FK_BYTES),
	F(ax_cmd_factor_register, public_key, FK_BYTES),
	F(ax_cmd_factor_register, cose_alg, FK_INT),
	F(ax_cmd_factor_register, issuer, FK_STR),
	F(ax_cmd_factor_register, jwks, FK_STR),
};
static const struct fdesc d_factor_revoke[] = {
	F(ax_cmd_factor_revoke, factor_id, FK_UUID),
};
static const struct fdesc d_signing_policy[] = {
	F(ax_cmd_signing_policy, record_type, FK_STR),
	FE(ax_cmd_signing_policy, meaning, meaning_symbols),
	F(ax_cmd_signing_policy, require_fido2, FK_BOOL),
	F(ax_cmd_signing_policy, require_oidc, FK_BOOL),
	F(ax_cmd_signing_policy, require_password, FK_BOOL),
};
static const struct fdesc d_record_type_config[] = {
	F(ax_cmd_record_type_config, record_type, FK_STR),
	F(ax_cmd_record_type_config, review_required, FK_BOOL),
	F(ax_cmd_record_type_config, description, FK_STR),
	F(ax_cmd_record_type_config, domain, FK_STR),
	F(ax_cmd_record_type_config, gate, FK_STR),
};
static const char *const scope_symbols[] = { "FACILITY", "DOMAIN", NULL };
static const struct fdesc d_scope_define[] = {
	FE(ax_cmd_scope_define, kind, scope_symbols),
	F(ax_cmd_scope_define, key, FK_STR),
	F(ax_cmd_scope_define, name, FK_STR),
};
static const struct fdesc d_tick[] = {
	F(ax_cmd_tick, requested_by_partition, FK_INT),
};
static const struct fdesc d_create_record[] = {
	F(ax_cmd_create_record, record_type, FK_STR),
	F(ax_cmd_create_record, facility, FK_STR),
	F(ax_cmd_create_record, domain, FK_STR),
	F(ax_cmd_create_record, content, FK_STR),
	F(ax_cmd_create_record, record_id, FK_STR),
	F(ax_cmd_create_record, title, FK_STR),
};
static const struct fdesc d_new_version[] = {
	F(ax_cmd_new_version, base_version, FK_LONG),
	F(ax_cmd_new_version, content, FK_STR),
	F(ax_cmd_new_version, record_id, FK_STR),
	F(ax_cmd_new_version, title, FK_STR),
};
static const struct fdesc d_lifecycle_transition[] = {
	F(ax_cmd_lifecycle_transition, version, FK_LONG),
	F(ax_cmd_lifecycle_transition, from_state, FK_STR),
	F(ax_cmd_lifecycle_transition, to_state, FK_STR),
};
static const struct fdesc d_propose_change[] = {
	F(ax_cmd_propose_change, change_id, FK_UUID),
	F(ax_cmd_propose_change, base_version, FK_LONG),
	F(ax_cmd_propose_change, content, FK_STR),
	F(ax_cmd_propose_change, title, FK_STR),
};
static const struct fdesc d_apply_change[] = {
	F(ax_cmd_apply_change, change_id, FK_UUID),
	F(ax_cmd_apply_change, record_id, FK_STR),
};
static const struct fdesc d_change_ref[] = {
	F(ax_cmd_change_ref, change_id, FK_UUID),
};
static const struct fdesc d_review_change[] = {
	F(ax_cmd_review_change, change_id, FK_UUID),
	F(ax_cmd_review_change, comment, FK_STR),
};
static const struct fdesc d_sign[] = {
	F(ax_cmd_sign, version, FK_LONG),
	F(ax_cmd_sign, record_hash, FK_BYTES),
	FE(ax_cmd_sign, meaning, meaning_symbols),
	F(ax_cmd_sign, nonce, FK_BYTES),
	F(ax_cmd_sign, factor_id, FK_UUID),
	F(ax_cmd_sign, client_data, FK_BYTES),
	F(ax_cmd_sign, authenticator_data, FK_BYTES),
	F(ax_cmd_sign, signature, FK_BYTES),
	F(ax_cmd_sign, id_token, FK_STR),
	F(ax_cmd_sign, comment, FK_OPT_STR),
};
static const struct fdesc d_outcome[] = {
	F(ax_audit_outcome, command_id, FK_UUID),
	F(ax_audit_outcome, topic, FK_STR),
	F(ax_audit_outcome, partition, FK_INT),
	F(ax_audit_outcome, offset, FK_LONG),
	F(ax_audit_outcome, event_time, FK_LONG),
	FE(ax_audit_outcome, decision, decision_symbols),
	F(ax_audit_outcome, reason_code, FK_STR),
	F(ax_audit_outcome, reason_detail, FK_STR),
	{ "record_hash", FK_OPT_BYTES, offsetof(struct ax_audit_outcome, record_hash),
	    offsetof(struct ax_audit_outcome, has_record_hash), NULL },
	F(ax_audit_outcome, payload_hash, FK_BYTES),
	F(ax_audit_outcome, ledger_seq, FK_LONG),
	F(ax_audit_outcome, ledger_hash, FK_BYTES),
	F(ax_audit_outcome, actor, FK_OPT_STR),
	F(ax_audit_outcome, previous_entry_hash, FK_BYTES),
	FE(ax_audit_outcome, kind, outcome_kind_symbols),
};
static const struct fdesc d_checkpoint[] = {
	F(ax_audit_checkpoint, topic, FK_STR),
	F(ax_audit_checkpoint, partition, FK_INT),
	F(ax_audit_checkpoint, ledger_seq, FK_LONG),
	F(ax_audit_checkpoint, ledger_hash, FK_BYTES),
	F(ax_audit_checkpoint, signed_at, FK_LONG),
	F(ax_audit_checkpoint, key_id, FK_UUID),
	F(ax_audit_checkpoint, signature, FK_BYTES),
};

/* Indexed by enum ax_kind. */
static const struct rdesc kinds[AX_KIND_COUNT] = {
	[AX_KIND_USER_ENROLL] =
	    R("UserEnroll", AX_KIND_USER_ENROLL, AX_FAMILY_CONTROL, d_user_enroll),
	[AX_KIND_USER_DEACTIVATE] =
	    R("UserDeactivate", AX_KIND_USER_DEACTIVATE, AX_FAMILY_CONTROL, d_user_deactivate),
	[AX_KIND_GRANT] = R("Grant", AX_KIND_GRANT, AX_FAMILY_CONTROL, d_grant),
	[AX_KIND_GRANT_REVOKE] =
	    R("GrantRevoke", AX_KIND_GRANT_REVOKE, AX_FAMILY_CONTROL, d_grant_revoke),
	[AX_KIND_DELEGATE] = R("Delegate", AX_KIND_DELEGATE, AX_FAMILY_CONTROL, d_delegate),
	[AX_KIND_DELEGATION_REVOKE] = R(
	    "DelegationRevoke", AX_KIND_DELEGATION_REVOKE, AX_FAMILY_CONTROL, d_delegation_revoke),
	[AX_KIND_FACTOR_REGISTER] =
	    R("FactorRegister", AX_KIND_FACTOR_REGISTER, AX_FAMILY_CONTROL, d_factor_register),
	[AX_KIND_FACTOR_REVOKE] =
	    R("FactorRevoke", AX_KIND_FACTOR_REVOKE, AX_FAMILY_CONTROL, d_factor_revoke),
	[AX_KIND_SIGNING_POLICY] =
	    R("SigningPolicy", AX_KIND_SIGNING_POLICY, AX_FAMILY_CONTROL, d_signing_policy),
	[AX_KIND_RECORD_TYPE_CONFIG] = R("RecordTypeConfig", AX_KIND_RECORD_TYPE_CONFIG,
	    AX_FAMILY_CONTROL, d_record_type_config),
	[AX_KIND_TICK] = R("Tick", AX_KIND_TICK, AX_FAMILY_CONTROL, d_tick),
	[AX_KIND_CREATE_RECORD] =
	    R("CreateRecord", AX_KIND_CREATE_RECORD, AX_FAMILY_DATA, d_create_record),
	[AX_KIND_NEW_VERSION] = R("NewVersion", AX_KIND_NEW_VERSION, AX_FAMILY_DATA, d_new_version),
	[AX_KIND_LIFECYCLE_TRANSITION] = R("LifecycleTransition", AX_KIND_LIFECYCLE_TRANSITION,
	    AX_FAMILY_DATA, d_lifecycle_transition),
	[AX_KIND_PROPOSE_CHANGE] =
	    R("ProposeChange", AX_KIND_PROPOSE_CHANGE, AX_FAMILY_DATA, d_propose_change),
	[AX_KIND_SUBMIT_CHANGE] =
	    R("SubmitChange", AX_KIND_SUBMIT_CHANGE, AX_FAMILY_DATA, d_change_ref),
	[AX_KIND_REVIEW_CHANGE] =
	    R("ReviewChange", AX_KIND_REVIEW_CHANGE, AX_FAMILY_DATA, d_review_change),
	[AX_KIND_APPROVE_CHANGE] =
	    R("ApproveChange", AX_KIND_APPROVE_CHANGE, AX_FAMILY_DATA, d_change_ref),
	[AX_KIND_REJECT_CHANGE] =
	    R("RejectChange", AX_KIND_REJECT_CHANGE, AX_FAMILY_DATA, d_change_ref),
	[AX_KIND_APPLY_CHANGE] =
	    R("ApplyChange", AX_KIND_APPLY_CHANGE, AX_FAMILY_DATA, d_apply_change),
	[AX_KIND_SIGN] = R("Sign", AX_KIND_SIGN, AX_FAMILY_DATA, d_sign),
	[AX_KIND_OUTCOME] = R("Outcome", AX_KIND_OUTCOME, AX_FAMILY_AUDIT, d_outcome),
	[AX_KIND_CHECKPOINT] = R("Checkpoint", AX_KIND_CHECKPOINT, AX_FAMILY_AUDIT, d_checkpoint),
	[AX_KIND_SCOPE_DEFINE] =
	    R("ScopeDefine", AX_KIND_SCOPE_DEFINE, AX_FAMILY_CONTROL, d_scope_define),
};

static const char *const family_names[AX_FAMILY_COUNT] = { "control", "data", "audit" };

struct ax_codec {
	struct ax_avro_limits lim;
	size_t n;
	struct ax_codec_schema schemas[AX_CODEC_SCHEMAS_MAX];
	avro_schema_t avro[AX_CODEC_SCHEMAS_MAX];
	const struct ax_codec_schema *current[AX_FAMILY_COUNT];
	const struct ax_avro_node *cur_root[AX_FAMILY_COUNT];
	const struct ax_avro_node *cur_rec[AX_KIND_COUNT]; /* the current branch record */
};

/* One writer revision's avro-c value, reused message after message. */
struct slot {
	avro_value_iface_t *iface;
	avro_value_t value;
	bool ready;
};

struct ax_decoder {
	const struct ax_codec *c;
	avro_reader_t reader;
	struct slot slots[AX_CODEC_SCHEMAS_MAX];
};

const char *
ax_family_name(enum ax_family f)
{
	return (unsigned)f < AX_FAMILY_COUNT ? family_names[f] : "?";
}

const char *
ax_kind_name(enum ax_kind k)
{
	if ((unsigned)k < AX_KIND_COUNT && kinds[k].fullname)
		return kinds[k].fullname + strlen("axiom.v1.");
	return "?";
}

/* ---- schema checks at load ------------------------------------------------------------- */

/* Whether n is the union ["null", t]. */
static bool
is_optional(const struct ax_avro_node *n, enum ax_avro_type t)
{
	return n->type == AX_AVRO_UNION && n->n == 2 && n->branches[0]->type == AX_AVRO_NULL &&
	       n->branches[1]->type == t;
}

/* Whether Avro type n can fill a C field of kind f->kind. */
static bool
kind_fits(const struct fdesc *f, const struct ax_avro_node *n)
{
	size_t i;

	switch (f->kind) {
	case FK_STR:
		return n->type == AX_AVRO_STRING;
	case FK_OPT_STR:
		return is_optional(n, AX_AVRO_STRING);
	case FK_UUID:
		return n->type == AX_AVRO_STRING && n->logical_type &&
		       strcmp(n->logical_type, "uuid") == 0;
	case FK_LONG:
		return n->type == AX_AVRO_LONG;
	case FK_OPT_TIME:
		return is_optional(n, AX_AVRO_LONG);
	case FK_INT:
		return n->type == AX_AVRO_INT;
	case FK_BOOL:
		return n->type == AX_AVRO_BOOLEAN;
	case FK_BYTES:
		return n->type == AX_AVRO_BYTES;
	case FK_OPT_BYTES:
		return is_optional(n, AX_AVRO_BYTES);
	case FK_ENUM:
		if (n->type != AX_AVRO_ENUM)
			return false;
		for (i = 0; f->symbols[i]; i++)
			if (i >= n->n || strcmp(f->symbols[i], n->symbols[i]) != 0)
				return false;
		return i == n->n;
	}
	return false;
}

/* Fill the C field f at base from the JSON default j; false when j does not fit. */
static bool
fill_default(const struct fdesc *f, const json_t *j, uint8_t *base)
{
	void *dst = base + f->off;

	switch (f->kind) {
	case FK_STR:
		if (!json_is_string(j))
			return false;
		*(const char **)dst = json_string_value(j);
		return true;
	case FK_OPT_STR:
		if (!json_is_null(j))
			return false;
		*(const char **)dst = NULL;
		return true;
	case FK_UUID:
		return json_is_string(j) &&
		       ax_uuid_parse(dst, json_string_value(j), json_string_length(j));
	case FK_LONG:
		if (!json_is_integer(j))
			return false;
		*(int64_t *)dst = json_integer_value(j);
		return true;
	case FK_OPT_TIME:
		if (!json_is_null(j))
			return false;
		((struct ax_opt_time *)dst)->present = false;
		((struct ax_opt_time *)dst)->us = 0;
		return true;
	case FK_INT:
		if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
		    json_integer_value(j) > INT32_MAX)
			return false;
		*(int32_t *)dst = (int32_t)json_integer_value(j);
		return true;
	case FK_BOOL:
		if (!json_is_boolean(j))
			return false;
		*(bool *)dst = json_is_true(j);
		return true;
	case FK_BYTES: /* only "" is supported: Avro's JSON bytes defaults are code points */
	case FK_OPT_BYTES:
		if (f->kind == FK_BYTES ? !(json_is_string(j) && json_string_length(j) == 0)
		                        : !json_is_null(j))
			return false;
		((struct ax_bytes *)dst)->p = NULL;
		((struct ax_bytes *)dst)->len = 0;
		if (f->kind == FK_OPT_BYTES)
			*(bool *)(base + f->off2) = false;
		return true;
	case FK_ENUM:
		if (!json_is_string(j))
			return false;
		for (int i = 0; f->symbols[i]; i++)
			if (strcmp(f->symbols[i], json_string_value(j)) == 0) {
				*(int *)dst = i;
				return true;
			}
		return false;
	}
	return false;
}

/* Check the table f[0..n) against record rec of the current schema. */
static int
check_table(const struct ax_avro_node *rec, const struct fdesc *f, size_t n, struct ax_err *err)
{
	struct ax_message scratch;

	for (size_t i = 0; i < n; i++) {
		const struct ax_avro_field *af = ax_avro_record_field(rec, f[i].name);

		if (af == NULL)
			return ax_err_set(err, AX_EINVAL,
			    "the contract has no field \"%s\" in record %s, which the C codec "
			    "reads",
			    f[i].name, rec->fullname);
		if (!kind_fits(&f[i], af->type))
			return ax_err_set(err, AX_EINVAL,
			    "field \"%s\" of record %s has a type the C codec cannot read",
			    f[i].name, rec->fullname);
		if (af->default_json && !fill_default(&f[i], af->default_json, (uint8_t *)&scratch))
			return ax_err_set(err, AX_EINVAL,
			    "field \"%s\" of record %s has a default the C codec cannot use",
			    f[i].name, rec->fullname);
	}
	return AX_OK;
}

/* The name of a union branch: its full name, or its primitive type name. */
static const char *
branch_name(const struct ax_avro_node *b)
{
	return b->fullname ? b->fullname : ax_avro_type_name(b->type);
}

/* Check that data written with old can be read as cur (evolution policy); path for errors. */
static int
check_evolution_at(const struct ax_avro_node *old, const struct ax_avro_node *cur, const char *path,
    int depth, struct ax_err *err)
{
	size_t i;

	if (depth > AX_AVRO_DEPTH_MAX)
		return ax_err_set(
		    err, AX_EINVAL, "schema evolution check nests too deep at %s", path);
	if (old->type != cur->type)
		return ax_err_set(err, AX_EINVAL, "%s changed type from %s to %s", path,
		    ax_avro_type_name(old->type), ax_avro_type_name(cur->type));
	if (old->fullname && strcmp(old->fullname, cur->fullname) != 0)
		return ax_err_set(err, AX_EINVAL, "%s was renamed from %s to %s", path,
		    old->fullname, cur->fullname);
	switch (cur->type) {
	case AX_AVRO_RECORD:
		for (i = 0; i < cur->n; i++) {
			const struct ax_avro_field *of =
			    ax_avro_record_field(old, cur->fields[i].name);
			char sub[256];
			int rc;

			snprintf(sub, sizeof(sub), "%s.%s", path, cur->fields[i].name);
			if (of == NULL) {
				if (cur->fields[i].default_json == NULL)
					return ax_err_set(
					    err, AX_EINVAL, "%s was added without a default", sub);
				continue;
			}
			if ((rc = check_evolution_at(
			         of->type, cur->fields[i].type, sub, depth + 1, err)) != AX_OK)
				return rc;
		}
		return AX_OK;
	case AX_AVRO_UNION:
		if (old->n > cur->n)
			return ax_err_set(err, AX_EINVAL, "%s lost union branches", path);
		for (i = 0; i < old->n; i++) {
			char sub[256];
			int rc;

			if (strcmp(branch_name(old->branches[i]), branch_name(cur->branches[i])) !=
			    0)
				return ax_err_set(err, AX_EINVAL,
				    "%s: union branch %zu was %s and is now %s (branches may only "
				    "be "
				    "added at the end)",
				    path, i, branch_name(old->branches[i]),
				    branch_name(cur->branches[i]));
			snprintf(sub, sizeof(sub), "%s<%s>", path, branch_name(cur->branches[i]));
			if ((rc = check_evolution_at(
			         old->branches[i], cur->branches[i], sub, depth + 1, err)) != AX_OK)
				return rc;
		}
		return AX_OK;
	case AX_AVRO_ENUM:
		if (old->n > cur->n)
			return ax_err_set(err, AX_EINVAL, "%s lost enum symbols", path);
		for (i = 0; i < old->n; i++)
			if (strcmp(old->symbols[i], cur->symbols[i]) != 0)
				return ax_err_set(err, AX_EINVAL,
				    "%s: enum symbol %zu changed (symbols may only be added at the "
				    "end)",
				    path, i);
		return AX_OK;
	case AX_AVRO_ARRAY:
	case AX_AVRO_MAP:
		return check_evolution_at(old->items, cur->items, path, depth + 1, err);
	case AX_AVRO_FIXED:
		if (old->n != cur->n)
			return ax_err_set(err, AX_EINVAL, "%s changed its fixed size", path);
		return AX_OK;
	default:
		return AX_OK;
	}
}

int
ax_codec_check_evolution(
    const struct ax_avro_schema *old, const struct ax_avro_schema *cur, struct ax_err *err)
{
	return check_evolution_at(old->root, cur->root,
	    old->root->fullname ? old->root->fullname : "(top level)", 0, err);
}

/* The family called name, or -1. */
static int
family_of(const char *name)
{
	for (int f = 0; f < AX_FAMILY_COUNT; f++)
		if (strcmp(family_names[f], name) == 0)
			return f;
	return -1;
}

/* Check the current schema of family f against the C tables and fill c->cur_rec. */
static int
check_current(struct ax_codec *c, enum ax_family f, struct ax_err *err)
{
	const struct ax_avro_node *root = c->current[f]->schema->root;
	const struct ax_avro_field *pf;
	int rc;

	if (root->type != AX_AVRO_RECORD || strcmp(root->fullname, envelopes[f].root) != 0)
		return ax_err_set(err, AX_EINVAL, "schema %s is not the record %s",
		    c->current[f]->file, envelopes[f].root);
	if ((rc = check_table(root, envelopes[f].f, envelopes[f].n, err)) != AX_OK)
		return rc;
	pf = ax_avro_record_field(root, "payload");
	if (pf == NULL || pf->type->type != AX_AVRO_UNION)
		return ax_err_set(
		    err, AX_EINVAL, "schema %s has no payload union", c->current[f]->file);
	c->cur_root[f] = root;
	for (int k = 1; k < AX_KIND_COUNT; k++) {
		int b;

		if (kinds[k].family != f)
			continue;
		if ((b = ax_avro_union_branch(pf->type, kinds[k].fullname)) < 0)
			return ax_err_set(err, AX_EINVAL, "schema %s has no payload branch %s",
			    c->current[f]->file, kinds[k].fullname);
		c->cur_rec[k] = pf->type->branches[b];
		if ((rc = check_table(c->cur_rec[k], kinds[k].f, kinds[k].n, err)) != AX_OK)
			return rc;
	}
	return AX_OK;
}

int
ax_codec_new(struct ax_codec **out, const struct ax_avro_limits *lim, struct ax_err *err)
{
	struct ax_codec *c;
	int rc = AX_OK;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory loading the avro contract");
	if (lim)
		c->lim = *lim;
	else
		ax_avro_limits_default(&c->lim);
	if (ax_schema_sources_len > AX_CODEC_SCHEMAS_MAX) {
		rc = ax_err_set(err, AX_EINVAL, "the contract has more than %d schema files",
		    AX_CODEC_SCHEMAS_MAX);
		goto out;
	}
	for (size_t i = 0; i < ax_schema_sources_len; i++) {
		const struct ax_schema_source *src = &ax_schema_sources[i];
		struct ax_codec_schema *cs = &c->schemas[i];
		int fam = family_of(src->family);

		if (fam < 0) {
			rc = ax_err_set(err, AX_EINVAL,
			    "schema file %s is of no known topic family", src->file);
			goto out;
		}
		cs->family = (enum ax_family)fam;
		cs->file = src->file;
		cs->current = src->revision == 0;
		cs->revision = src->revision;
		if ((rc = ax_avro_schema_new(
		         &cs->schema, (const char *)src->text, src->len, err)) != AX_OK) {
			ax_err_hint(err, "fix schemas/avro/%s", src->file);
			goto out;
		}
		c->n = i + 1;
		for (size_t k = 0; k < i; k++)
			if (c->schemas[k].schema->fingerprint == cs->schema->fingerprint) {
				rc = ax_err_set(err, AX_EINVAL,
				    "schema files %s and %s have the same fingerprint",
				    c->schemas[k].file, cs->file);
				goto out;
			}
		if (avro_schema_from_json_length((const char *)src->text, src->len, &c->avro[i]) !=
		    0) {
			rc = ax_err_set(
			    err, AX_EINVAL, "avro-c cannot parse schema file %s", src->file);
			ax_err_detail(err, "%s", avro_strerror()); /* load time: single-threaded */
			goto out;
		}
		if (cs->current) {
			if (c->current[fam]) {
				rc = ax_err_set(err, AX_EINVAL,
				    "two current schemas for topic family %s", src->family);
				goto out;
			}
			c->current[fam] = cs;
		}
	}
	for (int f = 0; f < AX_FAMILY_COUNT; f++) {
		int highest = 0;

		if (c->current[f] == NULL) {
			rc = ax_err_set(err, AX_EINVAL, "no schemas/avro/%s.avsc in the contract",
			    family_names[f]);
			goto out;
		}
		if ((rc = check_current(c, (enum ax_family)f, err)) != AX_OK)
			goto out;
		for (size_t i = 0; i < c->n; i++) {
			struct ax_codec_schema *cs = &c->schemas[i];

			if (cs->family != (enum ax_family)f || cs->current)
				continue;
			if (cs->revision > highest)
				highest = cs->revision;
			if ((rc = ax_codec_check_evolution(
			         cs->schema, c->current[f]->schema, err)) != AX_OK) {
				ax_err_detail(err,
				    "schemas/avro/%s cannot be read as schemas/avro/%s.avsc",
				    cs->file, family_names[f]);
				goto out;
			}
		}
		c->schemas[c->current[f] - c->schemas].revision = highest + 1;
	}
	*out = c;
	c = NULL;
out:
	ax_codec_free(c);
	return rc;
}

void
ax_codec_free(struct ax_codec *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < AX_CODEC_SCHEMAS_MAX; i++) {
		ax_avro_schema_free(c->schemas[i].schema);
		if (c->avro[i])
			avro_schema_decref(c->avro[i]);
	}
	free(c);
}

size_t
ax_codec_schema_count(const struct ax_codec *c)
{
	return c->n;
}

const struct ax_codec_schema *
ax_codec_schema_at(const struct ax_codec *c, size_t i)
{
	return i < c->n ? &c->schemas[i] : NULL;
}

const struct ax_codec_schema *
ax_codec_current(const struct ax_codec *c, enum ax_family f)
{
	return (unsigned)f < AX_FAMILY_COUNT ? c->current[f] : NULL;
}

const struct ax_codec_schema *
ax_codec_find(const struct ax_codec *c, uint64_t fp)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->schemas[i].schema->fingerprint == fp)
			return &c->schemas[i];
	return NULL;
}

/* ---- decoding -------------------------------------------------------------------------- */

int
ax_decoder_new(struct ax_decoder **out, const struct ax_codec *c, struct ax_err *err)
{
	static const char empty[1] = { 0 };
	struct ax_decoder *d;
	int rc = AX_OK;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ax_err_set(err, AX_ERR, "out of memory creating an avro decoder");
	d->c = c;
	if ((d->reader = avro_reader_memory(empty, 0)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory creating an avro reader");
		goto out;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct slot *s = &d->slots[i];

		if ((s->iface = avro_generic_class_from_schema(c->avro[i])) == NULL) {
			rc = ax_err_set(err, AX_ERR,
			    "could not create an avro-c class for schema %s", c->schemas[i].file);
			goto out;
		}
	}
	*out = d;
	d = NULL;
out:
	ax_decoder_free(d);
	return rc;
}

void
ax_decoder_free(struct ax_decoder *d)
{
	if (d == NULL)
		return;
	ax_decoder_release(d);
	for (size_t i = 0; i < AX_CODEC_SCHEMAS_MAX; i++) {
		if (d->slots[i].iface)
			avro_value_iface_decref(d->slots[i].iface);
	}
	if (d->reader)
		avro_reader_free(d->reader);
	free(d);
}

void
ax_decoder_release(struct ax_decoder *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < AX_CODEC_SCHEMAS_MAX; i++)
		if (d->slots[i].ready) {
			avro_value_decref(&d->slots[i].value);
			d->slots[i].ready = false;
		}
}

/* Refuse a message whose field (at path) is valid Avro but not a valid command. */
static int
field_error(struct ax_err *err, const char *prefix, const char *name, const char *what)
{
	ax_err_clear(err);
	err->code = AX_EINVAL;
	err->lib_code = AX_AVRO_E_FIELD;
	snprintf(err->msg, sizeof(err->msg), "invalid command: field %s%s%s", prefix,
	    prefix[0] ? "." : "", name);
	ax_err_detail(err, "%s", what);
	return AX_EINVAL;
}

/* The branch value of the ["null", T] union value v: false when it holds null. */
static bool
optional_value(avro_value_t *v, avro_value_t *branch)
{
	int disc = 0;

	if (avro_value_get_discriminant(v, &disc) != 0 || disc == 0)
		return false;
	return avro_value_get_current_branch(v, branch) == 0;
}

/* Fill C field f at base from the writer's value v (already validated). */
static int
fill_value(
    const struct fdesc *f, avro_value_t *v, uint8_t *base, const char *prefix, struct ax_err *err)
{
	void *dst = base + f->off;
	avro_value_t br;
	const char *s;
	const void *p;
	size_t size;
	int64_t l;
	int32_t i32;
	int b, e;

	switch (f->kind) {
	case FK_STR:
	case FK_UUID:
		if (avro_value_get_type(v) != AVRO_STRING ||
		    avro_value_get_string(v, &s, &size) != 0 || size == 0)
			return field_error(err, prefix, f->name, "is not a string");
		if (f->kind == FK_STR) {
			*(const char **)dst = s;
			return AX_OK;
		}
		if (!ax_uuid_parse(dst, s, size - 1))
			return field_error(
			    err, prefix, f->name, "is not a UUID in its 36-character text form");
		return AX_OK;
	case FK_OPT_STR:
		*(const char **)dst = NULL;
		if (avro_value_get_type(v) == AVRO_UNION) {
			if (!optional_value(v, &br))
				return AX_OK;
			v = &br;
		}
		if (avro_value_get_type(v) != AVRO_STRING ||
		    avro_value_get_string(v, &s, &size) != 0 || size == 0)
			return field_error(err, prefix, f->name, "is not a string or null");
		*(const char **)dst = s;
		return AX_OK;
	case FK_LONG:
		if (avro_value_get_type(v) != AVRO_INT64 || avro_value_get_long(v, &l) != 0)
			return field_error(err, prefix, f->name, "is not a long");
		*(int64_t *)dst = l;
		return AX_OK;
	case FK_OPT_TIME:
		((struct ax_opt_time *)dst)->present = false;
		((struct ax_opt_time *)dst)->us = 0;
		if (avro_value_get_type(v) == AVRO_UNION) {
			if (!optional_value(v, &br))
				return AX_OK;
			v = &br;
		}
		if (avro_value_get_type(v) != AVRO_INT64 || avro_value_get_long(v, &l) != 0)
			return field_error(err, prefix, f->name, "is not a long or null");
		((struct ax_opt_time *)dst)->present = true;
		((struct ax_opt_time *)dst)->us = l;
		return AX_OK;
	case FK_INT:
		if (avro_value_get_type(v) != AVRO_INT32 || avro_value_get_int(v, &i32) != 0)
			return field_error(err, prefix, f->name, "is not an int");
		*(int32_t *)dst = i32;
		return AX_OK;
	case FK_BOOL:
		if (avro_value_get_type(v) != AVRO_BOOLEAN || avro_value_get_boolean(v, &b) != 0)
			return field_error(err, prefix, f->name, "is not a boolean");
		*(bool *)dst = b != 0;
		return AX_OK;
	case FK_BYTES:
	case FK_OPT_BYTES:
		((struct ax_bytes *)dst)->p = NULL;
		((struct ax_bytes *)dst)->len = 0;
		if (f->kind == FK_OPT_BYTES) {
			*(bool *)(base + f->off2) = false;
			if (avro_value_get_type(v) == AVRO_UNION) {
				if (!optional_value(v, &br))
					return AX_OK;
				v = &br;
			}
		}
		if (avro_value_get_type(v) != AVRO_BYTES || avro_value_get_bytes(v, &p, &size) != 0)
			return field_error(err, prefix, f->name, "is not bytes");
		((struct ax_bytes *)dst)->p = size ? p : NULL;
		((struct ax_bytes *)dst)->len = size;
		if (f->kind == FK_OPT_BYTES)
			*(bool *)(base + f->off2) = true;
		return AX_OK;
	case FK_ENUM:
		if (avro_value_get_type(v) != AVRO_ENUM || avro_value_get_enum(v, &e) != 0 ||
		    (s = avro_schema_enum_get(avro_value_get_schema(v), e)) == NULL)
			return field_error(err, prefix, f->name, "is not an enum");
		for (int i = 0; f->symbols[i]; i++)
			if (strcmp(f->symbols[i], s) == 0) {
				*(int *)dst = i;
				return AX_OK;
			}
		return field_error(err, prefix, f->name, "has a symbol this version does not know");
	}
	return field_error(err, prefix, f->name, "has an unsupported kind");
}

/* Fill the table f[0..n) at base from the writer's record rec; cur is the current record. */
static int
fill_record(const struct fdesc *f, size_t n, avro_value_t *rec, const struct ax_avro_node *cur,
    uint8_t *base, const char *prefix, struct ax_err *err)
{
	for (size_t i = 0; i < n; i++) {
		avro_value_t v;
		int rc;

		if (avro_value_get_by_name(rec, f[i].name, &v, NULL) == 0) {
			if ((rc = fill_value(&f[i], &v, base, prefix, err)) != AX_OK)
				return rc;
			continue;
		}
		/* the writer's revision has no such field: the current schema's default */
		{
			const struct ax_avro_field *af = ax_avro_record_field(cur, f[i].name);

			if (af == NULL || af->default_json == NULL ||
			    !fill_default(&f[i], af->default_json, base))
				return field_error(
				    err, prefix, f[i].name, "is missing and has no default");
		}
	}
	return AX_OK;
}

int
ax_decode(struct ax_decoder *d, enum ax_family f, const uint8_t *buf, size_t len,
    struct ax_message *msg, struct ax_err *err)
{
	const struct ax_codec *c = d->c;
	const struct ax_codec_schema *cs;
	struct slot *s;
	avro_value_t payload, branch;
	const struct ax_avro_field *wpay;
	const char *bname;
	char prefix[96];
	uint64_t fp = 0;
	int disc, rc;
	char probe;
	size_t idx;

	memset(msg, 0, sizeof(*msg));
	if (len > c->lim.max_message)
		return ax_avro_refuse(err, AX_AVRO_E_TOO_LARGE, 0,
		    "invalid avro message: %zu bytes is above the limit of %zu", len,
		    c->lim.max_message);
	if (len < AX_AVRO_SOE_HEADER_LEN)
		return ax_avro_refuse(err, AX_AVRO_E_SHORT_HEADER, 0,
		    "invalid avro message: %zu bytes is shorter than the 10-byte single-object "
		    "header",
		    len);
	if (buf[0] != 0xc3 || buf[1] != 0x01)
		return ax_avro_refuse(err, AX_AVRO_E_MAGIC, 0,
		    "invalid avro message: starts with %02x %02x, not the single-object marker c3 "
		    "01",
		    buf[0], buf[1]);
	for (int i = 7; i >= 0; i--)
		fp = fp << 8 | buf[2 + i];
	if ((cs = ax_codec_find(c, fp)) == NULL) {
		rc = ax_avro_refuse(err, AX_AVRO_E_UNKNOWN_FINGERPRINT, 2,
		    "invalid avro message: no known schema has fingerprint %016llx",
		    (unsigned long long)fp);
		ax_err_hint(err, "the producer writes with a schema that is not in schemas/avro");
		return rc;
	}
	if (cs->family != f)
		return ax_avro_refuse(err, AX_AVRO_E_WRONG_SCHEMA, 2,
		    "invalid avro message: written with the %s schema, but this is the %s topic",
		    family_names[cs->family], family_names[f]);
	if ((rc = ax_avro_validate(cs->schema->root, buf + AX_AVRO_SOE_HEADER_LEN,
	         len - AX_AVRO_SOE_HEADER_LEN, AX_AVRO_SOE_HEADER_LEN, &c->lim, err)) != AX_OK)
		return rc;

	idx = (size_t)(cs - c->schemas);
	s = &d->slots[idx];
	avro_reader_memory_set_source(d->reader, (const char *)buf + AX_AVRO_SOE_HEADER_LEN,
	    (int64_t)(len - AX_AVRO_SOE_HEADER_LEN));
	/* a fresh value per message, the previous message's released first: messages hold
	 * no memory of each other, and a failed read leaves nothing behind */
	ax_decoder_release(d);
	if (avro_generic_value_new(s->iface, &s->value) != 0)
		return ax_err_set(err, AX_ERR, "out of memory decoding an avro message");
	s->ready = true;
	if ((rc = avro_value_read(d->reader, &s->value)) != 0)
		return ax_avro_refuse(err, AX_AVRO_E_DECODE, AX_AVRO_SOE_HEADER_LEN,
		    "invalid avro message: avro-c refused it after validation (code %d)", rc);
	if (avro_read(d->reader, &probe, 1) == 0) /* is_eof does not work on memory readers */
		return ax_avro_refuse(err, AX_AVRO_E_TRAILING, AX_AVRO_SOE_HEADER_LEN,
		    "invalid avro message: bytes are left after the value");

	msg->family = f;
	msg->fingerprint = fp;
	msg->revision = cs->revision;
	if ((rc = fill_record(envelopes[f].f, envelopes[f].n, &s->value, c->cur_root[f],
	         (uint8_t *)msg, "", err)) != AX_OK)
		return rc;
	if (avro_value_get_by_name(&s->value, "payload", &payload, NULL) != 0 ||
	    avro_value_get_discriminant(&payload, &disc) != 0 ||
	    avro_value_get_current_branch(&payload, &branch) != 0)
		return field_error(err, "", "payload", "is missing or not a union");
	/* the branch's name comes from our own compiled writer schema, not from avro-c */
	wpay = ax_avro_record_field(cs->schema->root, "payload");
	if (wpay == NULL || wpay->type->type != AX_AVRO_UNION || disc < 0 ||
	    (size_t)disc >= wpay->type->n || (bname = wpay->type->branches[disc]->fullname) == NULL)
		return field_error(err, "", "payload", "is not a union of records");
	for (int k = 1; k < AX_KIND_COUNT; k++) {
		if (kinds[k].family != f || strcmp(kinds[k].fullname, bname) != 0)
			continue;
		msg->kind = (enum ax_kind)k;
		snprintf(prefix, sizeof(prefix), "payload<%s>", wpay->type->branches[disc]->name);
		return fill_record(kinds[k].f, kinds[k].n, &branch, c->cur_rec[k],
		    (uint8_t *)&msg->u, prefix, err);
	}
	return field_error(err, "", "payload", "holds a branch this version does not know");
}

/* ---- back to JSON ---------------------------------------------------------------------- */

/* The JSON of bytes b (lower-case hex); NULL when out of memory. */
static json_t *
bytes_json(const struct ax_bytes *b)
{
	return ax_json_hex(b->p, b->len);
}

/* Add the fields of table f[0..n) at base to object o; false when out of memory. */
static bool
table_to_json(json_t *o, const struct fdesc *f, size_t n, const uint8_t *base)
{
	for (size_t i = 0; i < n; i++) {
		const void *src = base + f[i].off;
		char uuid[37];
		json_t *j = NULL;

		switch (f[i].kind) {
		case FK_STR:
		case FK_OPT_STR:
			j = *(const char *const *)src ? json_string(*(const char *const *)src)
			                              : json_null();
			break;
		case FK_UUID:
			ax_uuid_format(uuid, src);
			j = json_string(uuid);
			break;
		case FK_LONG:
			j = json_integer(*(const int64_t *)src);
			break;
		case FK_OPT_TIME:
			j = ((const struct ax_opt_time *)src)->present
			        ? json_integer(((const struct ax_opt_time *)src)->us)
			        : json_null();
			break;
		case FK_INT:
			j = json_integer(*(const int32_t *)src);
			break;
		case FK_BOOL:
			j = json_boolean(*(const bool *)src);
			break;
		case FK_BYTES:
			j = bytes_json(src);
			break;
		case FK_OPT_BYTES:
			j = *(const bool *)(base + f[i].off2) ? bytes_json(src) : json_null();
			break;
		case FK_ENUM:
			j = json_string(f[i].symbols[*(const int *)src]);
			break;
		}
		if (j == NULL || json_object_set_new(o, f[i].name, j) != 0)
			return false;
	}
	return true;
}

json_t *
ax_message_to_json(const struct ax_message *m)
{
	json_t *o = json_object(), *payload = json_object(), *fields = json_object();

	if (o == NULL || payload == NULL || fields == NULL ||
	    (unsigned)m->family >= AX_FAMILY_COUNT || m->kind <= AX_KIND_NONE ||
	    m->kind >= AX_KIND_COUNT)
		goto fail;
	if (!table_to_json(o, envelopes[m->family].f, envelopes[m->family].n, (const uint8_t *)m) ||
	    !table_to_json(fields, kinds[m->kind].f, kinds[m->kind].n, (const uint8_t *)&m->u))
		goto fail;
	if (json_object_set_new(payload, ax_kind_name(m->kind), fields) != 0) {
		fields = NULL;
		goto fail;
	}
	fields = NULL;
	if (json_object_set_new(o, "payload", payload) != 0) {
		payload = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(fields);
	json_decref(payload);
	json_decref(o);
	return NULL;
}
