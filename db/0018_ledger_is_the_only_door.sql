-- axiom-migrate: run-as=admin
--
-- 0018_ledger_is_the_only_door - every regulated row is the result of a decision taken from
-- the log and recorded in its partition's ledger, and the database can show it.
--
-- Layers: 1 (the runtime role reaches the batch entry point only), 2 (separation of duties,
-- delegation limits), 3 (no existence oracle, no raw proofs for analysts), 4 and 6 (ledger
-- references on every regulated row, one duplicate rule per ledger).
--
-- Why: a review as an insider holding the project's own logins found that axiom_user could
-- call the per-command API (create_record, grant_access, sign_record, ...) with any actor and
-- any event time, leaving rows that no ledger entry explains and that the verifier accepted;
-- that one command id on the control and on the data topic was decided by whichever partition
-- the applier happened to reach first (live and replay disagreed); that one person could
-- review and then approve a change, or empower her own approver through a delegation; that a
-- delegation outlived its deactivated delegator and could run until the year 294247; that
-- create_record told a visible lineage id (already_exists) from a hidden one; and that
-- analysts read still-valid OIDC ID tokens in signatures.proofs.
--
-- What changes:
--  (1) axiom_user keeps EXECUTE on the applier's entry point (apply_partition_batch) and on
--      the operational functions the applier needs around it (claim_partition, next_offset,
--      control_watermark, ledger_entries, store_checkpoint, and the reads lineage_head,
--      change_content, signing_context that let it compute hashes and check proofs before a
--      batch); every per-command API function and every other function becomes internal:
--      only the definer, through the batch, reaches them.
--  (2) Ledger references: users, facilities, domains, grants (delegations included),
--      record_types, records, change_requests, change_request_steps, signatures,
--      session_events, signing_factors, signing_policies, signing_nonces and
--      signature_evidence gain (ledger_topic, ledger_partition, ledger_seq): the ledger entry
--      of the command that inserted the row. The columns are NOT NULL and default to three
--      transaction-local settings that axiom.partition_commands sets before each command to
--      the entry that command will get; an insert outside a batch has no such settings and
--      fails. Rows that existed before this migration read ('', 0, 0): the verifier reports
--      them (rebuild such a database from the topics with `axiom replay`), except the
--      bootstrap administrator that 0002 seeds.
--  (3) axiom_api.verify_ledger_references() (auditor): every regulated row whose reference
--      names no ledger entry, an entry of another decision, command or event time; every
--      ledger entry whose event time is before its predecessor's.
--  (4) Duplicates are decided per ledger: a command id is a duplicate when the same
--      partition's ledger already applied it (applied_commands is keyed by topic, partition
--      and command id). A decision can then depend only on that partition's log, never on how
--      the applier interleaves partitions. A data command's key is its lineage, so a producer
--      that republishes a command reaches the same partition and the same ledger.
--  (5) partition_commands refuses an event time before the ledger's last one (the applier
--      sends the running maximum of its partition's append times): an invariant violation,
--      not an outcome.
--  (6) Separation of duties in axiom.change_transition: the reviewer of a change cannot
--      approve it (reviewer_cannot_approve) unless its record type's gate is
--      review_approve_reviewer_may_approve, an explicit and audited configuration; review,
--      approval and rejection through a delegation whose delegator is the change's author are
--      refused (delegated_by_author).
--  (7) axiom.tier_rank_at: a delegation ends when its delegator is deactivated (as it already
--      ended with its source grant). axiom_api.delegate refuses a delegation longer than the
--      maximum in force at its event time (delegation_too_long; axiom.delegation_limits, 90
--      days from the epoch on; a later migration adds a row to change it for later events).
--  (8) create_record no longer answers already_exists for a lineage the actor can see: every
--      id in use, visible or not, is refused alike (not_found_or_denied), after the same
--      checks (the record hash first, then the id).
--  (9) axiom_analytics reads every column of axiom.signatures except proofs (the raw WebAuthn
--      assertions and OIDC ID tokens); the auditor still reads them to re-verify.
-- (10) dispatch_command no longer routes a sign_record element without a nonce to the 0007
--      form (a signature the verifier cannot re-check): invalid_command.
--
-- Invariants:
--  (1) a regulated row inserted after this migration names the ledger entry of the command
--      that inserted it; the verifier fails on a row that names none;
--  (2) within a partition, ledger event times never decrease;
--  (3) a duplicate decision depends on the partition's own ledger only.

-- (1) the runtime role -------------------------------------------------------------------

DO $runtime$
DECLARE
	f regprocedure;
	keep text[] := ARRAY[
	    'axiom_api.apply_partition_batch(text,text,integer,boolean,bigint,bigint,jsonb)',
	    'axiom_api.claim_partition(text,text,integer)',
	    'axiom_api.next_offset(text,integer)',
	    'axiom_api.control_watermark()',
	    'axiom_api.ledger_entries(text,integer,bigint,integer)',
	    'axiom_api.store_checkpoint(text,text,integer,bigint,uuid,bytea,bytea)',
	    'axiom_api.lineage_head(text,timestamp with time zone,uuid)',
	    'axiom_api.change_content(text,timestamp with time zone,uuid)',
	    'axiom_api.signing_context(timestamp with time zone,uuid,text)'];
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
	    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname IN ('axiom', 'axiom_api') LOOP
		IF f::text <> ALL (keep) THEN
			EXECUTE format('REVOKE ALL ON FUNCTION %s FROM axiom_user', f);
		END IF;
	END LOOP;
END
$runtime$;

SET LOCAL ROLE axiom_owner;

-- (2) ledger references ------------------------------------------------------------------

