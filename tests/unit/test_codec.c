/*
 * test_codec.c - the event contract end to end (ax_codec.h): encoding every example
 * command, decoding it back, decoding fixtures that fastavro wrote with every revision of
 * every schema, defaults for fields older revisions lack, and the evolution rules.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_codec.h"

static struct ax_codec *codec;
static struct ax_decoder *dec;

static void
setup(void)
{
	struct ax_err err;

	ck_assert_msg(ax_codec_new(&codec, NULL, &err) == AX_OK, "%s: %s", err.msg, err.detail);
	ck_assert_int_eq(ax_decoder_new(&dec, codec, &err), AX_OK);
}

static void
teardown(void)
{
	ax_decoder_free(dec);
	ax_codec_free(codec);
	dec = NULL;
	codec = NULL;
}

/* Path of file rel under the test data directory. */
static void
data_path(char *out, size_t cap, const char *rel)
{
	const char *dir = getenv("AXIOM_TEST_DATA");

	ck_assert_ptr_nonnull(dir);
	snprintf(out, cap, "%s/%s", dir, rel);
}

/* Read a whole (small) file into a malloc'd buffer. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	return buf;
}

/* The family whose current schema has a payload branch named like the example's. */
static enum ax_family
family_of(const json_t *cmd)
{
	const char *branch =
	    json_object_iter_key(json_object_iter(json_object_get(cmd, "payload")));
	char full[128];

	snprintf(full, sizeof(full), "axiom.v1.%s", branch);
	for (int f = 0; f < AX_FAMILY_COUNT; f++) {
		const struct ax_avro_node *root = ax_codec_current(codec, f)->schema->root;

		if (ax_avro_union_branch(ax_avro_record_field(root, "payload")->type, full) >= 0)
			return (enum ax_family)f;
	}
	ck_abort_msg("no family has branch %s", branch);
	return AX_FAMILY_COUNT;
}

/* Load examples.jsonl as a JSON array. */
static json_t *
examples(void)
{
	char path[4096], line[8192];
	json_t *all = json_array();
	FILE *fp;

	data_path(path, sizeof(path), "avro/examples.jsonl");
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp)) {
		json_error_t je;
		json_t *v = json_loads(line, 0, &je);

		ck_assert_msg(v != NULL, "%s", je.text);
		json_array_append_new(all, v);
	}
	fclose(fp);
	return all;
}

/* Encode ex with the current schema of its family. */
static void
encode(const json_t *ex, uint8_t **buf, size_t *len)
{
	struct ax_err err;

	ck_assert_msg(ax_encode_json(ax_codec_current(codec, family_of(ex)), ex, NULL, buf, len,
	                  &err) == AX_OK,
	    "%s", err.msg);
}

START_TEST(test_every_example_round_trips_through_encode_and_decode)
{
	json_t *all = examples();
	size_t i;
	json_t *ex;
	int seen[AX_KIND_COUNT] = { 0 };

	json_array_foreach(all, i, ex)
	{
		struct ax_message m;
		struct ax_err err;
		uint8_t *buf;
		size_t len;
		enum ax_family f = family_of(ex);

		encode(ex, &buf, &len);
		ck_assert_msg(ax_decode(dec, f, buf, len, &m, &err) == AX_OK, "example %zu: %s %s",
		    i, err.msg, err.detail);
		ck_assert_int_eq(m.family, f);
		ck_assert_int_eq(m.revision, 3);
		ck_assert_str_eq(ax_kind_name(m.kind),
		    json_object_iter_key(json_object_iter(json_object_get(ex, "payload"))));
		seen[m.kind]++;
		if (f != AX_FAMILY_AUDIT) {
			char id[37];

			ax_uuid_format(id, m.command_id);
			ck_assert_str_eq(id, json_string_value(json_object_get(ex, "command_id")));
			ck_assert_str_eq(m.actor, json_string_value(json_object_get(ex, "actor")));
			ck_assert_str_eq(
			    m.reason, json_string_value(json_object_get(ex, "reason")));
			ck_assert_int_eq(
			    m.issued_at, json_integer_value(json_object_get(ex, "issued_at")));
			ck_assert_str_eq(m.source_system,
			    json_object_get(ex, "source_system")
			        ? json_string_value(json_object_get(ex, "source_system"))
			        : "");
		}
		free(buf);
	}
	for (int k = 1; k < AX_KIND_COUNT; k++)
		ck_assert_msg(seen[k] >= 1, "kind %s seen %d times", ax_kind_name(k), seen[k]);
	json_decref(all);
}
END_TEST

