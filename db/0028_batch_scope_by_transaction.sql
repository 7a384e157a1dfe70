-- axiom-migrate: run-as=admin
--
-- 0028_batch_scope_by_transaction - the batch scope's entries are found by their transaction
-- first, so a run reads its own entries only, whatever other runs left behind.
--
-- Layer: 3 (row-level security); nothing about who may do what changes.
--
-- Why: every set run inserts its entries of axiom.batch_scope and deletes them before it
-- returns (0025), and the row policies look the entries up by lineage or change id. A deleted
-- entry stays in the table and its index until a vacuum removes it, and while any transaction
-- of the database holds a snapshot older than the run that deleted it (an analyst's report
-- left open, a long `axiom verify`), no vacuum may remove it and no scan may mark it dead in
-- the index. Each probe of a lineage then visited every entry that lineage ever had since that
-- snapshot, once per row a policy checked: replaying 30,000 commands while a reader's
-- transaction stayed open cost 531-549 us of server time per command against 333-340 without
-- it (312-340 with this change), and the cost grew with how long the reader stayed.
--
-- What changes: the column xact, the top-level transaction that inserted the entry (its
-- default, pg_current_xact_id(), the only value the policy definer_all lets axiom_definer
-- insert), and the index on (xact, id) in place of the one on id. The policies
-- (db/definitions/45_row_level_security.sql) and batch_scope_allows
-- (db/definitions/40_authorization.sql) take only the entries of the running transaction
-- (pg_current_xact_id_if_assigned()), so a probe never reaches another transaction's entries,
-- live or dead; and an entry that outlived its transaction would scope nothing. The table
-- never holds a committed row, so the column's default rewrites an empty table.

ALTER TABLE axiom.batch_scope ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP INDEX axiom.batch_scope_id;
CREATE INDEX batch_scope_xact_id ON axiom.batch_scope (xact, id);
