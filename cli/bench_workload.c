/*
 * bench_workload.c - what `axiom bench` publishes: the deterministic command mix (control
 * commands first, then data commands, every base version the generator counts on holding;
 * in the realistic mix also e-signatures and commands the applier must refuse) and the
 * producer that sends it (the control principal). Caller's thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "ax_hex.h"
#include "ax_signer.h"
#include "ax_uuid.h"
#include "bench_int.h"

/* the signers' factor ids, as FactorRegister records them (alice, carol) */
static const char *const signer_factor[2] = { "00000001-0000-4000-f000-000000000000",
	"00000002-0000-4000-f000-000000000000" };
static const char *const signer_user[2] = { "alice", "carol" };

#define DAY_US 86400000000LL
/* the relying party the applier expects of a FIDO2 factor without an origin */
#define AX_SIGN_BENCH_ORIGIN "https://axiom.local"

/* ---- the command mix ------------------------------------------------------------------ */

/* Set up the generator for partitions partitions and the mix; -1 when out of memory. */
int
bench_gen_init(struct bench_gen *g, int partitions, int change_pct, int sign_pct, int refuse_pct)
{
	struct ax_err err;

	memset(g, 0, sizeof(*g));
	g->change_pct = change_pct;
	g->sign_pct = sign_pct;
	g->refuse_pct = refuse_pct;
	g->nsop = partitions * 16;
	g->nspec = partitions * 8;
	g->sop_ver = calloc((size_t)g->nsop, sizeof(long));
	g->spec_ver = calloc((size_t)g->nspec, sizeof(long));
	g->spec_step = calloc((size_t)g->nspec, sizeof(int));
	g->spec_change = calloc((size_t)g->nspec, sizeof(long));
	g->expires_us = ax_wall_us() + 365 * DAY_US;
	if (!g->sop_ver || !g->spec_ver || !g->spec_step || !g->spec_change)
		return -1;
	if (sign_pct == 0)
		return 0;
	g->nsignable = partitions * SIGNABLE_PER_PARTITION;
	if ((g->signable_hash = calloc((size_t)g->nsignable, sizeof(*g->signable_hash))) == NULL)
		return -1;
	for (int k = 0; k < 2; k++)
		if (ax_softauth_new(&g->signer[k], &err) != AX_OK)
			return -1;
	return 0;
}

/* Release what g holds. */
void
bench_gen_free(struct bench_gen *g)
{
	free(g->sop_ver);
	free(g->spec_ver);
	free(g->spec_step);
	free(g->spec_change);
	free(g->signable_hash);
	ax_softauth_free(g->signer[0]);
	ax_softauth_free(g->signer[1]);
}

/* The envelope's start: command id, actor, issued_at, reason. */
static int
envelope(char *buf, size_t cap, struct bench_gen *g, const char *actor, const char *reason)
{
	long n = g->seq++;

	return snprintf(buf, cap,
	    "{\"command_id\":\"%08lx-0000-4000-8000-%012lx\",\"actor\":\"%s\","
	    "\"issued_at\":%lld,\"reason\":\"%s\",\"source_system\":\"axiom-bench\"",
	    (unsigned long)(n >> 48), (unsigned long)(n & 0xffffffffffffL), actor,
	    (long long)ax_wall_us(), reason);
}

