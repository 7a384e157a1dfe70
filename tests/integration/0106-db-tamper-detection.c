/*
 * 0106-db-tamper-detection - layers 5 and 6 against someone who can bypass every other
 * layer (a superuser disabling the triggers): one changed byte in a historical version, or a
 * deleted middle version, is named by lineage and version by the verifier that axiom_auditor
 * runs; the partition ledger chains every outcome the same way; the offset compare-and-set
 * fences a stale applier; the batch entry point returns the outcomes of its commands in
 * order, with the checks of the per-command functions, and extends the ledger.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_dbtest.h"

#define L1 "00000000-0000-4000-8000-000000000610"
#define L2 "00000000-0000-4000-8000-000000000620"
#define L3 "00000000-0000-4000-8000-000000000630"

/* Append a version to lineage id as alice (note type), hashes computed by the database. */
static void
add_version(const char *id, int n, const char *minute)
{
	char prev[80], hash[80], rid[40], et[40];

	snprintf(rid, sizeof(rid), "%.35s%d", id, n);
	snprintf(et, sizeof(et), "2026-01-01 00:%s:00+00", minute);
	snprintf(prev, sizeof(prev), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(record_hash, 'hex') FROM axiom.records WHERE id = '%s' "
	        "ORDER BY version DESC LIMIT 1",
	        id));
	snprintf(hash, sizeof(hash), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('%s', h.id, h.version + 1, h.record_id, "
	        "h.record_hash, h.record_type, h.facility_id, h.domain_id, 'v%d', '\\x00', "
	        "'alice', "
	        "'%s', NULL), 'hex') FROM (SELECT * FROM axiom.records WHERE id = '%s' ORDER BY "
	        "version DESC LIMIT 1) h",
	        rid, n, et, id));
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.new_version('alice', '%s', NULL, '%s', '%s', decode('%s', "
	                     "'hex'), 'v%d', '\\x00', decode('%s', 'hex'))",
	                     et, rid, id, prev, n, hash),
	    "accepted");
}

static void
setup(void)
{
	const char *ids[] = { L1, L2, L3 };
	char rid[40];
	size_t i;

	dbt_setup("0106");
	dbt_seed();
	for (i = 0; i < 3; i++) {
		snprintf(rid, sizeof(rid), "%.35s1", ids[i]);
		ck_assert_str_eq(
		    dbt_create("alice", "2026-01-01 00:05:00+00", rid, ids[i], "note", "F1", "v1"),
		    "accepted");
		add_version(ids[i], 2, "06");
		if (i < 2)
			add_version(ids[i], 3, "07");
	}
}

static void
teardown(void)
{
	dbt_teardown();
}

static const char *
verify(void)
{
	return dbt_value(T.auditor, "SELECT coalesce(string_agg(id || ' v' || version || ': ' || "
	                            "problem, ' | ' ORDER BY id), "
	                            "'clean') FROM axiom_api.verify_record_chains()");
}

START_TEST(test_intact_chains_verify_clean)
{
	ck_assert_str_eq(dbt_value(T.admin, "SELECT count(*) FROM axiom.records"), "8");
	ck_assert_str_eq(verify(), "clean");
}
END_TEST

START_TEST(test_a_changed_byte_and_a_deleted_middle_version_are_named)
{
	/* a superuser can get past the triggers; the chain still tells */
	dbt_exec(T.admin, "ALTER TABLE axiom.records DISABLE TRIGGER immutable_data_columns;"
	                  "UPDATE axiom.records SET content = set_byte(content, 0, 1) "
	                  "WHERE id = '" L1 "' AND version = 2;"
	                  "ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER immutable_data_columns");
	ck_assert_str_eq(verify(), L1 " v2: record_hash does not match the stored columns");
	dbt_exec(T.admin, "ALTER TABLE axiom.records DISABLE TRIGGER no_removal_row;"
	                  "DELETE FROM axiom.records WHERE id = '" L2 "' AND version = 2;"
	                  "ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER no_removal_row");
	ck_assert_str_eq(verify(), L1 " v2: record_hash does not match the stored columns | " L2
	                              " v2: version 2 is missing");
	/* a relinked forgery (hash recomputed) is caught at the link to the next version */
	dbt_exec(T.admin, "ALTER TABLE axiom.records DISABLE TRIGGER immutable_data_columns;"
	                  "UPDATE axiom.records r SET title = 'forged' "
	                  "WHERE id = '" L3 "' AND version = 1;"
	                  "UPDATE axiom.records r SET record_hash = axiom.record_hash_v1(r) "
	                  "WHERE id = '" L3 "' AND version = 1;"
	                  "ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER immutable_data_columns");
	ck_assert_str_eq(verify(),
	    L1 " v2: record_hash does not match the stored columns | " L2
	       " v2: version 2 is missing | " L3
	       " v2: previous_record_hash is not the record_hash of the previous version");
}
END_TEST