START_TEST(test_decoded_payload_fields_keep_their_values)
{
	json_t *all = examples();
	struct ax_message m;
	struct ax_err err;
	char id[37];
	uint8_t *buf;
	size_t len;

	encode(json_array_get(all, 2), &buf, &len); /* Grant */
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_CONTROL, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.kind, AX_KIND_GRANT);
	ax_uuid_format(id, m.u.grant.grant_id);
	ck_assert_str_eq(id, "9f1d2a10-0000-4000-8000-000000000001");
	ck_assert_str_eq(m.u.grant.access_level, "author");
	ck_assert(m.u.grant.expires_at.present);
	ck_assert_int_eq(m.u.grant.expires_at.us, 1795939200000000LL);
	free(buf);

	encode(json_array_get(all, 6), &buf, &len); /* FactorRegister */
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_CONTROL, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.u.factor_register.factor_type, AX_CMD_FACTOR_FIDO2);
	ck_assert_int_eq(m.u.factor_register.cose_alg, -7);
	ck_assert_uint_eq(m.u.factor_register.credential_id.len, 8);
	ck_assert_uint_eq(m.u.factor_register.credential_id.p[0], 0xa1);
	ck_assert_uint_eq(m.u.factor_register.issuer[0], '\0');
	free(buf);

	encode(json_array_get(all, 11), &buf, &len); /* CreateRecord, with non-ASCII content */
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_DATA, buf, len, &m, &err), AX_OK);
	ax_uuid_format(id, m.lineage_id);
	ck_assert_str_eq(id, "5e0d6a8e-1111-4222-8333-444455556666");
	ck_assert_ptr_nonnull(strstr(m.u.create_record.content, "Grüße – µ"));
	free(buf);

	encode(json_array_get(all, 20), &buf, &len); /* Sign */
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_DATA, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.u.sign.meaning, AX_CMD_MEANING_APPROVAL);
	ck_assert_uint_eq(m.u.sign.record_hash.len, 32);
	ck_assert_uint_eq(m.u.sign.authenticator_data.len, 0);
	ck_assert_str_eq(m.u.sign.comment, "approved per SOP-0042");
	free(buf);

	encode(json_array_get(all, 21), &buf, &len); /* Outcome */
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_AUDIT, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.u.outcome.decision, AX_AUDIT_DECISION_REJECTED);
	ck_assert(!m.u.outcome.has_record_hash);
	ck_assert_int_eq(m.u.outcome.ledger_seq, 42);
	free(buf);
	json_decref(all);
}
END_TEST

