/*
 * test_webauthn_cache.c - the cache of parsed WebAuthn keys (ax_webauthn.h,
 * ax_webauthn_key_cache_*): a hit decides as a miss, an entry is served only for its own
 * bytes (never another key under the same credential id), the bound and its eviction, keys
 * that do not parse. Leaks are the sanitizer build's to find (AXIOM_SANITIZE).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_intent.h"
#include "ax_softauth.h"
#include "ax_webauthn.h"

#define RP     "axiom.example"
#define ORIGIN "https://axiom.example"

static const char *const origins[] = { ORIGIN };

/* Two authenticators A and B, the same credential id registered for both (as when a
 * credential's key is replaced in the registry), one assertion signed by each. */
struct fx {
	struct ax_softauth *sa[2];
	uint8_t cose[2][AX_COSE_ES256_KEY_LEN];
	uint8_t cred_id[AX_SOFTAUTH_CRED_ID_LEN];
	struct ax_softauth_assertion out[2];
	struct ax_webauthn_verifier *v;
	struct ax_webauthn_key_cache *c;
	uint8_t challenge[32];
	struct ax_err err;
};

static struct fx F;

static void
setup(void)
{
	struct ax_webauthn_policy pol = { RP, origins, 1, true };
	int i;

	memset(&F, 0, sizeof(F));
	memset(F.challenge, 0x33, sizeof(F.challenge));
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(ax_softauth_new(&F.sa[i], &F.err), AX_OK);
		ax_softauth_cose_key(F.sa[i], F.cose[i]);
		ck_assert_int_eq(ax_softauth_get_assertion(F.sa[i], &F.out[i], RP, ORIGIN,
		                     F.challenge, 32, AX_WA_FLAG_UP | AX_WA_FLAG_UV, &F.err),
		    AX_OK);
	}
	ax_softauth_cred_id(F.sa[0], F.cred_id);
	ck_assert_mem_ne(F.cose[0], F.cose[1], sizeof(F.cose[0]));
	ck_assert_int_eq(ax_webauthn_verifier_new(&F.v, &pol, &F.err), AX_OK);
	ck_assert_int_eq(ax_webauthn_key_cache_new(&F.c, 2, &F.err), AX_OK);
}

static void
teardown(void)
{
	ax_webauthn_key_cache_free(F.c);
	ax_webauthn_verifier_free(F.v);
	ax_softauth_free(F.sa[0]);
	ax_softauth_free(F.sa[1]);
}

/* Verify the assertion signed by authenticator who against key, registered under F.cred_id;
 * returns the rc and the reason in *reason. */
static int
verify_with(const struct ax_webauthn_key *key, int who, enum ax_webauthn_reason *reason)
{
	struct ax_webauthn_cred cred;
	struct ax_webauthn_assertion a;
	struct ax_webauthn_result res;
	int rc;

	memset(&cred, 0, sizeof(cred));
	cred.id = F.cred_id;
	cred.id_len = sizeof(F.cred_id);
	cred.key = key;
	cred.owner = "alice";
	memset(&a, 0, sizeof(a));
	a.cred_id = F.cred_id;
	a.cred_id_len = sizeof(F.cred_id);
	a.auth_data = F.out[who].auth_data;
	a.auth_data_len = sizeof(F.out[who].auth_data);
	a.client_data_json = F.out[who].client_data_json;
	a.client_data_json_len = F.out[who].client_data_json_len;
	a.sig = F.out[who].sig;
	a.sig_len = F.out[who].sig_len;
	rc = ax_webauthn_verify(&res, F.v, &cred, "alice", &a, F.challenge, &F.err);
	*reason = res.reason;
	return rc;
}

/* The key of authenticator who through the cache. */
static const struct ax_webauthn_key *
cached(int who)
{
	const struct ax_webauthn_key *k = NULL;

	ck_assert_int_eq(ax_webauthn_key_cache_get(&k, F.c, AX_COSE_ALG_ES256, AX_PK_COSE,
	                     F.cose[who], sizeof(F.cose[who]), &F.err),
	    AX_OK);
	ck_assert_ptr_nonnull(k);
	return k;
}

static void
assert_stats(size_t entries, unsigned long long hits, unsigned long long misses,
    unsigned long long evictions)
{
	struct ax_webauthn_key_cache_stats st;

	ax_webauthn_key_cache_stats(&st, F.c);
	ck_assert_uint_eq(st.entries, entries);
	ck_assert_uint_eq(st.hits, hits);
	ck_assert_uint_eq(st.misses, misses);
	ck_assert_uint_eq(st.evictions, evictions);
	ck_assert_uint_le(st.entries, st.capacity);
}

