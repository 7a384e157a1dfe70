/*
 * bench_webauthn.c - WebAuthn assertion verifications per second (ax_webauthn_verify: JSON
 * parse, checks, libfido2 verify) against raw ECDSA P-256 / SHA-256 verifies (OpenSSL
 * EVP_DigestVerify over the same 69 bytes), measured in the same run on one thread.
 *
 * Usage: bench_webauthn [seconds per measurement, default 2]
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_intent.h"
#include "ax_softauth.h"
#include "ax_webauthn.h"

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const char *const origins[] = { "https://axiom.example" };
	struct ax_webauthn_policy pol = { "axiom.example", origins, 1, true };
	struct ax_softauth *sa = NULL;
	struct ax_webauthn_key *key = NULL;
	struct ax_webauthn_verifier *v = NULL;
	struct ax_softauth_assertion out;
	struct ax_webauthn_assertion a;
	struct ax_webauthn_cred cred;
	struct ax_webauthn_result res;
	struct ax_err err;
	uint8_t cose[AX_COSE_ES256_KEY_LEN], cred_id[AX_SOFTAUTH_CRED_ID_LEN], challenge[32];
	uint8_t msg[69], pt[65];
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	double secs = argc > 1 ? strtod(argv[1], NULL) : 2.0, t0, t1, wa_rate, raw_rate;
	unsigned long n;
	int rc = EXIT_FAILURE;

	if (secs <= 0)
		secs = 2.0;
	memset(challenge, 0x33, sizeof(challenge));
	if (ax_softauth_new(&sa, &err) != AX_OK)
		goto out;
	ax_softauth_cose_key(sa, cose);
	ax_softauth_cred_id(sa, cred_id);
	if (ax_webauthn_key_new(&key, AX_COSE_ALG_ES256, AX_PK_COSE, cose, sizeof(cose), &err) !=
	        AX_OK ||
	    ax_webauthn_verifier_new(&v, &pol, &err) != AX_OK ||
	    ax_softauth_get_assertion(sa, &out, "axiom.example", origins[0], challenge, 32,
	        AX_WA_FLAG_UP | AX_WA_FLAG_UV, &err) != AX_OK)
		goto out;
	memset(&cred, 0, sizeof(cred));
	cred.id = cred_id;
	cred.id_len = sizeof(cred_id);
	cred.key = key;
	cred.owner = "alice";
	a.cred_id = out.cred_id;
	a.cred_id_len = sizeof(out.cred_id);
	a.auth_data = out.auth_data;
	a.auth_data_len = sizeof(out.auth_data);
	a.client_data_json = out.client_data_json;
	a.client_data_json_len = out.client_data_json_len;
	a.sig = out.sig;
	a.sig_len = out.sig_len;

	n = 0;
	t0 = now();
	do {
		if (ax_webauthn_verify(&res, v, &cred, "alice", &a, challenge, &err) != AX_OK)
			goto out;
		n++;
	} while ((t1 = now()) - t0 < secs);
	wa_rate = (double)n / (t1 - t0);

	/* The same key as an EVP_PKEY, and the same signed bytes. */
	pt[0] = 4;
	memcpy(pt + 1, cose + 10, 32);
	memcpy(pt + 33, cose + 45, 32);
	{
		EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_utf8_string("group", "prime256v1", 0),
			OSSL_PARAM_octet_string("pub", pt, sizeof(pt)),
			OSSL_PARAM_END,
		};

		if (kctx == NULL || EVP_PKEY_fromdata_init(kctx) != 1 ||
		    EVP_PKEY_fromdata(kctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
			EVP_PKEY_CTX_free(kctx);
			goto out;
		}
		EVP_PKEY_CTX_free(kctx);
	}
	memcpy(msg, out.auth_data, 37);
	EVP_Digest(
	    out.client_data_json, out.client_data_json_len, msg + 37, NULL, EVP_sha256(), NULL);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	n = 0;
	t0 = now();
	do {
		if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
		    EVP_DigestVerify(ctx, out.sig, out.sig_len, msg, sizeof(msg)) != 1)
			goto out;
		n++;
	} while ((t1 = now()) - t0 < secs);
	raw_rate = (double)n / (t1 - t0);

	printf("webauthn assertion verifications/s: %.0f (%.1f us each)\n", wa_rate, 1e6 / wa_rate);
	printf(
	    "raw ECDSA P-256 verifies/s:         %.0f (%.1f us each)\n", raw_rate, 1e6 / raw_rate);
	printf("webauthn / raw:                      %.2f\n", wa_rate / raw_rate);
	rc = EXIT_SUCCESS;
out:
	if (rc != EXIT_SUCCESS)
		ax_err_print(stderr, "bench_webauthn", &err);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ax_webauthn_verifier_free(v);
	ax_webauthn_key_free(key);
	ax_softauth_free(sa);
	return rc;
}
