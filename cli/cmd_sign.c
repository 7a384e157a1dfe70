/*
 * cmd_sign.c - `axiom sign`: sign a record version with a meaning and publish the Sign
 * command (issue 6). The assertion comes from the software authenticator (a P-256 key file,
 * its signature counter in FILE.count) or, with --device, from the first FIDO2 device
 * libfido2 finds (fido_dev_get_assert).
 *
 * States: parse -> intent (fresh nonce unless --nonce) -> assertion -> JSON line -> print it
 * (default) or publish it (--publish: one idempotent, acknowledged send) -> save the
 * counter. The counter is saved only after the line exists, so a failed signing never
 * skips ahead and a published one never repeats a counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <fido.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ax_b64url.h"
#include "ax_codec.h"
#include "ax_hex.h"
#include "ax_publish.h"
#include "ax_signer.h"
#include "ax_softauth.h"
#include "ax_topics.h"
#include "ax_webauthn.h"
#include "cli.h"

#define KEY_FILE_MAX 4096

/* Print the help text to fp. */
static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: axiom sign --new-key FILE\n"
	    "       axiom sign (--key FILE | --device --credential-id HEX) --actor USER\n"
	    "                  --lineage UUID --version N --record-hash HEX --meaning MEANING\n"
	    "                  --factor-id UUID [--origin URL] [--no-uv] [--nonce HEX]\n"
	    "                  [--id-token JWT] [--comment TEXT] [--reason TEXT] [--challenge]\n"
	    "                  [--publish [--brokers LIST] [--prefix NAME]]\n"
	    "\n"
	    "Builds the signing intent (signer = --actor, the record version, its record hash,\n"
	    "the meaning, a fresh nonce; docs/signing-intent.md), obtains a WebAuthn assertion\n"
	    "over its SHA-256 and writes the Sign command as one JSON line for `axiom publish`,\n"
	    "or publishes it itself with --publish.\n"
	    "\n"
	    "  --new-key FILE       create a software authenticator (P-256 key, mode 0600) and\n"
	    "                       print what FactorRegister needs: credential_id, public_key\n"
	    "                       (COSE_Key) and cose_alg\n"
	    "  --key FILE           sign with the software authenticator in FILE; its counter\n"
	    "                       is kept in FILE.count\n"
	    "  --device             sign with the first FIDO2 device (libfido2); PIN from\n"
	    "                       $AXIOM_FIDO_PIN; needs --credential-id\n"
	    "  --credential-id HEX  the device's credential (as FactorRegister recorded it)\n"
	    "  --actor USER         the signer's user id\n"
	    "  --lineage UUID       the record (its lineage id)\n"
	    "  --version N          the record version signed, 1 to %ld\n"
	    "  --record-hash HEX    that version's record hash, 64 hex digits\n"
	    "  --meaning MEANING    authorship, review, approval or responsibility\n"
	    "  --factor-id UUID     the signing factor registered for the signer\n"
	    "  --origin URL         relying-party origin (default https://axiom.local)\n"
	    "  --no-uv              an assertion without user verification (UP only)\n"
	    "  --nonce HEX          use this nonce (16-32 bytes), e.g. the one --challenge chose\n"
	    "  --challenge          print the nonce and the intent hash as base64url (the OIDC\n"
	    "                       nonce to request an ID token with) and stop\n"
	    "  --id-token JWT       attach an OIDC ID token whose nonce is that hash\n"
	    "  --comment TEXT       the signer's comment, carried with the signature\n"
	    "  --reason TEXT        the command's reason (default \"electronic signature\")\n"
	    "  --publish            publish the command (default: print it)\n"
	    "  --brokers LIST       with --publish: the brokers (default $AXIOM_BROKERS)\n"
	    "  --prefix NAME        with --publish: the topic prefix (default\n"
	    "                       $AXIOM_TOPIC_PREFIX, else axiom)\n",
	    LONG_MAX);
}

/* Parse hex s of min..max bytes into out (*len bytes); 0, or -1 when it is not that. */
static int
hex_arg(uint8_t *out, size_t min, size_t max, size_t *len, const char *s)
{
	return ax_hex_decode_upto(out, max, len, s) == 0 && *len >= min ? 0 : -1;
}