static const char *
ledger(long offset, const char *decision)
{
	return dbt_call(T.api,
	    "axiom_api.append_ledger_entry('alice', '2026-01-01 00:10:00+00', 'axiom.commands', 1, "
	    "%ld, gen_random_uuid(), '%s', NULL, sha256('x'))",
	    offset, decision);
}

START_TEST(test_the_ledger_chains_every_outcome_of_a_partition)
{
	ck_assert_str_eq(ledger(7, "accepted"), "accepted");
	ck_assert_str_eq(ledger(8, "rejected"), "accepted");
	ck_assert_str_eq(ledger(9, "accepted"), "accepted");
	ck_assert_str_eq(ledger(9, "accepted"), "offset_not_increasing");
	ck_assert_str_eq(ledger(10, "maybe"), "invalid_command");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_ledger_chains()"), "0");
	/* a dropped rejection is named */
	dbt_exec(T.admin, "ALTER TABLE axiom.ledger DISABLE TRIGGER append_only_row;"
	                  "DELETE FROM axiom.ledger WHERE topic = 'axiom.commands' AND seq = 2;"
	                  "ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_row");
	ck_assert_str_eq(dbt_value(T.auditor, "SELECT kafka_partition || ' ' || seq || ': ' || "
	                                      "problem FROM axiom_api.verify_ledger_chains()"),
	    "1 2: entry 2 is missing");
}
END_TEST

START_TEST(test_the_offset_compare_and_set_fences_a_stale_applier)
{
#define CAS(expected, next)                                                                        \
	dbt_call(T.api, "axiom_api.store_next_offset('applier-a', 'axiom.commands', 3, " expected  \
	                ", " next ")")
	ck_assert_str_eq(CAS("NULL", "10"), "accepted");
	ck_assert_str_eq(CAS("NULL", "5"), "offset_conflict");
	ck_assert_str_eq(CAS("10", "20"), "accepted");
	ck_assert_str_eq(CAS("10", "30"), "offset_conflict"); /* the zombie */
	ck_assert_str_eq(CAS("20", "19"), "invalid_command");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.next_offset('axiom.commands', 3)"), "20");
	ck_assert_str_eq(
	    dbt_value(T.user, "SELECT axiom_api.next_offset('axiom.commands', 4)"), "");
#undef CAS
}
END_TEST