/* The control commands of phase k (1: scopes, types, people; 2: grants); NULL at the end. */
const char *
bench_gen_control(struct bench_gen *g, int phase, int i, char *buf, size_t cap)
{
	static const char *const p1[] = {
		"\"payload\":{\"ScopeDefine\":{\"kind\":\"FACILITY\",\"key\":\"basel\",\"name\":"
		"\"Basel plant\"}}}",
		"\"payload\":{\"ScopeDefine\":{\"kind\":\"DOMAIN\",\"key\":\"quality_control\","
		"\"name\":\"Quality control\"}}}",
		"\"payload\":{\"RecordTypeConfig\":{\"record_type\":\"sop\",\"review_required\":"
		"false,"
		"\"description\":\"Standard operating "
		"procedure\",\"domain\":\"quality_control\",\"gate\":\"none\"}}}",
		"\"payload\":{\"RecordTypeConfig\":{\"record_type\":\"specification\",\"review_"
		"required\":true,"
		"\"description\":\"Product "
		"specification\",\"domain\":\"quality_control\",\"gate\":\"review_approve\"}}}",
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"alice\",\"display_name\":\"Alice "
		"Martin\"}}}",
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"bob\",\"display_name\":\"Bob "
		"Keller\"}}}",
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"carol\",\"display_name\":\"Carol "
		"Dubois\"}}}",
		/* enrolled, never granted: the realistic mix's refused creator */
		"\"payload\":{\"UserEnroll\":{\"user_id\":\"dave\",\"display_name\":\"Dave "
		"Novak\"}}}",
	};
	static const char *const who[] = { "alice", "bob", "carol" };
	static const char *const level[] = { "author", "reviewer", "manager" };
	int n;

	if (phase == 1) {
		if (i >= (int)(sizeof(p1) / sizeof(p1[0])))
			return NULL;
		n = envelope(buf, cap, g, "axiom-system", "bench setup");
		snprintf(buf + n, cap - (size_t)n, ",%s", p1[i]);
		return buf;
	}
	if (i >= 3 && (g->signer[0] == NULL || i >= 5))
		return NULL;
	n = envelope(buf, cap, g, "axiom-system", "bench setup");
	if (i >= 3) { /* the signers' FIDO2 credentials (software authenticators) */
		uint8_t cose[AX_COSE_ES256_KEY_LEN], cid[AX_SOFTAUTH_CRED_ID_LEN];
		char cose_hex[2 * AX_COSE_ES256_KEY_LEN + 1],
		    cid_hex[2 * AX_SOFTAUTH_CRED_ID_LEN + 1];

		ax_softauth_cose_key(g->signer[i - 3], cose);
		ax_softauth_cred_id(g->signer[i - 3], cid);
		ax_hex_encode(cose_hex, cose, sizeof(cose));
		ax_hex_encode(cid_hex, cid, sizeof(cid));
		snprintf(buf + n, cap - (size_t)n,
		    ",\"payload\":{\"FactorRegister\":{\"factor_id\":\"%s\",\"factor_type\":"
		    "\"FIDO2_CREDENTIAL\",\"user_id\":\"%s\",\"credential_id\":\"%s\","
		    "\"public_key\":\"%s\",\"cose_alg\":-7,\"issuer\":\"\",\"jwks\":\"\"}}}",
		    signer_factor[i - 3], signer_user[i - 3], cid_hex, cose_hex);
		return buf;
	}
	snprintf(buf + n, cap - (size_t)n,
	    ",\"payload\":{\"Grant\":{\"grant_id\":\"%08x-0000-4000-9000-000000000000\","
	    "\"user_id\":\"%s\",\"facility\":\"basel\",\"domain\":\"quality_control\","
	    "\"access_level\":\"%s\",\"expires_at\":%lld}}}",
	    i + 1, who[i], level[i], (long long)g->expires_us);
	return buf;
}

/* The i-th signable lineage's id as text. */
void
bench_gen_signable_id(char out[37], int i)
{
	snprintf(out, 37, "%08x-0000-4000-d000-000000000000", i + 1);
}

/* The i-th signable lineage's CreateRecord. */
const char *
bench_gen_signable(struct bench_gen *g, int i, char *buf, size_t cap)
{
	char id[37];
	int n;

	bench_gen_signable_id(id, i);
	n = envelope(buf, cap, g, "alice", "release for signature");
	snprintf(buf + n, cap - (size_t)n,
	    ",\"lineage_id\":\"%s\",\"payload\":{\"CreateRecord\":{\"record_type\":\"sop\","
	    "\"facility\":\"basel\",\"domain\":\"quality_control\",\"content\":"
	    "\"{\\\"signed_sop\\\":%d}\",\"title\":\"SOP-S%04d\"}}}",
	    id, i, i);
	return buf;
}

/*
 * A Sign command over the next signable lineage's version 1, by alice (authorship) and carol
 * (approval) in turn, with user verification and a fresh nonce, into buf.
 */