/* Print p[0..n) as lower-case hex on stdout. */
static void
print_hex(const uint8_t *p, size_t n)
{
	char buf[2 * 32 + 1];

	for (size_t i = 0; i < n; i += 32) {
		ax_hex_encode(buf, p + i, n - i < 32 ? n - i : 32);
		fputs(buf, stdout);
	}
}

/* Read at most cap - 1 bytes of path into buf (NUL-terminated). */
static int
read_small(char *buf, size_t cap, size_t *len, const char *path, struct ax_err *err)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		return ax_err_set(err, AX_EINVAL, "could not open %s: %s", path, strerror(errno));
	n = fread(buf, 1, cap - 1, fp);
	if (!feof(fp)) {
		fclose(fp);
		return ax_err_set(err, AX_EINVAL, "%s is larger than %zu bytes", path, cap - 1);
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return AX_OK;
}

/*
 * Read the signature counter that sign saved in path into *out: 0 when the file does not
 * exist (a new key), AX_EINVAL when it cannot be read or is not a whole number 0..UINT32_MAX.
 */
static int
read_counter(uint32_t *out, const char *path, struct ax_err *err)
{
	char text[32];
	size_t n;
	long v;
	FILE *fp;

	*out = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return AX_OK;
		return ax_err_set(err, AX_EINVAL, "could not open %s: %s", path, strerror(errno));
	}
	if (fgets(text, sizeof(text), fp) == NULL)
		text[0] = '\0';
	fclose(fp);
	n = strcspn(text, "\n");
	text[n] = '\0';
	if (cli_parse_long(text, 0, UINT32_MAX, &v) != 0) {
		ax_err_set(err, AX_EINVAL, "invalid signature counter in %s", path);
		ax_err_detail(err, "The file must hold one whole number from 0 to %lu.",
		    (unsigned long)UINT32_MAX);
		ax_err_hint(err, "Restore it from a backup: a signature counter lower than the "
		                 "last one used is refused as a possibly cloned authenticator.");
		return AX_EINVAL;
	}
	*out = (uint32_t)v;
	return AX_OK;
}

/* Create a software authenticator in path (0600, never overwritten); print its registration. */
static int
new_key(const char *path, struct ax_err *err)
{
	struct ax_softauth *sa = NULL;
	char pem[AX_SOFTAUTH_PEM_MAX];
	uint8_t cose[AX_COSE_ES256_KEY_LEN], cid[AX_SOFTAUTH_CRED_ID_LEN];
	size_t len = 0;
	int fd = -1, rc;

	if ((rc = ax_softauth_new(&sa, err)) != AX_OK)
		goto out;
	if ((rc = ax_softauth_to_pem(sa, pem, sizeof(pem), &len, err)) != AX_OK)
		goto out;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		rc = ax_err_set(err, AX_EINVAL, "could not create %s: %s", path, strerror(errno));
		goto out;
	}
	if (write(fd, pem, len) != (ssize_t)len || close(fd) != 0) {
		fd = -1;
		rc = ax_err_set(err, AX_ERR, "could not write %s", path);
		goto out;
	}
	fd = -1;
	ax_softauth_cose_key(sa, cose);
	ax_softauth_cred_id(sa, cid);
	printf("{\"credential_id\": \"");
	print_hex(cid, sizeof(cid));
	printf("\", \"public_key\": \"");
	print_hex(cose, sizeof(cose));
	printf("\", \"cose_alg\": -7}\n");
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(pem, sizeof(pem));
	ax_softauth_free(sa);
	return rc;
}

/* The CBOR byte string at p (what fido_assert_authdata_ptr returns) -> its content. */
static int
cbor_bytes(const uint8_t **out, size_t *out_len, const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0x58 && (size_t)p[1] + 2 == n) {
		*out = p + 2;
		*out_len = p[1];
		return 0;
	}
	if (n >= 3 && p[0] == 0x59 && (((size_t)p[1] << 8) | p[2]) + 3 == n) {
		*out = p + 3;
		*out_len = n - 3;
		return 0;
	}
	if (n >= 1 && p[0] >= 0x40 && p[0] <= 0x57 && (size_t)(p[0] - 0x40) + 1 == n) {
		*out = p + 1;
		*out_len = n - 1;
		return 0;
	}
	return -1;
}