START_TEST(test_a_batch_returns_outcomes_in_order_and_extends_the_ledger)
{
	char hash[80], batch[4096];

	snprintf(hash, sizeof(hash), "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash("
	        "'00000000-0000-4000-8000-000000000641', "
	        "'00000000-0000-4000-8000-000000000640', 1, NULL, NULL, 'note', 'F1', "
	        "'QC', 'batched', '\\x00', 'alice', '2026-01-01 00:20:00+00', NULL), "
	        "'hex')"));
	snprintf(batch, sizeof(batch),
	    "SELECT string_agg(ordinal || ':' || coalesce(reason_code, decision), ' ' ORDER BY "
	    "ordinal) FROM axiom_api.apply_batch('axiom.commands', 2, '["
	    "{\"op\": \"create_record\", \"reason\": \"r\", \"offset\": 100, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:20:00Z\", "
	    "\"command_id\": \"00000000-0000-4000-8000-0000000006a1\", "
	    "\"record_id\": \"00000000-0000-4000-8000-000000000641\", "
	    "\"id\": \"00000000-0000-4000-8000-000000000640\", \"record_type\": \"note\", "
	    "\"facility_id\": \"F1\", \"title\": \"batched\", \"content\": \"00\", "
	    "\"record_hash\": \"%s\"},"
	    "{\"op\": \"create_record\", \"reason\": \"r\", \"offset\": 101, \"actor\": \"frank\", "
	    "\"event_time\": \"2026-01-01T00:20:01Z\", "
	    "\"record_id\": \"00000000-0000-4000-8000-000000000651\", "
	    "\"id\": \"00000000-0000-4000-8000-000000000650\", \"record_type\": \"note\", "
	    "\"facility_id\": \"F1\", \"title\": \"t\", \"content\": \"00\", \"record_hash\": "
	    "\"00\"},"
	    "{\"op\": \"submit_change\", \"offset\": 102, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:20:02Z\", \"change_id\": \"not-a-uuid\", "
	    "\"reason\": \"r\"},"
	    "{\"op\": \"launch_rockets\", \"offset\": 103, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:20:03Z\"},"
	    "{\"op\": \"create_record\", \"reason\": \"r\", \"offset\": 104, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:20:04Z\", "
	    "\"record_id\": \"00000000-0000-4000-8000-000000000641\", "
	    "\"id\": \"00000000-0000-4000-8000-000000000640\", \"record_type\": \"note\", "
	    "\"facility_id\": \"F1\", \"title\": \"batched\", \"content\": \"00\", "
	    "\"record_hash\": \"%s\"},"
	    "{\"op\": \"quarantine\", \"offset\": 105, \"event_time\": \"2026-01-01T00:20:05Z\", "
	    "\"reason_code\": \"trailing_bytes\", \"payload_sha256\": \"%s\"}"
	    "]'::jsonb)",
	    hash, hash, hash);
	ck_assert_str_eq(dbt_value(T.api, "%s", batch),
	    "1:accepted 2:insufficient_access_level 3:invalid_command 4:invalid_command "
	    "5:hash_mismatch 6:trailing_bytes");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT string_agg(kafka_offset || ':' || decision, ' ' "
	                         "ORDER BY seq) FROM axiom.ledger WHERE "
	                         "kafka_partition = 2"),
	    "100:accepted 101:rejected 102:rejected 103:rejected 104:rejected 105:quarantined");
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT encode(record_hash, 'hex') FROM axiom.ledger WHERE "
	                         "kafka_partition = 2 AND seq = 1"),
	    hash);
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_ledger_chains() "
	                         "WHERE kafka_partition = 2"),
	    "0");
	/* control-plane commands batch the same way */
	ck_assert_str_eq(
	    dbt_value(T.api,
	        "SELECT string_agg(coalesce(reason_code, decision), ' ' ORDER BY ordinal) FROM "
	        "axiom_api.apply_batch('axiom.control', 0, '["
	        "{\"op\": \"enroll_user\", \"actor\": \"axiom-system\", "
	        "\"event_time\": \"2026-01-01T00:30:00Z\", \"user_id\": \"hana\", "
	        "\"printed_name\": \"Hana H\", \"reason\": \"hired\"},"
	        "{\"op\": \"define_scope\", \"actor\": \"axiom-system\", "
	        "\"event_time\": \"2026-01-01T00:30:01Z\", \"kind\": \"facility\", "
	        "\"key\": \"F3\", \"name\": \"Plant 3\"},"
	        "{\"op\": \"grant_access\", \"actor\": \"axiom-system\", "
	        "\"event_time\": \"2026-01-01T00:30:02Z\", "
	        "\"grant_id\": \"00000000-0000-4000-8000-0000000006b1\", \"user_id\": \"hana\", "
	        "\"facility_id\": \"F3\", \"domain_id\": \"QC\", \"tier\": \"viewer\", "
	        "\"reason\": \"job\"},"
	        "{\"op\": \"configure_record_type\", \"actor\": \"hana\", "
	        "\"event_time\": \"2026-01-01T00:30:03Z\", \"record_type\": \"x\", "
	        "\"domain_id\": \"QC\", \"gate\": \"none\"}"
	        "]'::jsonb)"),
	    "accepted accepted accepted not_found_or_denied");
}
END_TEST

/* The hash of version 1 of lineage "...0<tag>0" (record "...0<tag>1") of note type by alice. */
static void
create_hash(char *out, size_t cap, const char *tag, const char *et)
{
	snprintf(out, cap, "%s",
	    dbt_value(T.admin,
	        "SELECT encode(axiom.expected_hash('00000000-0000-4000-8000-000000000%s1', "
	        "'00000000-0000-4000-8000-000000000%s0', 1, NULL, NULL, 'note', 'F1', 'QC', "
	        "'batched', '\\x00', 'alice', '%s', NULL), 'hex')",
	        tag, tag, et));
}

