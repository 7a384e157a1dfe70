/*
 * ax_codec.h - the event contract in C: decoding single-object-encoded Avro commands and
 * audit events into structs, and encoding them from JSON.
 *
 * A struct ax_codec knows every revision of every topic's schema (the files embedded from
 * schemas/avro, ax_schemas.h), keyed by fingerprint. Decoding one message is:
 *   1. size cap, magic C3 01, fingerprint lookup (ax_codec_decode);
 *   2. the bounded pre-validator over the body (ax_avro_validate.h);
 *   3. avro-c decoding with the exact writer schema (never a resolver: avro-c 1.11.1 has no
 *      reader defaults and avro_resolved_reader_new can crash on a mismatch);
 *   4. mapping fields by name into struct ax_message, where a field the writer did not
 *      have takes the default written in the current schema (schema evolution in our code).
 *
 * Invariants:
 *  (1) a struct ax_codec is immutable after ax_codec_new: any number of threads share one;
 *  (2) a struct ax_decoder belongs to one thread; the strings and bytes of a decoded
 *      message are borrowed from it and stay valid until its next decode or its free;
 *  (3) at ax_codec_new every earlier revision is checked against the current one (fields
 *      the current revision added have defaults; a union keeps its branches in order and
 *      only grows at the end) and every C field below exists in the current schema: a
 *      contract that breaks these rules does not load;
 *  (4) every refusal of a message is AX_EINVAL with err->lib_code an enum ax_avro_reason
 *      and a message naming the byte offset and field; avro_strerror is never consulted
 *      per message (it is one process-global buffer in Debian's build).
 */
#ifndef AX_CODEC_H
#define AX_CODEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_avro_schema.h"
#include "ax_avro_validate.h"
#include "ax_err.h"
#include "ax_uuid.h" /* AX_UUID_LEN, ax_uuid_parse and ax_uuid_format, for the codec's users */

#define AX_CODEC_SCHEMAS_MAX 32 /* schema revisions a codec holds, all families together */

enum ax_family { AX_FAMILY_CONTROL, AX_FAMILY_DATA, AX_FAMILY_AUDIT, AX_FAMILY_COUNT };

/* What a message is: one value per union branch of the three schemas. */
enum ax_kind {
	AX_KIND_NONE = 0,
	/* control */
	AX_KIND_USER_ENROLL,
	AX_KIND_USER_DEACTIVATE,
	AX_KIND_GRANT,
	AX_KIND_GRANT_REVOKE,
	AX_KIND_DELEGATE,
	AX_KIND_DELEGATION_REVOKE,
	AX_KIND_FACTOR_REGISTER,
	AX_KIND_FACTOR_REVOKE,
	AX_KIND_SIGNING_POLICY,
	AX_KIND_RECORD_TYPE_CONFIG,
	AX_KIND_TICK,
	/* data */
	AX_KIND_CREATE_RECORD,
	AX_KIND_NEW_VERSION,
	AX_KIND_LIFECYCLE_TRANSITION,
	AX_KIND_PROPOSE_CHANGE,
	AX_KIND_SUBMIT_CHANGE,
	AX_KIND_REVIEW_CHANGE,
	AX_KIND_APPROVE_CHANGE,
	AX_KIND_REJECT_CHANGE,
	AX_KIND_APPLY_CHANGE,
	AX_KIND_SIGN,
	/* audit */
	AX_KIND_OUTCOME,
	AX_KIND_CHECKPOINT,
	/* control, revision 3 */
	AX_KIND_SCOPE_DEFINE,
	AX_KIND_COUNT
};

/*
 * Avro enum symbols as C values: the index of the symbol in the current schema (0-based).
 * Not to be confused with ax_intent.h's enum ax_meaning, whose stable values start at 1
 * (ax_intent's value = AX_CMD_MEANING_x + 1).
 */
enum ax_cmd_delegation_kind { AX_CMD_DELEGATION_HORIZONTAL, AX_CMD_DELEGATION_VERTICAL };
enum ax_cmd_factor_type {
	AX_CMD_FACTOR_FIDO2,
	AX_CMD_FACTOR_PASSWORD_ATTESTOR,
	AX_CMD_FACTOR_OIDC
};
enum ax_cmd_meaning {
	AX_CMD_MEANING_AUTHORSHIP,
	AX_CMD_MEANING_REVIEW,
	AX_CMD_MEANING_APPROVAL,
	AX_CMD_MEANING_RESPONSIBILITY
};
enum ax_audit_decision {
	AX_AUDIT_DECISION_ACCEPTED,
	AX_AUDIT_DECISION_REJECTED,
	AX_AUDIT_DECISION_QUARANTINED
};
/* Outcome.kind (audit revision 3): what the decided message was. */
enum ax_audit_kind { AX_AUDIT_KIND_COMMAND, AX_AUDIT_KIND_TICK };

/* A byte string borrowed from the decoder. */
struct ax_bytes {
	const uint8_t *p;
	size_t len;
};

/* An optional timestamp (microseconds since the epoch). */
struct ax_opt_time {
	bool present;
	int64_t us;
};

