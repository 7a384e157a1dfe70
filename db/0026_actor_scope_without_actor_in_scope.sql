-- axiom-migrate: run-as=admin
--
-- 0026_actor_scope_without_actor_in_scope - the row policy definer_actor_scope no longer calls
-- axiom.actor_in_scope, which goes.
--
-- Layer: 3 (row-level security); who sees which row does not change.
--
-- Why: actor_in_scope recomputed the context MAC (SHA-256, a read of axiom.context_key) and
-- called the PL/pgSQL tier_rank_at for every row the definer's statements read or wrote, about
-- 15% of PostgreSQL's function time in a bench run. The policy now checks the MAC once per
-- statement (axiom.context_actor and axiom.context_event_time as scalar subqueries,
-- db/definitions/10_identity_and_context.sql) and each row's grant by an indexed join in the
-- policy itself (db/definitions/45_row_level_security.sql).
--
-- What changes: the four policies definer_actor_scope (records, change_requests,
-- change_request_steps, signatures) are dropped, then the function they depended on; the
-- definition files, applied right after this migration, create the policies anew. Between the
-- two transactions the definer sees fewer rows, never more.

DROP POLICY IF EXISTS definer_actor_scope ON axiom.records;
DROP POLICY IF EXISTS definer_actor_scope ON axiom.change_requests;
DROP POLICY IF EXISTS definer_actor_scope ON axiom.change_request_steps;
DROP POLICY IF EXISTS definer_actor_scope ON axiom.signatures;
DROP FUNCTION axiom.actor_in_scope(text, text);
