/*
 * ax_applier.h - `axiom apply`: the exactly-once, single-writer applier.
 *
 * One librdkafka high-level consumer (group, eager `range` assignor, plain poll loop) hands
 * every message to the writer thread of its partition; each writer has its own PostgreSQL
 * connection (the runtime role) and applies batches through the SQL API.
 *
 * Invariants (docs/architecture.md):
 *  (1) exactly once: a batch is one PostgreSQL transaction holding the compare-and-set of
 *      the partition's next offset, the effects, the ledger entries and the new next offset;
 *      Kafka's committed offsets are never read and never written;
 *  (2) on assignment a partition is positioned at the next offset stored in PostgreSQL
 *      (the beginning when none is stored); a message below the writer's next offset is a
 *      re-delivery and is skipped, never applied twice;
 *  (3) a message is released only after the transaction that applied it committed; when the
 *      commit's fate is unknown (lost connection) the writer re-reads the stored offset;
 *  (4) a writer that loses the compare-and-set (a zombie) rolls back and stops; a chain or
 *      ledger invariant violation stops that partition only (sticky failure), loudly;
 *  (5) a data command with event time T is applied only once the control watermark stored
 *      in PostgreSQL is beyond T (decided inside the transaction; db/0022: a control event
 *      at c governs every command at T >= c, and only a control message after T proves
 *      that every one at or before T was applied), so decisions depend on the log alone;
 *      while it waits, the writer asks for a tick on the control topic. Event times come
 *      from LogAppendTime messages only (ax_batch.h, invariant 6): a message with another
 *      timestamp type neither moves the watermark nor makes a partition wait;
 *  (6) at start and after each assignment the topics' configuration is compared with what
 *      `axiom topics create` made (ax_topics.h, invariant 3); each difference is logged as
 *      event=topic_config_drift (topic, config, expected, found), and the applier goes on.
 *
 * States of a writer: STARTING -> RUNNING -> (STOPPING -> STOPPED) | FAILED. STARTING ends
 * in ax_applier_writer_start (offset loaded); STOPPING is entered by the revocation or
 * shutdown path (writer_join, ax_applier_stop_writers); FAILED is sticky and entered only by
 * the writer itself (writer_fail). The files: ax_applier_int.h.
 */
#ifndef AX_APPLIER_H
#define AX_APPLIER_H

#include <signal.h>
#include <stdbool.h>

#include "ax_err.h"

struct ax_applier_opts {
	const char *brokers;
	const char *pg_dsn;   /* the runtime role (axiom_user) */
	const char *group;    /* consumer group, default "axiom-applier" */
	const char *prefix;   /* topic prefix, default "axiom" */
	const char *instance; /* this instance's name in the offsets table and logs */
	int batch_max;        /* commands per transaction */
	int batch_ms;         /* longest wait of a partial batch for more commands */
	int progress_ms;      /* period of progress lines, 0: none */
	/* stop once every partition of both topics is at its log end, was held by this run or
	 * is held by another member of the group, and (unless no_relay) every ledger's entries
	 * are on the audit topic (ax_applier_caught_up.c) */
	bool until_caught_up;
	int idle_exit_ms; /* with until_caught_up: how long everything must stay caught up */
	/* replay (consumers/ax_replay.c): never produce ticks, the log being read is complete
	 * and a replay must not append to it; a waiting partition just waits */
	bool no_ticks;
	/* replay: publish nothing on the audit topic (the live applier's relays own it: their
	 * transactional ids would be fenced by the replay's, ax_relay.h (4)) */
	bool no_relay;
	/* signed checkpoints (consumers/ax_checkpoint.h): an Ed25519 private key in PEM, NULL
	 * for none; every checkpoint_every-th ledger entry of each partition is signed */
	const char *checkpoint_key;
	int checkpoint_every;
	/* "HOST:PORT": serve the Prometheus figures at http://HOST:PORT/metrics
	 * (consumers/ax_metrics.h); NULL for none */
	const char *metrics;
};

/* Fill o with the defaults (brokers and DSN NULL). */
void ax_applier_defaults(struct ax_applier_opts *o);

/*
 * Run the applier until *stop becomes non-zero (a signal handler may set it), or, with
 * until_caught_up, until caught up as until_caught_up says. Returns
 * AX_OK on a clean stop, AX_ERR when a partition failed (the log says which and why),
 * AX_EUNAVAIL when the broker or PostgreSQL could not be reached at start.
 */
int ax_applier_run(
    const struct ax_applier_opts *o, volatile sig_atomic_t *stop, struct ax_err *err);

#endif
