-- axiom-migrate: run-as=admin
--
-- db/definitions/60_data_plane.sql - The data plane: regulated records and their change management.
--
-- create_record and new_version write SCD Type 2 versions whose record hash the caller claims
-- and the database recomputes (30_integrity_triggers.sql); a new version must name the current
-- head's hash (stale_previous_hash otherwise). Records whose type has a change gate move through
-- change requests: propose, review, approve or reject, apply, with separation of duties (the
-- author never reviews or approves; a delegate of the author does not either). transition_record
-- moves the lifecycle state. Every function requires a non-empty reason for a change.
-- Reached only through the batch entry point. Tests: 0105-db-change-management, 0511, 0513.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/ax_migrate.h); the migrations of db/ hold the history.

-- Record one step of change p_change_id (status already updated by the caller).
CREATE OR REPLACE FUNCTION axiom.change_step(p_change axiom.change_requests, p_step text, p_from text, p_to text, p_actor text, p_event_time timestamp with time zone, p_reason text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	INSERT INTO axiom.change_request_steps (change_id, step, from_status, to_status, actor,
	    event_time, reason, facility_id, domain_id)
	VALUES ((p_change).change_id, p_step, p_from, p_to, p_actor, p_event_time, p_reason,
	    (p_change).facility_id, (p_change).domain_id);
END
$function$;

-- Move change p_change_id one step: submit, review, approve or reject (p_step). Layer 2 and
-- design.md section 7: only the author submits; the author never reviews, approves or
-- rejects their own change; review needs the reviewer level, approve the manager level,
-- reject the reviewer level; the record type's gate decides whether review is required.
-- Refusals: not_author, author_cannot_<step>, not_submitted, review_required,
-- review_not_required, invalid_state, insufficient_access_level, reason_required.
CREATE OR REPLACE FUNCTION axiom.change_transition(p_step text, p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- SHA-256 of the canonical encoding v1 of the version these arguments describe.
CREATE OR REPLACE FUNCTION axiom.expected_hash(p_record_id uuid, p_id uuid, p_version bigint, p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text, p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text, p_event_time timestamp with time zone, p_change_id uuid)
 RETURNS bytea
 LANGUAGE sql
 STABLE
AS $function$
	SELECT pg_catalog.sha256(axiom.canon_record_v1(p_record_id, p_id, p_version, p_previous_record_id,
	    p_previous_record_hash, p_record_type, p_facility_id, p_domain_id, p_title, p_content,
	    p_actor, p_event_time, p_change_id))
$function$;

-- The head (highest version) of lineage p_id as the running command's actor sees it, locked.
CREATE OR REPLACE FUNCTION axiom.head_for_update(p_id uuid)
 RETURNS axiom.records
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_bitmapscan TO 'off'
AS $function$
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
$function$;

-- Insert the next version of a lineage (after every check); NULL when the database refused
-- it with a key violation (a row the actor cannot see), else the new record_hash.
CREATE OR REPLACE FUNCTION axiom.insert_version(p_record_id uuid, p_id uuid, p_version bigint, p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text, p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text, p_event_time timestamp with time zone, p_change_id uuid)
 RETURNS bytea
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	h bytea;
BEGIN
	INSERT INTO axiom.records (record_id, id, version, previous_record_id, previous_record_hash,
	    record_hash, record_type, facility_id, domain_id, title, content, created_by, created_at,
	    change_id)
	VALUES (p_record_id, p_id, p_version, p_previous_record_id, p_previous_record_hash, NULL,
	    p_record_type, p_facility_id, p_domain_id, p_title, p_content, p_actor, p_event_time,
	    p_change_id)
	ON CONFLICT DO NOTHING
	RETURNING record_hash INTO h;
	RETURN h;
END
$function$;

-- Apply approved change p_change_id as the next version p_record_id of its lineage.
-- Layers 2 (author), 5 and 6, design.md section 7: not_approved unless approved; stale_base
-- when the head is no longer the version the change was based on; hash_mismatch.
CREATE OR REPLACE FUNCTION axiom_api.apply_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_record_id uuid, p_record_hash bytea, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Approve a change (not its author; manager level). Layer 2 and change management.
CREATE OR REPLACE FUNCTION axiom_api.approve_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('approve', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- What the applier needs to compute the record_hash of the version an approved change will
-- create: the change's lineage, title and content as p_actor sees them. Read-only.
CREATE OR REPLACE FUNCTION axiom_api.change_content(p_actor text, p_event_time timestamp with time zone, p_change_id uuid)
 RETURNS TABLE(id uuid, title text, content bytea)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 1
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	IF axiom.start_command(p_actor, p_event_time) IS NULL THEN
		RETURN QUERY SELECT c.id, c.title, c.content FROM axiom.change_requests c
		 WHERE c.change_id = p_change_id;
	END IF;
	PERFORM axiom.begin_command(NULL, NULL);
END
$function$;

-- Create version 1 of lineage p_id. Layers 2 (author in the record type's domain at
-- p_facility_id), 3 (a hidden lineage answers not_found_or_denied), 6 (p_record_hash must be
-- SHA-256 of the canonical encoding; otherwise hash_mismatch).
CREATE OR REPLACE FUNCTION axiom_api.create_record(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_record_id uuid, p_id uuid, p_record_type text, p_facility_id text, p_title text, p_content bytea, p_record_hash bytea)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- created by the admin login (axiom_definer may not use plpgsql), then handed to
-- axiom_definer, whose rights a SECURITY DEFINER function of the API runs with
-- As 0018 (8), with p_reason: required, and kept with the outcome.
CREATE OR REPLACE FUNCTION axiom_api.create_record(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_record_id uuid, p_id uuid, p_record_type text, p_facility_id text, p_title text, p_content bytea, p_record_hash bytea, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- What the applier needs to compute the record_hash of the next version of lineage p_id in C
-- (design.md section 5: the hash is computed twice, by the applier and by the database): the
-- head as p_actor sees it at p_event_time (layer 3: nothing when the actor may not see it).
-- Read-only; writes no audit row.
CREATE OR REPLACE FUNCTION axiom_api.lineage_head(p_actor text, p_event_time timestamp with time zone, p_id uuid)
 RETURNS TABLE(record_id uuid, version bigint, record_hash bytea, record_type text, facility_id text, domain_id text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 1
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_bitmapscan TO 'off'
AS $function$
BEGIN
	IF axiom.start_command(p_actor, p_event_time) IS NULL THEN
		RETURN QUERY SELECT r.record_id, r.version, r.record_hash, r.record_type, r.facility_id,
		    r.domain_id FROM axiom.records r WHERE r.id = p_id ORDER BY r.version DESC LIMIT 1;
	END IF;
	PERFORM axiom.begin_command(NULL, NULL);
END
$function$;

-- Create the next version of lineage p_id directly (record types with gate 'none').
-- Layers 2 (author), 3, 5 (p_previous_record_hash must be the head's: stale_previous_hash),
-- 6 (hash_mismatch); change_control_required when the record type has a review gate.
CREATE OR REPLACE FUNCTION axiom_api.new_version(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_record_id uuid, p_id uuid, p_previous_record_hash bytea, p_title text, p_content bytea, p_record_hash bytea)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- As 0007, with p_reason: required, and kept with the outcome.
CREATE OR REPLACE FUNCTION axiom_api.new_version(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_record_id uuid, p_id uuid, p_previous_record_hash bytea, p_title text, p_content bytea, p_record_hash bytea, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Propose a change to lineage p_id based on its head p_base_version. Layer 2 (author),
-- reason required, stale_base when p_base_version is not the head.
CREATE OR REPLACE FUNCTION axiom_api.propose_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_id uuid, p_base_version bigint, p_title text, p_content bytea, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- Reject a change (not its author; reviewer level). Layer 2 and change management.
CREATE OR REPLACE FUNCTION axiom_api.reject_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('reject', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Review a change (not its author; reviewer level). Layer 2 and change management.
CREATE OR REPLACE FUNCTION axiom_api.review_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('review', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Submit a change (its author). Layer 2 and change management (design.md section 7); see
-- axiom.change_transition.
CREATE OR REPLACE FUNCTION axiom_api.submit_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('submit', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Move the head version p_version of lineage p_id to p_to_status: draft -> effective,
-- effective -> retired, draft -> retired. Making a version effective retires the lineage's
-- earlier effective versions. Layer 2 (manager), reason required; not_head when p_version is
-- not the head, invalid_transition otherwise.
CREATE OR REPLACE FUNCTION axiom_api.transition_record(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_id uuid, p_version bigint, p_to_status text, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
