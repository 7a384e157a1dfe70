-- 0019_event_time_from_log_append_time - only a LogAppendTime message carries event time; any
-- other message is quarantined at its partition's last known event time (issue 12).
--
-- Layer: 1 (a read through the API only). Nothing about who may do what changes here, and
-- no table, decision or ledger entry of a log whose messages are all LogAppendTime changes.
--
-- Why: a message whose timestamp is not the broker's append time (a topic switched to
-- CreateTime and back, which only needs topic-config access) was quarantined, but with its
-- CreateTime as event time. On the control topic one such message moved the control
-- watermark (invariant 1 of 0008) to the year 9999, so a data command published after a
-- grant revocation was accepted live before the revocation was applied and refused on
-- replay; on a data partition it could never be applied (its event time stayed beyond the
-- watermark) and froze the partition while the applier asked for a tick a second.
--
-- What changes: the applier derives every event time from the log it reads
-- (consumers/ax_batch.h, invariant 6): a partition's running event time starts at that of
-- its last ledger entry and is raised to each LogAppendTime message's append time; a message
-- with another timestamp type gets the running value unchanged and is quarantined with the
-- reason not_log_append_time. To start (claim, reconnect) from the same value a replay into
-- an empty database would reach, it reads axiom_api.partition_event_time(topic, partition),
-- defined here: the event time of the partition's last ledger entry, or the epoch when it has
-- none.
--
-- Invariants:
--  (1) partition_event_time is a read: it changes nothing and writes no audit row;
--  (2) it depends on the ledger alone, which a replay rebuilds entry by entry, so a live
--      applier and a replay start every partition from the same event time;
--  (3) the epoch for a partition without entries is a constant of the schema (the applier's
--      AX_EVENT_TIME_ORIGIN_US), never a clock reading.

CREATE FUNCTION axiom_api.partition_event_time(p_topic text, p_partition integer)
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT l.event_time FROM axiom.ledger l
	                  WHERE l.topic = p_topic AND l.kafka_partition = p_partition
	                  ORDER BY l.seq DESC LIMIT 1),
	                '1970-01-01 00:00:00+00'::timestamptz)
$$;

REVOKE ALL ON FUNCTION axiom_api.partition_event_time(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom_api.partition_event_time(text, integer) TO axiom_user;
ALTER FUNCTION axiom_api.partition_event_time(text, integer) OWNER TO axiom_definer;
