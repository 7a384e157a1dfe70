-- axiom-migrate: run-as=admin
--
-- db/definitions/40_authorization.sql - Function-layer authorization (layer L2): may this
-- actor do this, at this event time?
--
-- tier_rank_at answers "which access tier does user u hold for facility f and domain d at time
-- t", from grants (delegations included, bounded by their source grant and their delegator's
-- own enrollment), user enrollment and deactivation; is_administrator answers "may this actor
-- run a control-plane command at t". The per-command functions of 50_control_plane.sql,
-- 60_data_plane.sql and 70_esignatures.sql call them before they write anything. Every check is
-- a function of the command's event time: a control event at instant c governs every command
-- at T >= c (grant_valid_at, user_active_at), and a data command is decided only once the
-- control watermark is beyond its event time (80_batch_entry_point.sql), so replaying the log
-- decides alike. The row policies (45_row_level_security.sql) are an independent second check
-- of the same scope (layer L3): definer_actor_scope by an indexed join of the same rule, and
-- analyst_in_scope.
-- Tests: 0104-db-delegation, 0105-db-change-management, 0511-apply-separation-of-duties,
-- 0514-apply-same-instant.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- The earlier row-policy predicate of axiom_definer (L3): true only while a command runs, that
-- is when the settings axiom.actor and axiom.event_time_us are set and axiom.context_mac is
-- their valid MAC for this backend and transaction (context_mac), and when that actor holds a
-- rank above 0 in (f, d) at that event time (tier_rank_at). No policy calls it since policy
-- definer_actor_scope (45_row_level_security.sql) checks the MAC once per statement
-- (context_identity) and the grant by a join of its own; it stays until a migration drops it
-- (a definition file drops nothing, db/README.md). Executable by axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.actor_in_scope(f text, d text)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT coalesce(pg_catalog.current_setting('axiom.actor', true), '') OPERATOR(pg_catalog.<>) ''
	   AND coalesce(pg_catalog.current_setting('axiom.event_time_us', true), '')
	       OPERATOR(pg_catalog.<>) ''
	   AND pg_catalog.current_setting('axiom.context_mac', true) OPERATOR(pg_catalog.=)
	       axiom.context_mac(pg_catalog.current_setting('axiom.actor', true),
	           pg_catalog.current_setting('axiom.event_time_us', true))
	   AND axiom.tier_rank_at(pg_catalog.current_setting('axiom.actor', true), f, d,
	       'epoch'::pg_catalog.timestamptz OPERATOR(pg_catalog.+)
	       (pg_catalog.current_setting('axiom.event_time_us', true)::pg_catalog.int8
	           OPERATOR(pg_catalog.*) '1 microsecond'::pg_catalog.interval))
	       OPERATOR(pg_catalog.>) 0
$function$;

-- Row-policy predicate of axiom_analytics (policy analyst_scope): the person mapped to the
-- current login (users.db_role = current_user) holds a grant in (f, d) valid now
-- (statement_timestamp(), not an event time). Reads users and grants under the analyst's own
-- policies (analyst_own_person, analyst_own_grants).
CREATE OR REPLACE FUNCTION axiom.analyst_in_scope(f text, d text)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT EXISTS (
	    SELECT 1 FROM axiom.users u
	    WHERE u.db_role = current_user
	      AND axiom.tier_rank_at(u.user_id, f, d, statement_timestamp()) > 0)
$function$;