/* One create_record element for lineage tag at offset off and second sec. */
static void
create_elem(char *out, size_t cap, const char *tag, int off, int sec, const char *cmd,
    const char *actor, const char *hash)
{
	snprintf(out, cap,
	    "{\"op\": \"create_record\", \"reason\": \"r\", \"offset\": %d, \"actor\": \"%s\", "
	    "\"event_time\": \"2026-01-01T00:40:%02dZ\", \"command_id\": \"%s\", "
	    "\"record_id\": \"00000000-0000-4000-8000-000000000%s1\", "
	    "\"id\": \"00000000-0000-4000-8000-000000000%s0\", \"record_type\": \"note\", "
	    "\"facility_id\": \"F1\", \"title\": \"batched\", \"content\": \"00\", "
	    "\"record_hash\": \"%s\"}",
	    off, actor, sec, cmd, tag, tag, hash);
}

/*
 * db/0016: apply_partition_batch applies a batch without a subtransaction per command, and
 * goes back to the per-command trap of apply_batch when a command is malformed. Both ways
 * give the outcomes and ledger entries apply_batch gives.
 */
START_TEST(test_a_partition_batch_decides_alike_with_and_without_a_malformed_command)
{
	char h66[80], h67[80], a[1024], b[1024], c[1024], d[1024], sql[8192], want[1024];

	create_hash(h66, sizeof(h66), "66", "2026-01-01 00:40:00+00");
	create_hash(h67, sizeof(h67), "67", "2026-01-01 00:40:10+00");
	/* partition 7: a malformed change id sends the whole batch down the trapping path */
	create_elem(a, sizeof(a), "66", 0, 0, "00000000-0000-4000-8000-0000000006c1", "alice", h66);
	create_elem(b, sizeof(b), "66", 1, 1, "00000000-0000-4000-8000-0000000006c2", "frank", h66);
	create_elem(c, sizeof(c), "66", 4, 4, "00000000-0000-4000-8000-0000000006c3", "alice", h66);
	snprintf(sql, sizeof(sql),
	    "SELECT string_agg(kafka_offset || ':' || coalesce(reason_code, decision), ' ' "
	    "ORDER BY ordinal) FROM axiom_api.apply_partition_batch('t0106', 'axiom.x', 7, true, "
	    "NULL, NULL, '[%s, %s,"
	    "{\"op\": \"submit_change\", \"offset\": 2, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:40:02Z\", \"change_id\": \"not-a-uuid\", "
	    "\"reason\": \"r\"},"
	    "{\"op\": \"launch_rockets\", \"offset\": 3, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:40:03Z\"}, %s,"
	    "{\"op\": \"quarantine\", \"offset\": 5, \"event_time\": \"2026-01-01T00:40:05Z\", "
	    "\"reason_code\": \"trailing_bytes\", \"payload_sha256\": \"%s\"}]'::jsonb)",
	    a, b, c, h66);
	ck_assert_str_eq(dbt_value(T.user, "%s", sql),
	    "0:accepted 1:insufficient_access_level 2:invalid_command 3:invalid_command "
	    "4:hash_mismatch 5:trailing_bytes");
	/* partition 8: all well formed (one subtransaction), plus a repeated id and a tick */
	create_elem(
	    a, sizeof(a), "67", 0, 10, "00000000-0000-4000-8000-0000000006d1", "alice", h67);
	create_elem(
	    b, sizeof(b), "67", 1, 11, "00000000-0000-4000-8000-0000000006d2", "frank", h67);
	create_elem(
	    c, sizeof(c), "67", 3, 13, "00000000-0000-4000-8000-0000000006d3", "alice", h67);
	create_elem(
	    d, sizeof(d), "67", 5, 15, "00000000-0000-4000-8000-0000000006d1", "alice", h67);
	snprintf(sql, sizeof(sql),
	    "SELECT string_agg(kafka_offset || ':' || coalesce(reason_code, decision), ' ' "
	    "ORDER BY ordinal) FROM axiom_api.apply_partition_batch('t0106', 'axiom.x', 8, true, "
	    "NULL, NULL, '[%s, %s,"
	    "{\"op\": \"launch_rockets\", \"offset\": 2, \"actor\": \"alice\", "
	    "\"event_time\": \"2026-01-01T00:40:12Z\"}, %s,"
	    "{\"op\": \"quarantine\", \"offset\": 4, \"event_time\": \"2026-01-01T00:40:14Z\", "
	    "\"reason_code\": \"trailing_bytes\", \"payload_sha256\": \"%s\"}, %s,"
	    "{\"op\": \"tick\", \"offset\": 6, \"actor\": \"axiom-system\", "
	    "\"event_time\": \"2026-01-01T00:40:16Z\", "
	    "\"command_id\": \"00000000-0000-4000-8000-0000000006d4\"}]'::jsonb)",
	    a, b, c, h67, d);
	ck_assert_str_eq(dbt_value(T.user, "%s", sql),
	    "0:accepted 1:insufficient_access_level 2:invalid_command 3:hash_mismatch "
	    "4:trailing_bytes 5:duplicate_command 6:tick");
	/* the ledgers: one entry per outcome, chained, the record's hash on the creation and
	 * the payload's on the quarantine, none on the duplicate and the tick */
	snprintf(want, sizeof(want),
	    "7/1@0:accepted:%.8s:06c1 7/2@1:insufficient_access_level:-:06c2 "
	    "7/3@2:invalid_command:-:- 7/4@3:invalid_command:-:- 7/5@4:hash_mismatch:-:06c3 "
	    "7/6@5:trailing_bytes:%.8s:- 8/1@0:accepted:%.8s:06d1 "
	    "8/2@1:insufficient_access_level:-:06d2 8/3@2:invalid_command:-:- "
	    "8/4@3:hash_mismatch:-:06d3 8/5@4:trailing_bytes:%.8s:- "
	    "8/6@5:duplicate_command:-:06d1 8/7@6:tick:-:06d4",
	    h66, h66, h67, h67);
	ck_assert_str_eq(
	    dbt_value(T.auditor,
	        "SELECT string_agg(kafka_partition || '/' || seq || '@' || kafka_offset "
	        "|| ':' || coalesce(reason_code, decision) || ':' || "
	        "coalesce(left(encode(record_hash, 'hex'), 8), '-') || ':' || "
	        "coalesce(right(command_id::text, 4), '-'), ' ' ORDER BY "
	        "kafka_partition, seq) FROM axiom.ledger WHERE topic = 'axiom.x'"),
	    want);
	ck_assert_str_eq(
	    dbt_value(T.auditor, "SELECT count(*) FROM axiom_api.verify_ledger_chains() "
	                         "WHERE topic = 'axiom.x'"),
	    "0");
	ck_assert_str_eq(
	    dbt_value(T.auditor,
	        "SELECT string_agg(kafka_partition || '@' || kafka_offset, ' ' ORDER BY "
	        "kafka_partition, kafka_offset) FROM axiom.applied_commands WHERE "
	        "topic = 'axiom.x'"),
	    "7@0 7@1 7@4 8@0 8@1 8@3 8@6");
	ck_assert_str_eq(dbt_value(T.user, "SELECT axiom_api.next_offset('axiom.x', 7) || ' ' || "
	                                   "axiom_api.next_offset('axiom.x', 8)"),
	    "6 7");
	/* the next batch continues the chain where the last one ended */
	snprintf(sql, sizeof(sql),
	    "SELECT string_agg(coalesce(reason_code, decision), ' ') FROM "
	    "axiom_api.apply_partition_batch('t0106', 'axiom.x', 8, true, 7, NULL, '["
	    "{\"op\": \"tick\", \"offset\": 7, \"actor\": \"axiom-system\", "
	    "\"event_time\": \"2026-01-01T00:40:17Z\"}]'::jsonb)");
	ck_assert_str_eq(dbt_value(T.user, "%s", sql), "tick");
	ck_assert_str_eq(dbt_value(T.auditor,
	                     "SELECT seq || ' ' || (previous_entry_hash = (SELECT entry_hash FROM "
	                     "axiom.ledger WHERE topic = 'axiom.x' AND kafka_partition = 8 AND "
	                     "seq = 7)) FROM axiom.ledger WHERE topic = 'axiom.x' AND "
	                     "kafka_partition = 8 AND kafka_offset = 7"),
	    "8 true");
}
END_TEST

