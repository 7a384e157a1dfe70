-- axiom-migrate: run-as=admin
--
-- db/definitions/40_authorization.sql - Function-layer authorization: may this actor do this, at this event time?
--
-- tier_rank_at answers "which access tier does user u hold for facility f and domain d at time
-- t", from grants (delegations included, bounded by their delegator's own rights), user
-- enrollment and deactivation; the per-command functions of 50_control_plane.sql,
-- 60_data_plane.sql and 70_esignatures.sql call it before they touch anything. A control event
-- at instant c governs every command at T >= c (grant_valid_at, user_active_at), so replaying
-- the log decides alike. The row policies (45_row_level_security.sql) are an independent second
-- check of the same scope through actor_in_scope / analyst_in_scope.
-- Tests: 0104-db-delegation, 0105-db-change-management, 0511-apply-separation-of-duties.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/ax_migrate.h); the migrations of db/ hold the history.

-- Policy predicate for axiom_definer: the actor of the running API command holds a valid
-- grant in (f, d) at the command's event time. False when no command is running.
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

-- Policy predicate for axiom_analytics: the person mapped to the current login (users.db_role)
-- holds a grant in (f, d) valid now. Reads users and grants under analytics' own policies.
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

-- Validity of a grant at event time t (design.md section 6: a control event at c governs
-- commands at T > c; expiry is exclusive; a revocation at c still allows T = c).
CREATE OR REPLACE FUNCTION axiom.grant_valid_at(g axiom.grants, t timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT g.valid_from OPERATOR(pg_catalog.<=) t
	   AND (g.expires_at IS NULL OR t OPERATOR(pg_catalog.<) g.expires_at)
	   AND (g.revoked_at IS NULL OR t OPERATOR(pg_catalog.<) g.revoked_at)
$function$;

-- Whether p_actor is an active administrator at p_event_time.
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

-- axiom.tier_rank: the same lookup (NULL for an unknown tier).
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

-- The highest access-tier rank user u holds in (facility f, domain d) at t, through a
-- direct grant or a delegation whose source grant is itself still valid; 0 for none.
CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN axiom.tier_rank_at(u, f, d, t, NULL);
END
$function$;

-- The highest rank u holds in (f, d) at t: direct grants, and delegations whose source grant
-- is valid and whose delegator is active at t; with p_not_delegated_by, delegations from
-- that person do not count (separation of duties: nobody acts on a change through the
-- author's own delegation).
CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamp with time zone, p_not_delegated_by text)
 RETURNS integer
 LANGUAGE plpgsql
 STABLE PARALLEL SAFE
AS $function$
BEGIN
	RETURN (SELECT coalesce(pg_catalog.max(a.rank), 0)
	  FROM axiom.grants g
	  JOIN axiom.access_tiers a ON a.tier OPERATOR(pg_catalog.=) g.tier
	  LEFT JOIN axiom.grants s ON s.grant_id OPERATOR(pg_catalog.=) g.source_grant_id
	 WHERE g.user_id OPERATOR(pg_catalog.=) tier_rank_at.u
	   AND g.facility_id OPERATOR(pg_catalog.=) tier_rank_at.f
	   AND g.domain_id OPERATOR(pg_catalog.=) tier_rank_at.d
	   AND axiom.grant_valid_at(g, tier_rank_at.t)
	   AND (g.source_grant_id IS NULL OR (axiom.grant_valid_at(s, tier_rank_at.t)
	       AND s.user_id IS DISTINCT FROM tier_rank_at.p_not_delegated_by
	       AND EXISTS (SELECT 1 FROM axiom.users y
	           WHERE y.user_id OPERATOR(pg_catalog.=) s.user_id
	             AND y.enrolled_at OPERATOR(pg_catalog.<=) tier_rank_at.t
	             AND (y.deactivated_at IS NULL
	                 OR tier_rank_at.t OPERATOR(pg_catalog.<) y.deactivated_at))))
	   AND EXISTS (SELECT 1 FROM axiom.users x
	       WHERE x.user_id OPERATOR(pg_catalog.=) tier_rank_at.u
	         AND x.enrolled_at OPERATOR(pg_catalog.<=) tier_rank_at.t
	         AND (x.deactivated_at IS NULL
	             OR tier_rank_at.t OPERATOR(pg_catalog.<) x.deactivated_at)));
END
$function$;

-- Whether user u is enrolled and active at t.
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
