/*
 * 0601-esign-applier-and-reverify - the applier's signing path against PostgreSQL without a
 * broker (consumers/ax_sign.h: element, one signing_context lookup, verification, then
 * apply_batch), the wait for the control watermark (invariant 2), and the offline
 * re-verification of stored signatures as axiom_auditor (consumers/ax_sign_reverify.h): a
 * valid one verifies, a 0007-form one is unverifiable, a tampered one fails. The FIDO2 counter
 * check reads one stored signature, however many the credential made before (migration 0026).
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_batch_element.h"
#include "ax_dbtest.h"
#include "ax_hex.h"
#include "ax_sign.h"
#include "ax_sign_reverify.h"
#include "ax_softauth.h"

#define LINEAGE "00000000-0000-4000-8000-000000000601"
#define RID     "00000000-0000-4000-8000-000000000602"
#define FACTOR  "00000000-0000-4000-8000-000000000603"
#define ET_SIGN "2026-01-01 00:20:00+00"
#define ET_US   1767226800000000LL /* 2026-01-01T00:20:00Z */

/* The sign_record element of a Sign command by alice over version 1, completed by the
 * applier's signing path; *cut as ax_sign_complete_batch set it. */
static json_t *
signed_element(struct ax_softauth *sa, size_t *cut)
{
	struct ax_message m;
	struct ax_head_need need;
	struct ax_softauth_assertion a;
	struct ax_intent in;
	struct ax_sha256 *sha = NULL;
	struct ax_err err;
	uint8_t rh[32], nonce[16], ih[32];
	char iso[AX_ISO_TIME_LEN];
	int64_t cut_et = 0;
	json_t *e = NULL;

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(
	    ax_hex_decode(
	        rh, dbt_value(T.admin, "SELECT encode(record_hash, 'hex') FROM axiom.records"), 32),
	    0);
	ck_assert_int_eq(ax_intent_new_nonce(nonce, sizeof(nonce), &err), AX_OK);
	m.family = AX_FAMILY_DATA;
	m.kind = AX_KIND_SIGN;
	ck_assert_int_eq(ax_intent_new_nonce(m.command_id, 16, &err), AX_OK); /* a fresh UUIDv4 */
	m.command_id[6] = (uint8_t)((m.command_id[6] & 0x0f) | 0x40);
	m.command_id[8] = (uint8_t)((m.command_id[8] & 0x3f) | 0x80);
	m.actor = "alice";
	m.reason = "release";
	ck_assert(ax_uuid_parse(m.lineage_id, LINEAGE, 36));
	m.u.sign.version = 1;
	m.u.sign.record_hash.p = rh;
	m.u.sign.record_hash.len = 32;
	m.u.sign.meaning = AX_CMD_MEANING_AUTHORSHIP;
	m.u.sign.nonce.p = nonce;
	m.u.sign.nonce.len = sizeof(nonce);
	ck_assert(ax_uuid_parse(m.u.sign.factor_id, FACTOR, 36));
	ck_assert_int_eq(ax_intent_set(&in, "alice", m.lineage_id, 1, rh, AX_MEANING_AUTHORSHIP,
	                     nonce, sizeof(nonce), &err),
	    AX_OK);
	ck_assert_int_eq(ax_intent_hash(ih, &in, &err), AX_OK);
	ck_assert_int_eq(ax_softauth_get_assertion(
	                     sa, &a, "axiom.local", AX_SIGN_DEFAULT_ORIGIN, ih, 32, 0x05, &err),
	    AX_OK);
	m.u.sign.client_data.p = a.client_data_json;
	m.u.sign.client_data.len = a.client_data_json_len;
	m.u.sign.authenticator_data.p = a.auth_data;
	m.u.sign.authenticator_data.len = sizeof(a.auth_data);
	m.u.sign.signature.p = a.sig;
	m.u.sign.signature.len = a.sig_len;
	m.u.sign.id_token = "";
	ck_assert_int_eq(ax_sha256_new(&sha, &err), AX_OK);
	ck_assert_int_eq(ax_batch_element_build(&e, &need, &m, ET_US, sha, &err), AX_OK);
	ax_iso_time(iso, ET_US);
	json_object_set_new(e, "event_time", json_string(iso));
	ck_assert_int_eq(ax_sign_complete_batch(T.user, &e, 1, cut, &cut_et, &err), AX_OK);
	ax_batch_element_strip(e);
	ax_sha256_free(sha);
	return e;
}