static int
gen_sign(struct bench_gen *g, char *buf, size_t cap, struct ax_err *err)
{
	static const enum ax_meaning meaning[2] = { AX_MEANING_AUTHORSHIP, AX_MEANING_APPROVAL };
	struct ax_signer_request req;
	int k = (int)(g->signs % 2), j = g->next_signable;
	char id[37];

	g->next_signable = (g->next_signable + 1) % g->nsignable;
	memset(&req, 0, sizeof(req));
	bench_gen_signable_id(id, j);
	req.actor = signer_user[k];
	(void)ax_uuid_parse(req.lineage_id, id, strlen(id));
	(void)ax_uuid_parse(req.factor_id, signer_factor[k], strlen(signer_factor[k]));
	req.version = 1;
	memcpy(req.record_hash, g->signable_hash[j], AX_HASH_LEN);
	req.meaning = meaning[k];
	req.origin = AX_SIGN_BENCH_ORIGIN;
	req.user_verified = true;
	req.reason = "release signature";
	req.issued_at_us = ax_wall_us();
	g->signs++;
	g->seq++;
	return ax_signer_softauth_line(buf, cap, &req, g->signer[k], err);
}

/*
 * A command the applier must refuse, into buf: a create by dave (enrolled, no grant) and a
 * new version on the version before the head, in turn (a create while no SOP has two
 * versions yet). Changes no lineage's state.
 */
static void
gen_refusal(struct bench_gen *g, char *buf, size_t cap)
{
	int j = g->next_sop, n;

	if (g->refusals++ % 2 == 1 && g->sop_ver[j] >= 2) {
		n = envelope(buf, cap, g, "alice", "revision on a stale base");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-a000-000000000000\",\"payload\":{"
		    "\"NewVersion\":{\"base_version\":%ld,\"content\":\"{\\\"sop\\\":%d,"
		    "\\\"stale\\\":%ld}\",\"title\":\"SOP-%05d\"}}}",
		    j + 1, g->sop_ver[j] - 1, j, g->refusals, j);
		return;
	}
	n = envelope(buf, cap, g, "dave", "release without a grant");
	snprintf(buf + n, cap - (size_t)n,
	    ",\"lineage_id\":\"%08lx-0000-4000-e000-000000000000\",\"payload\":{"
	    "\"CreateRecord\":{\"record_type\":\"sop\",\"facility\":\"basel\",\"domain\":"
	    "\"quality_control\",\"content\":\"{\\\"refused\\\":%ld}\",\"title\":"
	    "\"SOP-R%05ld\"}}}",
	    (unsigned long)g->refusals, g->refusals, g->refusals);
}

/* The next data command of the basic mix (every one accepted) as a JSON line in buf. */
static const char *
gen_basic(struct bench_gen *g, char *buf, size_t cap)
{
	bool change;
	int n, j;

	g->acc += g->change_pct;
	change = g->acc >= 100;
	if (change)
		g->acc -= 100;
	if (!change) {
		j = g->next_sop;
		g->next_sop = (g->next_sop + 1) % g->nsop;
		n = envelope(buf, cap, g, "alice", g->sop_ver[j] == 0 ? "release" : "revision");
		n += snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-a000-000000000000\"", j + 1);
		if (g->sop_ver[j] == 0)
			snprintf(buf + n, cap - (size_t)n,
			    ",\"payload\":{\"CreateRecord\":{\"record_type\":\"sop\",\"facility\":"
			    "\"basel\",\"domain\":\"quality_control\",\"content\":\"{\\\"sop\\\":%"
			    "d,"
			    "\\\"v\\\":1}\",\"title\":\"SOP-%05d\"}}}",
			    j, j);
		else
			snprintf(buf + n, cap - (size_t)n,
			    ",\"payload\":{\"NewVersion\":{\"base_version\":%ld,\"content\":"
			    "\"{\\\"sop\\\":%d,\\\"v\\\":%ld}\",\"title\":\"SOP-%05d\"}}}",
			    g->sop_ver[j], j, g->sop_ver[j] + 1, j);
		g->sop_ver[j]++;
		return buf;
	}
	j = g->next_spec;
	g->next_spec = (g->next_spec + 1) % g->nspec;
	if (g->spec_ver[j] == 0) {
		n = envelope(buf, cap, g, "alice", "first specification");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-b000-000000000000\",\"payload\":{"
		    "\"CreateRecord\":{\"record_type\":\"specification\",\"facility\":\"basel\","
		    "\"domain\":\"quality_control\",\"content\":\"{\\\"spec\\\":%d,\\\"v\\\":1}\","
		    "\"title\":\"SPEC-%05d\"}}}",
		    j + 1, j, j);
		g->spec_ver[j] = 1;
		return buf;
	}
	switch (g->spec_step[j]) {
	case 0:
		g->spec_change[j] = ++g->changes;
		n = envelope(buf, cap, g, "alice", "tighten the limits");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-b000-000000000000\",\"payload\":{"
		    "\"ProposeChange\":{\"change_id\":\"%08lx-0000-4000-c000-000000000000\","
		    "\"base_version\":%ld,\"content\":\"{\\\"spec\\\":%d,\\\"v\\\":%ld}\","
		    "\"title\":\"SPEC-%05d\"}}}",
		    j + 1, (unsigned long)g->spec_change[j], g->spec_ver[j], j, g->spec_ver[j] + 1,
		    j);
		break;
	case 1:
	case 2:
	case 3:
	case 4: {
		static const char *const step[] = { "", "SubmitChange", "ReviewChange",
			"ApproveChange", "ApplyChange" };
		static const char *const actor[] = { "", "alice", "bob", "carol", "alice" };

		n = envelope(buf, cap, g, actor[g->spec_step[j]], "change step");
		snprintf(buf + n, cap - (size_t)n,
		    ",\"lineage_id\":\"%08x-0000-4000-b000-000000000000\",\"payload\":{\"%s\":{"
		    "\"change_id\":\"%08lx-0000-4000-c000-000000000000\"%s}}}",
		    j + 1, step[g->spec_step[j]], (unsigned long)g->spec_change[j],
		    g->spec_step[j] == 2 ? ",\"comment\":\"checked\"" : "");
		break;
	}
	}
	if (++g->spec_step[j] == 5) {
		g->spec_step[j] = 0;
		g->spec_ver[j]++;
	}
	return buf;
}

