-- 0005_authorization_and_rls - who may act where and when (docs/security-layers.md), and row-level
-- security with FORCE on every table as an independent layer.
--
-- Layers: 2 (function-layer authorization: the helpers the API calls) and 3 (RLS).
--
-- Identity inside the API: each API function takes the actor and the event time as
-- parameters, checks them, and only then calls axiom.begin_command(), which sets the
-- transaction-local settings axiom.actor, axiom.event_time_us and axiom.context_mac, a MAC
-- over both (and the backend and transaction) keyed by axiom.context_key, which only the
-- definer can read. The policies for axiom_definer accept the settings only with a valid
-- MAC, and fail closed otherwise: a caller can SET any of them, but cannot forge the MAC, so
-- a definer function that forgot to establish an identity sees no regulated row at all.
-- Every API function clears the settings again before it returns (axiom.finish).
-- axiom_analytics and axiom_auditor are identified by current_user, which no SET can change
-- (they are members of no role).
--
-- The helpers below run once per row in policies, so they carry no SET search_path clause
-- (which would stop PostgreSQL from inlining them and cost a GUC switch per call): instead
-- every table, function, operator and type in them is schema-qualified, so no search_path a
-- caller sets can redirect a name.

-- Validity of a grant at event time t (docs/security-layers.md: a control event at c governs
-- commands at T > c; expiry is exclusive; a revocation at c still allows T = c).
CREATE FUNCTION axiom.grant_valid_at(g axiom.grants, t timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT g.valid_from OPERATOR(pg_catalog.<) t
	   AND (g.expires_at IS NULL OR t OPERATOR(pg_catalog.<) g.expires_at)
	   AND (g.revoked_at IS NULL OR t OPERATOR(pg_catalog.<=) g.revoked_at)
$$;

-- Whether user u is enrolled and active at t.
CREATE FUNCTION axiom.user_active_at(u text, t timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT EXISTS (SELECT 1 FROM axiom.users x WHERE x.user_id OPERATOR(pg_catalog.=) u
	    AND x.enrolled_at OPERATOR(pg_catalog.<) t
	    AND (x.deactivated_at IS NULL OR t OPERATOR(pg_catalog.<=) x.deactivated_at))
$$;

-- The highest access-tier rank user u holds in (facility f, domain d) at t, through a
-- direct grant or a delegation whose source grant is itself still valid; 0 for none.
CREATE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamptz) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT coalesce(pg_catalog.max(a.rank), 0)
	  FROM axiom.grants g
	  JOIN axiom.access_tiers a ON a.tier OPERATOR(pg_catalog.=) g.tier
	  LEFT JOIN axiom.grants s ON s.grant_id OPERATOR(pg_catalog.=) g.source_grant_id
	 WHERE g.user_id OPERATOR(pg_catalog.=) u AND g.facility_id OPERATOR(pg_catalog.=) f
	   AND g.domain_id OPERATOR(pg_catalog.=) d
	   AND axiom.grant_valid_at(g, t)
	   AND (g.source_grant_id IS NULL OR axiom.grant_valid_at(s, t))
	   AND axiom.user_active_at(u, t)
$$;

CREATE FUNCTION axiom.tier_rank(tier text) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT a.rank FROM axiom.access_tiers a WHERE a.tier OPERATOR(pg_catalog.=) tier_rank.tier
$$;

-- Make (actor, event time) the identity the definer's row policies see, for the rest of
-- the current API function; only called after the API function validated both.
-- The key of the command-context MAC: 256 random bits (gen_random_uuid draws from the
-- server's strong random source), readable by axiom_definer only.
CREATE TABLE axiom.context_key (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	key bytea NOT NULL CHECK (octet_length(key) = 32)
);
INSERT INTO axiom.context_key (key)
SELECT substr(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
    || uuid_send(gen_random_uuid()), 1, 32);
CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON axiom.context_key
    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.context_key
    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.context_key ENABLE ALWAYS TRIGGER append_only_row;
ALTER TABLE axiom.context_key ENABLE ALWAYS TRIGGER append_only_truncate;
GRANT SELECT ON axiom.context_key TO axiom_definer;

-- The MAC binding (actor, event time) to this backend and this transaction.
CREATE FUNCTION axiom.context_mac(p_actor text, p_event_time_us text) RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT pg_catalog.encode(pg_catalog.sha256(k.key
	    OPERATOR(pg_catalog.||) axiom.canon_text('axiom/context/v1')
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_actor)
	    OPERATOR(pg_catalog.||) axiom.canon_text(p_event_time_us)
	    OPERATOR(pg_catalog.||) axiom.canon_int64(pg_catalog.pg_backend_pid())
	    OPERATOR(pg_catalog.||) axiom.canon_timestamp(pg_catalog.transaction_timestamp())),
	    'hex')
	  FROM axiom.context_key k
$$;

-- Make (actor, event time) the identity the definer's row policies see, until cleared
-- (NULL, NULL clears it); only called after the API function validated both.
CREATE FUNCTION axiom.begin_command(p_actor text, p_event_time timestamptz) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT set_config('axiom.actor', coalesce(p_actor, ''), true),
	       set_config('axiom.event_time_us', coalesce(axiom.timestamp_us(p_event_time)::text, ''), true),
	       set_config('axiom.context_mac', CASE WHEN p_actor IS NULL OR p_event_time IS NULL
	           THEN '' ELSE axiom.context_mac(p_actor, axiom.timestamp_us(p_event_time)::text) END,
	           true);
$$;

-- Policy predicate for axiom_definer: the actor of the running API command holds a valid
-- grant in (f, d) at the command's event time. False when no command is running.
CREATE FUNCTION axiom.actor_in_scope(f text, d text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
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
$$;

-- Policy predicate for axiom_analytics: the person mapped to the current login (users.db_role)
-- holds a grant in (f, d) valid now. Reads users and grants under analytics' own policies.
CREATE FUNCTION axiom.analyst_in_scope(f text, d text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (
	    SELECT 1 FROM axiom.users u
	    WHERE u.db_role = current_user
	      AND axiom.tier_rank_at(u.user_id, f, d, statement_timestamp()) > 0)
$$;

GRANT EXECUTE ON FUNCTION axiom.grant_valid_at(axiom.grants, timestamptz),
    axiom.user_active_at(text, timestamptz), axiom.tier_rank_at(text, text, text, timestamptz),
    axiom.tier_rank(text), axiom.context_mac(text, text), axiom.begin_command(text, timestamptz),
    axiom.actor_in_scope(text, text)
    TO axiom_definer;
GRANT EXECUTE ON FUNCTION axiom.grant_valid_at(axiom.grants, timestamptz),
    axiom.user_active_at(text, timestamptz), axiom.tier_rank_at(text, text, text, timestamptz),
    axiom.analyst_in_scope(text, text)
    TO axiom_analytics;

-- Readers ---------------------------------------------------------------------------------

GRANT USAGE ON SCHEMA axiom TO axiom_analytics, axiom_auditor;
GRANT SELECT ON axiom.access_tiers, axiom.users, axiom.facilities, axiom.domains, axiom.grants,
    axiom.record_types, axiom.records, axiom.change_requests, axiom.change_request_steps,
    axiom.signatures, axiom.session_events TO axiom_analytics;
GRANT SELECT ON ALL TABLES IN SCHEMA axiom TO axiom_auditor;
REVOKE ALL ON axiom.context_key FROM axiom_auditor; -- the MAC key is the definer's alone
GRANT EXECUTE ON FUNCTION axiom.canon_text(text), axiom.canon_bytes(bytea),
    axiom.canon_int64(bigint), axiom.timestamp_us(timestamptz),
    axiom.canon_timestamp(timestamptz), axiom.canon_uuid(uuid),
    axiom.canon_record_v1(uuid, uuid, bigint, uuid, bytea, text, text, text, text, bytea, text,
        timestamptz, uuid),
    axiom.record_hash_v1(axiom.records),
    axiom.canon_ledger_v1(text, integer, bigint, bigint, uuid, text, timestamptz, text, text,
        bytea, bytea)
    TO axiom_auditor;

-- Row-level security, ENABLE + FORCE on every table -----------------------------------------
-- FORCE makes the policies bind the table owner too. No policy names PUBLIC; a role without
-- a policy sees and writes nothing, whatever its privileges.

DO $rls$
DECLARE
	t text;
BEGIN
	FOR t IN SELECT c.relname FROM pg_catalog.pg_class c
	    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'axiom' AND c.relkind IN ('r', 'p') LOOP
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE axiom.%I FORCE ROW LEVEL SECURITY', t);
		-- the auditor reads everything, writes nothing (it has no write privilege either)
		EXECUTE format('CREATE POLICY auditor_reads_all ON axiom.%I FOR SELECT '
		    'TO axiom_auditor USING (true)', t);
	END LOOP;
END
$rls$;

-- axiom_definer: configuration and the authorization tables are needed whole to decide;
-- regulated rows only within the running command's actor scope.
DO $definer$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['access_tiers', 'users', 'facilities', 'domains', 'grants',
	    'record_types', 'ledger', 'partition_offsets'] LOOP
		EXECUTE format('CREATE POLICY definer_all ON axiom.%I TO axiom_definer '
		    'USING (true) WITH CHECK (true)', t);
	END LOOP;
	CREATE POLICY definer_reads_key ON axiom.context_key FOR SELECT TO axiom_definer
	    USING (true);
	FOREACH t IN ARRAY ARRAY['records', 'change_requests', 'change_request_steps',
	    'signatures'] LOOP
		EXECUTE format('CREATE POLICY definer_actor_scope ON axiom.%I TO axiom_definer '
		    'USING (axiom.actor_in_scope(facility_id, domain_id)) '
		    'WITH CHECK (axiom.actor_in_scope(facility_id, domain_id))', t);
	END LOOP;
END
$definer$;
-- the audit trail: the definer appends (rejections too, whose scope may be unknown), never reads
CREATE POLICY definer_appends ON axiom.session_events FOR INSERT TO axiom_definer
    WITH CHECK (true);

-- axiom_analytics: only the facilities and domains of the analyst's own current grants.
CREATE POLICY analyst_own_person ON axiom.users FOR SELECT TO axiom_analytics
    USING (db_role = current_user);
CREATE POLICY analyst_own_grants ON axiom.grants FOR SELECT TO axiom_analytics
    USING (user_id IN (SELECT u.user_id FROM axiom.users u WHERE u.db_role = current_user));
CREATE POLICY analyst_tiers ON axiom.access_tiers FOR SELECT TO axiom_analytics USING (true);
CREATE POLICY analyst_scope ON axiom.facilities FOR SELECT TO axiom_analytics
    USING (EXISTS (SELECT 1 FROM axiom.grants g WHERE g.facility_id = facilities.facility_id
        AND axiom.analyst_in_scope(g.facility_id, g.domain_id)));
CREATE POLICY analyst_scope ON axiom.domains FOR SELECT TO axiom_analytics
    USING (EXISTS (SELECT 1 FROM axiom.grants g WHERE g.domain_id = domains.domain_id
        AND axiom.analyst_in_scope(g.facility_id, g.domain_id)));
CREATE POLICY analyst_scope ON axiom.record_types FOR SELECT TO axiom_analytics
    USING (EXISTS (SELECT 1 FROM axiom.domains d WHERE d.domain_id = record_types.domain_id));
DO $analytics$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['records', 'change_requests', 'change_request_steps',
	    'signatures', 'session_events'] LOOP
		EXECUTE format('CREATE POLICY analyst_scope ON axiom.%I FOR SELECT TO axiom_analytics '
		    'USING (axiom.analyst_in_scope(facility_id, domain_id))', t);
	END LOOP;
END
$analytics$;