START_TEST(test_a_cache_hit_decides_as_a_miss_and_as_a_freshly_parsed_key)
{
	struct ax_webauthn_key *fresh = NULL;
	const struct ax_webauthn_key *miss, *hit;
	enum ax_webauthn_reason r_fresh, r_miss, r_hit;
	int who;

	ck_assert_int_eq(ax_webauthn_key_new(&fresh, AX_COSE_ALG_ES256, AX_PK_COSE, F.cose[0],
	                     sizeof(F.cose[0]), &F.err),
	    AX_OK);
	miss = cached(0);
	assert_stats(1, 0, 1, 0);
	hit = cached(0);
	assert_stats(1, 1, 1, 0);
	ck_assert_ptr_eq(hit, miss);
	ck_assert_int_eq(ax_webauthn_key_alg(hit), AX_COSE_ALG_ES256);
	/* A's own assertion is accepted, B's refused, by every one of the three */
	for (who = 0; who < 2; who++) {
		int rc = verify_with(fresh, who, &r_fresh);

		ck_assert_int_eq(verify_with(miss, who, &r_miss), rc);
		ck_assert_int_eq(verify_with(hit, who, &r_hit), rc);
		ck_assert_int_eq(r_miss, r_fresh);
		ck_assert_int_eq(r_hit, r_fresh);
		ck_assert_int_eq(rc, who == 0 ? AX_OK : AX_EINVAL);
		ck_assert_int_eq(r_fresh, who == 0 ? AX_WA_OK : AX_WA_BAD_SIGNATURE);
	}
	/* a tampered signature is refused alike */
	F.out[0].sig[F.out[0].sig_len - 1] ^= 1;
	ck_assert_int_eq(verify_with(fresh, 0, &r_fresh), AX_EINVAL);
	ck_assert_int_eq(verify_with(cached(0), 0, &r_hit), AX_EINVAL);
	ck_assert_int_eq(r_hit, r_fresh);
	ax_webauthn_key_free(fresh);
}
END_TEST

START_TEST(test_another_key_under_the_same_credential_id_is_never_served_from_the_cache)
{
	const struct ax_webauthn_key *ka, *kb;
	enum ax_webauthn_reason reason;

	/* A cached first; then the registry holds B's key for the same credential id */
	ka = cached(0);
	ck_assert_int_eq(verify_with(ka, 0, &reason), AX_OK);
	kb = cached(1);
	assert_stats(2, 0, 2, 0); /* a miss: B's bytes are not A's */
	ck_assert_ptr_ne(kb, ka);
	ck_assert_int_eq(verify_with(kb, 1, &reason), AX_OK);
	/* a signature made with B does not verify against cached A, nor A's against cached B */
	ck_assert_int_eq(verify_with(cached(0), 1, &reason), AX_EINVAL);
	ck_assert_int_eq(reason, AX_WA_BAD_SIGNATURE);
	ck_assert_int_eq(verify_with(cached(1), 0, &reason), AX_EINVAL);
	ck_assert_int_eq(reason, AX_WA_BAD_SIGNATURE);
	assert_stats(2, 2, 2, 0);
}
END_TEST

START_TEST(test_the_same_bytes_in_another_format_or_algorithm_are_another_entry)
{
	const struct ax_webauthn_key *k = NULL, *raw = NULL;
	uint8_t point[65];
	enum ax_webauthn_reason reason;

	point[0] = 4;
	memcpy(point + 1, F.cose[0] + 10, 32);
	memcpy(point + 33, F.cose[0] + 45, 32);
	ck_assert_int_eq(
	    ax_webauthn_key_cache_get(&raw, F.c, AX_COSE_ALG_ES256, AX_PK_RAW, point, 65, &F.err),
	    AX_OK);
	ck_assert_int_eq(verify_with(raw, 0, &reason), AX_OK);
	/* the COSE bytes of the same key: parsed on their own */
	k = cached(0);
	assert_stats(2, 0, 2, 0);
	/* the same COSE bytes asked for as EdDSA: refused (another algorithm), not served */
	ck_assert_int_eq(ax_webauthn_key_cache_get(&k, F.c, AX_COSE_ALG_EDDSA, AX_PK_COSE,
	                     F.cose[0], sizeof(F.cose[0]), &F.err),
	    AX_EINVAL);
	ck_assert_ptr_null(k);
	/* the same point as 64 raw bytes: the same key, another entry */
	ck_assert_int_eq(
	    ax_webauthn_key_cache_get(&k, F.c, AX_COSE_ALG_ES256, AX_PK_RAW, point + 1, 64, &F.err),
	    AX_OK);
	ck_assert_int_eq(verify_with(k, 0, &reason), AX_OK);
	ck_assert_int_eq(verify_with(k, 1, &reason), AX_EINVAL);
}
END_TEST

