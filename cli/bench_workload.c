/*
 * bench_workload.c - what `axiom bench` publishes: the deterministic command mix (control
 * commands first, then data commands the applier accepts, every base version holding) and
 * the producer that sends it (the control principal). Caller's thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_clock.h"
#include "bench_int.h"

#define DAY_US 86400000000LL

/* ---- the command mix ------------------------------------------------------------------ */

/* Set up the generator for partitions partitions and the mix; -1 when out of memory. */
int
bench_gen_init(struct bench_gen *g, int partitions, int change_pct)
{
	memset(g, 0, sizeof(*g));
	g->change_pct = change_pct;
	g->nsop = partitions * 16;
	g->nspec = partitions * 8;
	g->sop_ver = calloc((size_t)g->nsop, sizeof(long));
	g->spec_ver = calloc((size_t)g->nspec, sizeof(long));
	g->spec_step = calloc((size_t)g->nspec, sizeof(int));
	g->spec_change = calloc((size_t)g->nspec, sizeof(long));
	g->expires_us = ax_wall_us() + 365 * DAY_US;
	return g->sop_ver && g->spec_ver && g->spec_step && g->spec_change ? 0 : -1;
}

/* Release what g holds. */
void
bench_gen_free(struct bench_gen *g)
{
	free(g->sop_ver);
	free(g->spec_ver);
	free(g->spec_step);
	free(g->spec_change);
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
	if (i >= 3)
		return NULL;
	n = envelope(buf, cap, g, "axiom-system", "bench setup");
	snprintf(buf + n, cap - (size_t)n,
	    ",\"payload\":{\"Grant\":{\"grant_id\":\"%08x-0000-4000-9000-000000000000\","
	    "\"user_id\":\"%s\",\"facility\":\"basel\",\"domain\":\"quality_control\","
	    "\"access_level\":\"%s\",\"expires_at\":%lld}}}",
	    i + 1, who[i], level[i], (long long)g->expires_us);
	return buf;
}

/* The next data command as a JSON line in buf. */
const char *
bench_gen_data(struct bench_gen *g, char *buf, size_t cap)
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
