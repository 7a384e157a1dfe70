-- 0007_api_data_plane - records (SCD2), lifecycle, change management, signatures, the
-- partition ledger and offsets, the batch entry point, and the hand-over of every API
-- function to axiom_definer.
--
-- Layers: 1 and 2 (as 0006), 5 (new versions only through these functions, gap-free),
-- 6 (the caller's record_hash must equal the one the database computes), and the change
-- management rules of docs/security-layers.md. Read 0006's header for the conventions.
--
-- Minimum access levels: create, new version, propose, submit, apply: author; review,
-- reject: reviewer; approve, lifecycle transition: manager; sign: author (approval: manager).
-- A record the actor cannot see (RLS, 0005) is answered like one that does not exist.

-- The head (highest version) of lineage p_id as the running command's actor sees it, locked.
CREATE FUNCTION axiom.head_for_update(p_id uuid) RETURNS axiom.records
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM axiom.records r WHERE r.id = p_id ORDER BY r.version DESC LIMIT 1 FOR UPDATE
$$;

-- Insert the next version of a lineage (after every check); NULL when the database refused
-- it with a key violation (a row the actor cannot see), else the new record_hash.
CREATE FUNCTION axiom.insert_version(p_record_id uuid, p_id uuid, p_version bigint,
    p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text,
    p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text,
    p_event_time timestamptz, p_change_id uuid) RETURNS bytea
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h bytea;
BEGIN
	INSERT INTO axiom.records (record_id, id, version, previous_record_id, previous_record_hash,
	    record_hash, record_type, facility_id, domain_id, title, content, created_by, created_at,
	    change_id)
	VALUES (p_record_id, p_id, p_version, p_previous_record_id, p_previous_record_hash, NULL,
	    p_record_type, p_facility_id, p_domain_id, p_title, p_content, p_actor, p_event_time,
	    p_change_id)
	RETURNING record_hash INTO h;
	RETURN h;
EXCEPTION WHEN unique_violation OR foreign_key_violation THEN
	RETURN NULL;
END
$$;

-- SHA-256 of the canonical encoding v1 of the version these arguments describe.
CREATE FUNCTION axiom.expected_hash(p_record_id uuid, p_id uuid, p_version bigint,
    p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text,
    p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text,
    p_event_time timestamptz, p_change_id uuid) RETURNS bytea
LANGUAGE sql STABLE -- no SET clause, so that it inlines; every name is qualified
AS $$
	SELECT pg_catalog.sha256(axiom.canon_record_v1(p_record_id, p_id, p_version, p_previous_record_id,
	    p_previous_record_hash, p_record_type, p_facility_id, p_domain_id, p_title, p_content,
	    p_actor, p_event_time, p_change_id))
$$;

GRANT EXECUTE ON FUNCTION axiom.head_for_update(uuid),
    axiom.insert_version(uuid, uuid, bigint, uuid, bytea, text, text, text, text, bytea, text,
        timestamptz, uuid),
    axiom.expected_hash(uuid, uuid, bigint, uuid, bytea, text, text, text, text, bytea, text,
        timestamptz, uuid)
    TO axiom_definer;

-- Records --------------------------------------------------------------------------------

-- Create version 1 of lineage p_id. Layers 2 (author in the record type's domain at
-- p_facility_id), 3 (a hidden lineage answers not_found_or_denied), 6 (p_record_hash must be
-- SHA-256 of the canonical encoding; otherwise hash_mismatch).
CREATE FUNCTION axiom_api.create_record(p_actor text, p_event_time timestamptz,
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
		ELSIF EXISTS (SELECT 1 FROM axiom.records WHERE id = p_id) THEN
			o := axiom.rejected('already_exists', 'the lineage already exists');
		ELSE
			h := axiom.expected_hash(p_record_id, p_id, 1, NULL, NULL, p_record_type,
			    p_facility_id, rt.domain_id, p_title, p_content, p_actor, p_event_time, NULL);
			IF p_record_hash IS DISTINCT FROM h THEN
				o := axiom.rejected('hash_mismatch',
				    'the record hash differs from the one the database computes');
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

-- Create the next version of lineage p_id directly (record types with gate 'none').
-- Layers 2 (author), 3, 5 (p_previous_record_hash must be the head's: stale_previous_hash),
-- 6 (hash_mismatch); change_control_required when the record type has a review gate.
CREATE FUNCTION axiom_api.new_version(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_record_id uuid, p_id uuid, p_previous_record_hash bytea,
    p_title text, p_content bytea, p_record_hash bytea) RETURNS axiom_api.outcome
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
	RETURN axiom.finish('new_version', p_actor, p_event_time, p_command_id, o, NULL, p_id,
	    head.record_id, p_record_id, head.facility_id, head.domain_id);
END
$$;

-- Move the head version p_version of lineage p_id to p_to_status: draft -> effective,
-- effective -> retired, draft -> retired. Making a version effective retires the lineage's
-- earlier effective versions. Layer 2 (manager), reason required; not_head when p_version is
-- not the head, invalid_transition otherwise.
CREATE FUNCTION axiom_api.transition_record(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_id uuid, p_version bigint, p_to_status text, p_reason text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	head axiom.records;
BEGIN
	IF o IS NULL THEN
		head := axiom.head_for_update(p_id);
		IF head.record_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a lifecycle transition requires a reason');
		ELSIF axiom.tier_rank_at(p_actor, head.facility_id, head.domain_id, p_event_time)
		    < axiom.tier_rank('manager') THEN
			o := axiom.rejected('insufficient_access_level', 'a lifecycle transition requires the manager level');
		ELSIF p_version IS DISTINCT FROM head.version THEN
			o := axiom.rejected('not_head', format('version %s is not the head (version %s)',
			    p_version, head.version));
		ELSIF (head.status, p_to_status) NOT IN (('draft', 'effective'), ('effective', 'retired'),
		    ('draft', 'retired')) OR p_to_status IS NULL THEN
			o := axiom.rejected('invalid_transition', format('no transition from %s to %s',
			    head.status, coalesce(p_to_status, 'nothing')));
		ELSE
			IF p_to_status = 'effective' THEN
				UPDATE axiom.records SET status = 'retired', status_changed_at = p_event_time,
				    status_changed_by = p_actor
				 WHERE id = p_id AND status = 'effective' AND version < head.version;
			END IF;
			UPDATE axiom.records SET status = p_to_status, status_changed_at = p_event_time,
			    status_changed_by = p_actor
			 WHERE record_id = head.record_id;
			o := axiom.accepted(format('version %s is %s', head.version, p_to_status), p_id,
			    head.version, head.record_hash);
		END IF;
	END IF;
	RETURN axiom.finish('transition_record:' || coalesce(p_to_status, ''), p_actor, p_event_time,
	    p_command_id, o, p_reason, p_id, head.record_id, NULL, head.facility_id, head.domain_id);
END
$$;

-- Change management -----------------------------------------------------------------------

-- Record one step of change p_change_id (status already updated by the caller).
CREATE FUNCTION axiom.change_step(p_change axiom.change_requests, p_step text,
    p_from text, p_to text, p_actor text, p_event_time timestamptz, p_reason text) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO axiom.change_request_steps (change_id, step, from_status, to_status, actor,
	    event_time, reason, facility_id, domain_id)
	VALUES ((p_change).change_id, p_step, p_from, p_to, p_actor, p_event_time, p_reason,
	    (p_change).facility_id, (p_change).domain_id)
$$;
GRANT EXECUTE ON FUNCTION axiom.change_step(axiom.change_requests, text, text, text, text,
    timestamptz, text) TO axiom_definer;

-- Propose a change to lineage p_id based on its head p_base_version. Layer 2 (author),
-- reason required, stale_base when p_base_version is not the head.
CREATE FUNCTION axiom_api.propose_change(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_id uuid, p_base_version bigint, p_title text,
    p_content bytea, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	head axiom.records;
	c axiom.change_requests;
BEGIN
	IF o IS NULL THEN
		head := axiom.head_for_update(p_id);
		IF p_change_id IS NULL OR p_title IS NULL OR p_content IS NULL THEN
			o := axiom.rejected('invalid_command', 'change id, title and content are required');
		ELSIF head.record_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a change requires a reason');
		ELSIF axiom.tier_rank_at(p_actor, head.facility_id, head.domain_id, p_event_time)
		    < axiom.tier_rank('author') THEN
			o := axiom.rejected('insufficient_access_level', 'proposing a change requires the author level');
		ELSIF head.status = 'retired' THEN
			o := axiom.rejected('record_retired', 'the record is retired');
		ELSIF p_base_version IS DISTINCT FROM head.version THEN
			o := axiom.rejected('stale_base', format('version %s is not the head (version %s)',
			    p_base_version, head.version));
		ELSE
			BEGIN
				INSERT INTO axiom.change_requests (change_id, id, base_version, base_record_hash,
				    record_type, facility_id, domain_id, title, content, author, reason,
				    proposed_at, status, status_changed_at)
				VALUES (p_change_id, p_id, head.version, head.record_hash, head.record_type,
				    head.facility_id, head.domain_id, p_title, p_content, p_actor, p_reason,
				    p_event_time, 'draft', p_event_time)
				RETURNING * INTO c;
				PERFORM axiom.change_step(c, 'propose', NULL, 'draft', p_actor, p_event_time,
				    p_reason);
				o := axiom.accepted('change proposed', p_change_id, head.version);
			EXCEPTION WHEN unique_violation THEN
				o := axiom.not_found_or_denied();
			END;
		END IF;
	END IF;
	RETURN axiom.finish('propose_change', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_change_id, head.record_id, NULL, head.facility_id, head.domain_id);
END
$$;

-- Move change p_change_id one step: submit, review, approve or reject (p_step). Layer 2 and
-- docs/security-layers.md: only the author submits; the author never reviews, approves or
-- rejects their own change; review needs the reviewer level, approve the manager level,
-- reject the reviewer level; the record type's gate decides whether review is required.
-- Refusals: not_author, author_cannot_<step>, not_submitted, review_required,
-- review_not_required, invalid_state, insufficient_access_level, reason_required.
CREATE FUNCTION axiom.change_transition(p_step text, p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	c axiom.change_requests;
	gate text;
	rank integer;
	next_status text;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO c FROM axiom.change_requests WHERE change_id = p_change_id FOR UPDATE;
		SELECT t.gate INTO gate FROM axiom.record_types t WHERE t.record_type = c.record_type;
		rank := axiom.tier_rank_at(p_actor, c.facility_id, c.domain_id, p_event_time);
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
		ELSIF p_step = 'review' AND gate <> 'review_approve' THEN
			o := axiom.rejected('review_not_required', format('record type %s has no review step', c.record_type));
		ELSIF p_step = 'review' AND c.status <> 'submitted' THEN
			o := axiom.rejected('invalid_state', format('the change is %s, not submitted', c.status));
		ELSIF p_step = 'approve' AND gate = 'review_approve' AND c.status = 'submitted' THEN
			o := axiom.rejected('review_required', 'the change must be reviewed before approval');
		ELSIF p_step = 'approve' AND c.status NOT IN ('submitted', 'reviewed') THEN
			o := axiom.rejected('invalid_state', format('the change is %s', c.status));
		ELSIF p_step = 'reject' AND c.status NOT IN ('submitted', 'reviewed') THEN
			o := axiom.rejected('invalid_state', format('the change is %s', c.status));
		ELSIF rank < axiom.tier_rank(CASE p_step WHEN 'submit' THEN 'author'
		    WHEN 'approve' THEN 'manager' ELSE 'reviewer' END) THEN
			o := axiom.rejected('insufficient_access_level',
			    format('the %s step requires a higher access level', p_step));
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
GRANT EXECUTE ON FUNCTION axiom.change_transition(text, text, timestamptz, uuid, uuid, text)
    TO axiom_definer;

-- Submit a change (its author). Layer 2 and change management (docs/security-layers.md); see
-- axiom.change_transition.
CREATE FUNCTION axiom_api.submit_change(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT axiom.change_transition('submit', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $$;

-- Review a change (not its author; reviewer level). Layer 2 and change management.
CREATE FUNCTION axiom_api.review_change(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT axiom.change_transition('review', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $$;

-- Approve a change (not its author; manager level). Layer 2 and change management.
CREATE FUNCTION axiom_api.approve_change(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT axiom.change_transition('approve', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $$;

-- Reject a change (not its author; reviewer level). Layer 2 and change management.
CREATE FUNCTION axiom_api.reject_change(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT axiom.change_transition('reject', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $$;

-- Apply approved change p_change_id as the next version p_record_id of its lineage.
-- Layers 2 (author), 5 and 6, docs/security-layers.md: not_approved unless approved; stale_base
-- when the head is no longer the version the change was based on; hash_mismatch.
CREATE FUNCTION axiom_api.apply_change(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_change_id uuid, p_record_id uuid, p_record_hash bytea, p_reason text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	c axiom.change_requests;
	head axiom.records;
	h bytea;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO c FROM axiom.change_requests WHERE change_id = p_change_id FOR UPDATE;
		head := axiom.head_for_update(c.id);
		IF c.change_id IS NULL OR head.record_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF p_record_id IS NULL THEN
			o := axiom.rejected('invalid_command', 'record id is required');
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'applying a change requires a reason');
		ELSIF axiom.tier_rank_at(p_actor, c.facility_id, c.domain_id, p_event_time)
		    < axiom.tier_rank('author') THEN
			o := axiom.rejected('insufficient_access_level', 'applying a change requires the author level');
		ELSIF c.status <> 'approved' THEN
			o := axiom.rejected('not_approved', format('the change is %s, not approved', c.status));
		ELSIF head.version <> c.base_version OR head.record_hash <> c.base_record_hash THEN
			o := axiom.rejected('stale_base', format(
			    'the change is based on version %s but the head is version %s',
			    c.base_version, head.version));
		ELSIF head.status = 'retired' THEN
			o := axiom.rejected('record_retired', 'the record is retired');
		ELSE
			h := axiom.expected_hash(p_record_id, c.id, head.version + 1, head.record_id,
			    head.record_hash, head.record_type, head.facility_id, head.domain_id, c.title,
			    c.content, p_actor, p_event_time, c.change_id);
			IF p_record_hash IS DISTINCT FROM h THEN
				o := axiom.rejected('hash_mismatch',
				    'the record hash differs from the one the database computes');
			ELSE
				h := axiom.insert_version(p_record_id, c.id, head.version + 1, head.record_id,
				    head.record_hash, head.record_type, head.facility_id, head.domain_id,
				    c.title, c.content, p_actor, p_event_time, c.change_id);
				IF h IS NULL THEN
					o := axiom.not_found_or_denied();
				ELSE
					UPDATE axiom.change_requests SET status = 'applied',
					    status_changed_at = p_event_time, applied_record_id = p_record_id
					 WHERE change_id = c.change_id;
					PERFORM axiom.change_step(c, 'apply', c.status, 'applied', p_actor,
					    p_event_time, p_reason);
					o := axiom.accepted(format('change applied as version %s', head.version + 1),
					    c.id, head.version + 1, h);
				END IF;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('apply_change', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_change_id, head.record_id, p_record_id, c.facility_id, c.domain_id);
END
$$;

-- Signatures ------------------------------------------------------------------------------

-- Record the actor's own signature over version p_record_id (docs/esignatures.md): the
-- signer is always p_actor (a delegation never lets anyone sign for another person); the
-- printed name comes from the enrollment. The proofs were verified by the applier against
-- p_intent_hash; they are kept raw for offline re-verification. Layers 2 and 3.
CREATE FUNCTION axiom_api.sign_record(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_signature_id uuid, p_record_id uuid, p_meaning text,
    p_intent_hash bytea, p_factor_types text[], p_proofs bytea) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	r axiom.records;
	printed text;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO r FROM axiom.records WHERE record_id = p_record_id;
		SELECT u.printed_name INTO printed FROM axiom.users u WHERE u.user_id = p_actor;
		IF p_signature_id IS NULL OR p_meaning IS NULL
		    OR p_meaning NOT IN ('authorship', 'review', 'approval', 'responsibility')
		    OR octet_length(p_intent_hash) IS DISTINCT FROM 32
		    OR coalesce(cardinality(p_factor_types), 0) = 0 OR p_proofs IS NULL THEN
			o := axiom.rejected('invalid_command',
			    'signature id, meaning, a 32-byte intent hash, factor types and proofs are required');
		ELSIF r.record_id IS NULL THEN
			o := axiom.not_found_or_denied();
		ELSIF axiom.tier_rank_at(p_actor, r.facility_id, r.domain_id, p_event_time)
		    < axiom.tier_rank(CASE WHEN p_meaning = 'approval' THEN 'manager' ELSE 'author' END) THEN
			o := axiom.rejected('insufficient_access_level',
			    format('a %s signature requires a higher access level', p_meaning));
		ELSE
			BEGIN
				INSERT INTO axiom.signatures (signature_id, record_id, id, version, record_hash,
				    facility_id, domain_id, signer, printed_name, signed_at, meaning, intent_hash,
				    factor_types, proofs)
				VALUES (p_signature_id, r.record_id, r.id, r.version, r.record_hash,
				    r.facility_id, r.domain_id, p_actor, printed, p_event_time, p_meaning,
				    p_intent_hash, p_factor_types, p_proofs);
				o := axiom.accepted(format('%s signature by %s', p_meaning, printed), p_signature_id,
				    r.version, r.record_hash);
			EXCEPTION WHEN unique_violation OR foreign_key_violation THEN
				o := axiom.not_found_or_denied();
			END;
		END IF;
	END IF;
	RETURN axiom.finish('sign_record', p_actor, p_event_time, p_command_id, o, p_meaning,
	    p_signature_id, p_record_id, NULL, r.facility_id, r.domain_id);
END
$$;

-- Ledger and offsets (docs/canonical-encoding.md and docs/architecture.md) ---------------------------------------------

-- Extend the ledger chain of (p_topic, p_partition) with the outcome of the command at
-- p_offset; the database computes seq, previous_entry_hash and entry_hash. Offsets must
-- increase (offset_not_increasing). p_actor is the command's actor (NULL for undecodable
-- input). Layer 6. Returns the entry's seq as version and its hash as record_hash.
CREATE FUNCTION axiom_api.append_ledger_entry(p_actor text, p_event_time timestamptz,
    p_topic text, p_partition integer, p_offset bigint, p_command_id uuid, p_decision text,
    p_reason_code text, p_record_hash bytea) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	last axiom.ledger;
	prev bytea;
	h bytea;
	seq bigint;
BEGIN
	IF p_topic IS NULL OR p_partition IS NULL OR p_offset IS NULL OR p_offset < 0
	    OR p_event_time IS NULL OR p_decision IS NULL
	    OR p_decision NOT IN ('accepted', 'rejected', 'quarantined') THEN
		RETURN axiom.rejected('invalid_command', 'topic, partition, offset, event time and decision are required');
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended(p_topic || '/' || p_partition::text, 7));
	SELECT * INTO last FROM axiom.ledger l
	 WHERE l.topic = p_topic AND l.kafka_partition = p_partition ORDER BY l.seq DESC LIMIT 1;
	IF last.seq IS NOT NULL AND p_offset <= last.kafka_offset THEN
		RETURN axiom.rejected('offset_not_increasing', format(
		    'offset %s is not after the last ledger entry''s offset %s', p_offset, last.kafka_offset));
	END IF;
	seq := coalesce(last.seq, 0) + 1;
	prev := coalesce(last.entry_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
	h := sha256(axiom.canon_ledger_v1(p_topic, p_partition, seq, p_offset, p_command_id, p_actor,
	    p_event_time, p_decision, p_reason_code, p_record_hash, prev));
	INSERT INTO axiom.ledger VALUES (p_topic, p_partition, seq, p_offset, p_command_id, p_actor,
	    p_event_time, p_decision, p_reason_code, p_record_hash, prev, h);
	RETURN axiom.accepted(format('ledger entry %s', seq), NULL, seq, h);
END
$$;

-- Store the next offset of (p_topic, p_partition) if the stored one is still p_expected (NULL:
-- no offset stored yet): the fencing compare-and-set of docs/architecture.md. A zombie
-- applier gets offset_conflict and must roll back. p_actor names the applier instance.
-- Layer 1 (the offsets are reachable only through this function); not a regulated record.
CREATE FUNCTION axiom_api.store_next_offset(p_actor text, p_topic text, p_partition integer,
    p_expected bigint, p_next bigint) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur bigint;
BEGIN
	IF p_actor IS NULL OR p_topic IS NULL OR p_partition IS NULL OR p_next IS NULL OR p_next < 0
	    OR p_next < coalesce(p_expected, 0) THEN
		RETURN axiom.rejected('invalid_command', 'actor, topic, partition and a next offset not below the expected one are required');
	END IF;
	IF p_expected IS NULL THEN
		BEGIN
			INSERT INTO axiom.partition_offsets VALUES (p_topic, p_partition, p_next, p_actor);
			RETURN axiom.accepted(format('next offset %s', p_next), NULL, p_next);
		EXCEPTION WHEN unique_violation THEN
			NULL;
		END;
	ELSE
		UPDATE axiom.partition_offsets SET next_offset = p_next, updated_by = p_actor
		 WHERE topic = p_topic AND kafka_partition = p_partition AND next_offset = p_expected;
		IF FOUND THEN
			RETURN axiom.accepted(format('next offset %s', p_next), NULL, p_next);
		END IF;
	END IF;
	SELECT next_offset INTO cur FROM axiom.partition_offsets
	 WHERE topic = p_topic AND kafka_partition = p_partition;
	RETURN axiom.rejected('offset_conflict', format('the stored next offset is %s, not %s',
	    coalesce(cur::text, 'unset'), coalesce(p_expected::text, 'unset')));
END
$$;

-- The stored next offset of (p_topic, p_partition), NULL when none. Read-only; layer 1 (no
-- actor: infrastructure state, read by the applier on partition assignment).
CREATE FUNCTION axiom_api.next_offset(p_topic text, p_partition integer) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT o.next_offset FROM axiom.partition_offsets o
	 WHERE o.topic = p_topic AND o.kafka_partition = p_partition
$$;

-- Batch -------------------------------------------------------------------------------------

-- Apply the ordered commands of one partition in one call and return their outcomes in order
-- (ordinal from 1). Each element is an object with "op", "actor", "event_time" (ISO 8601 with
-- offset), "command_id", the operation's fields (bytea as lowercase hex without \x), and
-- optionally "offset": then the outcome is also appended to the partition's ledger. The
-- checks are exactly those of the per-command functions, which this calls. A malformed
-- element is rejected as invalid_command; it never aborts the batch. The op "quarantine"
-- (fields "reason_code", "payload_sha256") records an undecodable message as a quarantined
-- outcome, its SHA-256 in the ledger's record_hash. Layers: those of the called functions.
CREATE FUNCTION axiom_api.apply_batch(p_topic text, p_partition integer, p_commands jsonb)
RETURNS TABLE (ordinal integer, decision text, reason_code text, message text, object_id uuid,
    version bigint, record_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c jsonb;
	n bigint;
	o axiom_api.outcome;
	actor text;
	et timestamptz;
	cmd uuid;
BEGIN
	IF jsonb_typeof(p_commands) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'commands must be a json array' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR c, n IN SELECT e, i FROM jsonb_array_elements(p_commands) WITH ORDINALITY AS x(e, i) LOOP
		o := NULL;
		actor := NULL;
		et := NULL;
		cmd := NULL;
		BEGIN
			actor := c->>'actor';
			et := (c->>'event_time')::timestamptz;
			cmd := (c->>'command_id')::uuid;
			o := CASE c->>'op'
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
			WHEN 'sign_record' THEN axiom_api.sign_record(actor, et, cmd,
			    (c->>'signature_id')::uuid, (c->>'record_id')::uuid, c->>'meaning',
			    decode(c->>'intent_hash', 'hex'),
			    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
			    decode(c->>'proofs', 'hex'))
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
		EXCEPTION WHEN data_exception THEN
			o := axiom.rejected('invalid_command', 'malformed command: ' || SQLERRM);
		END;
		IF c ? 'offset' AND et IS NOT NULL THEN
			PERFORM axiom_api.append_ledger_entry(actor, et, p_topic, p_partition,
			    (c->>'offset')::bigint, cmd, o.decision, o.reason_code, o.record_hash);
		END IF;
		ordinal := n;
		decision := o.decision;
		reason_code := o.reason_code;
		message := o.message;
		object_id := o.object_id;
		version := o.version;
		record_hash := o.record_hash;
		RETURN NEXT;
	END LOOP;
END
$$;

-- Verification (runs as axiom_auditor) --------------------------------------------------------

-- Check every record chain: versions gap-free from 1, each linked to its predecessor by
-- previous_record_id and previous_record_hash, and record_hash recomputed from the stored
-- columns. One row per broken lineage: the first broken version and what is wrong (for a
-- missing version, the version that is missing). Deterministic; invoker's rights.
CREATE FUNCTION axiom_api.verify_record_chains()
RETURNS TABLE (id uuid, version bigint, record_id uuid, problem text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	WITH r AS (
		SELECT x.*, row_number() OVER w AS expected_version,
		       lag(x.record_id) OVER w AS lag_record_id, lag(x.record_hash) OVER w AS lag_hash
		  FROM axiom.records x
		WINDOW w AS (PARTITION BY x.id ORDER BY x.version)
	), problems AS (
		SELECT r.id, r.expected_version AS version,
		       CASE WHEN r.version = r.expected_version THEN r.record_id END AS record_id,
		       CASE
		         WHEN r.version <> r.expected_version THEN
		           format('version %s is missing', r.expected_version)
		         WHEN r.previous_record_id IS DISTINCT FROM r.lag_record_id THEN
		           'previous_record_id is not the record_id of the previous version'
		         WHEN r.previous_record_hash IS DISTINCT FROM r.lag_hash THEN
		           'previous_record_hash is not the record_hash of the previous version'
		         WHEN r.record_hash IS DISTINCT FROM sha256(axiom.canon_record_v1(r.record_id,
		             r.id, r.version, r.previous_record_id, r.previous_record_hash,
		             r.record_type, r.facility_id, r.domain_id, r.title, r.content,
		             r.created_by, r.created_at, r.change_id)) THEN
		           'record_hash does not match the stored columns'
		       END AS problem
		  FROM r
	)
	SELECT DISTINCT ON (p.id) p.id, p.version, p.record_id, p.problem
	  FROM problems p WHERE p.problem IS NOT NULL
	 ORDER BY p.id, p.version
$$;

-- Check every partition's ledger chain: seq gap-free from 1, each entry linked to the previous
-- entry's hash (zeros for the first) and entry_hash recomputed. The first broken entry per
-- partition. Deterministic; invoker's rights.
CREATE FUNCTION axiom_api.verify_ledger_chains()
RETURNS TABLE (topic text, kafka_partition integer, seq bigint, problem text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	WITH l AS (
		SELECT x.*, row_number() OVER w AS expected_seq, lag(x.entry_hash) OVER w AS lag_hash
		  FROM axiom.ledger x
		WINDOW w AS (PARTITION BY x.topic, x.kafka_partition ORDER BY x.seq)
	), problems AS (
		SELECT l.topic, l.kafka_partition, l.expected_seq AS seq,
		       CASE
		         WHEN l.seq <> l.expected_seq THEN format('entry %s is missing', l.expected_seq)
		         WHEN l.previous_entry_hash IS DISTINCT FROM coalesce(l.lag_hash,
		             '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) THEN
		           'previous_entry_hash is not the entry_hash of the previous entry'
		         WHEN l.entry_hash IS DISTINCT FROM sha256(axiom.canon_ledger_v1(l.topic,
		             l.kafka_partition, l.seq, l.kafka_offset, l.command_id, l.actor, l.event_time,
		             l.decision, l.reason_code, l.record_hash, l.previous_entry_hash)) THEN
		           'entry_hash does not match the stored columns'
		       END AS problem
		  FROM l
	)
	SELECT DISTINCT ON (p.topic, p.kafka_partition) p.topic, p.kafka_partition, p.seq, p.problem
	  FROM problems p WHERE p.problem IS NOT NULL
	 ORDER BY p.topic, p.kafka_partition, p.seq
$$;

GRANT USAGE ON SCHEMA axiom_api TO axiom_auditor;
GRANT EXECUTE ON FUNCTION axiom_api.verify_record_chains(), axiom_api.verify_ledger_chains()
    TO axiom_auditor;

-- Hand-over: every SECURITY DEFINER function of axiom_api to axiom_definer, EXECUTE to
-- axiom_user only, nothing to PUBLIC (the default privileges of 0001 already withheld it;
-- this states it for each function so a reviewer reading the catalog sees it).
DO $handover$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
	    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname = 'axiom_api' AND p.prosecdef LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO axiom_user', f);
		EXECUTE format('ALTER FUNCTION %s OWNER TO axiom_definer', f);
	END LOOP;
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
	    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname IN ('axiom', 'axiom_api') AND NOT p.prosecdef LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$handover$;
