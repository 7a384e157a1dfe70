/*
 * ax_applier_caught_up.c - `axiom apply --until-caught-up`: whether the run may stop
 * (issue 13; the runbook in README.md, "Until caught up").
 *
 * Owns: the run's bookkeeping of what it held, the ledgers' heads and what the audit topic
 * shows of them (struct applier: held, head, audit, last_audit_check, audit_ok, log_ends).
 * Invariants:
 *  (1) caught up means every partition of both topics applied up to its log end (stored
 *      next offsets in PostgreSQL against the broker's log ends), every partition held by
 *      this run at least once or by another member of the group now, and (unless the run
 *      relays nothing) every ledger's entries on the audit topic, read committed;
 *  (2) a partition that failed in this run is skipped: it will not catch up, and the exit
 *      code says so. When it is the control partition, every data partition is skipped too:
 *      their commands wait for the control watermark, which no longer advances in this run,
 *      so without this the run waited forever (a replay until its stall timeout).
 * Threads: the main thread only (the poll loop; held is set by the rebalance callback,
 * which runs inside the poll). It reads the writers' state atomically and uses app->pg, a
 * connection of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_applier_int.h"
#include "ax_clock.h"
#include "ax_log.h"
#include "ax_logend.h"
#include "ax_relay.h"

/* The most rows axiom_api.ledger_entries returns in one call (db/0008). */
#define LEDGER_PAGE 10000

/* Big-endian readers of a group member's assignment (bounded by the caller). */
static int32_t
rd_be32(const uint8_t *b)
{
	return (int32_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
}

/*
 * Mark in other[t][p] the partitions of the control (t 0) and command (t 1) topics that the
 * consumer-protocol assignment b (n bytes: version, [topic, [partition]], user data) gives
 * its member. Malformed bytes mark nothing.
 */
static void
mark_assignment(struct applier *app, const uint8_t *b, size_t n, bool other[2][AX_PARTITIONS_MAX])
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	size_t at = 2, len;
	int32_t ntopics, nparts, i, j, p;
	int t;

	if (n < 6)
		return;
	ntopics = rd_be32(b + at);
	at += 4;
	for (i = 0; i < ntopics; i++) {
		if (at + 2 > n)
			return;
		len = (size_t)((b[at] << 8) | b[at + 1]);
		at += 2;
		if (at + len + 4 > n)
			return;
		for (t = 0; t < 2; t++)
			if (strlen(topics[t]) == len && memcmp(b + at, topics[t], len) == 0)
				break;
		at += len;
		nparts = rd_be32(b + at);
		at += 4;
		if (nparts < 0 || (size_t)nparts * 4 > n - at)
			return;
		for (j = 0; j < nparts; j++, at += 4)
			if (t < 2 && (p = rd_be32(b + at)) >= 0 && p < AX_PARTITIONS_MAX)
				other[t][p] = true;
	}
}

/*
 * Whether every partition of both topics was held by this run at least once, or is held
 * now by another member of the group (an instance running alongside, which will catch it up
 * and relay it itself). A dead member still listed by the coordinator counts too: the
 * audit check then keeps this run waiting until its entries are relayed, by this run once
 * the group drops the dead member.
 */
static bool
held_every_partition(struct applier *app)
{
	static bool other[2][AX_PARTITIONS_MAX];
	const struct rd_kafka_group_list *gl = NULL;
	char *self = NULL;
	bool all = true, listed = false;
	int t, p, g, m;

	for (t = 0; t < 2 && all; t++)
		for (p = 0; p < app->partitions[t] && p < AX_PARTITIONS_MAX; p++)
			if (!app->held[t][p]) {
				all = false;
				break;
			}
	if (all)
		return true;
	memset(other, 0, sizeof(other));
	if (rd_kafka_list_groups(app->consumer, app->o->group, &gl, 5000) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	self = rd_kafka_memberid(app->consumer);
	for (g = 0; g < gl->group_cnt; g++)
		for (m = 0; m < gl->groups[g].member_cnt; m++) {
			const struct rd_kafka_group_member_info *mi = &gl->groups[g].members[m];

			if (self != NULL && strcmp(mi->member_id, self) == 0)
				continue;
			mark_assignment(
			    app, mi->member_assignment, (size_t)mi->member_assignment_size, other);
			listed = true;
		}
	rd_kafka_group_list_destroy(gl);
	if (self != NULL)
		rd_kafka_mem_free(app->consumer, self);
	for (t = 0; t < 2; t++)
		for (p = 0; p < app->partitions[t] && p < AX_PARTITIONS_MAX; p++)
			if (!app->held[t][p] && !(listed && other[t][p]))
				return false;
	return true;
}

/*
 * Every ledger's entries are on the audit topic: for each (topic, partition), the ledger's
 * last sequence (read after the one known, so a check reads only what is new) against the
 * highest sequence of that ledger on its audit partition (ax_relay_tail, read committed;
 * read again only while it is below the head). A partition that failed here is skipped.
 */
static bool
audit_topic_reached_heads(struct applier *app)
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	double t0 = ax_mono_s();
	struct ax_err err;
	int t, p;

	for (t = 0; t < 2; t++)
		for (p = 0; p < app->partitions[t] && p < AX_PARTITIONS_MAX; p++) {
			struct writer *w = ax_applier_writer_find(app, topics[t], p);
			char part[16], after[24];
			const char *params[3] = { topics[t], part, after };
			PGresult *res;
			int64_t head = app->head[t][p];
			long rows;

			if (w != NULL && atomic_load(&w->state) == W_FAILED)
				continue;
			snprintf(part, sizeof(part), "%d", p);
			/* ledger_entries returns at most 10,000 rows a call: read on until fewer */
			for (rows = LEDGER_PAGE; rows == LEDGER_PAGE;) {
				snprintf(after, sizeof(after), "%lld", (long long)head);
				res = PQexecParams(app->pg,
				    "SELECT count(*), coalesce(max(seq), $3::bigint) FROM "
				    "axiom_api.ledger_entries($1, $2::integer, $3::bigint, "
				    "10000)",
				    3, NULL, params, NULL, NULL, 0);
				if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
					if (PQstatus(app->pg) != CONNECTION_OK)
						PQreset(app->pg);
					PQclear(res);
					return false;
				}
				rows = strtol(PQgetvalue(res, 0, 0), NULL, 10);
				head = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
				PQclear(res);
			}
			app->head[t][p] = head;
			if (app->audit_seq[t][p] >= head)
				continue;
			if (ax_relay_tail(app->relay, topics[t], p, &app->audit_seq[t][p], &err) !=
			    AX_OK) {
				ax_log(AX_LOG_WARN, "audit_tail_unread",
				    "topic=%s partition=%d error=\"%s\"", topics[t], p, err.msg);
				return false;
			}
			if (app->audit_seq[t][p] < head) {
				if (t0 - app->last_wait_log >= 5.0) {
					app->last_wait_log = t0;
					ax_log(AX_LOG_INFO, "waiting_for_audit",
					    "topic=%s partition=%d ledger_head=%lld audit_seq=%lld",
					    topics[t], p, (long long)head,
					    (long long)app->audit_seq[t][p]);
				}
				return false;
			}
		}
	return true;
}

