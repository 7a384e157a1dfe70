-- 0015_apply_speed - the same helpers, cheaper per command: no decision, reason code,
-- message, audit row, ledger entry or hash changes; only how often PostgreSQL parses and
-- plans the helpers' bodies.
--
-- Layers: 2 and 3 (the helpers of 0005 and 0006 that every API function and the definer's
-- row policies call) and 5 (axiom.head_for_update of 0007). Nothing about who may do what,
-- how the identity is carried or what a policy admits changes here.
--
-- Why it was slow: in PostgreSQL 15, a LANGUAGE sql function that is not inlined is parsed,
-- analysed and planned again every time a statement that calls it starts (its plan lives
-- only as long as the calling expression), and every PL/pgSQL statement is such a statement.
-- Functions are inlined only when their body is a single expression without FROM, sub-query
-- or SET clause. The hot helpers were not: context_mac (FROM axiom.context_key) and
-- tier_rank_at (a join and an EXISTS), evaluated by the definer's row policy on every row a
-- command touches; user_active_at and tier_rank (a sub-query / FROM); begin_command, finish
-- and head_for_update (SET clause); is_administrator and change_step (SET clause, control
-- plane and change management). A profile of 2,000 commands spent most of its server
-- time planning these bodies, not running them (docs/sql-api.md, "Measured").
--
-- What changes: each of them becomes a PL/pgSQL function with the same signature, the same
-- volatility, the same parallel marking, the same SET clause (or none), the same owner and
-- privileges (CREATE OR REPLACE keeps both), and a body that runs the same queries and
-- expressions. PL/pgSQL keeps each statement's plan for the session, so the body is planned
-- once per backend instead of once per call. The three outcome constructors lose their
-- SET clause (their bodies name nothing but the schema-qualified type axiom_api.outcome), so
-- they inline and fold instead of being planned per call.
--
-- Why the security properties hold:
--   * The command-context MAC is computed exactly as in 0005 (same key, same encoding of the
--     same inputs: actor, event time, backend pid, transaction timestamp) and checked exactly
--     where it was (the definer's policies through axiom.actor_in_scope, unchanged); it is
--     only cheaper to compute. Nothing is cached across calls in anything a caller can set or
--     read: the identity still travels only in the transaction-local settings, and a policy
--     still accepts them only with a valid MAC. context_mac stays PARALLEL UNSAFE, because a
--     parallel worker's pg_backend_pid() is not the leader's.
--   * Only axiom.begin_command and axiom.actor_in_scope read or write settings
--     (0101-db-privileges checks it); the functions below call neither current_setting nor
--     set_config except begin_command itself.
--   * Functions without a SET clause keep 0005's rule: every table, function, operator and
--     type they name is schema-qualified, so no search_path a caller sets can redirect a
--     name; PL/pgSQL variables are declared with schema-qualified types.
--   * PL/pgSQL runs a STABLE function's queries in the caller's snapshot, as LANGUAGE sql
--     does, and under the caller's role, so row policies apply to them as before.

-- axiom.context_mac: the MAC binding (actor, event time) to this backend and transaction.
-- The same bytes as 0005; NULL when the caller sees no key row (as 0005: no row, no MAC).
CREATE OR REPLACE FUNCTION axiom.context_mac(p_actor text, p_event_time_us text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	k pg_catalog.bytea;
BEGIN
	SELECT c.key INTO k FROM axiom.context_key c;
	RETURN pg_catalog.encode(pg_catalog.sha256(k
	    OPERATOR(pg_catalog.||) axiom.canon_text('axiom/context/v1')
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_actor)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_event_time_us)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(pg_catalog.pg_backend_pid())
	    OPERATOR(pg_catalog.||) axiom.canon_timestamp(pg_catalog.transaction_timestamp())),
	    'hex');
END
$$;