/*
 * A control command whose function checked too little is refused, never raised out of its
 * batch: a batch that raises stops its partition, and the control partition holds every data
 * partition back. A record type without its name, and a signing policy with a factor type
 * neither required nor not beside a required one, reached their tables' not-null constraints
 * (found by sending every op each field as null, empty, huge, negative or of another JSON type
 * through the batch: these two were the only raises).
 */
START_TEST(test_a_control_command_missing_a_required_field_is_refused)
{
	ck_assert_str_eq(
	    dbt_value(T.user,
	        "SELECT string_agg(kafka_offset || ':' || coalesce(reason_code, decision), ' ' "
	        "ORDER BY ordinal) FROM axiom_api.apply_partition_batch('t0106', 'axiom.c', 0, "
	        "true, NULL, NULL, '["
	        "{\"op\": \"configure_record_type\", \"offset\": 0, \"actor\": \"axiom-system\", "
	        "\"event_time\": \"2026-01-01T00:50:00Z\", \"record_type\": null, "
	        "\"domain_id\": \"QC\", \"gate\": \"none\"},"
	        "{\"op\": \"set_signing_policy\", \"offset\": 1, \"actor\": \"axiom-system\", "
	        "\"event_time\": \"2026-01-01T00:50:01Z\", \"record_type\": \"note\", "
	        "\"meaning\": \"review\", \"require_fido2\": null, \"require_oidc\": false, "
	        "\"require_password\": true, \"reason\": \"r\"},"
	        "{\"op\": \"set_signing_policy\", \"offset\": 2, \"actor\": \"axiom-system\", "
	        "\"event_time\": \"2026-01-01T00:50:02Z\", \"record_type\": \"note\", "
	        "\"meaning\": \"review\", \"require_fido2\": false, \"require_oidc\": false, "
	        "\"require_password\": true, \"reason\": \"r\"}]'::jsonb)"),
	    "0:invalid_command 1:invalid_command 2:accepted");
}
END_TEST