/* Decode every fixture in fixtures/<dir>; returns how many. */
static int
decode_fixture_dir(const char *dir, enum ax_family f, int revision, struct ax_message *last_sign)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int n = 0;

	{
		char rel[256];

		snprintf(rel, sizeof(rel), "avro/fixtures/%s", dir);
		data_path(path, sizeof(path), rel);
	}
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		char file[8192];
		struct ax_message m;
		struct ax_err err;
		uint8_t *buf;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		buf = slurp(file, &len);
		ck_assert_msg(ax_decode(dec, f, buf, len, &m, &err) == AX_OK, "%s: %s (%s)", file,
		    err.msg, err.detail);
		ck_assert_int_eq(m.revision, revision);
		ck_assert_ptr_nonnull(strstr(de->d_name, ax_kind_name(m.kind)));
		if (f != AX_FAMILY_AUDIT)
			ck_assert_ptr_nonnull(m.source_system);
		if (m.kind == AX_KIND_SIGN && last_sign) {
			*last_sign = m;
			/* strings are borrowed from the decoder: keep only what the test reads */
			last_sign->u.sign.comment = m.u.sign.comment ? "set" : NULL;
			last_sign->source_system = m.source_system[0] ? "set" : "";
		}
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_fixtures_of_every_schema_revision_decode)
{
	struct ax_message sign;

	ck_assert_int_eq(decode_fixture_dir("control.v1", AX_FAMILY_CONTROL, 1, NULL), 13);
	ck_assert_int_eq(decode_fixture_dir("control.v2", AX_FAMILY_CONTROL, 2, NULL), 13);
	ck_assert_int_eq(decode_fixture_dir("control.current", AX_FAMILY_CONTROL, 3, NULL), 14);
	ck_assert_int_eq(decode_fixture_dir("data.current", AX_FAMILY_DATA, 3, &sign), 11);
	ck_assert_str_eq(sign.u.sign.comment, "set");
	ck_assert_int_eq(decode_fixture_dir("data.v2", AX_FAMILY_DATA, 2, &sign), 11);
	ck_assert_str_eq(sign.u.sign.comment, "set");
	ck_assert_int_eq(decode_fixture_dir("data.v1", AX_FAMILY_DATA, 1, &sign), 11);
	ck_assert_int_eq(decode_fixture_dir("audit.current", AX_FAMILY_AUDIT, 3, NULL), 2);
	ck_assert_int_eq(decode_fixture_dir("audit.v2", AX_FAMILY_AUDIT, 2, NULL), 2);
	ck_assert_int_eq(decode_fixture_dir("audit.v1", AX_FAMILY_AUDIT, 1, NULL), 2);
}
END_TEST

START_TEST(test_a_revision_1_outcome_has_no_actor_and_no_previous_entry_hash)
{
	char path[4096];
	struct ax_message m;
	struct ax_err err;
	uint8_t *buf;
	size_t len;

	data_path(path, sizeof(path), "avro/fixtures/audit.v1/21-Outcome.bin");
	buf = slurp(path, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_AUDIT, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.revision, 1);
	ck_assert_int_eq(m.u.outcome.ledger_seq, 42);
	ck_assert_ptr_null(m.u.outcome.actor);
	ck_assert_uint_eq(m.u.outcome.previous_entry_hash.len, 0);
	free(buf);
}
END_TEST

START_TEST(test_a_revision_2_outcome_reads_as_kind_command)
{
	char path[4096];
	struct ax_message m;
	struct ax_err err;
	uint8_t *buf;
	size_t len;

	data_path(path, sizeof(path), "avro/fixtures/audit.v2/21-Outcome.bin");
	buf = slurp(path, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_AUDIT, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.revision, 2);
	ck_assert_int_eq(m.u.outcome.kind, AX_AUDIT_KIND_COMMAND);
	ck_assert_str_eq(m.u.outcome.actor, "alice");
	free(buf);
	data_path(path, sizeof(path), "avro/fixtures/audit.current/21-Outcome.bin");
	buf = slurp(path, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_AUDIT, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.revision, 3);
	ck_assert_int_eq(m.u.outcome.kind, AX_AUDIT_KIND_COMMAND);
	free(buf);
}
END_TEST