/* Strings below are NUL-terminated UTF-8 without embedded NUL, borrowed from the decoder. */
struct ax_cmd_user_enroll {
	const char *user_id, *display_name;
	bool administrator;  /* revision 3; false for earlier writers */
	const char *db_role; /* revision 3; NULL when none */
};
struct ax_cmd_user_deactivate {
	const char *user_id;
};
struct ax_cmd_grant {
	uint8_t grant_id[AX_UUID_LEN];
	const char *user_id, *facility, *domain, *access_level;
	struct ax_opt_time expires_at;
};
struct ax_cmd_grant_revoke {
	uint8_t grant_id[AX_UUID_LEN];
};
struct ax_cmd_delegate {
	uint8_t delegation_id[AX_UUID_LEN], source_grant_id[AX_UUID_LEN];
	const char *delegatee;
	int kind; /* enum ax_cmd_delegation_kind */
	const char *facility, *access_level;
	int64_t expires_at;
};
struct ax_cmd_delegation_revoke {
	uint8_t delegation_id[AX_UUID_LEN];
};
struct ax_cmd_factor_register {
	uint8_t factor_id[AX_UUID_LEN];
	int factor_type; /* enum ax_cmd_factor_type */
	const char *user_id;
	struct ax_bytes credential_id, public_key;
	int32_t cose_alg;
	const char *issuer, *jwks;
};
struct ax_cmd_factor_revoke {
	uint8_t factor_id[AX_UUID_LEN];
};
struct ax_cmd_signing_policy {
	const char *record_type;
	int meaning; /* enum ax_cmd_meaning */
	bool require_fido2, require_oidc, require_password;
};
struct ax_cmd_record_type_config {
	const char *record_type;
	bool review_required;
	const char *description;
	const char *domain; /* revision 3; "" for earlier writers */
	const char *gate;   /* revision 3; "" for earlier writers */
};
enum ax_cmd_scope_kind { AX_CMD_SCOPE_FACILITY, AX_CMD_SCOPE_DOMAIN };
struct ax_cmd_scope_define { /* revision 3 */
	int kind;            /* enum ax_cmd_scope_kind */
	const char *key, *name;
};
struct ax_cmd_tick {
	int32_t requested_by_partition;
};
struct ax_cmd_create_record {
	const char *record_type, *facility, *domain, *content;
	const char *record_id, *title; /* revision 3; "" for earlier writers */
};
struct ax_cmd_new_version {
	int64_t base_version;
	const char *content;
	const char *record_id, *title; /* revision 3; "" for earlier writers */
};
struct ax_cmd_lifecycle_transition {
	int64_t version;
	const char *from_state, *to_state;
};
struct ax_cmd_propose_change {
	uint8_t change_id[AX_UUID_LEN];
	int64_t base_version;
	const char *content;
	const char *title; /* revision 3; "" for earlier writers */
};
struct ax_cmd_change_ref { /* submit, approve, reject */
	uint8_t change_id[AX_UUID_LEN];
};
struct ax_cmd_apply_change {
	uint8_t change_id[AX_UUID_LEN];
	const char *record_id; /* revision 3; "" for earlier writers */
};
struct ax_cmd_review_change {
	uint8_t change_id[AX_UUID_LEN];
	const char *comment;
};
struct ax_cmd_sign {
	int64_t version;
	struct ax_bytes record_hash;
	int meaning; /* enum ax_cmd_meaning */
	struct ax_bytes nonce;
	uint8_t factor_id[AX_UUID_LEN];
	struct ax_bytes client_data, authenticator_data, signature;
	const char *id_token;
	const char *comment; /* NULL when none (revision 2; NULL for revision 1 writers) */
};
struct ax_audit_outcome {
	uint8_t command_id[AX_UUID_LEN];
	const char *topic;
	int32_t partition;
	int64_t offset, event_time;
	int decision; /* enum ax_audit_decision */
	const char *reason_code, *reason_detail;
	bool has_record_hash;
	struct ax_bytes record_hash, payload_hash;
	int64_t ledger_seq;
	struct ax_bytes ledger_hash;
	const char *actor;                   /* NULL when none (revision 2; NULL for revision 1) */
	struct ax_bytes previous_entry_hash; /* revision 2; empty for revision 1 writers */
	int kind; /* enum ax_audit_kind; revision 3, COMMAND for earlier writers (even a tick) */
};
struct ax_audit_checkpoint {
	const char *topic;
	int32_t partition;
	int64_t ledger_seq;
	struct ax_bytes ledger_hash;
	int64_t signed_at;
	uint8_t key_id[AX_UUID_LEN];
	struct ax_bytes signature;
};