/*
 * No control command raises out of its batch whichever of its fields is null: each op, valid
 * as written below, is sent once per field (its actor included) with that field null, each
 * alone in a batch rolled back. The class of the two commands above.
 */
START_TEST(test_no_field_of_a_control_command_raises_when_null)
{
	static const char *const elements[] = {
		"\"op\": \"define_scope\", \"actor\": \"axiom-system\", \"kind\": \"facility\", "
		"\"key\": \"F9\", \"name\": \"Plant 9\"",
		"\"op\": \"configure_record_type\", \"actor\": \"axiom-system\", \"record_type\": "
		"\"memo\", \"domain_id\": \"QC\", \"gate\": \"none\"",
		"\"op\": \"enroll_user\", \"actor\": \"axiom-system\", \"user_id\": \"zed\", "
		"\"printed_name\": \"Zed\", \"administrator\": false, \"db_role\": null, "
		"\"reason\": \"hired\"",
		"\"op\": \"deactivate_user\", \"actor\": \"axiom-system\", \"user_id\": \"frank\", "
		"\"reason\": \"left\"",
		"\"op\": \"grant_access\", \"actor\": \"axiom-system\", \"grant_id\": "
		"\"00000000-0000-4000-8000-0000000009a1\", \"user_id\": \"bob\", \"facility_id\": "
		"\"F2\", \"domain_id\": \"QC\", \"tier\": \"author\", \"expires_at\": "
		"\"2026-06-01T00:00:00Z\", \"reason\": \"job\"",
		"\"op\": \"revoke_grant\", \"actor\": \"axiom-system\", \"grant_id\": "
		"\"00000000-0000-4000-8000-0000000000b1\", \"reason\": \"left\"",
		"\"op\": \"delegate\", \"actor\": \"carol\", \"delegation_id\": "
		"\"00000000-0000-4000-8000-0000000009a2\", \"source_grant_id\": "
		"\"00000000-0000-4000-8000-0000000000c1\", \"delegatee\": \"dave\", \"kind\": "
		"\"horizontal\", \"expires_at\": \"2026-02-01T00:00:00Z\", \"reason\": \"cover\"",
		"\"op\": \"set_signing_policy\", \"actor\": \"axiom-system\", \"record_type\": "
		"\"note\", \"meaning\": \"review\", \"require_fido2\": false, "
		"\"require_oidc\": false, \"require_password\": true, \"reason\": \"policy\"",
		"\"op\": \"register_factor\", \"actor\": \"axiom-system\", \"factor_id\": "
		"\"00000000-0000-4000-8000-0000000009a3\", \"factor_type\": \"password\", "
		"\"user_id\": \"alice\", \"reason\": \"enrolled\"",
	};
	size_t i;

	for (i = 0; i < sizeof(elements) / sizeof(elements[0]); i++) {
		/* as written: accepted (rolled back); then each field null, in a subtransaction
		 * rolled back (run by the admin: no login may run a DO block) */
		ck_assert_str_eq(
		    dbt_value(T.user,
		        "BEGIN; SELECT coalesce(reason_code, decision) FROM "
		        "axiom_api.apply_partition_batch('t0106', 'axiom.n', %d, true, NULL, NULL, "
		        "jsonb_build_array('{\"offset\": 0, \"event_time\": "
		        "\"2026-01-01T01:00:00Z\", %s}'::jsonb))",
		        (int)i, elements[i]),
		    "accepted");
		dbt_exec(T.user, "ROLLBACK");
		ck_assert_str_eq(
		    dbt_value(T.admin,
		        "DO $$DECLARE e jsonb := '{\"offset\": 0, \"event_time\": "
		        "\"2026-01-02T00:00:00Z\", %s}'; k text; raised text := ''; BEGIN "
		        "FOR k IN SELECT jsonb_object_keys(e) EXCEPT SELECT unnest(ARRAY['op', "
		        "'offset', 'event_time']) LOOP BEGIN PERFORM "
		        "axiom_api.apply_partition_batch('t0106', 'axiom.n', %d, true, NULL, NULL, "
		        "jsonb_build_array(jsonb_set(e, ARRAY[k], 'null'))); RAISE EXCEPTION "
		        "USING ERRCODE = 'AX000'; EXCEPTION WHEN SQLSTATE 'AX000' THEN NULL; WHEN "
		        "OTHERS THEN raised := raised || k || ': ' || SQLERRM || '; '; END; "
		        "END LOOP; IF raised <> '' THEN RAISE EXCEPTION 'raised: %%', raised; "
		        "END IF; END$$; SELECT 'none raised'",
		        elements[i], (int)i),
		    "none raised");
	}
}
END_TEST