START_TEST(test_the_cache_evicts_the_least_recently_used_key_at_its_bound)
{
	struct ax_softauth *sc = NULL;
	uint8_t cose_c[AX_COSE_ES256_KEY_LEN];
	const struct ax_webauthn_key *k = NULL;
	enum ax_webauthn_reason reason;
	int round;

	ck_assert_int_eq(ax_softauth_new(&sc, &F.err), AX_OK);
	ax_softauth_cose_key(sc, cose_c);
	cached(0); /* A */
	cached(1); /* B */
	cached(0); /* A again: B is now the least recently used */
	assert_stats(2, 1, 2, 0);
	ck_assert_int_eq(ax_webauthn_key_cache_get(&k, F.c, AX_COSE_ALG_ES256, AX_PK_COSE, cose_c,
	                     sizeof(cose_c), &F.err),
	    AX_OK); /* C evicts B */
	assert_stats(2, 1, 3, 1);
	ck_assert_int_eq(verify_with(cached(0), 0, &reason), AX_OK); /* A stayed: a hit */
	assert_stats(2, 2, 3, 1);
	ck_assert_int_eq(verify_with(cached(1), 1, &reason), AX_OK); /* B parsed again */
	assert_stats(2, 2, 4, 2);                                    /* ...evicting C */
	/* churn well past the bound: never more than two entries, every verdict right */
	for (round = 0; round < 20; round++) {
		int who = round % 2;

		ck_assert_int_eq(verify_with(cached(who), who, &reason), AX_OK);
		ck_assert_int_eq(verify_with(cached(who), 1 - who, &reason), AX_EINVAL);
		ck_assert_int_eq(ax_webauthn_key_cache_get(&k, F.c, AX_COSE_ALG_ES256, AX_PK_COSE,
		                     cose_c, sizeof(cose_c), &F.err),
		    AX_OK);
		ck_assert_int_eq(verify_with(k, 0, &reason), AX_EINVAL);
	}
	{
		struct ax_webauthn_key_cache_stats st;

		ax_webauthn_key_cache_stats(&st, F.c);
		ck_assert_uint_eq(st.entries, 2);
		ck_assert_uint_eq(st.capacity, 2);
		ck_assert_uint_gt(st.evictions, 20);
	}
	ax_softauth_free(sc);
}
END_TEST

START_TEST(test_a_key_that_does_not_parse_is_refused_each_time_and_not_cached)
{
	const struct ax_webauthn_key *k = NULL;
	uint8_t bad[AX_COSE_ES256_KEY_LEN];
	int i;

	memcpy(bad, F.cose[0], sizeof(bad));
	bad[76] ^= 1; /* y: off the curve */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(ax_webauthn_key_cache_get(&k, F.c, AX_COSE_ALG_ES256, AX_PK_COSE,
		                     bad, sizeof(bad), &F.err),
		    AX_EINVAL);
		ck_assert_str_eq(F.err.msg, "invalid ES256 (P-256) public key");
		ck_assert_ptr_null(k);
	}
	assert_stats(0, 0, 2, 0);
}
END_TEST

START_TEST(test_a_cache_without_room_is_refused_and_free_of_null_is_a_no_op)
{
	struct ax_webauthn_key_cache *c = NULL;

	ck_assert_int_eq(ax_webauthn_key_cache_new(&c, 0, &F.err), AX_EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(ax_webauthn_key_cache_new(&c, 65537, &F.err), AX_EINVAL);
	ck_assert_ptr_null(c);
	ax_webauthn_key_cache_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("webauthn_cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_a_cache_hit_decides_as_a_miss_and_as_a_freshly_parsed_key);
	tcase_add_test(
	    tc, test_another_key_under_the_same_credential_id_is_never_served_from_the_cache);
	tcase_add_test(tc, test_the_same_bytes_in_another_format_or_algorithm_are_another_entry);
	tcase_add_test(tc, test_the_cache_evicts_the_least_recently_used_key_at_its_bound);
	tcase_add_test(tc, test_a_key_that_does_not_parse_is_refused_each_time_and_not_cached);
	tcase_add_test(tc, test_a_cache_without_room_is_refused_and_free_of_null_is_a_no_op);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
