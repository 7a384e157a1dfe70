-- axiom-migrate: run-as=admin
--
-- db/definitions/45_row_level_security.sql - Row-level security (layer L3): every table of
-- schema axiom has RLS enabled and forced, so the tables' owner is subject to it too, and a role
-- without a policy here sees and changes nothing, whatever its table privileges.
--
-- - axiom_definer (the rights of every SECURITY DEFINER function) reaches records,
--   change_requests, change_request_steps and signatures only within the running command's
--   actor scope (definer_actor_scope: the identity of 10_identity_and_context.sql, which
--   context_identity yields only with a valid MAC, checked once per statement; then, row by
--   row, an indexed join of that actor's enrollment and grants in the row's facility and
--   domain at that event time, delegations included), records also within the batch scope of
--   a set of record versions or proposals decided as one and change_requests and
--   change_request_steps within that of a set of proposals and change steps
--   (definer_batch_scope: each lineage or change only as every command of the set on it may,
--   against the grants row by row); it may only append to session_events
--   (definer_appends) and only read context_key and delegation_limits; on the other tables
--   (control plane, ledger, offsets, claims, watermark, e-signature registry) the policy is
--   definer_all, and its table privileges (90_ownership_and_privileges.sql) bound what it may do.
-- - axiom_analytics reads the regulated rows, the audit trail, facilities, domains and record
--   types of the facilities and domains where its person holds a grant now (analyst_scope:
--   analyst_in_scope, or a valid grant of its person in that facility or domain), its own
--   person (analyst_own_person), its own grants (analyst_own_grants) and the access tiers;
--   nothing else.
-- - axiom_auditor reads every row (auditor_reads_all); it writes nothing, having no write
--   privilege. Its policy on context_key is moot: it holds no privilege on that table.
-- - axiom_user has no policy and no table privilege: it reaches rows only through the functions
--   of 80_batch_entry_point.sql.
-- The expressions below are PostgreSQL's own rendering of each policy, so this file reads as the
-- database holds them; definer_actor_scope, one rule for four tables, is created from one such
-- text in a loop. Tests: 0102-db-rls, 0107-db-allow-list, 0108 (the same catalog from scratch
-- and upgraded).
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

ALTER TABLE axiom.access_tiers ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.access_tiers FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.applied_commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.applied_commands FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.batch_scope ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.batch_scope FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.change_request_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.change_request_steps FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.change_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.change_requests FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.checkpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.context_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.context_key FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.control_watermark ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.control_watermark FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.delegation_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.delegation_limits FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.domains FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.facilities ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.facilities FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.grants FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.ledger FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.partition_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.partition_claims FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.partition_offsets ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.partition_offsets FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.record_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.record_types FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.records FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.session_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.session_events FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.signature_evidence ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.signature_evidence FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.signatures ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.signatures FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.signing_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.signing_factors FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.signing_nonces ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.signing_nonces FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.signing_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.signing_policies FORCE ROW LEVEL SECURITY;
ALTER TABLE axiom.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE axiom.users FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS analyst_tiers ON axiom.access_tiers;
CREATE POLICY analyst_tiers ON axiom.access_tiers AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.access_tiers;
CREATE POLICY auditor_reads_all ON axiom.access_tiers AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.access_tiers;
CREATE POLICY definer_all ON axiom.access_tiers AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.applied_commands;
CREATE POLICY auditor_reads_all ON axiom.applied_commands AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.applied_commands;
CREATE POLICY definer_all ON axiom.applied_commands AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS definer_all ON axiom.batch_scope;
CREATE POLICY definer_all ON axiom.batch_scope AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK ((xact = pg_current_xact_id()));

DROP POLICY IF EXISTS analyst_scope ON axiom.change_request_steps;
CREATE POLICY analyst_scope ON axiom.change_request_steps AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING (axiom.analyst_in_scope(facility_id, domain_id));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.change_request_steps;
CREATE POLICY auditor_reads_all ON axiom.change_request_steps AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

-- definer_actor_scope (change_request_steps, change_requests, records, signatures): a row is
-- visible, and a new or changed row acceptable, while a command runs (context_identity: one row, the
-- actor and event time of the settings, when their MAC is valid; a function scan without
-- arguments, so PostgreSQL calls it once per statement and rewinds it for every further row)
-- and that actor, enrolled and active at that event time, holds a grant valid then in the
-- row's facility and domain whose tier ranks above 0; a delegation counts while its source
-- grant is valid and its delegator enrolled and active at that time. That is the rule of
-- tier_rank_at, checked row by row by axiom.actor_scope_allows (40_authorization.sql) as an
-- indexed join, an independent check of the definer's own decision. A caller-SET identity
-- yields no row and sees nothing. The grant check is a function call, not sub-queries of the
-- policy, because PostgreSQL starts every sub-plan of a statement each time it runs it. One rule
-- for four tables, so it is written once (below, in PostgreSQL's rendering, with the row's table
-- as %1$I): the same expression is the USING and the WITH CHECK of each.
DO $policies$
DECLARE
	t text;
	rule text;
