-- axiom-migrate: run-as=admin
--
-- 0030_version_run_reads_decided_commands - axiom.version_run takes the outcomes the batch
-- decided already, so its definition needs a new argument list: the old one leaves the
-- schema, and db/definitions/80_batch_entry_point.sql creates the new one.
--
-- Layer: 2 (what the definer may execute); nothing it may do changes.
--
-- Why: a run of new versions now also decides approved changes (apply_change), each the only
-- member on its lineage. Such a member is decided before the commands the run steps over
-- between the run's first member and it, which is sound only when none of them names its
-- change; one decided already (an earlier run's member, whose rows are stored) does not count.
-- The run learns which commands those are from the batch's decided outcomes (p_pre). A
-- definition file drops nothing (db/README.md), so the ten-argument function, which no path
-- would call any more, is dropped here. IF EXISTS: only a definition file ever created it, so a
-- database built from scratch has none when this runs.

DROP FUNCTION IF EXISTS axiom.version_run(text, integer, timestamp with time zone, jsonb[], integer,
    integer, bigint, bigint, timestamp with time zone, uuid[]);