DO $refs$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['users', 'facilities', 'domains', 'grants', 'record_types',
	    'records', 'change_requests', 'change_request_steps', 'signatures', 'session_events',
	    'signing_factors', 'signing_policies', 'signing_nonces', 'signature_evidence'] LOOP
		-- constant defaults first: existing rows read ('', 0, 0) without a table rewrite
		EXECUTE format('ALTER TABLE axiom.%I '
		    'ADD COLUMN IF NOT EXISTS ledger_topic text NOT NULL DEFAULT '''', '
		    'ADD COLUMN IF NOT EXISTS ledger_partition integer NOT NULL DEFAULT 0, '
		    'ADD COLUMN IF NOT EXISTS ledger_seq bigint NOT NULL DEFAULT 0', t);
		-- then the batch's settings: no settings, no row
		EXECUTE format('ALTER TABLE axiom.%I '
		    'ALTER COLUMN ledger_topic SET DEFAULT '
		    'NULLIF(pg_catalog.current_setting(''axiom.ledger_topic'', true), ''''), '
		    'ALTER COLUMN ledger_partition SET DEFAULT NULLIF('
		    'pg_catalog.current_setting(''axiom.ledger_partition'', true), '''')::integer, '
		    'ALTER COLUMN ledger_seq SET DEFAULT NULLIF('
		    'pg_catalog.current_setting(''axiom.ledger_seq'', true), '''')::bigint', t);
	END LOOP;
END
$refs$;

-- (4) one duplicate rule per ledger --------------------------------------------------------

ALTER TABLE axiom.applied_commands DROP CONSTRAINT IF EXISTS applied_commands_pkey;
ALTER TABLE axiom.applied_commands ADD CONSTRAINT applied_commands_pkey
    PRIMARY KEY (topic, kafka_partition, command_id);

CREATE OR REPLACE FUNCTION axiom.digest_rows_applied_commands(OUT row_count bigint,
    OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_uuid(a.command_id) || axiom.canon_text(a.topic)
	    || axiom.canon_int64(a.kafka_partition) || axiom.canon_int64(a.kafka_offset)),
	    ''::bytea ORDER BY a.command_id, a.topic COLLATE "C", a.kafka_partition)
	  FROM axiom.applied_commands a
$$;

-- (7) delegation limits --------------------------------------------------------------------

-- The longest delegation allowed, by event time: the row with the latest effective_from
-- before a delegation's event time governs it. Forward-only like every migration, so a
-- replay decides every delegation under the limit that was in force at its event time.
CREATE TABLE IF NOT EXISTS axiom.delegation_limits (
	effective_from timestamptz PRIMARY KEY,
	max_length interval NOT NULL CHECK (max_length > interval '0'),
	reason text NOT NULL CHECK (btrim(reason) <> '')
);
INSERT INTO axiom.delegation_limits VALUES ('-infinity', '90 days',
    'default of migration 0018: a delegation covers an absence, it is not a second grant')
ON CONFLICT DO NOTHING;
DO $limits$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = 'append_only_row'
	    AND tgrelid = 'axiom.delegation_limits'::regclass) THEN
		CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON axiom.delegation_limits
		    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
		CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.delegation_limits
		    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
		ALTER TABLE axiom.delegation_limits ENABLE ALWAYS TRIGGER append_only_row;
		ALTER TABLE axiom.delegation_limits ENABLE ALWAYS TRIGGER append_only_truncate;
		ALTER TABLE axiom.delegation_limits ENABLE ROW LEVEL SECURITY;
		ALTER TABLE axiom.delegation_limits FORCE ROW LEVEL SECURITY;
		CREATE POLICY definer_reads ON axiom.delegation_limits FOR SELECT TO axiom_definer
		    USING (true);
		CREATE POLICY auditor_reads_all ON axiom.delegation_limits FOR SELECT
		    TO axiom_auditor USING (true);
	END IF;
END
$limits$;
REVOKE ALL ON axiom.delegation_limits FROM PUBLIC;
-- (6) the reviewer check reads the change's steps (under the definer's row policy of 0005)
GRANT SELECT ON axiom.change_request_steps TO axiom_definer;
GRANT SELECT ON axiom.delegation_limits TO axiom_definer, axiom_auditor;

-- (6) the explicit gate that lets the reviewer approve -----------------------------------

ALTER TABLE axiom.record_types DROP CONSTRAINT IF EXISTS record_types_gate_check;
ALTER TABLE axiom.record_types ADD CONSTRAINT record_types_gate_check CHECK (gate IN
    ('none', 'approve', 'review_approve', 'review_approve_reviewer_may_approve'));

-- (7) authorization: a delegation ends with its delegator ---------------------------------

-- The highest rank u holds in (f, d) at t: direct grants, and delegations whose source grant
-- is valid and whose delegator is active at t; with p_not_delegated_by, delegations from
-- that person do not count (separation of duties: nobody acts on a change through the
-- author's own delegation).
CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamptz,
    p_not_delegated_by text) RETURNS integer
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
	   AND (g.source_grant_id IS NULL OR (axiom.grant_valid_at(s, tier_rank_at.t)
	       AND s.user_id IS DISTINCT FROM tier_rank_at.p_not_delegated_by
	       AND EXISTS (SELECT 1 FROM axiom.users y
	           WHERE y.user_id OPERATOR(pg_catalog.=) s.user_id
	             AND y.enrolled_at OPERATOR(pg_catalog.<) tier_rank_at.t
	             AND (y.deactivated_at IS NULL
	                 OR tier_rank_at.t OPERATOR(pg_catalog.<=) y.deactivated_at))))
	   AND EXISTS (SELECT 1 FROM axiom.users x
	       WHERE x.user_id OPERATOR(pg_catalog.=) tier_rank_at.u
	         AND x.enrolled_at OPERATOR(pg_catalog.<) tier_rank_at.t
	         AND (x.deactivated_at IS NULL
	             OR tier_rank_at.t OPERATOR(pg_catalog.<=) x.deactivated_at)));