START_TEST(test_revision_1_messages_get_the_current_defaults)
{
	struct ax_message sign;
	char path[4096];
	struct ax_message m;
	struct ax_err err;
	uint8_t *buf;
	size_t len;

	ck_assert_int_eq(decode_fixture_dir("data.v1", AX_FAMILY_DATA, 1, &sign), 11);
	ck_assert_ptr_null(sign.u.sign.comment);
	ck_assert_str_eq(sign.source_system, "");

	data_path(path, sizeof(path), "avro/fixtures/control.v1/00-UserEnroll.bin");
	buf = slurp(path, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_CONTROL, buf, len, &m, &err), AX_OK);
	ck_assert_str_eq(m.source_system, "");
	ck_assert_str_eq(m.u.user_enroll.display_name, "Alice Martin");
	ck_assert(!m.u.user_enroll.administrator); /* revision 3 defaults */
	ck_assert_ptr_null(m.u.user_enroll.db_role);
	free(buf);

	data_path(path, sizeof(path), "avro/fixtures/data.v2/26-CreateRecord.bin");
	buf = slurp(path, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_DATA, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.revision, 2);
	ck_assert_str_eq(m.u.create_record.title, "");
	ck_assert_str_eq(m.u.create_record.record_id, "");
	free(buf);

	data_path(path, sizeof(path), "avro/fixtures/data.current/26-CreateRecord.bin");
	buf = slurp(path, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_DATA, buf, len, &m, &err), AX_OK);
	ck_assert_int_eq(m.revision, 3);
	ck_assert_str_eq(m.u.create_record.title, "SOP-00001 Balance cleaning");
	free(buf);
}
END_TEST

START_TEST(test_c_encoder_writes_the_same_bytes_as_fastavro)
{
	static const struct {
		int example;
		const char *fixture;
	} cases[] = {
		{ 0, "avro/fixtures/control.current/00-UserEnroll.bin" },
		{ 2, "avro/fixtures/control.current/02-Grant.bin" },
		{ 6, "avro/fixtures/control.current/06-FactorRegister.bin" },
		{ 11, "avro/fixtures/data.current/11-CreateRecord.bin" },
		{ 20, "avro/fixtures/data.current/20-Sign.bin" },
		{ 21, "avro/fixtures/audit.current/21-Outcome.bin" },
		{ 23, "avro/fixtures/control.current/23-ScopeDefine.bin" },
		{ 24, "avro/fixtures/control.current/24-UserEnroll.bin" },
		{ 26, "avro/fixtures/data.current/26-CreateRecord.bin" },
	};
	json_t *all = examples();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[4096];
		uint8_t *mine, *theirs;
		size_t mlen, tlen;

		encode(json_array_get(all, (size_t)cases[i].example), &mine, &mlen);
		data_path(path, sizeof(path), cases[i].fixture);
		theirs = slurp(path, &tlen);
		ck_assert_uint_eq(mlen, tlen);
		ck_assert_msg(memcmp(mine, theirs, mlen) == 0, "%s differs", cases[i].fixture);
		free(mine);
		free(theirs);
	}
	json_decref(all);
}
END_TEST

START_TEST(test_message_of_another_topic_is_refused)
{
	json_t *all = examples();
	struct ax_message m;
	struct ax_err err;
	uint8_t *buf;
	size_t len;

	encode(json_array_get(all, 0), &buf, &len);
	ck_assert_int_eq(ax_decode(dec, AX_FAMILY_DATA, buf, len, &m, &err), AX_EINVAL);
	ck_assert_int_eq(err.lib_code, AX_AVRO_E_WRONG_SCHEMA);
	free(buf);
	json_decref(all);
}
END_TEST

START_TEST(test_bad_uuid_is_refused_by_the_field_mapper)
{
	json_t *arr = examples(), *all;
	const struct ax_codec_schema *cs = ax_codec_current(codec, AX_FAMILY_CONTROL);
	struct ax_message m;
	struct ax_err err;
	uint8_t *buf;
	size_t len;

	all = json_deep_copy(json_array_get(arr, 1));
	json_object_set_new(all, "command_id", json_string("not-a-uuid-not-a-uuid-not-a-uuid-123"));
	/* the encoder refuses it ... */
	ck_assert_int_eq(ax_encode_json(cs, all, NULL, &buf, &len, &err), AX_EINVAL);
	ck_assert_str_eq(err.msg, "field command_id must be a UUID (8-4-4-4-12 hex digits)");
	/* ... and so does the decoder, when another producer sends it */
	{
		static const char body[] = "\x48not-a-uuid-not-a-uuid-not-a-uuid-123"
		                           "\x02"
		                           "a"
		                           "\x02\x02r\x02\x08user\x00";
		uint8_t msg[128];

		ax_avro_soe_header(msg, cs->schema->fingerprint);
		memcpy(msg + 10, body, sizeof(body) - 1);
		ck_assert_int_eq(
		    ax_decode(dec, AX_FAMILY_CONTROL, msg, 10 + sizeof(body) - 1, &m, &err),
		    AX_EINVAL);
		ck_assert_int_eq(err.lib_code, AX_AVRO_E_FIELD);
		ck_assert_str_eq(err.msg, "invalid command: field command_id");
	}
	json_decref(all);
	json_decref(arr);
}
END_TEST