-- axiom.begin_command: the same three transaction-local settings, in the same order, with the
-- same values (the event time's microseconds computed once instead of twice).
CREATE OR REPLACE FUNCTION axiom.begin_command(p_actor text, p_event_time timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	us pg_catalog.text := axiom.timestamp_us(p_event_time)::pg_catalog.text;
BEGIN
	PERFORM pg_catalog.set_config('axiom.actor', coalesce(p_actor, ''), true),
	    pg_catalog.set_config('axiom.event_time_us', coalesce(us, ''), true),
	    pg_catalog.set_config('axiom.context_mac', CASE WHEN p_actor IS NULL
	        OR p_event_time IS NULL THEN '' ELSE axiom.context_mac(p_actor, us) END, true);
END
$$;

-- axiom.user_active_at: the same EXISTS.
CREATE OR REPLACE FUNCTION axiom.user_active_at(u text, t timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM axiom.users x
	    WHERE x.user_id OPERATOR(pg_catalog.=) user_active_at.u
	      AND x.enrolled_at OPERATOR(pg_catalog.<) user_active_at.t
	      AND (x.deactivated_at IS NULL
	          OR user_active_at.t OPERATOR(pg_catalog.<=) x.deactivated_at));
END
$$;

-- axiom.tier_rank_at: the same query; the call of user_active_at(u, t) in its WHERE clause is
-- replaced by that function's body (the same EXISTS), so one statement does it all.
CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamptz)
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN (SELECT coalesce(pg_catalog.max(a.rank), 0)
	  FROM axiom.grants g
	  JOIN axiom.access_tiers a ON a.tier OPERATOR(pg_catalog.=) g.tier
	  LEFT JOIN axiom.grants s ON s.grant_id OPERATOR(pg_catalog.=) g.source_grant_id
	 WHERE g.user_id OPERATOR(pg_catalog.=) tier_rank_at.u
	   AND g.facility_id OPERATOR(pg_catalog.=) tier_rank_at.f
	   AND g.domain_id OPERATOR(pg_catalog.=) tier_rank_at.d
	   AND axiom.grant_valid_at(g, tier_rank_at.t)
	   AND (g.source_grant_id IS NULL OR axiom.grant_valid_at(s, tier_rank_at.t))
	   AND EXISTS (SELECT 1 FROM axiom.users x
	       WHERE x.user_id OPERATOR(pg_catalog.=) tier_rank_at.u
	         AND x.enrolled_at OPERATOR(pg_catalog.<) tier_rank_at.t
	         AND (x.deactivated_at IS NULL
	             OR tier_rank_at.t OPERATOR(pg_catalog.<=) x.deactivated_at)));
END
$$;

-- axiom.tier_rank: the same lookup (NULL for an unknown tier).
CREATE OR REPLACE FUNCTION axiom.tier_rank(tier text) RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN (SELECT a.rank FROM axiom.access_tiers a
	    WHERE a.tier OPERATOR(pg_catalog.=) tier_rank.tier);
END
$$;

-- axiom.finish: the same audit row, the same end of the identity, the same outcome.
CREATE OR REPLACE FUNCTION axiom.finish(p_operation text, p_actor text,
    p_event_time timestamptz, p_command_id uuid, p_outcome axiom_api.outcome, p_reason text,
    p_object_id uuid, p_old_record_id uuid, p_new_record_id uuid, p_facility_id text,
    p_domain_id text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO axiom.session_events (actor, event_time, operation, decision, reason_code,
	    reason, command_id, object_id, old_record_id, new_record_id, facility_id, domain_id)
	VALUES (coalesce(p_actor, ''), coalesce(p_event_time, 'epoch'), p_operation,
	    (p_outcome).decision, (p_outcome).reason_code, p_reason, p_command_id,
	    coalesce(p_object_id, (p_outcome).object_id), p_old_record_id,
	    CASE WHEN (p_outcome).decision = 'accepted' THEN p_new_record_id END,
	    p_facility_id, p_domain_id);
	PERFORM axiom.begin_command(NULL, NULL); -- the identity ends with the command
	RETURN p_outcome;
END
$$;

-- axiom.head_for_update: the same locking query; NULL (not a row of NULLs) when the actor sees
-- no version of the lineage, as the LANGUAGE sql function returned.
CREATE OR REPLACE FUNCTION axiom.head_for_update(p_id uuid) RETURNS axiom.records
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	head axiom.records;
BEGIN
	SELECT * INTO head FROM axiom.records r WHERE r.id = p_id
	 ORDER BY r.version DESC LIMIT 1 FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN head;
END
$$;

-- The outcome constructors of 0006, without their SET clause so that they inline: the bodies
-- are one row constructor cast to the schema-qualified axiom_api.outcome.
CREATE OR REPLACE FUNCTION axiom.accepted(p_message text, p_object_id uuid DEFAULT NULL,
    p_version bigint DEFAULT NULL, p_record_hash bytea DEFAULT NULL) RETURNS axiom_api.outcome
LANGUAGE sql IMMUTABLE
AS $$
	SELECT ROW('accepted', NULL, p_message, p_object_id, p_version, p_record_hash)::axiom_api.outcome
$$;

CREATE OR REPLACE FUNCTION axiom.rejected(p_code text, p_message text) RETURNS axiom_api.outcome
LANGUAGE sql IMMUTABLE
AS $$
	SELECT ROW('rejected', p_code, p_message, NULL, NULL, NULL)::axiom_api.outcome
$$;

CREATE OR REPLACE FUNCTION axiom.not_found_or_denied() RETURNS axiom_api.outcome
LANGUAGE sql IMMUTABLE
AS $$
	SELECT axiom.rejected('not_found_or_denied', 'no such object, or the actor may not use it')
$$;

-- axiom.is_administrator (0006): the same two conditions (control plane).
CREATE OR REPLACE FUNCTION axiom.is_administrator(p_actor text, p_event_time timestamptz)
RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM axiom.users u WHERE u.user_id = p_actor AND u.administrator)
	   AND axiom.user_active_at(p_actor, p_event_time);
END
$$;

-- axiom.change_step (0007): the same step row (change management).
CREATE OR REPLACE FUNCTION axiom.change_step(p_change axiom.change_requests, p_step text,
    p_from text, p_to text, p_actor text, p_event_time timestamptz, p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO axiom.change_request_steps (change_id, step, from_status, to_status, actor,
	    event_time, reason, facility_id, domain_id)
	VALUES ((p_change).change_id, p_step, p_from, p_to, p_actor, p_event_time, p_reason,
	    (p_change).facility_id, (p_change).domain_id);
END
$$;
