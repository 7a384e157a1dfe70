-- axiom-migrate: run-as=admin
--
-- 0022_control_events_govern_from_their_instant - a control command governs what the broker
-- appended at its own instant too, not only after it.
--
-- Layers: 2 (authorization as of the event time) and determinism. Who may do what does not
-- change; when a control event starts to count does, by one tick of the clock.
--
-- Why: LogAppendTime is one millisecond value per produce batch. Under the rule of 0005
-- ("a control event at c governs commands at T > c") every command of a user enrolled in the
-- same batch was refused not_found_or_denied: `axiom publish` of two lines (the bootstrap
-- administrator enrolls pub-admin; pub-admin enrolls pub-user) failed, and so did a grant
-- published right after an enrollment, or a data command sent right after its grant was
-- acknowledged whenever the two shared a millisecond.
--
-- What changes (the new rule): a control event at c governs every command at T >= c.
--  (1) Within the control partition a command sees every control command before it in the
--      log: the partition is applied in log order and its event times never decrease, so
--      the rows with an event time equal to its own are exactly those of earlier offsets
--      (offset order breaks ties of event time). grant_valid_at, user_active_at and
--      tier_rank_at take valid_from/enrolled_at <= t and t < revoked_at/deactivated_at;
--      delegate, revoke_factor, sign_record's policy lookup and signing_context the same.
--  (2) Between control and data: a data command at T is decided only once the control
--      watermark is beyond T (partition_commands stops at et >= watermark; the applier waits
--      for a watermark of at least T + 1 microsecond and asks for a tick). The control log's
--      event times never decrease, so a control message beyond T proves that every control
--      message at or before T was applied: a grant acknowledged before a data command was
--      sent governs it, whatever their milliseconds.
--
-- Invariants: (1) a decision still depends on the log alone (replay equals live: the tick
-- that moved the watermark beyond T live is in the log the replay reads); (2) a log written
-- under the old rule replays with more acceptances only where a control command and a later
-- command shared an instant, and a data command decided at T = watermark under the old rule
-- may now wait for a control message after it (a replay of such a log needs one tick more).