START_TEST(test_encoder_names_the_path_of_missing_unknown_and_mistyped_fields)
{
	const struct ax_codec_schema *cs = ax_codec_current(codec, AX_FAMILY_CONTROL);
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\",\"actor\":\"a\","
		  "\"issued_at\":1,\"reason\":\"r\",\"payload\":{\"UserEnroll\":{\"user_id\":\"u\"}"
		  "}}",
		    "field payload.UserEnroll.display_name is missing" },
		{ "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\",\"actor\":\"a\","
		  "\"issued_at\":\"yesterday\",\"reason\":\"r\",\"payload\":{\"Tick\":"
		  "{\"requested_by_partition\":1}}}",
		    "field issued_at must be an integer (microseconds since "
		    "1970-01-01T00:00:00Z)" },
		{ "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\",\"actor\":\"a\","
		  "\"issued_at\":1,\"reason\":\"r\",\"colour\":1,\"payload\":{\"Tick\":"
		  "{\"requested_by_partition\":1}}}",
		    "field colour is not a field of ControlCommand" },
		{ "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\",\"actor\":\"a\","
		  "\"issued_at\":1,\"reason\":\"r\",\"payload\":{\"Teleport\":{}}}",
		    "field payload names \"Teleport\", which is not one of its 12 types" },
		{ "{\"command_id\":\"0b6c1c52-8a3e-4d59-9d0c-3f7f2c1a0001\",\"actor\":\"a\","
		  "\"issued_at\":1,\"reason\":\"r\",\"payload\":{\"SigningPolicy\":{\"record_"
		  "type\":"
		  "\"s\",\"meaning\":\"VIBES\",\"require_fido2\":true,\"require_oidc\":true,"
		  "\"require_password\":true}}}",
		    "field payload.SigningPolicy.meaning must be one of AUTHORSHIP, REVIEW, "
		    "APPROVAL, "
		    "RESPONSIBILITY" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, 0, NULL);
		struct ax_err err;
		uint8_t *buf = (uint8_t *)1;
		size_t len;

		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(ax_encode_json(cs, v, NULL, &buf, &len, &err), AX_EINVAL);
		ck_assert_ptr_null(buf);
		ck_assert_str_eq(err.msg, cases[i].msg);
		json_decref(v);
	}
}
END_TEST

/* Compile schema text s. */
static struct ax_avro_schema *
compile(const char *s)
{
	struct ax_avro_schema *out = NULL;
	struct ax_err err;

	ck_assert_msg(ax_avro_schema_new(&out, s, strlen(s), &err) == AX_OK, "%s", err.msg);
	return out;
}

