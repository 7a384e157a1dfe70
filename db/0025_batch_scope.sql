-- axiom-migrate: run-as=admin
--
-- 0025_batch_scope - the batch scope: which actor, at which event time, reads and writes each
-- lineage of a run of record versions decided as one set.
--
-- Layer: 3 (row-level security); nothing about who may do what changes.
--
-- Why: the applier decided every command through its own chain of per-command SQL calls, each
-- setting the acting identity, reading and writing one row at a time: about 0.75 ms of
-- PostgreSQL CPU per command, far above what the same rows cost to load (issue 16). A run of
-- new records and new versions is now decided and inserted as one set
-- (axiom.apply_version_run, db/definitions/60_data_plane.sql). The row policies then need to
-- know, for each lineage of the run, which actor reads or writes it at which event time; a
-- single acting identity (axiom.actor) cannot say that for several commands at once.
--
-- What changes: the table axiom.batch_scope (lineage id, actor, event time), one row per
-- command of the running set. apply_version_run inserts the rows before its statements and
-- deletes them before it returns, in the same transaction, so no row of it is ever committed
-- and no other transaction ever sees one; only axiom_definer may write it
-- (db/definitions/90_ownership_and_privileges.sql), so a login cannot forge a scope. The row
-- policy definer_batch_scope on axiom.records (db/definitions/45_row_level_security.sql) checks
-- each row against the entry of its own lineage and the grants. The index on id is not unique
-- on purpose: two writers deciding the same lineage id at once must not wait for each other
-- on a row neither commits.

CREATE TABLE axiom.batch_scope (
	id uuid,          -- the lineage
	actor text,       -- the command's actor
	event_time timestamptz
);
CREATE INDEX batch_scope_id ON axiom.batch_scope (id);