static const char *
apply(json_t *e)
{
	static char out[128];
	json_t *arr = json_array();
	char *text;
	const char *params[1];
	PGresult *res;

	json_array_append(arr, e);
	text = json_dumps(arr, JSON_COMPACT);
	params[0] = text;
	res = PQexecParams(T.api,
	    "SELECT decision || ':' || coalesce(reason_code, '') FROM axiom_api.apply_batch('t', "
	    "0, "
	    "$1::jsonb)",
	    1, NULL, params, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	free(text);
	json_decref(arr);
	return out;
}

/* A database (dbt_setup) where alice holds the FIDO2 key *sa, registered as FACTOR, and
 * created version 1 of LINEAGE (record RID). */
static void
prepare(struct ax_softauth **sa)
{
	struct ax_err err;
	uint8_t cose[AX_COSE_ES256_KEY_LEN], cid[AX_SOFTAUTH_CRED_ID_LEN];
	char cose_hex[2 * sizeof(cose) + 1], cid_hex[2 * sizeof(cid) + 1];

	dbt_setup("0601_esign");
	dbt_seed();
	ck_assert_int_eq(ax_softauth_new(sa, &err), AX_OK);
	ax_softauth_cose_key(*sa, cose);
	ax_softauth_cred_id(*sa, cid);
	ax_hex_encode(cose_hex, cose, sizeof(cose));
	ax_hex_encode(cid_hex, cid, sizeof(cid));
	ck_assert_str_eq(dbt_call(T.api,
	                     "axiom_api.register_factor('axiom-system', '2026-01-01 00:00:03+00', "
	                     "NULL, '" FACTOR "', 'fido2', 'alice', decode('%s', 'hex'), "
	                     "decode('%s', 'hex'), -7, NULL, NULL, NULL, 'key issued')",
	                     cid_hex, cose_hex),
	    "accepted");
	ck_assert_str_eq(
	    dbt_create("alice", "2026-01-01 00:10:00+00", RID, LINEAGE, "note", "F1", "t"),
	    "accepted");
}

START_TEST(test_applier_signs_waits_for_the_watermark_and_the_auditor_reverifies)
{
	struct ax_softauth *sa = NULL;
	struct ax_sign_reverify_report rep;
	struct ax_err err;
	size_t cut;
	json_t *e;

	prepare(&sa);
	ck_assert_str_eq(
	    dbt_call(T.api, "axiom_api.register_factor('alice', '2026-01-01 00:00:04+00', NULL, "
	                    "gen_random_uuid(), 'fido2', 'alice', '\\x01', '\\x02', -7, NULL, "
	                    "NULL, NULL, 'self-service')"),
	    "not_found_or_denied");

	/* the control watermark is still -infinity: the Sign element waits, unverified */
	e = signed_element(sa, &cut);
	ck_assert_uint_eq(cut, 0);
	ck_assert_ptr_nonnull(json_object_get(e, "_sg_factor_id"));
	json_decref(e);

	dbt_exec(T.admin, "UPDATE axiom.control_watermark SET event_time = '2026-01-02'");
	e = signed_element(sa, &cut);
	ck_assert_uint_eq(cut, 1);
	ck_assert_ptr_null(json_object_get(e, "_sg_factor_id"));
	ck_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(e, "factor_types"), 0)), "fido2");
	ck_assert_str_eq(apply(e), "accepted:");
	ck_assert_str_eq(apply(e), "rejected:intent_nonce_replayed");
	json_decref(e);
	/* a 0007-form signature: stored, but not re-verifiable offline */
	ck_assert_str_eq(dbt_call(T.api, "axiom_api.sign_record('carol', '" ET_SIGN "', NULL, "
	                                 "gen_random_uuid(), '" RID "', 'review', sha256('x'), "
	                                 "'{fido2}', '\\x01')"),
	    "accepted");

	ck_assert_int_eq(ax_sign_reverify(T.auditor, &rep, &err), AX_OK);
	ck_assert_uint_eq(rep.checked, 2);
	ck_assert_uint_eq(rep.verified, 1);
	ck_assert_uint_eq(rep.unverifiable, 1);
	ck_assert_uint_eq(rep.failed, 0);

	/* tampering with the stored proofs (a superuser past the triggers) is found */
	dbt_exec(T.admin, "ALTER TABLE axiom.signatures DISABLE TRIGGER append_only_row");
	dbt_exec(T.admin, "UPDATE axiom.signatures SET proofs = overlay(proofs placing "
	                  "'\\x7b'::bytea from 60 for 1) WHERE signer = 'alice'");
	dbt_exec(T.admin, "ALTER TABLE axiom.signatures ENABLE ALWAYS TRIGGER append_only_row");
	ck_assert_int_eq(ax_sign_reverify(T.auditor, &rep, &err), AX_OK);
	ck_assert_uint_eq(rep.failed, 1);
	ck_assert_msg(strstr(rep.first_problem, "webauthn_") != NULL, "%s", rep.first_problem);

	ax_softauth_free(sa);
	dbt_teardown();
}
END_TEST

START_TEST(test_the_counter_check_reads_one_signature_whatever_the_history)
{
	struct ax_softauth *sa = NULL;
	size_t cut;
	int fetched;
	json_t *e;

	prepare(&sa);
	/* 10,000 earlier signatures of the key on this partition, counters 1 to 10,000 */
	dbt_exec(T.admin,
	    "INSERT INTO axiom.signature_evidence (signature_id, signer, topic, kafka_partition, "
	    "signed_at, factor_ids, factor_types, all_components, user_verified, fido2_factor_id, "
	    "sign_count, ledger_topic, ledger_partition, ledger_seq) SELECT gen_random_uuid(), "
	    "'alice', 't', 0, '2026-01-01 00:10:00+00'::timestamptz - make_interval(secs => n), "
	    "'{}', '{fido2}', true, true, '" FACTOR "', n, 't', 0, n FROM generate_series(1, "
	    "10000) n");
	dbt_exec(T.admin, "UPDATE axiom.control_watermark SET event_time = '2026-01-02'");
	e = signed_element(sa, &cut);
	ck_assert_uint_eq(cut, 1);
	dbt_exec(T.api, "BEGIN");
	fetched = dbt_xact_rows_read("signature_evidence");
	ck_assert_str_eq(apply(e), "rejected:webauthn_sign_count_regressed");
	fetched = dbt_xact_rows_read("signature_evidence") - fetched;
	dbt_exec(T.api, "ROLLBACK");
	/* the last entry of the key's range of the counter index, and not every signature */
	ck_assert_msg(fetched < 100, "the counter check fetched %d stored signatures", fetched);
	json_decref(e);
	ax_softauth_free(sa);
	dbt_teardown();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("0601-esign-applier-and-reverify");
	TCase *tc = tcase_create("db");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_applier_signs_waits_for_the_watermark_and_the_auditor_reverifies);
	tcase_add_test(tc, test_the_counter_check_reads_one_signature_whatever_the_history);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