CREATE OR REPLACE FUNCTION axiom.grant_valid_at(g axiom.grants, t timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT g.valid_from OPERATOR(pg_catalog.<=) t
	   AND (g.expires_at IS NULL OR t OPERATOR(pg_catalog.<) g.expires_at)
	   AND (g.revoked_at IS NULL OR t OPERATOR(pg_catalog.<) g.revoked_at)
$function$;

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

CREATE OR REPLACE FUNCTION axiom_api.delegate(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_delegation_id uuid, p_source_grant_id uuid, p_delegatee text, p_kind text, p_expires_at timestamp with time zone, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
		 WHERE dl.effective_from <= p_event_time ORDER BY dl.effective_from DESC LIMIT 1;

		IF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a delegation requires a reason');
		ELSIF p_delegation_id IS NULL OR p_kind IS NULL
		    OR p_kind NOT IN ('horizontal', 'vertical') THEN
			o := axiom.rejected('invalid_command', 'delegation id and kind (horizontal or vertical) are required');
		ELSIF s.grant_id IS NULL OR s.user_id <> p_actor THEN
			o := axiom.not_found_or_denied();
		ELSIF s.kind <> 'direct' THEN
			o := axiom.rejected('redelegation_forbidden', 'a delegated grant cannot be delegated again');
		ELSIF s.revoked_at IS NOT NULL AND s.revoked_at <= p_event_time THEN
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
$function$;

CREATE OR REPLACE FUNCTION axiom_api.revoke_factor(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_factor_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	f axiom.signing_factors;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO f FROM axiom.signing_factors WHERE factor_id = p_factor_id FOR UPDATE;
		IF f.factor_id IS NULL OR f.registered_at > p_event_time
		    OR NOT (axiom.is_administrator(p_actor, p_event_time)
		        OR f.user_id IS NOT DISTINCT FROM p_actor) THEN
			o := axiom.not_found_or_denied();
		ELSIF f.revoked_at IS NOT NULL AND f.revoked_at <= p_event_time THEN
			o := axiom.rejected('already_revoked', 'the factor is already revoked');
		ELSE
			UPDATE axiom.signing_factors SET revoked_at = p_event_time, revoked_by = p_actor
			 WHERE factor_id = p_factor_id;
			o := axiom.accepted(format('revoked %s factor %s', f.factor_type, p_factor_id),
			    p_factor_id);
		END IF;
	END IF;
	RETURN axiom.finish('revoke_factor', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_factor_id, NULL, NULL, NULL, NULL);
END
$function$;

CREATE OR REPLACE FUNCTION axiom_api.sign_record(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_signature_id uuid, p_record_id uuid, p_id uuid, p_version bigint, p_record_hash bytea, p_meaning text, p_nonce bytea, p_intent_hash bytea, p_topic text, p_partition integer, p_factor_ids uuid[], p_factor_types text[], p_user_verified boolean, p_sign_count bigint, p_refusal text, p_refusal_detail text, p_proofs bytea, p_comment text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	r axiom.records;
	pol axiom.signing_policies;
	printed text;
	verified text[] := ARRAY(SELECT DISTINCT t FROM unnest(p_factor_types) t ORDER BY t);
	required text[];
	missing text[];
	continuing boolean := false;
	fido2_id uuid;
	last_count bigint;
BEGIN
	IF o IS NULL THEN
		IF p_record_id IS NOT NULL THEN
			SELECT * INTO r FROM axiom.records WHERE record_id = p_record_id;
		ELSE
			SELECT * INTO r FROM axiom.records WHERE id = p_id AND version = p_version;
		END IF;
		SELECT u.printed_name INTO printed FROM axiom.users u WHERE u.user_id = p_actor;
		SELECT * INTO pol FROM axiom.signing_policies sp
		 WHERE sp.record_type = r.record_type AND sp.meaning = p_meaning
		   AND sp.valid_from <= p_event_time
		 ORDER BY sp.valid_from DESC LIMIT 1;
		required := ARRAY(SELECT t FROM unnest(ARRAY['fido2', 'oidc', 'password'],
		    ARRAY[pol.require_fido2, pol.require_oidc, pol.require_password]) AS x(t, req)
		    WHERE coalesce(req, false) ORDER BY t);
		IF p_signature_id IS NULL OR p_meaning IS NULL
		    OR p_meaning NOT IN ('authorship', 'review', 'approval', 'responsibility')
		    OR octet_length(p_intent_hash) IS DISTINCT FROM 32
		    OR (p_nonce IS NOT NULL AND octet_length(p_nonce) NOT BETWEEN 16 AND 64)
		    OR (p_record_id IS NULL AND (p_id IS NULL OR p_version IS NULL))
		    OR p_proofs IS NULL THEN
			o := axiom.rejected('invalid_command',
			    'signature id, record, meaning, a 32-byte intent hash, a nonce and proofs are required');
		ELSIF r.record_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF p_record_hash IS NOT NULL AND p_record_hash IS DISTINCT FROM r.record_hash THEN
			o := axiom.rejected('signature_record_hash_mismatch', format(
			    'the signed record hash is not the hash of version %s', r.version));
		ELSIF axiom.tier_rank_at(p_actor, r.facility_id, r.domain_id, p_event_time)
		    < axiom.tier_rank(CASE WHEN p_meaning = 'approval' THEN 'manager' ELSE 'author' END) THEN
			o := axiom.rejected('insufficient_access_level',
			    format('a %s signature requires a higher access level', p_meaning));
		ELSIF p_refusal IS NOT NULL THEN
			o := axiom.rejected(p_refusal, coalesce(p_refusal_detail, 'a factor proof was refused'));
		ELSIF coalesce(cardinality(verified), 0) = 0 THEN
			o := axiom.rejected('policy_not_satisfied', 'no verified factor');
		ELSIF p_nonce IS NOT NULL AND EXISTS (SELECT 1 FROM axiom.signing_nonces n
		    WHERE n.nonce = p_nonce) THEN
			o := axiom.rejected('intent_nonce_replayed',
			    'the intent nonce was already used by an accepted signature');
		ELSE
			IF p_nonce IS NOT NULL AND p_partition IS NOT NULL THEN
				continuing := EXISTS (SELECT 1 FROM axiom.signature_evidence e
				    WHERE e.signer = p_actor AND e.topic = p_topic
				      AND e.kafka_partition = p_partition
				      AND e.signed_at BETWEEN p_event_time - interval '15 minutes' AND p_event_time);
			END IF;
			missing := ARRAY(SELECT t FROM unnest(required) t WHERE t <> ALL (verified));
			IF NOT continuing AND cardinality(missing) > 0 THEN
				o := axiom.rejected('policy_not_satisfied', format(
				    'the first signing of a session needs %s; missing %s',
				    array_to_string(required, ' + '), array_to_string(missing, ' + ')));
			ELSIF continuing AND cardinality(required) > 0 AND NOT (required && verified) THEN
				o := axiom.rejected('policy_not_satisfied', format(
				    'a signing in a session needs one of %s', array_to_string(required, ', ')));
			ELSIF NOT continuing AND NOT coalesce(p_user_verified, false)
			    AND ('fido2' = ANY (required)
			        OR (cardinality(required) = 0 AND verified = ARRAY['fido2'])) THEN
				o := axiom.rejected('webauthn_user_not_verified',
				    'the first signing of a session needs user verification (UV) on the key');
			END IF;
			IF o IS NULL AND 'fido2' = ANY (verified) AND p_sign_count IS NOT NULL THEN
				SELECT f.factor_id INTO fido2_id FROM axiom.signing_factors f
				 WHERE f.factor_id = ANY (p_factor_ids) AND f.factor_type = 'fido2';
				SELECT max(e.sign_count) INTO last_count FROM axiom.signature_evidence e
				 WHERE e.fido2_factor_id = fido2_id AND e.topic IS NOT DISTINCT FROM p_topic
				   AND e.kafka_partition IS NOT DISTINCT FROM p_partition;
				IF last_count IS NOT NULL AND p_sign_count <= last_count
				    AND NOT (p_sign_count = 0 AND last_count = 0) THEN
					o := axiom.rejected('webauthn_sign_count_regressed', format(
					    'signature counter %s after %s: a cloned authenticator?', p_sign_count,
					    last_count));
				END IF;
			END IF;
			IF o IS NULL THEN
				BEGIN
					INSERT INTO axiom.signatures (signature_id, record_id, id, version, record_hash,
					    facility_id, domain_id, signer, printed_name, signed_at, meaning, intent_hash,
					    factor_types, proofs)
					VALUES (p_signature_id, r.record_id, r.id, r.version, r.record_hash,
					    r.facility_id, r.domain_id, p_actor, printed, p_event_time, p_meaning,
					    p_intent_hash, verified, p_proofs);
					IF p_nonce IS NOT NULL THEN
						INSERT INTO axiom.signing_nonces VALUES (p_nonce, p_signature_id, p_event_time);
					END IF;
					INSERT INTO axiom.signature_evidence VALUES (p_signature_id, p_actor, p_topic,
					    p_partition, p_event_time, p_nonce, coalesce(p_factor_ids, '{}'), verified,
					    NOT continuing, coalesce(p_user_verified, false), fido2_id, p_sign_count,
					    p_comment);
					o := axiom.accepted(format('%s signature by %s%s', p_meaning, printed,
					    CASE WHEN continuing THEN ' (continuing session)' ELSE '' END),
					    p_signature_id, r.version, r.record_hash);
				EXCEPTION WHEN unique_violation OR foreign_key_violation THEN
					o := axiom.not_found_or_denied();
				END;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('sign_record', p_actor, p_event_time, p_command_id, o, p_meaning,
	    p_signature_id, r.record_id, NULL, r.facility_id, r.domain_id);
END
$function$;

CREATE OR REPLACE FUNCTION axiom_api.signing_context(p_event_time timestamp with time zone, p_factor_id uuid, p_issuer text)
 RETURNS TABLE(watermark timestamp with time zone, factor_type text, user_id text, credential_id bytea, public_key bytea, cose_alg integer, origin text, factor_revoked boolean, issuer_factor_id uuid, issuer_audience text, issuer_jwks text, issuer_revoked boolean)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT (SELECT w.event_time FROM axiom.control_watermark w),
	       f.factor_type, f.user_id, f.credential_id, f.public_key, f.cose_alg,
	       CASE WHEN f.factor_type = 'fido2' THEN f.issuer END,
	       f.revoked_at IS NOT NULL AND f.revoked_at <= p_event_time,
	       i.factor_id, i.audience, i.jwks,
	       i.revoked_at IS NOT NULL AND i.revoked_at <= p_event_time
	  FROM (SELECT 1) one
	  LEFT JOIN axiom.signing_factors f ON f.factor_id = p_factor_id
	       AND f.registered_at <= p_event_time
	  LEFT JOIN LATERAL (SELECT * FROM axiom.signing_factors x
	        WHERE x.factor_type = 'oidc' AND x.issuer = p_issuer
	          AND x.registered_at <= p_event_time
	        ORDER BY (x.revoked_at IS NULL OR x.revoked_at > p_event_time) DESC,
	                 x.registered_at DESC LIMIT 1) i ON true
$function$;

CREATE OR REPLACE FUNCTION axiom.partition_commands(p_topic text, p_partition integer, p_control boolean, p_expected bigint, p_w timestamp with time zone, p_commands jsonb, p_trap boolean)
 RETURNS SETOF axiom.batch_outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
		IF NOT p_control AND et >= p_w THEN
			EXIT; -- the rest waits until the control watermark is beyond its event time (0022)
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
$function$;