/* The next data command as a JSON line in buf: a refusal every 100 / refuse_pct commands, a
 * signature every 100 / sign_pct (once the signable hashes are known), else the basic mix. */
int
bench_gen_data(struct bench_gen *g, char *buf, size_t cap, struct ax_err *err)
{
	g->acc_refuse += g->refuse_pct;
	if (g->acc_refuse >= 100) {
		g->acc_refuse -= 100;
		gen_refusal(g, buf, cap);
		return AX_OK;
	}
	if (g->signable_ready) {
		g->acc_sign += g->sign_pct;
		if (g->acc_sign >= 100) {
			g->acc_sign -= 100;
			return gen_sign(g, buf, cap, err);
		}
	}
	gen_basic(g, buf, cap);
	return AX_OK;
}

/* Generate the next data command and queue it on its topic. */
int
bench_publish_data(struct bench_gen *g, struct bench_pub *pb, struct ax_err *err)
{
	char line[LINE_MAX_BYTES];
	int rc;

	if ((rc = bench_gen_data(g, line, sizeof(line), err)) != AX_OK)
		return rc;
	return bench_publish_line(pb, line, err);
}

/* ---- publishing ------------------------------------------------------------------------- */

/* Encode one JSON command line and queue it on its topic. */
int
bench_publish_line(struct bench_pub *pb, const char *line, struct ax_err *err)
{
	struct ax_publish_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = ax_publish_encode_line(pb->codec, line, strlen(line), &m, err)) != AX_OK) {
		ax_err_detail(err, "bench line: %s", line);
		return rc;
	}
	rc = ax_producer_send(
	    pb->p, m.family == AX_FAMILY_CONTROL ? pb->control : pb->commands, &m, ++pb->line, err);
	ax_publish_msg_clear(&m);
	return rc;
}

/* Wait for every delivery; AX_ERR when one failed. */
int
bench_publish_wait(struct bench_pub *pb, struct ax_err *err)
{
	const struct ax_producer_stats *st = ax_producer_wait(pb->p, 60000);

	if (st->failed > 0) {
		ax_err_set(err, AX_ERR, "%llu of %llu commands were not acknowledged by the broker",
		    (unsigned long long)st->failed, (unsigned long long)st->sent);
		if (st->nfailures > 0)
			ax_err_detail(err, "%s", st->failures[0].reason);
		return AX_ERR;
	}
	return AX_OK;
}

/* Generate a new version of the next SOP lineage (or its creation) and queue it. */
int
bench_publish_version(struct bench_gen *g, struct bench_pub *pb, struct ax_err *err)
{
	char line[LINE_MAX_BYTES];
	int change_pct = g->change_pct;

	g->change_pct = 0; /* the basic mix without change steps: SOP versions only */
	gen_basic(g, line, sizeof(line));
	g->change_pct = change_pct;
	return bench_publish_line(pb, line, err);
}
