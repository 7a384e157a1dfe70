-- axiom-migrate: run-as=admin
--
-- 0021_reason_for_every_change - every change to a record needs a reason, and the reason is
-- kept in the audit trail beside the version it made.
--
-- Layers: 5 (the audit trail: EU GMP Annex 11 section 9, 21 CFR 11.10(e)); docs/producers.md
-- section 2 (the contract states it), docs/sql-api.md.
--
-- Why: data.avsc says the reason is mandatory for every change, and the lifecycle
-- transition, every change-request step (propose, submit, review, approve, reject) and
-- apply_change already refused a blank one (reason_required) and stored it in
-- session_events.reason. But create_record and new_version took no reason at all: a
-- NewVersion with reason "" was accepted, and the reasons of CreateRecord and NewVersion
-- were stored nowhere (session_events.reason NULL) - issue 14, item 6.
--
-- What changes:
--  (1) axiom_api.create_record and axiom_api.new_version gain an overload with a last
--      parameter p_reason: a blank reason is refused reason_required (after the
--      invalid_command check and before any lookup, so the answer says nothing about the
--      lineage), and the reason is written to session_events.reason with the outcome (the
--      row that names the version in new_record_id). Owned by axiom_definer, EXECUTE for
--      nobody else, as the overloads without a reason.
--  (2) axiom.dispatch_command (the batch's only way to a command, 0016/0018) calls the new
--      overloads with the command's reason. The overloads without a reason stay for the SQL
--      tests that call them directly as the definer; no role that logs in reaches either.
-- Invariants: the record hash and its canonical encoding (0003, docs/canonical-encoding.md)
-- do not change: the reason is not part of a version's hash and no column is added to
-- axiom.records; session_events.reason is already in that table's digest (0018), so a
-- replay compares it. Decisions change only for commands with a blank reason.

-- (1) the overloads that take the reason ------------------------------------------------

-- created by the admin login (axiom_definer may not use plpgsql), then handed to
-- axiom_definer, whose rights a SECURITY DEFINER function of the API runs with
-- As 0018 (8), with p_reason: required, and kept with the outcome.
CREATE FUNCTION axiom_api.create_record(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_record_id uuid, p_id uuid, p_record_type text, p_facility_id text,
    p_title text, p_content bytea, p_record_hash bytea, p_reason text) RETURNS axiom_api.outcome
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
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'creating a record requires a reason');
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
	RETURN axiom.finish('create_record', p_actor, p_event_time, p_command_id, o, p_reason, p_id,
	    NULL, p_record_id, p_facility_id, rt.domain_id);
END
$$;

-- As 0007, with p_reason: required, and kept with the outcome.
CREATE FUNCTION axiom_api.new_version(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_record_id uuid, p_id uuid, p_previous_record_hash bytea,
    p_title text, p_content bytea, p_record_hash bytea, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	head axiom.records;
	gate text;
	h bytea;
BEGIN
	IF o IS NULL THEN
		head := axiom.head_for_update(p_id);
		SELECT t.gate INTO gate FROM axiom.record_types t WHERE t.record_type = head.record_type;
		IF p_record_id IS NULL OR p_title IS NULL OR p_content IS NULL THEN
			o := axiom.rejected('invalid_command', 'record id, title and content are required');
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a new version requires a reason');
		ELSIF head.record_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF axiom.tier_rank_at(p_actor, head.facility_id, head.domain_id, p_event_time)
		    < axiom.tier_rank('author') THEN
			o := axiom.rejected('insufficient_access_level', 'a new version requires the author level');
		ELSIF gate <> 'none' THEN
			o := axiom.rejected('change_control_required',
			    format('records of type %s change only through approved change requests', head.record_type));
		ELSIF head.status = 'retired' THEN
			o := axiom.rejected('record_retired', 'the record is retired');
		ELSIF p_previous_record_hash IS DISTINCT FROM head.record_hash THEN
			o := axiom.rejected('stale_previous_hash', format(
			    'previous_record_hash is not the hash of the head, version %s', head.version));
		ELSE
			h := axiom.expected_hash(p_record_id, p_id, head.version + 1, head.record_id,
			    head.record_hash, head.record_type, head.facility_id, head.domain_id, p_title,
			    p_content, p_actor, p_event_time, NULL);
			IF p_record_hash IS DISTINCT FROM h THEN
				o := axiom.rejected('hash_mismatch',
				    'the record hash differs from the one the database computes');
			ELSE
				h := axiom.insert_version(p_record_id, p_id, head.version + 1, head.record_id,
				    head.record_hash, head.record_type, head.facility_id, head.domain_id, p_title,
				    p_content, p_actor, p_event_time, NULL);
				o := CASE WHEN h IS NULL THEN axiom.not_found_or_denied()
				    ELSE axiom.accepted(format('created version %s', head.version + 1), p_id,
				        head.version + 1, h) END;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('new_version', p_actor, p_event_time, p_command_id, o, p_reason, p_id,
	    head.record_id, p_record_id, head.facility_id, head.domain_id);
END
$$;

ALTER FUNCTION axiom_api.create_record(text, timestamptz, uuid, uuid, uuid, text, text, text,
    bytea, bytea, text) OWNER TO axiom_definer;
ALTER FUNCTION axiom_api.new_version(text, timestamptz, uuid, uuid, uuid, bytea, text, bytea,
    bytea, text) OWNER TO axiom_definer;
REVOKE ALL ON FUNCTION axiom_api.create_record(text, timestamptz, uuid, uuid, uuid, text, text,
    text, bytea, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION axiom_api.new_version(text, timestamptz, uuid, uuid, uuid, bytea, text,
    bytea, bytea, text) FROM PUBLIC;

SET LOCAL ROLE axiom_owner;

-- (2) the batch passes the reason ------------------------------------------------------------

-- As 0018 (10), with the reason passed to create_record and new_version.
CREATE OR REPLACE FUNCTION axiom.dispatch_command(c jsonb, actor text, et timestamptz, cmd uuid,
    p_topic text, p_partition integer) RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE c->>'op'
	WHEN 'create_record' THEN axiom_api.create_record(actor, et, cmd,
	    (c->>'record_id')::uuid, (c->>'id')::uuid, c->>'record_type', c->>'facility_id',
	    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'),
	    c->>'reason')
	WHEN 'new_version' THEN axiom_api.new_version(actor, et, cmd,
	    (c->>'record_id')::uuid, (c->>'id')::uuid, decode(c->>'previous_record_hash', 'hex'),
	    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'),
	    c->>'reason')
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