/*
 * The batch's duplicate check (invariant 8) reads the applied command ids it asks for, one
 * index probe each, however many the partition applied before and whatever the planner's
 * statistics of applied_commands say: written as "command_id = ANY (the batch's ids)", the
 * applier's generic plan, made while the table had no statistics (a new or rebuilt database),
 * read every command id of the partition, 1 ms per batch at 1,500 of them.
 */
START_TEST(test_a_batch_reads_only_the_applied_command_ids_it_asks_for)
{
	const char *dup = "00000000-0000-4000-8000-0000000006e1";
	int read;

	dbt_exec(T.api, "BEGIN");
	dbt_exec(T.api, "RESET ROLE");
	/* 10,000 commands applied before, in this transaction: none of them all-visible, so an
	 * index-only scan fetches each row it reads and counts it */
	dbt_exec(T.api,
	    "INSERT INTO axiom.applied_commands SELECT CASE WHEN n = 5000 THEN '%s'::uuid ELSE "
	    "gen_random_uuid() END, 'axiom.y', 3, n FROM generate_series(0, 9999) n",
	    dup);
	dbt_exec(
	    T.api, "DELETE FROM pg_statistic WHERE starelid = 'axiom.applied_commands'::regclass");
	dbt_exec(T.api, "SET plan_cache_mode = force_generic_plan");
	read = dbt_xact_rows_read("applied_commands");
	ck_assert_str_eq(dbt_value(T.api,
	                     "SELECT string_agg(kafka_offset || ':' || coalesce(reason_code, "
	                     "decision), ' ' ORDER BY ordinal) FROM "
	                     "axiom_api.apply_partition_batch('t0106', 'axiom.y', 3, true, NULL, "
	                     "NULL, '["
	                     "{\"op\": \"tick\", \"offset\": 10000, \"actor\": \"axiom-system\", "
	                     "\"event_time\": \"2026-01-01T00:41:00Z\", \"command_id\": \"%s\"},"
	                     "{\"op\": \"tick\", \"offset\": 10001, \"actor\": \"axiom-system\", "
	                     "\"event_time\": \"2026-01-01T00:41:01Z\", "
	                     "\"command_id\": \"00000000-0000-4000-8000-0000000006e2\"}]'::jsonb)",
	                     dup),
	    "10000:duplicate_command 10001:tick");
	read = dbt_xact_rows_read("applied_commands") - read;
	dbt_exec(T.api, "ROLLBACK");
	dbt_exec(T.api, "SET ROLE axiom_definer; RESET plan_cache_mode");
	ck_assert_msg(read < 10, "the batch read %d applied command ids", read);
}
END_TEST

/*
 * The message hash a batch element carries ("payload_sha256") is read without a regular
 * expression (axiom.sha256_hex_or_null): exactly the 64 hex digits, in either case, the
 * pattern ^[0-9a-fA-F]{64}$ takes, every other text NULL. Uppercase digits are read as
 * decode(p, 'hex') reads them for a quarantined message's outcome (until they were, its
 * ledger entry stored no payload hash).
 */