/* Obtain the assertion from the first FIDO2 device and write the line (libfido2). */
static int
device_line(char *line, size_t cap, struct ax_signer_request *req, const uint8_t *cred_id,
    size_t cred_id_len, struct ax_err *err)
{
	fido_dev_info_t *list = NULL;
	fido_dev_t *dev = NULL;
	fido_assert_t *as = NULL;
	uint8_t hash[AX_HASH_LEN], cdh[AX_HASH_LEN];
	char chal[64], cdj[AX_SOFTAUTH_CDJ_MAX], rp[256];
	const uint8_t *ad;
	size_t n = 0, ad_len, cdj_len;
	int rc, r;

	if ((rc = ax_signer_intent(hash, req, err)) != AX_OK)
		return rc;
	if ((rc = ax_signer_rp_id(rp, sizeof(rp), req->origin, err)) != AX_OK)
		return rc;
	if ((rc = ax_b64url_encode(chal, sizeof(chal), hash, sizeof(hash), err)) != AX_OK)
		return rc;
	r = snprintf(cdj, sizeof(cdj),
	    "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"%s\",\"crossOrigin\":"
	    "false}",
	    chal, req->origin);
	if (r < 0 || (size_t)r >= sizeof(cdj) || strpbrk(req->origin, "\"\\") != NULL)
		return ax_err_set(err, AX_EINVAL, "the origin cannot be put in clientDataJSON");
	cdj_len = (size_t)r;
	SHA256((const unsigned char *)cdj, cdj_len, cdh);
	fido_init(0);
	if ((list = fido_dev_info_new(16)) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	if ((r = fido_dev_info_manifest(list, 16, &n)) != FIDO_OK || n == 0) {
		rc = ax_err_set(err, AX_EUNAVAIL, "no FIDO2 device found");
		ax_err_detail(err, "libfido2 listed %zu device(s): %s", n, fido_strerr(r));
		ax_err_hint(err, "Plug in a security key, or sign with a software authenticator: "
		                 "--key FILE (create one with --new-key FILE).");
		goto out;
	}
	if ((dev = fido_dev_new()) == NULL || (as = fido_assert_new()) == NULL) {
		rc = ax_err_set(err, AX_ERR, "out of memory");
		goto out;
	}
	if ((r = fido_dev_open(dev, fido_dev_info_path(fido_dev_info_ptr(list, 0)))) != FIDO_OK ||
	    (r = fido_assert_set_clientdata_hash(as, cdh, sizeof(cdh))) != FIDO_OK ||
	    (r = fido_assert_set_rp(as, rp)) != FIDO_OK ||
	    (r = fido_assert_allow_cred(as, cred_id, cred_id_len)) != FIDO_OK ||
	    (r = fido_assert_set_up(as, FIDO_OPT_TRUE)) != FIDO_OK ||
	    (r = fido_assert_set_uv(as, req->user_verified ? FIDO_OPT_TRUE : FIDO_OPT_OMIT)) !=
	        FIDO_OK ||
	    (r = fido_dev_get_assert(dev, as, getenv("AXIOM_FIDO_PIN"))) != FIDO_OK) {
		rc = ax_err_set(err, AX_ERR, "the FIDO2 device refused the assertion");
		err->lib_code = r;
		ax_err_detail(err, "libfido2: %s", fido_strerr(r));
		goto out;
	}
	if (fido_assert_count(as) != 1 || cbor_bytes(&ad, &ad_len, fido_assert_authdata_ptr(as, 0),
	                                      fido_assert_authdata_len(as, 0))) {
		rc = ax_err_set(err, AX_ERR, "the FIDO2 device returned an unexpected assertion");
		goto out;
	}
	rc = ax_signer_line(line, cap, req, (const uint8_t *)cdj, cdj_len, ad, ad_len,
	    fido_assert_sig_ptr(as, 0), fido_assert_sig_len(as, 0), err);
out:
	fido_assert_free(&as);
	if (dev != NULL)
		fido_dev_close(dev);
	fido_dev_free(&dev);
	fido_dev_info_free(&list, 16);
	return rc;
}

/* Encode line with the current contract and publish it, waiting for the acknowledgement. */
static int
publish_line(const char *line, const char *brokers, const char *prefix, struct ax_err *err)
{
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	struct ax_codec *codec = NULL;
	struct ax_producer *prod = NULL;
	struct ax_publish_msg m;
	const struct ax_producer_stats *st;
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = ax_topics_plan(specs, prefix, 1, err)) != AX_OK)
		goto out;
	if ((rc = ax_codec_new(&codec, NULL, err)) != AX_OK)
		goto out;
	if ((rc = ax_publish_encode_line(codec, line, strlen(line), &m, err)) != AX_OK)
		goto out;
	if ((rc = ax_producer_new(&prod, brokers, AX_KAFKA_UPSTREAM, 30000, err)) != AX_OK)
		goto out;
	if ((rc = ax_producer_send(prod, specs[AX_TOPIC_COMMANDS].name, &m, 1, err)) != AX_OK)
		goto out;
	st = ax_producer_wait(prod, 35000);
	if (st->delivered != 1)
		rc = ax_err_set(err, AX_EUNAVAIL,
		    "the broker did not acknowledge the Sign command: %s",
		    st->nfailures > 0 ? st->failures[0].reason : "timed out");