END
$$;
REVOKE ALL ON FUNCTION axiom.tier_rank_at(text, text, text, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom.tier_rank_at(text, text, text, timestamptz, text)
    TO axiom_definer, axiom_analytics;

CREATE OR REPLACE FUNCTION axiom.tier_rank_at(u text, f text, d text, t timestamptz)
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN axiom.tier_rank_at(u, f, d, t, NULL);
END
$$;

-- (6) separation of duties -----------------------------------------------------------------

CREATE OR REPLACE FUNCTION axiom.change_transition(p_step text, p_actor text,
    p_event_time timestamptz, p_command_id uuid, p_change_id uuid, p_reason text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	c axiom.change_requests;
	gate text;
	rank integer;
	needed integer;
	next_status text;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO c FROM axiom.change_requests WHERE change_id = p_change_id FOR UPDATE;
		SELECT t.gate INTO gate FROM axiom.record_types t WHERE t.record_type = c.record_type;
		rank := axiom.tier_rank_at(p_actor, c.facility_id, c.domain_id, p_event_time);
		needed := axiom.tier_rank(CASE p_step WHEN 'submit' THEN 'author'
		    WHEN 'approve' THEN 'manager' ELSE 'reviewer' END);
		next_status := CASE p_step WHEN 'submit' THEN 'submitted' WHEN 'review' THEN 'reviewed'
		    WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected' END;
		IF c.change_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', format('a %s step requires a reason', p_step));
		ELSIF p_step = 'submit' AND c.author <> p_actor THEN
			o := axiom.rejected('not_author', 'only the author submits a change');
		ELSIF p_step <> 'submit' AND c.author = p_actor THEN
			o := axiom.rejected('author_cannot_' || p_step,
			    format('the author of a change cannot %s it', p_step));
		ELSIF p_step = 'submit' AND c.status <> 'draft' THEN
			o := axiom.rejected('invalid_state', format('the change is %s, not draft', c.status));
		ELSIF p_step <> 'submit' AND c.status = 'draft' THEN
			o := axiom.rejected('not_submitted', 'the change has not been submitted');
		ELSIF p_step = 'review' AND gate NOT LIKE 'review_approve%' THEN
			o := axiom.rejected('review_not_required', format('record type %s has no review step', c.record_type));
		ELSIF p_step = 'review' AND c.status <> 'submitted' THEN
			o := axiom.rejected('invalid_state', format('the change is %s, not submitted', c.status));
		ELSIF p_step = 'approve' AND gate LIKE 'review_approve%' AND c.status = 'submitted' THEN
			o := axiom.rejected('review_required', 'the change must be reviewed before approval');
		ELSIF p_step = 'approve' AND c.status NOT IN ('submitted', 'reviewed') THEN
			o := axiom.rejected('invalid_state', format('the change is %s', c.status));
		ELSIF p_step = 'reject' AND c.status NOT IN ('submitted', 'reviewed') THEN
			o := axiom.rejected('invalid_state', format('the change is %s', c.status));
		ELSIF rank < needed THEN
			o := axiom.rejected('insufficient_access_level',
			    format('the %s step requires a higher access level', p_step));
		ELSIF p_step <> 'submit' AND axiom.tier_rank_at(p_actor, c.facility_id, c.domain_id,
		    p_event_time, c.author) < needed THEN
			o := axiom.rejected('delegated_by_author', format(
			    'the %s step would rest on a delegation from the change''s author %s', p_step,
			    c.author));
		ELSIF p_step = 'approve' AND gate <> 'review_approve_reviewer_may_approve'
		    AND EXISTS (SELECT 1 FROM axiom.change_request_steps s
		        WHERE s.change_id = p_change_id AND s.step = 'review' AND s.actor = p_actor) THEN
			o := axiom.rejected('reviewer_cannot_approve', format(
			    'the reviewer of a change cannot approve it (record type %s requires a third person)',
			    c.record_type));
		ELSE
			UPDATE axiom.change_requests SET status = next_status, status_changed_at = p_event_time
			 WHERE change_id = p_change_id;
			PERFORM axiom.change_step(c, p_step, c.status, next_status, p_actor, p_event_time,
			    p_reason);
			o := axiom.accepted(format('change %s', next_status), p_change_id, c.base_version);
		END IF;
	END IF;
	RETURN axiom.finish(p_step || '_change', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_change_id, NULL, NULL, c.facility_id, c.domain_id);
END
$$;

-- (10) sign_record only with its proofs ----------------------------------------------------

CREATE OR REPLACE FUNCTION axiom.dispatch_command(c jsonb, actor text, et timestamptz, cmd uuid,
    p_topic text, p_partition integer) RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE c->>'op'
	WHEN 'create_record' THEN axiom_api.create_record(actor, et, cmd,
	    (c->>'record_id')::uuid, (c->>'id')::uuid, c->>'record_type', c->>'facility_id',
	    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'))
	WHEN 'new_version' THEN axiom_api.new_version(actor, et, cmd,
	    (c->>'record_id')::uuid, (c->>'id')::uuid, decode(c->>'previous_record_hash', 'hex'),
	    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'))
	WHEN 'transition_record' THEN axiom_api.transition_record(actor, et, cmd,
	    (c->>'id')::uuid, (c->>'version')::bigint, c->>'to_status', c->>'reason')
	WHEN 'propose_change' THEN axiom_api.propose_change(actor, et, cmd,
	    (c->>'change_id')::uuid, (c->>'id')::uuid, (c->>'base_version')::bigint,
	    c->>'title', decode(c->>'content', 'hex'), c->>'reason')
	WHEN 'submit_change' THEN axiom_api.submit_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'review_change' THEN axiom_api.review_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'approve_change' THEN axiom_api.approve_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'reject_change' THEN axiom_api.reject_change(actor, et, cmd,
	    (c->>'change_id')::uuid, c->>'reason')
	WHEN 'apply_change' THEN axiom_api.apply_change(actor, et, cmd,
	    (c->>'change_id')::uuid, (c->>'record_id')::uuid, decode(c->>'record_hash', 'hex'),
	    c->>'reason')
	WHEN 'sign_record' THEN CASE WHEN c ? 'nonce' THEN axiom_api.sign_record(actor, et,
	    cmd, (c->>'signature_id')::uuid, (c->>'record_id')::uuid, (c->>'id')::uuid,
	    (c->>'version')::bigint, decode(c->>'record_hash', 'hex'), c->>'meaning',
	    decode(c->>'nonce', 'hex'), decode(c->>'intent_hash', 'hex'), p_topic,
	    p_partition,
	    ARRAY(SELECT jsonb_array_elements_text(c->'factor_ids'))::uuid[],
	    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
	    (c->>'user_verified')::boolean, (c->>'sign_count')::bigint, c->>'refusal',
	    c->>'refusal_detail', decode(c->>'proofs', 'hex'), c->>'comment')
	    ELSE axiom.rejected('invalid_command',
	        'a signature needs its nonce and proofs (the verifier re-checks every signature)') END
	WHEN 'register_factor' THEN axiom_api.register_factor(actor, et, cmd,
	    (c->>'factor_id')::uuid, c->>'factor_type', c->>'user_id',
	    decode(c->>'credential_id', 'hex'), decode(c->>'public_key', 'hex'),
	    (c->>'cose_alg')::integer, c->>'issuer', c->>'audience', c->>'jwks', c->>'reason')
	WHEN 'revoke_factor' THEN axiom_api.revoke_factor(actor, et, cmd,
	    (c->>'factor_id')::uuid, c->>'reason')
	WHEN 'set_signing_policy' THEN axiom_api.set_signing_policy(actor, et, cmd,
	    c->>'record_type', c->>'meaning', (c->>'require_fido2')::boolean,
	    (c->>'require_oidc')::boolean, (c->>'require_password')::boolean, c->>'reason')
	WHEN 'grant_access' THEN axiom_api.grant_access(actor, et, cmd,
	    (c->>'grant_id')::uuid, c->>'user_id', c->>'facility_id', c->>'domain_id',
	    c->>'tier', (c->>'expires_at')::timestamptz, c->>'reason')
	WHEN 'revoke_grant' THEN axiom_api.revoke_grant(actor, et, cmd,
	    (c->>'grant_id')::uuid, c->>'reason')
	WHEN 'delegate' THEN axiom_api.delegate(actor, et, cmd,
	    (c->>'delegation_id')::uuid, (c->>'source_grant_id')::uuid, c->>'delegatee',
	    c->>'kind', (c->>'expires_at')::timestamptz, c->>'reason')
	WHEN 'revoke_delegation' THEN axiom_api.revoke_delegation(actor, et, cmd,
	    (c->>'delegation_id')::uuid, c->>'reason')
	WHEN 'enroll_user' THEN axiom_api.enroll_user(actor, et, cmd, c->>'user_id',
	    c->>'printed_name', coalesce((c->>'administrator')::boolean, false),
	    (c->>'db_role')::name, c->>'reason')
	WHEN 'deactivate_user' THEN axiom_api.deactivate_user(actor, et, cmd,
	    c->>'user_id', c->>'reason')
	WHEN 'define_scope' THEN axiom_api.define_scope(actor, et, cmd, c->>'kind',
	    c->>'key', c->>'name')
	WHEN 'configure_record_type' THEN axiom_api.configure_record_type(actor, et, cmd,
	    c->>'record_type', c->>'domain_id', c->>'gate')
	WHEN 'quarantine' THEN ROW('quarantined', coalesce(c->>'reason_code', 'undecodable'),
	    'the message was quarantined', NULL, NULL,
	    decode(c->>'payload_sha256', 'hex'))::axiom_api.outcome
	ELSE axiom.rejected('invalid_command',
	    format('unknown operation %s', coalesce(c->>'op', '(none)')))
	END;
END
$$;

-- (2), (4), (5) the batch's loop -------------------------------------------------------------

-- As 0016, and: the ledger's last entry is read once in both ways; before each command the
-- three settings name the ledger entry the command will get (seq = last + 1), so every row
-- the command inserts carries it; an event time before the last entry's is refused; the
-- duplicate check reads this partition's ledger only.
CREATE OR REPLACE FUNCTION axiom.partition_commands(p_topic text, p_partition integer,
    p_control boolean, p_expected bigint, p_w timestamptz, p_commands jsonb, p_trap boolean)
RETURNS SETOF axiom.batch_outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c jsonb;
	n bigint;
	off bigint;
	et timestamptz;
	cmd uuid;
	next_off bigint := p_expected;
	o axiom_api.outcome;
	r record;
	-- the ledger entry of the command
	l_actor text;
	l_et timestamptz;
	l_cmd uuid;
	l_reason text;
	l_hash bytea;
	last_seq bigint;
	last_off bigint;
	last_hash bytea;
	last_et timestamptz;
	h bytea;
	res axiom.batch_outcome;
BEGIN
	IF NOT p_trap THEN
		-- append_ledger_entry's lock, once for the batch
		PERFORM pg_advisory_xact_lock(hashtextextended(p_topic || '/' || p_partition::text, 7));
	END IF;
	SELECT l.seq, l.kafka_offset, l.entry_hash, l.event_time
	  INTO last_seq, last_off, last_hash, last_et
	  FROM axiom.ledger l WHERE l.topic = p_topic AND l.kafka_partition = p_partition
	 ORDER BY l.seq DESC LIMIT 1;
	PERFORM set_config('axiom.ledger_topic', p_topic, true),
	    set_config('axiom.ledger_partition', p_partition::text, true);
	FOR c, n IN SELECT e, i FROM jsonb_array_elements(p_commands) WITH ORDINALITY AS x(e, i) LOOP
		off := (c->>'offset')::bigint;
		et := (c->>'event_time')::timestamptz;
		IF off IS NULL OR et IS NULL OR (next_off IS NOT NULL AND off < next_off) THEN
			RAISE EXCEPTION 'command % of the batch has no offset or event time, or goes back in the log', n
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF NOT p_control AND et > p_w THEN
			EXIT; -- invariant 2 of 0008: the rest waits for the control watermark
		END IF;
		IF et < last_et THEN
			RAISE EXCEPTION 'event_time_regressed: command % of %/% at offset % has event time %, before the ledger''s last %',
			    n, p_topic, p_partition, off, et, last_et
			    USING ERRCODE = 'internal_error',
			          HINT = 'The applier must send the running maximum of the partition''s append times.';
		END IF;
		PERFORM set_config('axiom.ledger_seq', (coalesce(last_seq, 0) + 1)::text, true);
		cmd := NULL;
		IF c->>'command_id' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
			cmd := (c->>'command_id')::uuid;
		END IF;
		l_actor := c->>'actor';
		l_et := et;
		l_cmd := cmd;
		l_hash := NULL;
		IF cmd IS NOT NULL AND EXISTS (SELECT 1 FROM axiom.applied_commands a
		    WHERE a.topic = p_topic AND a.kafka_partition = p_partition
		      AND a.command_id = cmd) THEN
			o := axiom.rejected('duplicate_command', format(
			    'command %s was already applied (%s)', cmd,
			    (SELECT a.topic || '/' || a.kafka_partition || '@' || a.kafka_offset
			       FROM axiom.applied_commands a WHERE a.topic = p_topic
			        AND a.kafka_partition = p_partition AND a.command_id = cmd)));
			l_reason := o.reason_code;
			IF p_trap THEN
				PERFORM axiom_api.append_ledger_entry(l_actor, et, p_topic, p_partition, off,
				    cmd, o.decision, o.reason_code, NULL);
			END IF;
		ELSIF c->>'op' = 'tick' THEN
			o := axiom.accepted('control watermark tick');
			l_reason := 'tick';
			IF p_trap THEN
				PERFORM axiom_api.append_ledger_entry(l_actor, et, p_topic, p_partition, off,
				    cmd, o.decision, 'tick', NULL);
			END IF;
		ELSIF p_trap THEN
			SELECT b.decision, b.reason_code, b.message, b.object_id, b.version, b.record_hash
			  INTO r FROM axiom_api.apply_batch(p_topic, p_partition, jsonb_build_array(c)) b;
			o := ROW(r.decision, r.reason_code, r.message, r.object_id, r.version, r.record_hash);
		ELSE
			-- apply_batch's parsing, without its trap: a malformed field raises
			l_et := (c->>'event_time')::timestamptz;
			l_cmd := (c->>'command_id')::uuid;
			o := axiom.dispatch_command(c, l_actor, l_et, l_cmd, p_topic, p_partition);
			l_reason := o.reason_code;
			l_hash := o.record_hash;
		END IF;
		-- append_ledger_entry's entry, with its refusals (no entry for an offset that does not
		-- increase): the same seq, links and hash
		IF off >= 0 AND (last_seq IS NULL OR off > last_off) THEN
			IF NOT p_trap THEN
				h := sha256(axiom.canon_ledger_v1(p_topic, p_partition, coalesce(last_seq, 0) + 1,
				    off, l_cmd, l_actor, l_et, o.decision, l_reason, l_hash, coalesce(last_hash,
				    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)));
				INSERT INTO axiom.ledger VALUES (p_topic, p_partition, coalesce(last_seq, 0) + 1,
				    off, l_cmd, l_actor, l_et, o.decision, l_reason, l_hash, coalesce(last_hash,
				    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea), h);
				last_hash := h;
			END IF;
			last_seq := coalesce(last_seq, 0) + 1;
			last_off := off;
			last_et := et;
		END IF;
		IF cmd IS NOT NULL AND o.reason_code IS DISTINCT FROM 'duplicate_command' THEN
			INSERT INTO axiom.applied_commands VALUES (cmd, p_topic, p_partition, off);
		END IF;
		next_off := off + 1;
		res := ROW(n, off, et, o.decision,
		    CASE WHEN c->>'op' = 'tick' AND o.decision = 'accepted' THEN 'tick' ELSE o.reason_code END,
		    o.message, o.object_id, o.version, o.record_hash);
		RETURN NEXT res;
	END LOOP;
	-- nothing after the batch's commands may claim one of their entries
	PERFORM set_config('axiom.ledger_topic', '', true),
	    set_config('axiom.ledger_partition', '', true), set_config('axiom.ledger_seq', '', true);
END
$$;

-- (3) the verifier's query ---------------------------------------------------------------

-- Every regulated row whose ledger reference names no entry of its ledger, or an entry of
-- another decision, command or event time; and every ledger entry whose event time is before
-- its predecessor's. One row per problem: table, the row's key, the problem. Deterministic;
-- invoker's rights (the auditor reads every table it joins).
CREATE OR REPLACE FUNCTION axiom_api.verify_ledger_references()
RETURNS TABLE (table_name text, row_key text, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- table, key, event time (NULL: none), command id (NULL: none), the decisions the row's
	-- entry may have, the rows that need no entry (the bootstrap administrator of 0002)
	spec text[];
	specs text[][] := ARRAY[
	    ARRAY['users', 'x.user_id', 'x.enrolled_at', 'NULL::uuid', 'accepted',
	          'x.user_id = ''axiom-system'' AND x.enrolled_by = ''axiom-system'' AND x.enrolled_at = ''epoch'''],
	    ARRAY['facilities', 'x.facility_id', 'x.defined_at', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['domains', 'x.domain_id', 'x.defined_at', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['grants', 'x.grant_id::text', 'x.valid_from', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['record_types', 'x.record_type', 'NULL::timestamptz', 'NULL::uuid', 'accepted',
	          'false'],
	    ARRAY['records', 'x.record_id::text', 'x.created_at', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['change_requests', 'x.change_id::text', 'x.proposed_at', 'NULL::uuid', 'accepted',
	          'false'],
	    ARRAY['change_request_steps', 'x.step_seq::text', 'x.event_time', 'NULL::uuid',
	          'accepted', 'false'],
	    ARRAY['signatures', 'x.signature_id::text', 'x.signed_at', 'NULL::uuid', 'accepted',
	          'false'],
	    ARRAY['session_events', 'x.event_seq::text', 'x.event_time', 'x.command_id',
	          'accepted,rejected', 'false'],
	    ARRAY['signing_factors', 'x.factor_id::text', 'x.registered_at', 'NULL::uuid',
	          'accepted', 'false'],
	    ARRAY['signing_policies', 'x.record_type || ''/'' || x.meaning || ''/'' || x.valid_from',
	          'x.valid_from', 'NULL::uuid', 'accepted', 'false'],
	    ARRAY['signing_nonces', 'encode(x.nonce, ''hex'')', 'x.used_at', 'NULL::uuid',
	          'accepted', 'false'],
	    ARRAY['signature_evidence', 'x.signature_id::text', 'x.signed_at', 'NULL::uuid',
	          'accepted', 'false']];
BEGIN
	FOREACH spec SLICE 1 IN ARRAY specs LOOP
		RETURN QUERY EXECUTE format($q$
			SELECT %1$L::text, (%2$s)::text,
			       CASE
			         WHEN x.ledger_topic = '' THEN
			           'no ledger entry: the row predates ledger references or was written outside the applier'
			         WHEN l.seq IS NULL THEN format('names ledger entry %%s/%%s#%%s, which does not exist',
			           x.ledger_topic, x.ledger_partition, x.ledger_seq)
			         WHEN l.decision <> ALL (string_to_array(%5$L, ',')) THEN format(
			           'names ledger entry %%s/%%s#%%s, whose decision is %%s',
			           x.ledger_topic, x.ledger_partition, x.ledger_seq, l.decision)
			         WHEN (%3$s) <> l.event_time THEN format(
			           'its event time %%s is not that of ledger entry %%s/%%s#%%s (%%s)',
			           %3$s, x.ledger_topic, x.ledger_partition, x.ledger_seq, l.event_time)
			         ELSE format('its command %%s is not that of ledger entry %%s/%%s#%%s',
			           %4$s, x.ledger_topic, x.ledger_partition, x.ledger_seq)
			       END
			  FROM axiom.%1$I x
			  LEFT JOIN axiom.ledger l ON l.topic = x.ledger_topic
			       AND l.kafka_partition = x.ledger_partition AND l.seq = x.ledger_seq
			 WHERE NOT (%6$s)
			   AND (l.seq IS NULL
			    OR l.decision <> ALL (string_to_array(%5$L, ','))
			    OR coalesce((%3$s) <> l.event_time, false)
			    OR ((%4$s) IS NOT NULL AND (%4$s) IS DISTINCT FROM l.command_id))
			 ORDER BY (%2$s)::text COLLATE "C"$q$,
		    spec[1], spec[2], spec[3], spec[4], spec[5], spec[6]);
	END LOOP;
	RETURN QUERY
	SELECT 'ledger'::text, format('%s/%s#%s', l.topic, l.kafka_partition, l.seq),
	       format('event time %s is before the previous entry''s %s', l.event_time, l.prev_et)
	  FROM (SELECT x.*, lag(x.event_time) OVER (PARTITION BY x.topic, x.kafka_partition
	            ORDER BY x.seq) AS prev_et FROM axiom.ledger x) l
	 WHERE l.event_time < l.prev_et
	 ORDER BY l.topic COLLATE "C", l.kafka_partition, l.seq;
END
$$;
REVOKE ALL ON FUNCTION axiom_api.verify_ledger_references() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom_api.verify_ledger_references() TO axiom_auditor;

-- The definer-owned API functions below are replaced by the admin login (axiom_owner, which
-- is NOINHERIT, may not replace them); CREATE OR REPLACE keeps their owner and privileges.
RESET ROLE;

-- (7) the longest delegation -----------------------------------------------------------------

CREATE OR REPLACE FUNCTION axiom_api.delegate(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_delegation_id uuid, p_source_grant_id uuid, p_delegatee text,
    p_kind text, p_expires_at timestamptz, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	s axiom.grants;
	src_rank integer;
	same_facility integer;
	elsewhere integer;
	longest interval;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO s FROM axiom.grants WHERE grant_id = p_source_grant_id;
		src_rank := axiom.tier_rank(s.tier);
		-- the delegatee's own direct grants in the source's domain, valid now
		SELECT max(a.rank) FILTER (WHERE g.facility_id = s.facility_id),
		       max(a.rank) FILTER (WHERE g.facility_id <> s.facility_id)
		  INTO same_facility, elsewhere
		  FROM axiom.grants g JOIN axiom.access_tiers a ON a.tier = g.tier
		 WHERE g.user_id = p_delegatee AND g.domain_id = s.domain_id AND g.kind = 'direct'
		   AND axiom.grant_valid_at(g, p_event_time);
		SELECT dl.max_length INTO longest FROM axiom.delegation_limits dl
		 WHERE dl.effective_from < p_event_time ORDER BY dl.effective_from DESC LIMIT 1;

		IF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a delegation requires a reason');
		ELSIF p_delegation_id IS NULL OR p_kind IS NULL
		    OR p_kind NOT IN ('horizontal', 'vertical') THEN
			o := axiom.rejected('invalid_command', 'delegation id and kind (horizontal or vertical) are required');
		ELSIF s.grant_id IS NULL OR s.user_id <> p_actor THEN
			o := axiom.not_found_or_denied();
		ELSIF s.kind <> 'direct' THEN
			o := axiom.rejected('redelegation_forbidden', 'a delegated grant cannot be delegated again');
		ELSIF s.revoked_at IS NOT NULL AND s.revoked_at < p_event_time THEN
			o := axiom.rejected('source_revoked', 'the source grant is revoked');
		ELSIF NOT axiom.grant_valid_at(s, p_event_time) THEN
			o := axiom.rejected('source_not_valid', 'the source grant is expired or not yet valid');
		ELSIF p_expires_at IS NULL THEN
			o := axiom.rejected('expiry_required', 'a delegation requires an expiry');
		ELSIF p_expires_at <= p_event_time THEN
			o := axiom.rejected('expiry_in_past', 'the expiry is not after the event time');
		ELSIF s.expires_at IS NOT NULL AND p_expires_at > s.expires_at THEN
			o := axiom.rejected('beyond_source_expiry', format(
			    'the delegation would outlive its source grant, which expires at %s', s.expires_at));
		ELSIF longest IS NOT NULL AND p_expires_at - p_event_time > longest THEN
			o := axiom.rejected('delegation_too_long', format(
			    'a delegation may last at most %s; this one would last %s', longest,
			    date_trunc('second', p_expires_at - p_event_time)));
		ELSIF p_delegatee = p_actor THEN
			o := axiom.rejected('self_delegation', 'a person cannot delegate to themselves');
		ELSIF NOT axiom.user_active_at(p_delegatee, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF p_kind = 'horizontal' AND same_facility IS NOT NULL THEN
			o := axiom.rejected('horizontal_same_facility',
			    'a horizontal delegation goes to a person of another facility');
		ELSIF p_kind = 'horizontal' AND coalesce(elsewhere, 0) < src_rank THEN
			o := axiom.rejected('horizontal_lower_level',
			    'the delegatee of a horizontal delegation must hold the same or a higher access level');
		ELSIF p_kind = 'vertical' AND coalesce(same_facility, 0) <> src_rank - 1 THEN
			o := axiom.rejected('vertical_not_one_tier_below',
			    'the delegatee of a vertical delegation must hold exactly one access level below the source, in the same facility and domain');
		ELSE
			BEGIN
				INSERT INTO axiom.grants (grant_id, user_id, facility_id, domain_id, tier, kind,
				    source_grant_id, granted_by, reason, valid_from, expires_at)
				VALUES (p_delegation_id, p_delegatee, s.facility_id, s.domain_id, s.tier, p_kind,
				    s.grant_id, p_actor, p_reason, p_event_time, p_expires_at);
				o := axiom.accepted(format('%s delegation of %s in %s/%s to %s', p_kind, s.tier,
				    s.facility_id, s.domain_id, p_delegatee), p_delegation_id);
			EXCEPTION WHEN unique_violation THEN
				o := axiom.rejected('already_exists', 'a grant with this id exists');
			END;
		END IF;
	END IF;
	RETURN axiom.finish('delegate', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_delegation_id, NULL, NULL, s.facility_id, s.domain_id);
END
$$;

-- (6) the gate that lets the reviewer approve --------------------------------------------

CREATE OR REPLACE FUNCTION axiom_api.configure_record_type(p_actor text,
    p_event_time timestamptz, p_command_id uuid, p_record_type text, p_domain_id text,
    p_gate text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF p_gate IS NULL OR p_gate NOT IN ('none', 'approve', 'review_approve',
		    'review_approve_reviewer_may_approve') THEN
			o := axiom.rejected('invalid_command',
			    'gate must be none, approve, review_approve or review_approve_reviewer_may_approve');
		ELSE
			UPDATE axiom.record_types SET gate = p_gate, configured_at = p_event_time,
			    configured_by = p_actor
			 WHERE record_type = p_record_type AND domain_id = p_domain_id;
			IF FOUND THEN
				o := axiom.accepted(format('record type %s now has gate %s', p_record_type, p_gate));
			ELSE
				BEGIN
					INSERT INTO axiom.record_types (record_type, domain_id, gate, configured_at,
					    configured_by)
					VALUES (p_record_type, p_domain_id, p_gate, p_event_time, p_actor);
					o := axiom.accepted(format('record type %s defined with gate %s', p_record_type, p_gate));
				EXCEPTION
					WHEN unique_violation THEN
						o := axiom.rejected('invalid_command', 'the record type belongs to another domain');
					WHEN foreign_key_violation THEN
						o := axiom.not_found_or_denied();
					WHEN check_violation THEN
						o := axiom.rejected('invalid_command', 'malformed record type name');
				END;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('configure_record_type', p_actor, p_event_time, p_command_id, o,
	    CASE WHEN o.decision = 'accepted' THEN format('gate %s', p_gate) END, NULL, NULL, NULL,
	    NULL, p_domain_id);
END
$$;

-- (8) one answer for an id in use --------------------------------------------------------

CREATE OR REPLACE FUNCTION axiom_api.create_record(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_record_id uuid, p_id uuid, p_record_type text, p_facility_id text,
    p_title text, p_content bytea, p_record_hash bytea) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	rt axiom.record_types;
	rank integer;
	h bytea;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO rt FROM axiom.record_types WHERE record_type = p_record_type;
		rank := axiom.tier_rank_at(p_actor, p_facility_id, rt.domain_id, p_event_time);
		IF p_record_id IS NULL OR p_id IS NULL OR p_title IS NULL OR p_content IS NULL THEN
			o := axiom.rejected('invalid_command', 'record id, lineage id, title and content are required');
		ELSIF rt.record_type IS NULL OR rank = 0 THEN
			o := axiom.not_found_or_denied();
		ELSIF rank < axiom.tier_rank('author') THEN
			o := axiom.rejected('insufficient_access_level', 'creating a record requires the author level');
		ELSE
			-- the hash first, then the id: a lineage id in use gets the same answer after the
			-- same checks whether the actor could see it (the EXISTS below) or not (the
			-- insert's key conflict), so no answer tells a hidden lineage from a visible one
			h := axiom.expected_hash(p_record_id, p_id, 1, NULL, NULL, p_record_type,
			    p_facility_id, rt.domain_id, p_title, p_content, p_actor, p_event_time, NULL);
			IF p_record_hash IS DISTINCT FROM h THEN
				o := axiom.rejected('hash_mismatch',
				    'the record hash differs from the one the database computes');
			ELSIF EXISTS (SELECT 1 FROM axiom.records WHERE id = p_id) THEN
				o := axiom.not_found_or_denied();
			ELSE
				h := axiom.insert_version(p_record_id, p_id, 1, NULL, NULL, p_record_type,
				    p_facility_id, rt.domain_id, p_title, p_content, p_actor, p_event_time, NULL);
				o := CASE WHEN h IS NULL THEN axiom.not_found_or_denied()
				    ELSE axiom.accepted('created version 1', p_id, 1, h) END;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('create_record', p_actor, p_event_time, p_command_id, o, NULL, p_id,
	    NULL, p_record_id, p_facility_id, rt.domain_id);
END
$$;

-- (9) no raw proofs for analysts -----------------------------------------------------------

REVOKE SELECT ON axiom.signatures FROM axiom_analytics;
DO $proofs$
BEGIN
	EXECUTE (SELECT format('GRANT SELECT (%s) ON axiom.signatures TO axiom_analytics',
	    string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum))
	  FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid = 'axiom.signatures'::regclass AND a.attnum > 0 AND NOT a.attisdropped
	   AND a.attname <> 'proofs');
END
$proofs$;

SET LOCAL ROLE axiom_owner;

-- (7) the delegation limits are rebuilt by the migrations alike, and a replay compares them
CREATE OR REPLACE FUNCTION axiom.digest_rows_delegation_limits(OUT row_count bigint,
    OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(sha256(
	    axiom.canon_timestamp_any(d.effective_from)
	    || axiom.canon_int64((extract(epoch FROM d.max_length) * 1000000)::bigint)
	    || axiom.canon_text(d.reason)), ''::bytea ORDER BY d.effective_from)
	  FROM axiom.delegation_limits d
$$;
REVOKE ALL ON FUNCTION axiom.digest_rows_delegation_limits() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION axiom.digest_rows_delegation_limits() TO axiom_auditor;

-- (4) one command id may now have rows in two ledgers: the audit trail's digest orders a
-- command's rows by the ledger entry that wrote them (then by insertion within that entry),
-- never by the global insertion order, which depends on how the applier interleaved
-- partitions; and the reference itself is part of each row's hash
CREATE OR REPLACE FUNCTION axiom.digest_rows_session_events(OUT row_count bigint,
    OUT hashes bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT count(*), string_agg(e.row_hash,
	    ''::bytea ORDER BY e.command_id NULLS LAST, e.ordinal, e.row_hash)
	  FROM (SELECT sha256(axiom.canon_text(x.actor) || axiom.canon_timestamp_any(x.event_time)
	            || axiom.canon_text(x.operation) || axiom.canon_text(x.decision)
	            || axiom.canon_text(x.reason_code) || axiom.canon_text(x.reason)
	            || axiom.canon_uuid(x.command_id) || axiom.canon_uuid(x.object_id)
	            || axiom.canon_uuid(x.old_record_id) || axiom.canon_uuid(x.new_record_id)
	            || axiom.canon_text(x.facility_id) || axiom.canon_text(x.domain_id)
	            || axiom.canon_int64(x.ordinal) || axiom.canon_text(x.ledger_topic)
	            || axiom.canon_int64(x.ledger_partition) || axiom.canon_int64(x.ledger_seq))
	            AS row_hash, x.command_id, x.ordinal
	          FROM (SELECT y.*, CASE WHEN y.command_id IS NULL THEN 0 ELSE row_number()
	                    OVER (PARTITION BY y.command_id ORDER BY y.ledger_topic COLLATE "C",
	                        y.ledger_partition, y.ledger_seq, y.event_seq) END AS ordinal
	                  FROM axiom.session_events y) x) e
$$;