/* Whether partition p of topic t (0 control, 1 commands) will not catch up in this run: its
 * writer failed, or this run's control writer did, whose watermark its commands wait for
 * (invariant 2). */
static bool
will_not_catch_up(struct applier *app, int t, int p)
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	struct writer *w = ax_applier_writer_find(app, topics[t], p);

	if (w != NULL && atomic_load(&w->state) == W_FAILED)
		return true;
	if (t == 0)
		return false;
	w = ax_applier_writer_find(app, app->control_topic, 0);
	return w != NULL && atomic_load(&w->state) == W_FAILED;
}

/* The stored next offset of every partition of both topics is at its log end, as a
 * read_committed reader sees it (ax_logend.h), or will not get there (will_not_catch_up). */
static bool
offsets_at_log_end(struct applier *app)
{
	const char *topics[2] = { app->control_topic, app->commands_topic };
	int64_t ends = 0;
	int t;

	for (t = 0; t < 2; t++) {
		char count[16];
		const char *params[2] = { topics[t], count };
		PGresult *res;
		int p;
		bool done = true;

		snprintf(count, sizeof(count), "%d", app->partitions[t]);
		res = PQexecParams(app->pg,
		    "SELECT coalesce(axiom_api.next_offset($1, p), 0) FROM generate_series(0, "
		    "$2::integer - 1) p ORDER BY p",
		    2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != app->partitions[t]) {
			if (PQstatus(app->pg) != CONNECTION_OK)
				PQreset(app->pg);
			PQclear(res);
			return false;
		}
		for (p = 0; p < app->partitions[t] && done; p++) {
			int64_t next = strtoll(PQgetvalue(res, p, 0), NULL, 10);
			struct ax_logend_state st;
			struct ax_err err;

			if (will_not_catch_up(app, t, p))
				continue;
			/* the end a read_committed reader can reach: markers and aborted records
			 * after the last applied message are never received (ax_logend.h) */
			if (ax_logend_read(app->logend, topics[t], p, next, 5000, &st, &err) !=
			        AX_OK ||
			    st.lag > 0)
				done = false;
			else
				ends += st.end;
		}
		PQclear(res);
		if (!done)
			return false;
	}
	app->log_ends = ends;
	return true;
}

/*
 * Caught up means (issue 13): every partition of both topics applied up to its log end,
 * whichever instance applied it (the stored next offsets in PostgreSQL against the log ends
 * on the broker), every partition held by this run at least once or by another member of
 * the group now (held_every_partition), and every ledger's entries on the audit topic
 * (audit_topic_reached_heads; not for a replay, which relays nothing). So a run that started while
 * the group still waited for a dead member, which had committed entries and not relayed
 * them, waits until the group drops that member and this run relays them. A partition that
 * failed here is skipped, and so is every data partition once the control partition failed
 * here: they will not catch up, and the exit code says so.
 * The log ends are those a read_committed reader reaches (issue 14): the transaction
 * markers and aborted records after a partition's last applied message never arrive.
 */
bool
ax_applier_caught_up(struct applier *app)
{
	double t = ax_mono_s();

	if (!offsets_at_log_end(app))
		return false;
	if (!held_every_partition(app)) {
		if (t - app->last_wait_log >= 5.0) {
			app->last_wait_log = t;
			ax_log(AX_LOG_INFO, "waiting_for_assignment",
			    "group=%s reason=\"a partition was never held by this run nor is held "
			    "by "
			    "another member\"",
			    app->o->group);
		}
		return false;
	}
	if (app->o->no_relay)
		return true;
	/* the audit topic is read at most once a second; in between, the last answer holds
	 * unless a log end moved (new commands, new ledger entries) */
	if (t - app->last_audit_check >= 1.0 || app->log_ends != app->audited_log_ends) {
		app->last_audit_check = t;
		app->audited_log_ends = app->log_ends;
		app->audit_ok = audit_topic_reached_heads(app);
	}
	return app->audit_ok;
}