out:
	ax_publish_msg_clear(&m);
	ax_producer_free(prod);
	ax_codec_free(codec);
	return rc;
}

/* `axiom sign`: see usage(). */
int
cmd_sign(int argc, char **argv, const struct ax_config *cfg)
{
	static const struct option opts[] = { { "new-key", required_argument, NULL, 'N' },
		{ "key", required_argument, NULL, 'k' }, { "device", no_argument, NULL, 'D' },
		{ "credential-id", required_argument, NULL, 'C' },
		{ "actor", required_argument, NULL, 'a' },
		{ "lineage", required_argument, NULL, 'l' },
		{ "version", required_argument, NULL, 'v' },
		{ "record-hash", required_argument, NULL, 'r' },
		{ "meaning", required_argument, NULL, 'm' },
		{ "factor-id", required_argument, NULL, 'f' },
		{ "origin", required_argument, NULL, 'o' }, { "no-uv", no_argument, NULL, 'U' },
		{ "nonce", required_argument, NULL, 'n' }, { "challenge", no_argument, NULL, 'c' },
		{ "id-token", required_argument, NULL, 't' },
		{ "comment", required_argument, NULL, 'M' },
		{ "reason", required_argument, NULL, 'R' }, { "publish", no_argument, NULL, 'p' },
		{ "brokers", required_argument, NULL, 'b' },
		{ "prefix", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *prog = "axiom sign", *key = NULL, *brokers = cfg->brokers;
	const char *prefix = cfg->topic_prefix;
	struct ax_signer_request req;
	struct ax_softauth *sa = NULL;
	struct ax_err err;
	uint8_t cred_id[AX_WA_CRED_ID_MAX];
	size_t cred_id_len = 0, len = 0;
	bool device = false, challenge = false, publish = false, have_hash = false;
	bool have_lineage = false, have_factor = false;
	char *line = NULL, pem[KEY_FILE_MAX], count_path[4096];
	uint32_t counter = 0;
	struct ax_topic_spec specs[AX_TOPIC_COUNT];
	long version;
	int c, r, rc = EXIT_FAILURE;

	memset(&req, 0, sizeof(req));
	req.origin = "https://axiom.local";
	req.user_verified = true;
	req.reason = "electronic signature";
	req.issued_at_us = (int64_t)time(NULL) * 1000000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'N':
			if (new_key(optarg, &err) != AX_OK)
				return cli_fail(prog, &err);
			return EXIT_SUCCESS;
		case 'k':
			key = optarg;
			break;
		case 'D':
			device = true;
			break;
		case 'C':
			if (hex_arg(cred_id, 1, sizeof(cred_id), &cred_id_len, optarg))
				return cli_usage_error(prog, "--credential-id must be hex");
			break;
		case 'a':
			req.actor = optarg;
			break;
		case 'l':
			if (!ax_uuid_parse(req.lineage_id, optarg, strlen(optarg)))
				return cli_usage_error(prog, "--lineage must be a UUID");
			have_lineage = true;
			break;
		case 'v':
			if (cli_parse_long(optarg, 1, LONG_MAX, &version) != 0)
				return cli_usage_error(prog, "--version takes 1 to %ld", LONG_MAX);
			req.version = version;
			break;
		case 'r':
			if (hex_arg(req.record_hash, AX_HASH_LEN, AX_HASH_LEN, &len, optarg))
				return cli_usage_error(prog, "--record-hash must be 64 hex digits");
			have_hash = true;
			break;
		case 'm':
			if (ax_meaning_parse(&req.meaning, optarg, &err) != AX_OK)
				return cli_usage_error(prog, "%s", err.msg);
			break;
		case 'f':
			if (!ax_uuid_parse(req.factor_id, optarg, strlen(optarg)))
				return cli_usage_error(prog, "--factor-id must be a UUID");
			have_factor = true;
			break;
		case 'o':
			req.origin = optarg;
			break;
		case 'U':
			req.user_verified = false;
			break;
		case 'n':
			if (hex_arg(req.nonce, AX_INTENT_NONCE_MIN, AX_INTENT_NONCE_MAX,
			        &req.nonce_len, optarg))
				return cli_usage_error(
				    prog, "--nonce must be 16 to 32 bytes of hex");
			break;
		case 'c':
			challenge = true;
			break;
		case 't':
			req.id_token = optarg;
			break;
		case 'M':
			req.comment = optarg;
			break;
		case 'R':
			req.reason = optarg;
			break;
		case 'p':
			publish = true;
			break;
		case 'b':
			brokers = optarg;
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			return cli_usage_error(prog, "unknown option");
		}
	}
	if (req.actor == NULL || !have_lineage || req.version < 1 || !have_hash ||
	    req.meaning == 0 || !have_factor)
		return cli_usage_error(prog, "--actor, --lineage, --version, --record-hash, "
		                             "--meaning and --factor-id are required");
	if (challenge) {
		uint8_t hash[AX_HASH_LEN];
		char b64[64];

		if (ax_signer_intent(hash, &req, &err) != AX_OK ||
		    ax_b64url_encode(b64, sizeof(b64), hash, sizeof(hash), &err) != AX_OK)
			return cli_fail(prog, &err);
		printf("{\"nonce\": \"");
		print_hex(req.nonce, req.nonce_len);
		printf("\", \"intent_hash\": \"%s\"}\n", b64);
		return EXIT_SUCCESS;
	}
	if ((key == NULL) == !device)
		return cli_usage_error(prog, "give either --key FILE or --device");
	if (device && cred_id_len == 0)
		return cli_usage_error(prog, "--device needs --credential-id");
	if (publish && brokers == NULL)
		return cli_usage_error(prog, "--publish needs --brokers or $AXIOM_BROKERS");
	if (publish && ax_topics_plan(specs, prefix, 1, &err) != AX_OK) /* before any signing */
		return cli_usage_error(prog, "%s. %s", err.msg, err.detail);
	if ((line = malloc(AX_SIGNER_LINE_MAX)) == NULL) {
		ax_err_set(&err, AX_ERR, "out of memory");
		return cli_fail(prog, &err);
	}
	if (device) {
		if (device_line(line, AX_SIGNER_LINE_MAX, &req, cred_id, cred_id_len, &err) !=
		    AX_OK)
			goto fail;
	} else {
		FILE *fp;

		r = snprintf(count_path, sizeof(count_path), "%s.count", key);
		if (r < 0 || (size_t)r >= sizeof(count_path)) {
			ax_err_set(&err, AX_EINVAL, "the key file name is too long");
			ax_err_detail(&err, "Its counter file name must be shorter than %zu bytes.",
			    sizeof(count_path));
			goto fail;
		}
		if (read_counter(&counter, count_path, &err) != AX_OK)
			goto fail;
		if (read_small(pem, sizeof(pem), &len, key, &err) != AX_OK)
			goto fail;
		rc = ax_softauth_from_pem(&sa, pem, len, counter, &err);
		OPENSSL_cleanse(pem, sizeof(pem));
		if (rc != AX_OK)
			goto fail;
		if (ax_signer_softauth_line(line, AX_SIGNER_LINE_MAX, &req, sa, &err) != AX_OK)
			goto fail;
		if ((fp = fopen(count_path, "w")) == NULL) {
			ax_err_set(&err, AX_ERR, "could not save the counter in %s", count_path);
			goto fail;
		}
		fprintf(fp, "%lu\n", (unsigned long)ax_softauth_sign_count(sa));
		fclose(fp);
	}
	if (publish) {
		if (publish_line(line, brokers, prefix, &err) != AX_OK)
			goto fail;
		fprintf(stderr, "%s: published the Sign command\n", prog);
	} else {
		printf("%s\n", line);
	}
	rc = EXIT_SUCCESS;
	goto out;
fail:
	rc = cli_fail(prog, &err);
out:
	ax_softauth_free(sa);
	free(line);
	return rc;
}