BEGIN
	FOREACH t IN ARRAY ARRAY['change_request_steps', 'change_requests', 'records', 'signatures']
	LOOP
		rule := format($rule$(EXISTS ( SELECT 1
   FROM axiom.context_identity() c(actor, event_time)
  WHERE axiom.actor_scope_allows(c.actor, c.event_time, %1$I.facility_id, %1$I.domain_id)))$rule$, t);
		EXECUTE format('DROP POLICY IF EXISTS definer_actor_scope ON axiom.%I', t);
		EXECUTE format('CREATE POLICY definer_actor_scope ON axiom.%I AS PERMISSIVE FOR ALL '
		    'TO axiom_definer USING %s WITH CHECK %s', t, rule, rule);
	END LOOP;
END
$policies$;

DROP POLICY IF EXISTS analyst_scope ON axiom.change_requests;
CREATE POLICY analyst_scope ON axiom.change_requests AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING (axiom.analyst_in_scope(facility_id, domain_id));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.change_requests;
CREATE POLICY auditor_reads_all ON axiom.change_requests AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.checkpoints;
CREATE POLICY auditor_reads_all ON axiom.checkpoints AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.checkpoints;
CREATE POLICY definer_all ON axiom.checkpoints AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.context_key;
CREATE POLICY auditor_reads_all ON axiom.context_key AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_reads_key ON axiom.context_key;
CREATE POLICY definer_reads_key ON axiom.context_key AS PERMISSIVE FOR SELECT TO axiom_definer
    USING (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.control_watermark;
CREATE POLICY auditor_reads_all ON axiom.control_watermark AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.control_watermark;
CREATE POLICY definer_all ON axiom.control_watermark AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.delegation_limits;
CREATE POLICY auditor_reads_all ON axiom.delegation_limits AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_reads ON axiom.delegation_limits;
CREATE POLICY definer_reads ON axiom.delegation_limits AS PERMISSIVE FOR SELECT TO axiom_definer
    USING (true);

DROP POLICY IF EXISTS analyst_scope ON axiom.domains;
CREATE POLICY analyst_scope ON axiom.domains AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING ((EXISTS ( SELECT 1
   FROM axiom.grants g
  WHERE ((g.domain_id = domains.domain_id) AND axiom.analyst_in_scope(g.facility_id, g.domain_id)))));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.domains;
CREATE POLICY auditor_reads_all ON axiom.domains AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.domains;
CREATE POLICY definer_all ON axiom.domains AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS analyst_scope ON axiom.facilities;
CREATE POLICY analyst_scope ON axiom.facilities AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING ((EXISTS ( SELECT 1
   FROM axiom.grants g
  WHERE ((g.facility_id = facilities.facility_id) AND axiom.analyst_in_scope(g.facility_id, g.domain_id)))));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.facilities;
CREATE POLICY auditor_reads_all ON axiom.facilities AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.facilities;
CREATE POLICY definer_all ON axiom.facilities AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS analyst_own_grants ON axiom.grants;
CREATE POLICY analyst_own_grants ON axiom.grants AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING ((user_id IN ( SELECT u.user_id
   FROM axiom.users u
  WHERE (u.db_role = CURRENT_USER))));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.grants;
CREATE POLICY auditor_reads_all ON axiom.grants AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.grants;
CREATE POLICY definer_all ON axiom.grants AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.ledger;
CREATE POLICY auditor_reads_all ON axiom.ledger AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.ledger;
CREATE POLICY definer_all ON axiom.ledger AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.partition_claims;
CREATE POLICY auditor_reads_all ON axiom.partition_claims AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.partition_claims;
CREATE POLICY definer_all ON axiom.partition_claims AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.partition_offsets;
CREATE POLICY auditor_reads_all ON axiom.partition_offsets AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.partition_offsets;
CREATE POLICY definer_all ON axiom.partition_offsets AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS analyst_scope ON axiom.record_types;
CREATE POLICY analyst_scope ON axiom.record_types AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING ((EXISTS ( SELECT 1
   FROM axiom.domains d
  WHERE (d.domain_id = record_types.domain_id))));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.record_types;
CREATE POLICY auditor_reads_all ON axiom.record_types AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.record_types;
CREATE POLICY definer_all ON axiom.record_types AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS analyst_scope ON axiom.records;
CREATE POLICY analyst_scope ON axiom.records AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING (axiom.analyst_in_scope(facility_id, domain_id));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.records;
CREATE POLICY auditor_reads_all ON axiom.records AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

-- A set of record versions decided as one (apply_version_run, 60_data_plane.sql) reads and
-- writes each lineage named in axiom.batch_scope only as every command of the set on that
-- lineage may: a row is visible when its lineage has entries and each names an actor enrolled
-- and active at the entry's event time who holds a grant valid then in the row's facility and
-- domain (a delegation counts while its source grant is valid and its delegator is active: the
-- rule of tier_rank_at, a rank above 0), so no command of a set reads what its own actor could
-- not; a new row must carry the actor and event time of an entry of its lineage, as
-- created_by and created_at, whose actor may write there. The grant check is an indexed join
-- evaluated per row, not the definer's decision; batch_scope holds rows only inside a running
-- set (0025).
DROP POLICY IF EXISTS definer_batch_scope ON axiom.records;
CREATE POLICY definer_batch_scope ON axiom.records AS PERMISSIVE FOR ALL TO axiom_definer
    USING ((EXISTS ( SELECT 1
   FROM axiom.batch_scope s0
  WHERE ((s0.xact = pg_current_xact_id_if_assigned()) AND (s0.id = records.id)))) AND (NOT (EXISTS ( SELECT 1
   FROM axiom.batch_scope s
  WHERE ((s.xact = pg_current_xact_id_if_assigned()) AND (s.id = records.id) AND (NOT (EXISTS ( SELECT 1
           FROM ((axiom.users x
             JOIN axiom.grants g ON (((g.user_id = x.user_id) AND (g.facility_id = records.facility_id) AND (g.domain_id = records.domain_id) AND axiom.grant_valid_at(g.*, s.event_time))))
             JOIN axiom.access_tiers a ON ((a.tier = g.tier)))
          WHERE ((x.user_id = s.actor) AND (x.enrolled_at <= s.event_time) AND ((x.deactivated_at IS NULL) OR (s.event_time < x.deactivated_at)) AND ((g.source_grant_id IS NULL) OR (EXISTS ( SELECT 1
                   FROM (axiom.grants sg
                     JOIN axiom.users y ON ((y.user_id = sg.user_id)))
                  WHERE ((sg.grant_id = g.source_grant_id) AND axiom.grant_valid_at(sg.*, s.event_time) AND (y.enrolled_at <= s.event_time) AND ((y.deactivated_at IS NULL) OR (s.event_time < y.deactivated_at)))))))))))))))
    WITH CHECK ((EXISTS ( SELECT 1
   FROM (((axiom.batch_scope s
     JOIN axiom.users x ON (((x.user_id = s.actor) AND (x.enrolled_at <= s.event_time) AND ((x.deactivated_at IS NULL) OR (s.event_time < x.deactivated_at)))))
     JOIN axiom.grants g ON (((g.user_id = s.actor) AND (g.facility_id = records.facility_id) AND (g.domain_id = records.domain_id) AND axiom.grant_valid_at(g.*, s.event_time))))
     JOIN axiom.access_tiers a ON ((a.tier = g.tier)))
  WHERE ((s.xact = pg_current_xact_id_if_assigned()) AND (s.id = records.id) AND (s.actor = records.created_by) AND (s.event_time = records.created_at) AND ((g.source_grant_id IS NULL) OR (EXISTS ( SELECT 1
           FROM (axiom.grants sg
             JOIN axiom.users y ON ((y.user_id = sg.user_id)))
          WHERE ((sg.grant_id = g.source_grant_id) AND axiom.grant_valid_at(sg.*, s.event_time) AND (y.enrolled_at <= s.event_time) AND ((y.deactivated_at IS NULL) OR (s.event_time < y.deactivated_at))))))))));

-- A set of proposals and change steps decided as one (apply_step_run, 60_data_plane.sql) reads
-- and writes each change named in axiom.batch_scope (by its change id) only as every command of
-- the set on that change may: batch_scope_allows (40_authorization.sql), the rule of
-- definer_batch_scope on records above, with the change id for the lineage, called only when
-- batch_scope holds the key (a statement of the per-command path then starts no sub-query for
-- it). A proposal's lineage is an entry of the set too, so the head it reads passes the records
-- policy the same way. The entries' ids are not typed: for reads, an entry whose id happens to
-- be a key of the other table only adds a command that must be allowed there (the rule takes
-- every entry on a key), and so may hide that key's rows, which is why the set runs decide
-- nothing on a key an entry of a refused command, or of the other kind, could hide (0109); for
-- the write checks below it could stand for an entry of that key, and apply_step_run writes
-- only its members' rows, each under its own entry. A new or changed
-- change request must carry the event time of an entry of its change as status_changed_at, and
-- a new step row the actor and event time of one. A new change request must also be proposed by
-- an entry's actor at that entry's event time (author, proposed_at), as records' check binds
-- created_by and created_at: the restrictive policy definer_batch_scope_author below, for
-- inserts only, since a status change keeps the author and proposal time of the row it changes.
-- One rule for two tables, written once (below, in PostgreSQL's rendering, with the row's table
-- as %1$I and, for the WITH CHECK, the columns a new row must share with an entry as %2$s).
DO $policies$
DECLARE
	t text;
	scope text := $rule$(EXISTS ( SELECT 1
   FROM axiom.batch_scope s0
  WHERE %2$s)) AND axiom.batch_scope_allows(change_id, facility_id, domain_id)$rule$;
BEGIN
	FOREACH t IN ARRAY ARRAY['change_request_steps', 'change_requests'] LOOP
		EXECUTE format('DROP POLICY IF EXISTS definer_batch_scope ON axiom.%I', t);
		EXECUTE format('CREATE POLICY definer_batch_scope ON axiom.%I AS PERMISSIVE FOR ALL '
		    'TO axiom_definer USING (%s) WITH CHECK (%s)', t,
		    format(scope, t, format('((s0.xact = pg_current_xact_id_if_assigned()) AND '
		        '(s0.id = %I.change_id))', t)),
		    format(scope, t, format(CASE t WHEN 'change_requests'
		        THEN '((s0.xact = pg_current_xact_id_if_assigned()) AND '
		            '(s0.id = %1$I.change_id) AND (s0.event_time = %1$I.status_changed_at))'
		        ELSE '((s0.xact = pg_current_xact_id_if_assigned()) AND '
		            '(s0.id = %1$I.change_id) AND (s0.actor = %1$I.actor) AND '
		            '(s0.event_time = %1$I.event_time))' END, t)));
	END LOOP;
END
$policies$;

-- A new change request written while the batch scope names its change (a proposal decided in a
-- set, apply_step_run) is proposed by an entry's actor at that entry's event time; with no entry
-- on it (the per-command path, propose_change) this adds nothing to definer_actor_scope.
-- Restrictive: it narrows the inserts the permissive policies allow.
DROP POLICY IF EXISTS definer_batch_scope_author ON axiom.change_requests;
CREATE POLICY definer_batch_scope_author ON axiom.change_requests AS RESTRICTIVE FOR INSERT TO axiom_definer
    WITH CHECK (((NOT (EXISTS ( SELECT 1
   FROM axiom.batch_scope s
  WHERE ((s.xact = pg_current_xact_id_if_assigned()) AND (s.id = change_requests.change_id))))) OR (EXISTS ( SELECT 1
   FROM axiom.batch_scope s
  WHERE ((s.xact = pg_current_xact_id_if_assigned()) AND (s.id = change_requests.change_id) AND (s.actor = change_requests.author) AND (s.event_time = change_requests.proposed_at))))));

DROP POLICY IF EXISTS analyst_scope ON axiom.session_events;
CREATE POLICY analyst_scope ON axiom.session_events AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING (axiom.analyst_in_scope(facility_id, domain_id));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.session_events;
CREATE POLICY auditor_reads_all ON axiom.session_events AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_appends ON axiom.session_events;
CREATE POLICY definer_appends ON axiom.session_events AS PERMISSIVE FOR INSERT TO axiom_definer
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.signature_evidence;
CREATE POLICY auditor_reads_all ON axiom.signature_evidence AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.signature_evidence;
CREATE POLICY definer_all ON axiom.signature_evidence AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS analyst_scope ON axiom.signatures;
CREATE POLICY analyst_scope ON axiom.signatures AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING (axiom.analyst_in_scope(facility_id, domain_id));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.signatures;
CREATE POLICY auditor_reads_all ON axiom.signatures AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.signing_factors;
CREATE POLICY auditor_reads_all ON axiom.signing_factors AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.signing_factors;
CREATE POLICY definer_all ON axiom.signing_factors AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.signing_nonces;
CREATE POLICY auditor_reads_all ON axiom.signing_nonces AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.signing_nonces;
CREATE POLICY definer_all ON axiom.signing_nonces AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS auditor_reads_all ON axiom.signing_policies;
CREATE POLICY auditor_reads_all ON axiom.signing_policies AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.signing_policies;
CREATE POLICY definer_all ON axiom.signing_policies AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);

DROP POLICY IF EXISTS analyst_own_person ON axiom.users;
CREATE POLICY analyst_own_person ON axiom.users AS PERMISSIVE FOR SELECT TO axiom_analytics
    USING ((db_role = CURRENT_USER));

DROP POLICY IF EXISTS auditor_reads_all ON axiom.users;
CREATE POLICY auditor_reads_all ON axiom.users AS PERMISSIVE FOR SELECT TO axiom_auditor
    USING (true);

DROP POLICY IF EXISTS definer_all ON axiom.users;
CREATE POLICY definer_all ON axiom.users AS PERMISSIVE FOR ALL TO axiom_definer
    USING (true)
    WITH CHECK (true);