START_TEST(test_the_payload_hash_is_read_as_its_pattern_reads_it)
{
	ck_assert_str_eq(
	    dbt_value(T.admin,
	        "SELECT count(*) FILTER (WHERE axiom.sha256_hex_or_null(p) IS DISTINCT "
	        "FROM CASE WHEN p ~ '^[0-9a-fA-F]{64}$' THEN decode(p, 'hex') END) || '/' "
	        "|| count(*) FILTER (WHERE axiom.sha256_hex_or_null(p) IS NOT NULL) FROM "
	        "(VALUES (repeat('0', 64)), (repeat('af09', 16)), (repeat('A', 64)), "
	        "(repeat('aF', 32)), (repeat('0', 63)), (repeat('0', 65)), "
	        "(repeat('0', 63) || 'g'), (repeat('0', 63) || E'\\n'), "
	        "(repeat('0', 64) || E'\\n'), (repeat('0', 62) || 'é'), "
	        "(repeat('0', 63) || ' '), (''), (NULL), ('-' || repeat('0', 63))) AS v(p)"),
	    "0/4");
}
END_TEST

/*
 * A batch reads a command's ids (axiom.uuid_or_null) exactly as the functions' casts read them:
 * every text PostgreSQL's uuid input takes is that uuid, every other text NULL, never an error.
 * Over a uuid in three cases, with each of its 36 characters replaced by each of 9 others, one
 * character dropped or added at each place, and other spellings the uuid input takes (braces,
 * no hyphens, hyphens after other groups of four): 1,200 texts, 319 of them uuids (303 before
 * the other spellings were read; 0109 shows what they did to a batch).
 */
START_TEST(test_a_command_id_is_read_as_its_cast_reads_it)
{
	dbt_exec(T.admin, "CREATE FUNCTION pg_temp.cast_or_null(p text) RETURNS uuid LANGUAGE "
	                  "plpgsql AS $$ BEGIN RETURN p::uuid; EXCEPTION WHEN "
	                  "invalid_text_representation THEN RETURN NULL; END $$");
	ck_assert_str_eq(
	    dbt_value(T.admin,
	        "WITH b(u) AS (VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), "
	        "('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), "
	        "('a0EEbc99-9C0b-4eF8-Bb6d-6BB9bd380a11')), "
	        "t(p) AS (SELECT u FROM b UNION ALL "
	        "SELECT overlay(u placing c from i for 1) FROM b, generate_series(1, 36) i, "
	        "unnest(ARRAY['0', 'f', 'F', 'g', '-', ' ', E'\\n', 'é', '{']) c UNION ALL "
	        "SELECT overlay(u placing '' from i for 1) FROM b, generate_series(1, 36) i UNION "
	        "ALL "
	        "SELECT overlay(u placing '0' from i for 0) FROM b, generate_series(1, 37) i UNION "
	        "ALL "
	        "SELECT v FROM (VALUES ('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'), "
	        "('a0eebc999c0b4ef8bb6d6bb9bd380a11'), ('a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11'), "
	        "('a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11'), (''), (NULL)) AS x(v)) "
	        "SELECT count(*) FILTER (WHERE axiom.uuid_or_null(p) IS DISTINCT FROM "
	        "pg_temp.cast_or_null(p)) || '/' || count(*) FILTER (WHERE axiom.uuid_or_null(p) "
	        "IS "
	        "NOT NULL) || '/' || count(*) FROM t"),
	    "0/319/1200");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0106-db-tamper-detection");
	TCase *tc = tcase_create("layers-5-6");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_intact_chains_verify_clean);
	tcase_add_test(tc, test_a_changed_byte_and_a_deleted_middle_version_are_named);
	tcase_add_test(tc, test_the_ledger_chains_every_outcome_of_a_partition);
	tcase_add_test(tc, test_the_offset_compare_and_set_fences_a_stale_applier);
	tcase_add_test(tc, test_a_batch_returns_outcomes_in_order_and_extends_the_ledger);
	tcase_add_test(
	    tc, test_a_partition_batch_decides_alike_with_and_without_a_malformed_command);
	tcase_add_test(tc, test_a_control_command_missing_a_required_field_is_refused);
	tcase_add_test(tc, test_no_field_of_a_control_command_raises_when_null);
	tcase_add_test(tc, test_a_batch_reads_only_the_applied_command_ids_it_asks_for);
	tcase_add_test(tc, test_the_payload_hash_is_read_as_its_pattern_reads_it);
	tcase_add_test(tc, test_a_command_id_is_read_as_its_cast_reads_it);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
