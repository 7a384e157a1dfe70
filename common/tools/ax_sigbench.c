/*
 * ax_sigbench.c - signature verification rate; see ax_sigbench.h.
 */
#include "ax_sigbench.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_clock.h"
#include "ax_intent.h"
#include "ax_softauth.h"
#include "ax_webauthn.h"

#define ROUNDS 10 /* alternations of the two measurements */

int
ax_sigbench_run(double secs, double *wa_per_s, double *raw_per_s, struct ax_err *err)
{
	static const char *const origins[] = { "https://axiom.example" };
	struct ax_webauthn_policy pol = { "axiom.example", origins, 1, true };
	struct ax_softauth *sa = NULL;
	struct ax_webauthn_key_cache *keys = NULL;
	struct ax_webauthn_verifier *v = NULL;
	struct ax_softauth_assertion out;
	struct ax_webauthn_assertion a;
	struct ax_webauthn_cred cred;
	struct ax_webauthn_result res;
	uint8_t cose[AX_COSE_ES256_KEY_LEN], cred_id[AX_SOFTAUTH_CRED_ID_LEN], challenge[32];
	uint8_t msg[69], pt[65];
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	double t0, t1, t_wa = 0, t_raw = 0;
	unsigned long n_wa = 0, n_raw = 0;
	int round;
	int rc = AX_ERR;

	if (secs <= 0)
		secs = 2.0;
	memset(challenge, 0x33, sizeof(challenge));
	if (ax_softauth_new(&sa, err) != AX_OK)
		goto out;
	ax_softauth_cose_key(sa, cose);
	ax_softauth_cred_id(sa, cred_id);
	if (ax_webauthn_key_cache_new(&keys, 1, err) != AX_OK ||
	    ax_webauthn_verifier_new(&v, &pol, err) != AX_OK ||
	    ax_softauth_get_assertion(sa, &out, "axiom.example", origins[0], challenge, 32,
	        AX_WA_FLAG_UP | AX_WA_FLAG_UV, err) != AX_OK)
		goto out;
	memset(&cred, 0, sizeof(cred));
	cred.id = cred_id;
	cred.id_len = sizeof(cred_id);
	cred.owner = "alice";
	a.cred_id = out.cred_id;
	a.cred_id_len = sizeof(out.cred_id);
	a.auth_data = out.auth_data;
	a.auth_data_len = sizeof(out.auth_data);
	a.client_data_json = out.client_data_json;
	a.client_data_json_len = out.client_data_json_len;
	a.sig = out.sig;
	a.sig_len = out.sig_len;

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
			ax_err_set(err, AX_ERR, "could not build the benchmark's public key");
			goto out;
		}
		EVP_PKEY_CTX_free(kctx);
	}
	memcpy(msg, out.auth_data, 37);
	EVP_Digest(
	    out.client_data_json, out.client_data_json_len, msg + 37, NULL, EVP_sha256(), NULL);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}

	/* The two measurements alternate in ROUNDS slices, so that a change of the machine's load
	 * during the run weighs on both alike and the ratio stays a same-run comparison. */
	for (round = 0; round < ROUNDS; round++) {
		t0 = ax_mono_s();
		do {
			/* as a writer does: the registered key from its cache (a hit) */
			if (ax_webauthn_key_cache_get(&cred.key, keys, AX_COSE_ALG_ES256,
			        AX_PK_COSE, cose, sizeof(cose), err) != AX_OK ||
			    ax_webauthn_verify(&res, v, &cred, "alice", &a, challenge, err) !=
			        AX_OK)
				goto out;
			n_wa++;
		} while ((t1 = ax_mono_s()) - t0 < secs / ROUNDS);
		t_wa += t1 - t0;
		t0 = ax_mono_s();
		do {
			if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
			    EVP_DigestVerify(ctx, out.sig, out.sig_len, msg, sizeof(msg)) != 1) {
				ax_err_set(err, AX_ERR, "the raw ECDSA verification failed");
				goto out;
			}
			n_raw++;
		} while ((t1 = ax_mono_s()) - t0 < secs / ROUNDS);
		t_raw += t1 - t0;
	}
	*wa_per_s = (double)n_wa / t_wa;
	*raw_per_s = (double)n_raw / t_raw;
	rc = AX_OK;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ax_webauthn_verifier_free(v);
	ax_webauthn_key_cache_free(keys);
	ax_softauth_free(sa);
	return rc;
}