START_TEST(test_evolution_rules_refuse_breaking_changes)
{
	static const char v1[] =
	    "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
	    "{\"name\":\"a\",\"type\":\"string\"},"
	    "{\"name\":\"u\",\"type\":[{\"type\":\"record\",\"name\":\"A\","
	    "\"fields\":[]},{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}]},"
	    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
	    "\"symbols\":[\"X\",\"Y\"]}}]}";
	static const struct {
		const char *v2, *msg; /* msg NULL: compatible */
	} cases[] = {
		/* a field added with a default, a branch and a symbol added at the end: fine */
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
		  "\"string\"},"
		  "{\"name\":\"u\",\"type\":[{\"type\":\"record\",\"name\":\"A\",\"fields\":[]},"
		  "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]},{\"type\":\"record\","
		  "\"name\":"
		  "\"C\",\"fields\":[]}]},{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":"
		  "\"E\","
		  "\"symbols\":[\"X\",\"Y\",\"Z\"]}},{\"name\":\"n\",\"type\":\"int\",\"default\":"
		  "0}]}",
		    NULL },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
		  "\"string\"},"
		  "{\"name\":\"u\",\"type\":[{\"type\":\"record\",\"name\":\"A\",\"fields\":[]},"
		  "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}]},{\"name\":\"e\",\"type\":"
		  "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}},{\"name\":\"n\","
		  "\"type\":\"int\"}]}",
		    "R.n was added without a default" },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
		  "\"bytes\"},"
		  "{\"name\":\"u\",\"type\":[{\"type\":\"record\",\"name\":\"A\",\"fields\":[]},"
		  "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}]},{\"name\":\"e\",\"type\":"
		  "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}}]}",
		    "R.a changed type from string to bytes" },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
		  "\"string\"},"
		  "{\"name\":\"u\",\"type\":[{\"type\":\"record\",\"name\":\"B\",\"fields\":[]},"
		  "{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}]},{\"name\":\"e\",\"type\":"
		  "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}}]}",
		    "R.u: union branch 0 was A and is now B (branches may only be added at the "
		    "end)" },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
		  "\"string\"},"
		  "{\"name\":\"u\",\"type\":[{\"type\":\"record\",\"name\":\"A\",\"fields\":[]},"
		  "{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}]},{\"name\":\"e\",\"type\":"
		  "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"Y\",\"X\"]}}]}",
		    "R.e: enum symbol 0 changed (symbols may only be added at the end)" },
	};
	struct ax_avro_schema *old = compile(v1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ax_avro_schema *cur = compile(cases[i].v2);
		struct ax_err err;
		int rc = ax_codec_check_evolution(old, cur, &err);

		if (cases[i].msg == NULL) {
			ck_assert_msg(rc == AX_OK, "case %zu: %s", i, err.msg);
		} else {
			ck_assert_int_eq(rc, AX_EINVAL);
			ck_assert_str_eq(err.msg, cases[i].msg);
		}
		ax_avro_schema_free(cur);
	}
	ax_avro_schema_free(old);
}
END_TEST

START_TEST(test_every_earlier_revision_is_readable_as_the_current_one)
{
	for (size_t i = 0; i < ax_codec_schema_count(codec); i++) {
		const struct ax_codec_schema *cs = ax_codec_schema_at(codec, i);
		struct ax_err err;

		ck_assert_msg(ax_codec_check_evolution(cs->schema,
		                  ax_codec_current(codec, cs->family)->schema, &err) == AX_OK,
		    "%s: %s", cs->file, err.msg);
	}
	ck_assert_uint_ge(ax_codec_schema_count(codec), 5);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_every_example_round_trips_through_encode_and_decode);
	tcase_add_test(tc, test_decoded_payload_fields_keep_their_values);
	tcase_add_test(tc, test_fixtures_of_every_schema_revision_decode);
	tcase_add_test(tc, test_a_revision_1_outcome_has_no_actor_and_no_previous_entry_hash);
	tcase_add_test(tc, test_a_revision_2_outcome_reads_as_kind_command);
	tcase_add_test(tc, test_revision_1_messages_get_the_current_defaults);
	tcase_add_test(tc, test_c_encoder_writes_the_same_bytes_as_fastavro);
	tcase_add_test(tc, test_message_of_another_topic_is_refused);
	tcase_add_test(tc, test_bad_uuid_is_refused_by_the_field_mapper);
	tcase_add_test(tc, test_encoder_names_the_path_of_missing_unknown_and_mistyped_fields);
	tcase_add_test(tc, test_evolution_rules_refuse_breaking_changes);
	tcase_add_test(tc, test_every_earlier_revision_is_readable_as_the_current_one);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