/* One decoded message: the envelope (commands only) and the payload of its kind. */
struct ax_message {
	enum ax_family family;
	enum ax_kind kind;
	uint64_t fingerprint; /* the writer schema's */
	int revision;         /* the writer schema's revision of its family, from 1 */
	/* envelope of control and data commands */
	uint8_t command_id[AX_UUID_LEN];
	const char *actor;
	int64_t issued_at; /* microseconds since the epoch, client clock */
	const char *reason;
	uint8_t lineage_id[AX_UUID_LEN]; /* data commands: the record lineage (message key) */
	const char *source_system;       /* "" for revision 1 writers */
	union {
		struct ax_cmd_user_enroll user_enroll;
		struct ax_cmd_user_deactivate user_deactivate;
		struct ax_cmd_grant grant;
		struct ax_cmd_grant_revoke grant_revoke;
		struct ax_cmd_delegate delegate;
		struct ax_cmd_delegation_revoke delegation_revoke;
		struct ax_cmd_factor_register factor_register;
		struct ax_cmd_factor_revoke factor_revoke;
		struct ax_cmd_signing_policy signing_policy;
		struct ax_cmd_record_type_config record_type_config;
		struct ax_cmd_tick tick;
		struct ax_cmd_create_record create_record;
		struct ax_cmd_new_version new_version;
		struct ax_cmd_lifecycle_transition lifecycle_transition;
		struct ax_cmd_propose_change propose_change;
		struct ax_cmd_change_ref submit_change, approve_change, reject_change;
		struct ax_cmd_apply_change apply_change;
		struct ax_cmd_scope_define scope_define;
		struct ax_cmd_review_change review_change;
		struct ax_cmd_sign sign;
		struct ax_audit_outcome outcome;
		struct ax_audit_checkpoint checkpoint;
	} u;
};

/* One schema revision the codec knows. */
struct ax_codec_schema {
	enum ax_family family;
	int revision; /* 1, 2, ... in file order; the current file has the highest */
	bool current;
	const char *file; /* "history/control.v1.avsc" */
	struct ax_avro_schema *schema;
};

struct ax_codec;
struct ax_decoder;

/*
 * Load every embedded schema (ax_schemas.h), check the evolution rules and the C mapping
 * (invariant 3). *out is owned by the caller (ax_codec_free). lim may be NULL (defaults).
 */
int ax_codec_new(struct ax_codec **out, const struct ax_avro_limits *lim, struct ax_err *err);

/* Free c; NULL is a no-op. Every decoder of c must be freed first. */
void ax_codec_free(struct ax_codec *c);

/* The number of schema revisions c holds, and the i-th of them (borrowed). */
size_t ax_codec_schema_count(const struct ax_codec *c);
const struct ax_codec_schema *ax_codec_schema_at(const struct ax_codec *c, size_t i);

/* The current revision of family f (borrowed). */
const struct ax_codec_schema *ax_codec_current(const struct ax_codec *c, enum ax_family f);

/* The revision with fingerprint fp, or NULL (borrowed). */
const struct ax_codec_schema *ax_codec_find(const struct ax_codec *c, uint64_t fp);

/*
 * Check the evolution policy: every value written with old can be read as cur (fields cur
 * added have defaults, unions and enums only grow at the end, nothing changes type or
 * name). AX_OK, or AX_EINVAL naming the first offending path.
 */
int ax_codec_check_evolution(
    const struct ax_avro_schema *old, const struct ax_avro_schema *cur, struct ax_err *err);

/* The family's name ("control", "data", "audit"), and a kind's schema name ("UserEnroll"). */
const char *ax_family_name(enum ax_family f);
const char *ax_kind_name(enum ax_kind k);

/* A decoder for one thread, using c (which must outlive it). *out owned by the caller. */
int ax_decoder_new(struct ax_decoder **out, const struct ax_codec *c, struct ax_err *err);

/* Free d; NULL is a no-op. */
void ax_decoder_free(struct ax_decoder *d);

/* Release the memory of d's last decoded message (its strings become invalid); NULL no-op. */
void ax_decoder_release(struct ax_decoder *d);

/*
 * Decode one framed message buf[0..len) expected to be of family f into *msg (whose
 * strings are borrowed from d until its next decode). AX_OK, or AX_EINVAL with
 * err->lib_code an enum ax_avro_reason (invariant 4), or AX_ERR when out of memory.
 */
int ax_decode(struct ax_decoder *d, enum ax_family f, const uint8_t *buf, size_t len,
    struct ax_message *msg, struct ax_err *err);

/*
 * Encode the JSON value v as one framed message of schema revision cs, into a new buffer
 * *out of *out_len bytes (caller frees with free()). JSON form: a record is an object
 * (a missing field takes the schema default, an unknown field is an error), a union of
 * null and one type is null or the value, any other union is {"BranchName": value},
 * bytes are lower-case hex, an enum is its symbol, a uuid is its 36-character text.
 * AX_EINVAL names the JSON path of the first problem ("payload.Grant.user_id").
 */
int ax_encode_json(const struct ax_codec_schema *cs, const json_t *v,
    const struct ax_avro_limits *lim, uint8_t **out, size_t *out_len, struct ax_err *err);

/*
 * The JSON form (as ax_encode_json reads it) of decoded message m, every field of the
 * current schema present: a new reference owned by the caller, NULL when out of memory.
 */
json_t *ax_message_to_json(const struct ax_message *m);

/* The JSON form of bytes p[0..n): a string of lower-case hex (ax_hex.h), a new reference
 * owned by the caller; NULL when out of memory. */
json_t *ax_json_hex(const uint8_t *p, size_t n);

#endif