-- Whether grant g is valid at event time t: valid_from <= t, t before its expiry and t before
-- its revocation. Expiry and revocation are exclusive: a grant that expires or is revoked at c
-- no longer counts for a command at c, as a grant given at c already does.
CREATE OR REPLACE FUNCTION axiom.grant_valid_at(g axiom.grants, t timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT g.valid_from OPERATOR(pg_catalog.<=) t
	   AND (g.expires_at IS NULL OR t OPERATOR(pg_catalog.<) g.expires_at)
	   AND (g.revoked_at IS NULL OR t OPERATOR(pg_catalog.<) g.revoked_at)
$function$;

-- Whether p_actor is an administrator (users.administrator, fixed at enrollment) enrolled and
-- active at p_event_time: the authority check of every control-plane command.
CREATE OR REPLACE FUNCTION axiom.is_administrator(p_actor text, p_event_time timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	RETURN EXISTS (SELECT 1 FROM axiom.users u WHERE u.user_id = p_actor AND u.administrator)
	   AND axiom.user_active_at(p_actor, p_event_time);
END
$function$;

-- The refusal insufficient_access_level of p_what (for example 'creating a record'), which
-- needs the rank p_needed, naming that tier and the one p_actor holds in (p_facility,
-- p_domain) at p_event_time (the highest, direct or delegated): what decided, for the audit
-- topic's reason_detail. Only for an actor whom the caller already let see the object (no
-- existence oracle: an actor without any grant there gets not_found_or_denied first).
CREATE OR REPLACE FUNCTION axiom.insufficient_access_level(p_what text, p_needed integer, p_actor text, p_facility text, p_domain text, p_event_time timestamp with time zone)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT axiom.rejected('insufficient_access_level', format(
	    '%s requires the %s level; %s holds %s in facility %s, domain %s at the event time',
	    p_what, coalesce((SELECT a.tier FROM axiom.access_tiers a WHERE a.rank = p_needed),
	        'unknown'), p_actor,
	    coalesce((SELECT a.tier FROM axiom.access_tiers a WHERE a.rank
	        = axiom.tier_rank_at(p_actor, p_facility, p_domain, p_event_time)), 'no grant'),
	    p_facility, p_domain))
$function$;

-- The rank of access tier `tier` in axiom.access_tiers, the one global ordered list (a higher
-- rank holds every right of a lower one); NULL for an unknown tier.
CREATE OR REPLACE FUNCTION axiom.tier_rank(tier text)
 RETURNS integer
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN (SELECT a.rank FROM axiom.access_tiers a
	    WHERE a.tier OPERATOR(pg_catalog.=) tier_rank.tier);
END
$function$;

-- The highest access-tier rank user u holds in (facility f, domain d) at t, 0 for none: the
-- five-argument tier_rank_at with no delegator excluded. Used by analyst_in_scope and every
-- per-command check that does not concern a change's author.
CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN axiom.tier_rank_at(u, f, d, t, NULL);
END
$function$;

-- The highest rank u holds in (f, d) at t, 0 for none, counting direct grants valid at t and
-- delegations valid at t whose source grant is valid at t and whose delegator is enrolled and
-- active at t; u itself must be enrolled and active at t. With p_not_delegated_by, delegations
-- from that person do not count (separation of duties: nobody reviews, approves or rejects a
-- change through its author's own delegation; axiom.change_transition). The rule is written
-- once, in tier_rank_row.
CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamp with time zone, p_not_delegated_by text)
 RETURNS integer
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN (SELECT r.rank FROM axiom.tier_rank_row(u, f, d, t, p_not_delegated_by) AS r);
END
$function$;

-- tier_rank_at(u, f, d, t, p_not_delegated_by) as one row (rank): a set-returning SQL function
-- without settings, so that PostgreSQL inlines it into the query that calls it in FROM. A query
-- over many rows (apply_version_run's, one rank per command) then joins the grants itself
-- instead of calling a function, and running a statement of its own, per row.
CREATE OR REPLACE FUNCTION axiom.tier_rank_row(u text, f text, d text, t timestamp with time zone, p_not_delegated_by text)
 RETURNS TABLE(rank integer)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT coalesce(pg_catalog.max(a.rank), 0)
	  FROM axiom.grants g
	  JOIN axiom.access_tiers a ON a.tier OPERATOR(pg_catalog.=) g.tier
	  LEFT JOIN axiom.grants s ON s.grant_id OPERATOR(pg_catalog.=) g.source_grant_id
	 WHERE g.user_id OPERATOR(pg_catalog.=) u
	   AND g.facility_id OPERATOR(pg_catalog.=) f
	   AND g.domain_id OPERATOR(pg_catalog.=) d
	   AND axiom.grant_valid_at(g, t)
	   AND (g.source_grant_id IS NULL OR (axiom.grant_valid_at(s, t)
	       AND s.user_id IS DISTINCT FROM p_not_delegated_by
	       AND EXISTS (SELECT 1 FROM axiom.users y
	           WHERE y.user_id OPERATOR(pg_catalog.=) s.user_id
	             AND y.enrolled_at OPERATOR(pg_catalog.<=) t
	             AND (y.deactivated_at IS NULL
	                 OR t OPERATOR(pg_catalog.<) y.deactivated_at))))
	   AND EXISTS (SELECT 1 FROM axiom.users x
	       WHERE x.user_id OPERATOR(pg_catalog.=) u
	         AND x.enrolled_at OPERATOR(pg_catalog.<=) t
	         AND (x.deactivated_at IS NULL
	             OR t OPERATOR(pg_catalog.<) x.deactivated_at))
$function$;

-- Whether p_actor, enrolled and active at p_event_time, holds a grant valid then in
-- (p_facility, p_domain) whose tier ranks above 0, a delegation counting while its source grant
-- is valid and its delegator enrolled and active at that time: the rule of tier_rank_at as an
-- indexed join, for the row policy definer_actor_scope of records, change_requests,
-- change_request_steps and signatures (45_row_level_security.sql), which calls it for each row
-- it checks with the identity context_identity verified once for the statement; an independent
-- check of the definer's decision, not that decision. A function, not the join as sub-queries of
-- the policy, because PostgreSQL starts every sub-plan of a statement each time it runs it,
-- whether a row needs it or not: a set run's statement, which runs without an identity and never
-- calls this, started the join at each of its reads and writes of these tables. The price is a
-- call per row checked on the per-command path (about 27 microseconds; five per command there).
-- Server instructions, against the policy's own join: a batch of two new versions -5.6 %, a
-- replay of a bench topic -3.3 % with batches of four, +2.4 % with batches of 200
-- (docs/benchmarks.md). The rule is written here again, as an EXISTS, not read from
-- tier_rank_row (the maximum rank over a left join): that form cost 25 microseconds per call
-- against 15 (20,000 calls, one backend, 2026-12-07), about 2 % of a replay's server time. Every
-- name is schema-qualified, so it needs no SET search_path (a setting saved and restored per
-- call). Executable by axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.actor_scope_allows(p_actor text, p_event_time timestamp with time zone, p_facility text, p_domain text)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN EXISTS (SELECT 1
	    FROM axiom.users x
	    JOIN axiom.grants g ON g.user_id OPERATOR(pg_catalog.=) x.user_id
	        AND g.facility_id OPERATOR(pg_catalog.=) p_facility
	        AND g.domain_id OPERATOR(pg_catalog.=) p_domain
	        AND axiom.grant_valid_at(g, p_event_time)
	    JOIN axiom.access_tiers a ON a.tier OPERATOR(pg_catalog.=) g.tier
	        AND a.rank OPERATOR(pg_catalog.>) 0
	   WHERE x.user_id OPERATOR(pg_catalog.=) p_actor
	     AND x.enrolled_at OPERATOR(pg_catalog.<=) p_event_time
	     AND (x.deactivated_at IS NULL
	         OR p_event_time OPERATOR(pg_catalog.<) x.deactivated_at)
	     AND (g.source_grant_id IS NULL OR EXISTS (SELECT 1
	         FROM axiom.grants sg
	         JOIN axiom.users y ON y.user_id OPERATOR(pg_catalog.=) sg.user_id
	        WHERE sg.grant_id OPERATOR(pg_catalog.=) g.source_grant_id
	          AND axiom.grant_valid_at(sg, p_event_time)
	          AND y.enrolled_at OPERATOR(pg_catalog.<=) p_event_time
	          AND (y.deactivated_at IS NULL
	              OR p_event_time OPERATOR(pg_catalog.<) y.deactivated_at))));
END
$function$;

-- Whether every entry of axiom.batch_scope on key p_id (a change id, for the row policies
-- definer_batch_scope of change_requests and change_request_steps, 45_row_level_security.sql)
-- names an actor enrolled and active at the entry's event time who holds a grant valid then in
-- (p_facility, p_domain) whose tier ranks above 0, a delegation counting while its source grant
-- is valid and its delegator active: the rule of definer_actor_scope per entry, checked against
-- the grants, not the definer's decision. A function, not a sub-query in the policy, so that a
-- statement of the per-command path, which runs with an empty batch scope, starts no executor
-- for it: the policy first probes batch_scope for the key and calls this only on a hit (one
-- backend, the default plan cache mode, a batch of three change commands through their
-- functions, minimum of 60, the last three of four alternated rounds: 2.1-3.3 ms with the rule
-- as sub-queries, 1.9-2.3 without the policy, 2.0-2.5 with this function).
CREATE OR REPLACE FUNCTION axiom.batch_scope_allows(p_id uuid, p_facility text, p_domain text)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN NOT EXISTS (SELECT 1 FROM axiom.batch_scope s
	    WHERE s.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()
	      AND s.id OPERATOR(pg_catalog.=) p_id
	      AND NOT EXISTS (SELECT 1
	          FROM axiom.users x
	          JOIN axiom.grants g ON g.user_id OPERATOR(pg_catalog.=) x.user_id
	              AND g.facility_id OPERATOR(pg_catalog.=) p_facility
	              AND g.domain_id OPERATOR(pg_catalog.=) p_domain
	              AND axiom.grant_valid_at(g, s.event_time)
	          JOIN axiom.access_tiers a ON a.tier OPERATOR(pg_catalog.=) g.tier
	              AND a.rank OPERATOR(pg_catalog.>) 0
	         WHERE x.user_id OPERATOR(pg_catalog.=) s.actor
	           AND x.enrolled_at OPERATOR(pg_catalog.<=) s.event_time
	           AND (x.deactivated_at IS NULL
	               OR s.event_time OPERATOR(pg_catalog.<) x.deactivated_at)
	           AND (g.source_grant_id IS NULL OR EXISTS (SELECT 1
	               FROM axiom.grants sg
	               JOIN axiom.users y ON y.user_id OPERATOR(pg_catalog.=) sg.user_id
	              WHERE sg.grant_id OPERATOR(pg_catalog.=) g.source_grant_id
	                AND axiom.grant_valid_at(sg, s.event_time)
	                AND y.enrolled_at OPERATOR(pg_catalog.<=) s.event_time
	                AND (y.deactivated_at IS NULL
	                    OR s.event_time OPERATOR(pg_catalog.<) y.deactivated_at)))));
END
$function$;

-- Whether u is enrolled at or before t and not deactivated at t (a deactivation at c holds
-- for commands at T >= c).
CREATE OR REPLACE FUNCTION axiom.user_active_at(u text, t timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN EXISTS (SELECT 1 FROM axiom.users x
	    WHERE x.user_id OPERATOR(pg_catalog.=) user_active_at.u
	      AND x.enrolled_at OPERATOR(pg_catalog.<=) user_active_at.t
	      AND (x.deactivated_at IS NULL
	          OR user_active_at.t OPERATOR(pg_catalog.<) x.deactivated_at));
END
$function$;
