-- axiom-migrate: run-as=admin
--
-- db/definitions/60_data_plane.sql - The data plane: regulated records and their change
-- management.
--
-- Records are SCD Type 2 (layer L5): every change is a new version of a lineage, linked to the
-- head by previous_record_id and previous_record_hash; only the lifecycle columns (status) of a
-- stored version move. create_record and new_version write versions whose record hash the
-- applier computed in C and the database recomputes (expected_hash, then the insert trigger of
-- 30_integrity_triggers.sql; hash_mismatch otherwise, layer L6); a new version must name the
-- current head's hash (stale_previous_hash). Records whose type has a review gate change only
-- through change requests: propose_change, submit, review, approve or reject
-- (change_transition), apply_change, with separation of duties (the author never reviews,
-- approves or rejects; a delegate of the author does not either; the reviewer does not approve
-- unless the gate allows it). transition_record moves the lifecycle state (draft, effective,
-- retired). Every write needs a non-blank reason (reason_required), kept in the audit trail.
-- Authorization is by access tier at the event time (layer L2, 40_authorization.sql), and a
-- lineage or change the actor may not see answers exactly as a missing one (layer L3,
-- not_found_or_denied). The axiom_api functions here are SECURITY DEFINER, owned by
-- axiom_definer and reached only through the batch entry point (80_batch_entry_point.sql),
-- except the two reads lineage_head and change_content, which the applier's login executes.
-- apply_version_run decides a run of create_record, new_version and apply_change commands as one
-- set, with the same checks, rows and outcomes as those functions (test 0109).
-- Tests: 0102-db-rls, 0103-canonical-encoding-in-sql, 0105-db-change-management,
-- 0109-db-set-based-equals-per-command, 0511-apply-separation-of-duties,
-- 0513-apply-reason-required.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- Append one step of change p_change to axiom.change_request_steps (append-only, L4): the step
-- (propose, submit, review, approve, reject, apply), the status it moved from and to, the
-- actor, the event time, the reason, and the change's facility and domain. The caller has
-- already updated change_requests.status.
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

-- Step p_step (submit, review, approve or reject) of change p_change_id: the body of
-- submit_change, review_change, approve_change and reject_change, running with their rights
-- (axiom_definer). Refusals, in this order: not_found_or_denied (no change the actor may see),
-- reason_required, not_author (only the author submits), author_cannot_review /
-- author_cannot_approve / author_cannot_reject, invalid_state (only a draft is submitted),
-- not_submitted, review_not_required (the record type's gate has no review step),
-- invalid_state (only a submitted change is reviewed), review_required (a review gate's change
-- is reviewed before approval), invalid_state (only a submitted or reviewed change is approved
-- or rejected), insufficient_access_level (author level to submit, reviewer to review or
-- reject, manager to approve, in the change's facility and domain at the event time),
-- delegated_by_author (that level rests on a delegation from the change's author),
-- reviewer_cannot_approve (the reviewer approves, unless the gate is
-- review_approve_reviewer_may_approve). Accepted: the status becomes submitted, reviewed,
-- approved or rejected and a step row is appended (change_step).
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
			o := axiom.insufficient_access_level(format('the %s step', p_step), needed,
			    p_actor, c.facility_id, c.domain_id, p_event_time);
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

-- SHA-256 of canon_record_v1 of the version these arguments describe (p_actor and p_event_time
-- as created_by and created_at): the record hash the database expects a command to claim.
-- Used by create_record, new_version and apply_change before they insert.
CREATE OR REPLACE FUNCTION axiom.expected_hash(p_record_id uuid, p_id uuid, p_version bigint, p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text, p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text, p_event_time timestamp with time zone, p_change_id uuid)
 RETURNS bytea
 LANGUAGE sql
 STABLE
AS $function$
	SELECT pg_catalog.sha256(axiom.canon_record_v1(p_record_id, p_id, p_version, p_previous_record_id,
	    p_previous_record_hash, p_record_type, p_facility_id, p_domain_id, p_title, p_content,
	    p_actor, p_event_time, p_change_id))
$function$;

-- Whether the caller sees a version of lineage p_id under row-level security: for
-- apply_version_run, which asks it only for a new record's lineage id, so that a lineage the
-- command's actor can see is refused inside the set, as create_record refuses it. A function,
-- not a sub-query of that statement: PostgreSQL starts every sub-plan of a statement each time it
-- runs it, and this read, under both row policies of records, was started by every run, new
-- versions only included; a call starts it only for a new record. Every name is
-- schema-qualified (no SET search_path). Executable by axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.lineage_in_sight(p_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
	RETURN EXISTS (SELECT 1 FROM axiom.records r WHERE r.id OPERATOR(pg_catalog.=) p_id);
END
$function$;

-- The head (highest version) of lineage p_id as the running command's actor sees it under
-- row-level security, locked FOR UPDATE so that commands on one lineage are serialized; NULL
-- when the actor sees no version.
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

-- Insert version p_version of lineage p_id once every check passed, with p_record_hash, the
-- hash its caller computed (expected_hash) and compared with the command's: the insert
-- triggers compare it with the hash of the stored columns (a difference raises), start the
-- version as a draft and check its link to the head (link_record_version,
-- check_record_links). Returns p_record_hash, or NULL when the insert hit a key conflict (ON
-- CONFLICT DO NOTHING: the record id or the (lineage, version) is in use, possibly by a row the
-- actor cannot see), which the callers answer not_found_or_denied. No RETURNING: with one,
-- PostgreSQL checks the new row against the read policies of records as well as the write
-- policies (the same rule for a per-command insert), about a third of the insert's cost.
CREATE OR REPLACE FUNCTION axiom.insert_version(p_record_id uuid, p_id uuid, p_version bigint, p_previous_record_id uuid, p_previous_record_hash bytea, p_record_type text, p_facility_id text, p_domain_id text, p_title text, p_content bytea, p_actor text, p_event_time timestamp with time zone, p_change_id uuid, p_record_hash bytea)
 RETURNS bytea
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	n integer;
BEGIN
	IF p_record_hash IS NULL THEN
		RAISE EXCEPTION 'insert_version needs the record hash its caller computed'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO axiom.records (record_id, id, version, previous_record_id, previous_record_hash,
	    record_hash, record_type, facility_id, domain_id, title, content, created_by, created_at,
	    change_id)
	VALUES (p_record_id, p_id, p_version, p_previous_record_id, p_previous_record_hash,
	    p_record_hash, p_record_type, p_facility_id, p_domain_id, p_title, p_content, p_actor,
	    p_event_time, p_change_id)
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN CASE WHEN n = 1 THEN p_record_hash END;
END
$function$;

-- Apply approved change p_change_id as the next version of its lineage: record id p_record_id,
-- the change's title and content, created by p_actor at p_event_time, change_id set. Refusals,
-- in this order: not_found_or_denied (no change or head the actor may see), invalid_command
-- (no record id), reason_required, insufficient_access_level (L2: the author level),
-- not_approved, stale_base (the head is no longer the version and hash the change was based
-- on), record_retired, hash_mismatch (L6: p_record_hash is not the hash the database
-- computes), not_found_or_denied (the record id is in use). Accepted: the version is
-- inserted, the change becomes applied (applied_record_id) with an apply step; the outcome
-- carries the lineage, the new version and its record hash.
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
			o := axiom.insufficient_access_level('applying a change', axiom.tier_rank('author'),
			    p_actor, c.facility_id, c.domain_id, p_event_time);
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
				    c.title, c.content, p_actor, p_event_time, c.change_id, h);
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

-- Decide and apply the run p_cmds of create_record, new_version and apply_change commands as one
-- set, every layer on, and return one element per command before the cut, in order: the outcome of
-- an accepted one or of one its function decided here (below), NULL for one left to the per-command
-- function (create_record, new_version, apply_change). The caller (partition_commands,
-- 80_batch_entry_point.sql) gives only commands it would dispatch, in log order, each on a lineage
-- and with a record id and command id of its own within the run, and decides each NULL one, and the
-- cut, through the per-command function, in log order, which then gives its exact decision. A
-- command left so changes no record in the set, and every accepted command after it is on another
-- lineage and has another record id, so deciding it after them changes nothing either gets. A
-- lineage may come back in the run as a new version: it builds on the version the command before it
-- on that lineage makes, so each command gets the decision, record, audit-trail row and outcome the
-- per-command path gives it. The commands after a refused one on its lineage would build on a
-- version that is not made: the try defers them. Their refused one is then decided by its function
-- at once, before them as in the log (the run's scope emptied and its own ledger entry set, as
-- partition_commands calls it; the function may even accept it: the set's refusal is only a reason
-- to ask it), and the next try takes the deferred ones on the head that leaves. So a producer's
-- refusals do not push the versions after them onto the per-command path, where a new version cost
-- the server about 770 us in a replay of a bench topic, a member of a run about 190. The deferred
-- tries of a run take at most as many members in all as its first: beyond that, the deferred
-- members and the refused ones before them are left to their functions. An apply_change is the only
-- member on its lineage, which the caller gives as its "id" (its change's, as its actor sees it),
-- on a change no command before it in the window names but one decided already (version_run): the
-- first try decides it in a second statement, run only when the try has one, with every check of
-- apply_change (actor enrolled and active, the change and the head as the actor sees them, a record
-- id, a reason, the author level in the change's facility and domain, the change approved, the head
-- still its base version and hash and not retired, the record hash the database computes), and for
-- an accepted one inserts the version, marks the change applied and appends its apply step and
-- audit row; a refused one is left to apply_change. Command i of the run takes ledger entry
-- p_seqs[i] as its ledger reference.
-- How: axiom.batch_scope names each command's lineage, actor and event time (and an applied
-- change's change id), so the row policies definer_batch_scope (L3) let each lineage and change be
-- read and written only as its own command's actor sees it; one statement reads the heads (locked),
-- checks what the per-command functions check (actor enrolled and active, fields, reason, record
-- type, the author level in the lineage's facility and domain at the event time, gate, status,
-- previous hash, the record hash the database computes, a lineage id in use that the actor can see:
-- lineage_in_sight, called for new records only) and inserts the accepted commands' versions (the
-- insert triggers hash each and check their links in one statement, L5 and L6) and audit rows (L4).
-- A member the set refuses whose actor may not act on a lineage the try creates
-- (actor_scope_allows, the rule each entry of the scope must pass) keeps every member on that
-- lineage out of the try: its entry hides the lineage from the statement, which then could not
-- read a version it inserted beside the next one (check_record_links raised, and the batch with
-- it, for any producer's three commands: 0109). A stored lineage needs no such check: its head,
-- read through the scope in the same statement, shows that every entry on it may act there.
-- The statement returns no inserted row: a RETURNING would make PostgreSQL check every new row
-- against the read policies as well, for nothing (an accepted version's hash is the one the command
-- claimed and the insert trigger compared). An id in use by a row the actor cannot see shows only
-- as the insert's key conflict (unique_violation): the statement is then rolled back (one
-- subtransaction per try) and tried again over the first half of the run, until a try inserts or
-- none is left; the command after the members decided is the cut, which the caller decides alone
-- (exact refusal); in a deferred try, the conflict leaves its members to their functions. The tries
-- over halves of a run cost at most twice its statement. The visible lineage is asked through a
-- function, not as a sub-query of the statement, which every run, new versions only included,
-- started whether a row needed it or not (a batch of two new versions costs the server 8.6 % fewer
-- instructions without it, a replay of a bench topic 4.8 % fewer with batches of four, 0.7 % with
-- batches of 200: docs/benchmarks.md). No sequential scan is planned where an index serves:
-- batch_scope is empty but inside runs, so its statistics (none, or an empty table) made the row
-- policies scan all of its entries for each row read, not the entries of the row's lineage (one
-- replay of a bench topic, one backend: the statement's time per member 111 -> 95 us,
-- auto_explain). The run deletes its entries by their row ids: a DELETE of the whole table read
-- every page it ever grew to while six writers filled it (30-70 ms at times, growing the database
-- to 1,000,000 versions, until a vacuum truncates it). Executable by axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.apply_version_run(p_topic text, p_partition integer, p_seqs bigint[], p_cmds jsonb[])
 RETURNS axiom_api.outcome[]
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
	outs axiom_api.outcome[] := '{}';
	author_rank integer := axiom.tier_rank('author');
	scope tid[]; -- the try's entries of batch_scope, by row id (see above)
	-- the members of a try: the first n commands (todo NULL), or the places todo holds, those
	-- the try before deferred, the last of them n; what a try decided, in order; how many
	-- members deferred tries may still take (see above)
	n integer := coalesce(cardinality(p_cmds), 0);
	todo integer[];
	tried axiom_api.outcome[];
	applying boolean; -- whether the try has applied changes
	budget integer;
	-- the lineages of the members a try left, the first member it left on each, the members it
	-- deferred, and the refused ones decided by their functions before the next try
	lineages uuid[];
	firsts integer[];
	deferred integer[];
	refused integer[];
	m integer;
	j integer;
BEGIN
	WHILE n > 0 LOOP
		WITH e AS (
		    INSERT INTO axiom.batch_scope (id, actor, event_time)
		    SELECT (x->>'id')::uuid, x->>'actor', (x->>'event_time')::timestamptz
		      FROM unnest(p_cmds[1:n]) WITH ORDINALITY AS u(x, i)
		     WHERE todo IS NULL OR u.i = ANY (todo)
		    RETURNING ctid)
		SELECT array_agg(e.ctid) INTO scope FROM e;
		refused := '{}';
		BEGIN
			WITH c AS (
			    SELECT u.i::integer AS i, u.x->>'op' AS op, u.x->>'actor' AS actor,
			           (u.x->>'event_time')::timestamptz AS et,
			           (u.x->>'command_id')::uuid AS cmd, (u.x->>'record_id')::uuid AS record_id,
			           (u.x->>'id')::uuid AS id, u.x->>'record_type' AS record_type,
			           u.x->>'facility_id' AS facility_id, u.x->>'title' AS title,
			           decode(u.x->>'content', 'hex') AS content,
			           decode(u.x->>'record_hash', 'hex') AS claimed,
			           decode(u.x->>'previous_record_hash', 'hex') AS previous_claimed,
			           u.x->>'reason' AS reason
			      FROM unnest(p_cmds[1:n]) WITH ORDINALITY AS u(x, i)
			     WHERE todo IS NULL OR u.i = ANY (todo)),
			o AS (
			    -- each command's place among the run's commands on its lineage
			    SELECT c.*, row_number() OVER (PARTITION BY c.id ORDER BY c.i)::integer AS occ,
			           lag(c.i) OVER (PARTITION BY c.id ORDER BY c.i) AS prev_i,
			           first_value(c.i) OVER (PARTITION BY c.id ORDER BY c.i) AS first_i
			      FROM c),
			f AS (
			    -- the lineage as its first command of the run finds it: the stored head for a
			    -- new version, nothing (version 0) for a new record
			    SELECT o.i, h.record_id AS head_id, h.record_hash AS head_hash,
			           h.status AS head_status, t.record_type AS type_found, t.gate,
			           CASE WHEN o.op = 'create_record' THEN 0 ELSE h.version END AS base_version,
			           CASE WHEN o.op = 'create_record' THEN o.record_type ELSE h.record_type END
			               AS v_type,
			           CASE WHEN o.op = 'create_record' THEN o.facility_id ELSE h.facility_id END
			               AS v_facility,
			           CASE WHEN o.op = 'create_record' THEN t.domain_id ELSE h.domain_id END
			               AS v_domain
			      FROM o
			      LEFT JOIN LATERAL (SELECT r.record_id, r.version, r.record_hash, r.record_type,
			                                r.facility_id, r.domain_id, r.status
			                           FROM axiom.records r
			                          WHERE o.op = 'new_version' AND r.id = o.id
			                          ORDER BY r.version DESC LIMIT 1 FOR UPDATE) h ON true
			      LEFT JOIN axiom.record_types t ON t.record_type = CASE WHEN o.op = 'create_record'
			          THEN o.record_type ELSE h.record_type END
			     WHERE o.occ = 1),
			v AS (
			    -- a later command on the lineage builds on the version the one before it makes
			    -- (accepted: the run ends at the first that is not)
			    SELECT o.*, f.type_found, f.gate, f.v_type, f.v_facility, f.v_domain,
			           f.base_version + o.occ AS version,
			           CASE WHEN o.occ = 1 THEN f.head_id ELSE pv.record_id END AS head_id,
			           CASE WHEN o.occ = 1 THEN f.head_hash ELSE pv.claimed END AS head_hash,
			           CASE WHEN o.occ = 1 THEN f.head_status ELSE 'draft' END AS head_status
			      FROM o
			      JOIN f ON f.i = o.first_i
			      LEFT JOIN c pv ON pv.i = o.prev_i),
			d AS MATERIALIZED (
			    -- materialized: g reads accept twice (its own column and the window's
			    -- argument), and an inlined d evaluated every check twice per member
			    SELECT v.*, (v.op <> 'apply_change' AND v.actor IS NOT NULL AND v.et IS NOT NULL
			           AND isfinite(v.et)
			           AND axiom.user_active_at(v.actor, v.et)
			           AND v.record_id IS NOT NULL AND v.id IS NOT NULL AND v.title IS NOT NULL
			           AND v.content IS NOT NULL AND coalesce(btrim(v.reason), '') <> ''
			           AND v.type_found IS NOT NULL
			           AND ((v.op = 'create_record' AND v.occ = 1) OR (v.op = 'new_version'
			               AND v.head_id IS NOT NULL
			               AND NOT coalesce(v.gate <> 'none', false)
			               AND v.head_status IS DISTINCT FROM 'retired'
			               AND v.previous_claimed IS NOT DISTINCT FROM v.head_hash))
			           AND (SELECT r.rank FROM axiom.tier_rank_row(v.actor, v.v_facility,
			               v.v_domain, v.et, NULL) AS r) >= author_rank
			           AND v.claimed IS NOT DISTINCT FROM axiom.expected_hash(v.record_id, v.id,
			               v.version, v.head_id, v.head_hash, v.v_type, v.v_facility, v.v_domain,
			               v.title, v.content, v.actor, v.et, NULL)
			           AND (v.op = 'new_version' OR NOT axiom.lineage_in_sight(v.id)))
			           AS accept
			      FROM v),
			hidden AS (
			    -- the lineages the try creates that a refused member's actor may not act on
			    -- (see above; a stored lineage's head, read through the scope, shows that
			    -- every entry on it may act there)
			    SELECT d.id FROM d
			     WHERE d.id IS NOT NULL AND d.accept IS NOT TRUE AND d.version = d.occ
			       AND NOT coalesce(axiom.actor_scope_allows(d.actor, d.et, d.v_facility,
			           d.v_domain), false)),
			g AS (
			    -- a member after a refused one on its lineage is not decided by this try (it
			    -- would build on a version that is not made); a window, not a join of d with
			    -- itself, which compared every pair of members. Nor is a member on a hidden
			    -- lineage
			    SELECT d.*, bool_and(d.accept IS TRUE) OVER (PARTITION BY d.id ORDER BY d.i
			               ROWS UNBOUNDED PRECEDING)
			           AND d.id NOT IN (SELECT hidden.id FROM hidden) AS go
			      FROM d),
			p AS (
			    SELECT g.* FROM g WHERE g.go),
			ins AS (
			    INSERT INTO axiom.records (record_id, id, version, previous_record_id,
			        previous_record_hash, record_hash, record_type, facility_id, domain_id, title,
			        content, created_by, created_at, change_id, ledger_topic, ledger_partition,
			        ledger_seq)
			    SELECT p.record_id, p.id, p.version, p.head_id, p.head_hash, p.claimed, p.v_type,
			           p.v_facility, p.v_domain, p.title, p.content, p.actor, p.et, NULL, p_topic,
			           p_partition, p_seqs[p.i]
			      FROM p ORDER BY p.i),
			ev AS (
			    INSERT INTO axiom.session_events (actor, event_time, operation, decision,
			        reason_code, reason, command_id, object_id, old_record_id, new_record_id,
			        facility_id, domain_id, ledger_topic, ledger_partition, ledger_seq)
			    SELECT p.actor, p.et, p.op, 'accepted', NULL, p.reason, p.cmd, p.id, p.head_id,
			           p.record_id, p.v_facility, p.v_domain, p_topic, p_partition, p_seqs[p.i]
			      FROM p ORDER BY p.i)
			SELECT ARRAY(SELECT CASE WHEN g.go THEN axiom.accepted(
			                    format('created version %s', g.version), g.id, g.version,
			                    g.claimed) END
			               FROM g ORDER BY g.i),
			       EXISTS (SELECT 1 FROM c WHERE c.op = 'apply_change')
			  INTO tried, applying;
			IF applying AND todo IS NULL THEN
				-- the applied changes: each the only member on its lineage (version_run), and
				-- its change's own entry in the scope, deleted with the try's others
				WITH e AS (
				    INSERT INTO axiom.batch_scope (id, actor, event_time)
				    SELECT (x->>'change_id')::uuid, x->>'actor', (x->>'event_time')::timestamptz
				      FROM unnest(p_cmds[1:n]) AS x
				     WHERE x->>'op' = 'apply_change'
				    RETURNING ctid)
				SELECT scope || array_agg(e.ctid) INTO scope FROM e;
				WITH a AS (
				    SELECT u.i::integer AS i, u.x->>'actor' AS actor,
				           (u.x->>'event_time')::timestamptz AS et,
				           (u.x->>'command_id')::uuid AS cmd,
				           (u.x->>'change_id')::uuid AS change_id,
				           (u.x->>'record_id')::uuid AS record_id,
				           decode(u.x->>'record_hash', 'hex') AS claimed, u.x->>'reason' AS reason
				      FROM unnest(p_cmds[1:n]) WITH ORDINALITY AS u(x, i)
				     WHERE u.x->>'op' = 'apply_change'),
				hk AS (
				    -- the change and its lineage's head, as the member's actor sees them (locked)
				    SELECT a.*, y.change_id AS found, y.id, y.status, y.base_version,
				           y.base_record_hash, y.facility_id, y.domain_id, y.title, y.content,
				           h.record_id AS head_id, h.version AS head_version,
				           h.record_hash AS head_hash, h.status AS head_status, h.record_type AS v_type,
				           h.facility_id AS v_facility, h.domain_id AS v_domain
				      FROM a
				      LEFT JOIN LATERAL (SELECT * FROM axiom.change_requests y
				                          WHERE y.change_id = a.change_id FOR UPDATE) y ON true
				      LEFT JOIN LATERAL (SELECT r.record_id, r.version, r.record_hash, r.status,
				                                r.record_type, r.facility_id, r.domain_id
				                           FROM axiom.records r WHERE r.id = y.id
				                          ORDER BY r.version DESC LIMIT 1 FOR UPDATE) h ON true),
				d AS MATERIALIZED (
				    -- what apply_change checks (materialized: read twice below)
				    SELECT hk.*, (hk.actor IS NOT NULL AND hk.et IS NOT NULL AND isfinite(hk.et)
				           AND axiom.user_active_at(hk.actor, hk.et)
				           AND hk.found IS NOT NULL AND hk.head_id IS NOT NULL
				           AND hk.record_id IS NOT NULL AND coalesce(btrim(hk.reason), '') <> ''
				           AND (SELECT r.rank FROM axiom.tier_rank_row(hk.actor, hk.facility_id,
				               hk.domain_id, hk.et, NULL) AS r) >= author_rank
				           AND hk.status = 'approved' AND hk.head_version = hk.base_version
				           AND hk.head_hash = hk.base_record_hash AND hk.head_status <> 'retired'
				           AND hk.claimed = axiom.expected_hash(hk.record_id, hk.id,
				               hk.head_version + 1, hk.head_id, hk.head_hash, hk.v_type, hk.v_facility,
				               hk.v_domain, hk.title, hk.content, hk.actor, hk.et, hk.change_id))
				           AS accept
				      FROM hk),
				p AS (
				    SELECT d.* FROM d WHERE d.accept),
				ins AS (
				    INSERT INTO axiom.records (record_id, id, version, previous_record_id,
				        previous_record_hash, record_hash, record_type, facility_id, domain_id,
				        title, content, created_by, created_at, change_id, ledger_topic,
				        ledger_partition, ledger_seq)
				    SELECT p.record_id, p.id, p.head_version + 1, p.head_id, p.head_hash,
				           p.claimed, p.v_type, p.v_facility, p.v_domain, p.title, p.content,
				           p.actor, p.et, p.change_id, p_topic, p_partition, p_seqs[p.i]
				      FROM p ORDER BY p.i),
				up AS (
				    UPDATE axiom.change_requests x SET status = 'applied',
				           status_changed_at = p.et, applied_record_id = p.record_id
				      FROM p WHERE x.change_id = p.change_id),
				st AS (
				    INSERT INTO axiom.change_request_steps (change_id, step, from_status,
				        to_status, actor, event_time, reason, facility_id, domain_id,
				        ledger_topic, ledger_partition, ledger_seq)
				    SELECT p.change_id, 'apply', p.status, 'applied', p.actor, p.et, p.reason,
				           p.facility_id, p.domain_id, p_topic, p_partition, p_seqs[p.i]
				      FROM p ORDER BY p.i),
				ev AS (
				    INSERT INTO axiom.session_events (actor, event_time, operation, decision,
				        reason_code, reason, command_id, object_id, old_record_id, new_record_id,
				        facility_id, domain_id, ledger_topic, ledger_partition, ledger_seq)
				    SELECT p.actor, p.et, 'apply_change', 'accepted', NULL, p.reason, p.cmd,
				           p.change_id, p.head_id, p.record_id, p.facility_id, p.domain_id,
				           p_topic, p_partition, p_seqs[p.i]
				      FROM p ORDER BY p.i)
				SELECT ARRAY(SELECT CASE WHEN d.accept THEN axiom.accepted(
				                    format('change applied as version %s', d.head_version + 1),
				                    d.id, d.head_version + 1, d.claimed) ELSE tried[g.i] END
				               FROM generate_series(1, n) AS g(i) LEFT JOIN d ON d.i = g.i
				              ORDER BY g.i)
				  INTO tried;
			END IF;
			IF todo IS NULL THEN
				outs := tried;
				budget := n;
			ELSE
				FOR k IN 1..cardinality(todo) LOOP
					outs[todo[k]] := tried[k];
				END LOOP;
			END IF;
			n := 0;
			IF array_position(tried, NULL) IS NOT NULL THEN
				-- the members left: the first on each lineage was refused, the later ones
				-- are deferred, and the refused one before them decided by its function
				lineages := '{}';
				firsts := '{}';
				deferred := '{}';
				FOR k IN 1..cardinality(tried) LOOP
					CONTINUE WHEN (tried[k]).decision IS NOT NULL;
					m := coalesce(todo[k], k);
					j := array_position(lineages, (p_cmds[m]->>'id')::uuid);
					IF j IS NULL THEN
						lineages := lineages || (p_cmds[m]->>'id')::uuid;
						firsts := firsts || m;
					ELSE
						deferred := deferred || m;
						IF NOT firsts[j] = ANY (refused) THEN
							refused := refused || firsts[j];
						END IF;
					END IF;
				END LOOP;
				IF cardinality(deferred) BETWEEN 1 AND budget THEN
					budget := budget - cardinality(deferred);
					todo := deferred;
					n := deferred[cardinality(deferred)];
				ELSE
					-- none, or more than the budget: left to their functions
					refused := '{}';
				END IF;
			END IF;
		EXCEPTION WHEN unique_violation THEN
			IF todo IS NULL THEN
				-- an id in use by a row the actor cannot see: try the first half
				outs := '{}';
				n := n / 2;
			ELSE
				-- in a deferred try: those members are left to their functions
				n := 0;
			END IF;
		END;
		-- no row of the scope outlives the try (0025): the functions below see none
		DELETE FROM axiom.batch_scope WHERE ctid = ANY (scope);
		-- the refused member before each deferred lineage, decided by its function now, in
		-- log order, under its ledger entry: before the versions after it, as in the log
		IF cardinality(refused) > 0 THEN
			FOREACH m IN ARRAY ARRAY(SELECT unnest(refused) ORDER BY 1) LOOP
				PERFORM set_config('axiom.ledger_seq', p_seqs[m]::text, true);
				outs[m] := axiom.dispatch_command(p_cmds[m], p_cmds[m]->>'actor',
				    (p_cmds[m]->>'event_time')::timestamptz, (p_cmds[m]->>'command_id')::uuid,
				    p_topic, p_partition);
			END LOOP;
		END IF;
	END LOOP;
	RETURN outs;
END
$function$;

-- Decide and apply the run p_cmds of change-request commands (propose_change, submit_change,
-- review_change, approve_change, reject_change) as one set, every layer on, and return one
-- element per command, in order: the outcome of an accepted one, NULL for one its function
-- (propose_change, change_transition) would not accept and for every later one on its change (it
-- would start from a status the change does not reach). The caller (partition_commands,
-- 80_batch_entry_point.sql, through step_run) gives only commands it would dispatch, in log
-- order, each with a command id of its own, a proposal only as the first command of the run on
-- its change, and each on a change (and a proposal on a lineage) that no command between the
-- run's first and it reads or writes but the run's own; it decides each NULL one through its
-- function when the batch's loop reaches it, which then gives its exact refusal. A change may
-- come back in the run: its step starts from the status the command before it on the change
-- makes (a proposal: draft). A step changes only its own change request and reads only it, its
-- steps and the control plane (users, grants, record types), which a data batch does not
-- change; a proposal also reads its lineage's head: so deciding the run's commands before the
-- commands between them changes nothing any command gets. Command i of the run takes ledger
-- entry p_seqs[i] as its ledger reference.
-- How: axiom.batch_scope names each command's change (and a proposal's lineage), actor and
-- event time, so the row policies definer_batch_scope of change_requests, change_request_steps
-- and records (L3) let each change and lineage be read and written only as every command of the
-- run on it may; one statement reads and locks the changes and the proposals' heads, checks
-- everything the two functions check (actor enrolled and active, reason, fields; for a
-- proposal the head, the author level in its facility and domain at the event time, a retired
-- record, the base version, a change id not in use; for a step author or not, status, gate, the
-- step's level, not through a delegation from the author, not the reviewer approving, a review
-- earlier in the run included), and for the accepted ones inserts the proposed changes and
-- appends the step rows (L4) and the audit rows, as the functions and finish do, each change
-- with the status and time of its last accepted command (the row the per-command path leaves).
-- A command the set refuses whose actor may not act on a change the run proposes
-- (actor_scope_allows) keeps every command on that change out of the set, as in
-- apply_version_run: its entry hides the change, so the insert of the proposal and of its step
-- rows failed their row policies and the batch raised (a stored change, read through the scope,
-- needs no such check).
-- So does a change whose id is also the lineage of a proposal of the run: the scope's ids are not
-- typed, so that proposal's entry is one on the change too (a producer choosing such a change id,
-- with the proposal's actor unable to act there, made the batch raise the same way).
-- A change id in use by a change the actor cannot see shows only as the insert's key conflict
-- (unique_violation): the statement is then rolled back (one subtransaction per try) and tried
-- again with every proposal left to propose_change. No sequential scan is planned where an
-- index serves, as in apply_version_run. Executable by axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.apply_step_run(p_topic text, p_partition integer, p_seqs bigint[], p_cmds jsonb[])
 RETURNS axiom_api.outcome[]
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
	outs axiom_api.outcome[];
	author_rank integer := axiom.tier_rank('author');
	reviewer_rank integer := axiom.tier_rank('reviewer');
	manager_rank integer := axiom.tier_rank('manager');
	proposals boolean := true;
	scope tid[]; -- the run's entries of batch_scope (as in apply_version_run)
BEGIN
	PERFORM axiom.begin_command(NULL, NULL); -- the set's scope only, no command's identity
	WITH e AS (
	    INSERT INTO axiom.batch_scope (id, actor, event_time)
	    SELECT u.id, x->>'actor', (x->>'event_time')::timestamptz
	      FROM unnest(p_cmds) AS x
	     CROSS JOIN LATERAL (VALUES ((x->>'change_id')::uuid), (CASE WHEN x->>'op' = 'propose_change'
	         THEN (x->>'id')::uuid END)) AS u(id)
	     WHERE u.id IS NOT NULL
	    RETURNING ctid)
	SELECT array_agg(e.ctid) INTO scope FROM e;
	LOOP
		BEGIN
			WITH s AS (
			    SELECT u.i::integer AS i, left(u.x->>'op', -7) AS step, u.x->>'actor' AS actor,
			           (u.x->>'event_time')::timestamptz AS et, (u.x->>'command_id')::uuid AS cmd,
			           (u.x->>'change_id')::uuid AS change_id, u.x->>'reason' AS reason,
			           -- a proposal's own fields, cast as dispatch_command casts them for
			           -- propose_change (change_transition reads no field of these names)
			           CASE WHEN u.x->>'op' = 'propose_change' THEN (u.x->>'id')::uuid END AS id,
			           CASE WHEN u.x->>'op' = 'propose_change'
			               THEN (u.x->>'base_version')::bigint END AS base_claimed,
			           u.x->>'title' AS title,
			           CASE WHEN u.x->>'op' = 'propose_change'
			               THEN decode(u.x->>'content', 'hex') END AS content
			      FROM unnest(p_cmds) WITH ORDINALITY AS u(x, i)),
			c AS (
			    -- each command's place among the run's commands on its change, and the status
			    -- it makes
			    SELECT s.*, row_number() OVER w AS occ,
			           CASE s.step WHEN 'propose' THEN 'draft' WHEN 'submit' THEN 'submitted'
			               WHEN 'review' THEN 'reviewed' WHEN 'approve' THEN 'approved'
			               WHEN 'reject' THEN 'rejected' END AS next_status,
			           CASE s.step WHEN 'propose' THEN author_rank WHEN 'submit' THEN author_rank
			               WHEN 'approve' THEN manager_rank ELSE reviewer_rank END AS needed
			      FROM s WINDOW w AS (PARTITION BY s.change_id ORDER BY s.i)),
			q AS (
			    -- the change as every command of the run on it may see it (locked), or, for a
			    -- proposal, its lineage's head (locked)
			    SELECT c.change_id, x.status, x.author, x.facility_id, x.domain_id,
			           x.base_version, x.record_type, NULL::uuid AS head_id,
			           NULL::bytea AS head_hash, NULL::text AS head_status
			      FROM c
			      JOIN LATERAL (SELECT * FROM axiom.change_requests y
			                     WHERE y.change_id = c.change_id FOR UPDATE) x ON true
			     WHERE c.occ = 1 AND c.step <> 'propose'
			    UNION ALL
			    SELECT c.change_id, NULL, c.actor, h.facility_id, h.domain_id, h.version,
			           h.record_type, h.record_id, h.record_hash, h.status
			      FROM c
			      JOIN LATERAL (SELECT r.record_id, r.version, r.record_hash, r.record_type,
			                           r.facility_id, r.domain_id, r.status
			                      FROM axiom.records r WHERE r.id = c.id
			                     ORDER BY r.version DESC LIMIT 1 FOR UPDATE) h ON true
			     WHERE c.occ = 1 AND c.step = 'propose' AND proposals),
			r AS (
			    -- a later command on the change starts from the status the one before makes
			    SELECT c.*, q.author, q.facility_id, q.domain_id, q.base_version, q.record_type,
			           q.head_id, q.head_hash, q.head_status, t.gate,
			           CASE WHEN c.occ = 1 THEN q.status ELSE lag(c.next_status) OVER w END
			               AS status
			      FROM c JOIN q ON q.change_id = c.change_id
			      LEFT JOIN axiom.record_types t ON t.record_type = q.record_type
			    WINDOW w AS (PARTITION BY c.change_id ORDER BY c.i)),
			d AS MATERIALIZED (
			    -- the functions' refusals, each as it tests it (a NULL test refuses nothing);
			    -- materialized, as in apply_version_run
			    SELECT r.*, (r.actor IS NOT NULL AND r.et IS NOT NULL AND isfinite(r.et)
			           AND axiom.user_active_at(r.actor, r.et)
			           AND coalesce(btrim(r.reason), '') <> ''
			           AND ((SELECT k.rank FROM axiom.tier_rank_row(r.actor, r.facility_id,
			               r.domain_id, r.et, NULL) AS k) < r.needed) IS NOT TRUE
			           AND CASE WHEN r.step = 'propose' THEN r.occ = 1
			               AND r.title IS NOT NULL AND r.content IS NOT NULL
			               AND r.head_status IS DISTINCT FROM 'retired'
			               AND r.base_claimed IS NOT DISTINCT FROM r.base_version
			               AND NOT EXISTS (SELECT 1 FROM axiom.change_requests y
			                   WHERE y.change_id = r.change_id)
			           ELSE r.step IN ('submit', 'review', 'approve', 'reject')
			           AND (r.step = 'submit' AND r.author <> r.actor) IS NOT TRUE
			           AND (r.step <> 'submit' AND r.author = r.actor) IS NOT TRUE
			           AND (r.step = 'submit' AND r.status <> 'draft') IS NOT TRUE
			           AND (r.step <> 'submit' AND r.status = 'draft') IS NOT TRUE
			           AND (r.step = 'review' AND r.gate NOT LIKE 'review_approve%') IS NOT TRUE
			           AND (r.step = 'review' AND r.status <> 'submitted') IS NOT TRUE
			           AND (r.step = 'approve' AND r.gate LIKE 'review_approve%'
			               AND r.status = 'submitted') IS NOT TRUE
			           AND (r.step = 'approve' AND r.status NOT IN ('submitted', 'reviewed'))
			               IS NOT TRUE
			           AND (r.step = 'reject' AND r.status NOT IN ('submitted', 'reviewed'))
			               IS NOT TRUE
			           AND (r.step <> 'submit' AND (SELECT k.rank FROM axiom.tier_rank_row(r.actor,
			               r.facility_id, r.domain_id, r.et, r.author) AS k) < r.needed) IS NOT TRUE
			           AND (r.step = 'approve' AND r.gate <> 'review_approve_reviewer_may_approve'
			               AND (EXISTS (SELECT 1 FROM axiom.change_request_steps v
			                       WHERE v.change_id = r.change_id AND v.step = 'review'
			                         AND v.actor = r.actor)
			                   OR EXISTS (SELECT 1 FROM c v WHERE v.change_id = r.change_id
			                       AND v.i < r.i AND v.step = 'review' AND v.actor = r.actor)))
			               IS NOT TRUE END) AS accept
			      FROM r),
			hidden AS (
			    -- the changes the run proposes that a refused command's actor may not act on,
			    -- or whose id is also the lineage of a proposal of the run (see above; a
			    -- stored change, read through the scope, shows that every entry on it may act
			    -- there)
			    SELECT d.change_id FROM d
			     WHERE d.change_id IS NOT NULL AND d.head_id IS NOT NULL AND d.accept IS NOT TRUE
			       AND NOT coalesce(axiom.actor_scope_allows(d.actor, d.et, d.facility_id,
			           d.domain_id), false)
			    UNION ALL
			    SELECT s.id FROM s WHERE s.id IS NOT NULL),
			g AS (
			    -- a command after a refused one on its change is left to its function too,
			    -- and every command on a hidden change
			    SELECT d.*, bool_and(d.accept IS TRUE) OVER (PARTITION BY d.change_id
			               ORDER BY d.i ROWS UNBOUNDED PRECEDING)
			           AND d.change_id NOT IN (SELECT hidden.change_id FROM hidden) AS go
			      FROM d),
			p AS (
			    SELECT g.* FROM g WHERE g.go),
			l AS (
			    -- each change's last accepted command
			    SELECT DISTINCT ON (p.change_id) p.change_id, p.next_status, p.et
			      FROM p ORDER BY p.change_id, p.i DESC),
			ins AS (
			    INSERT INTO axiom.change_requests (change_id, id, base_version, base_record_hash,
			        record_type, facility_id, domain_id, title, content, author, reason,
			        proposed_at, status, status_changed_at, ledger_topic, ledger_partition,
			        ledger_seq)
			    SELECT p.change_id, p.id, p.base_version, p.head_hash, p.record_type,
			           p.facility_id, p.domain_id, p.title, p.content, p.actor, p.reason, p.et,
			           l.next_status, l.et, p_topic, p_partition, p_seqs[p.i]
			      FROM p JOIN l ON l.change_id = p.change_id
			     WHERE p.step = 'propose' ORDER BY p.i),
			up AS (
			    UPDATE axiom.change_requests x SET status = l.next_status, status_changed_at = l.et
			      FROM l
			     WHERE x.change_id = l.change_id
			       AND NOT EXISTS (SELECT 1 FROM p WHERE p.change_id = l.change_id
			           AND p.step = 'propose')),
			st AS (
			    INSERT INTO axiom.change_request_steps (change_id, step, from_status, to_status,
			        actor, event_time, reason, facility_id, domain_id, ledger_topic,
			        ledger_partition, ledger_seq)
			    SELECT p.change_id, p.step, p.status, p.next_status, p.actor, p.et, p.reason,
			           p.facility_id, p.domain_id, p_topic, p_partition, p_seqs[p.i]
			      FROM p ORDER BY p.i),
			ev AS (
			    INSERT INTO axiom.session_events (actor, event_time, operation, decision,
			        reason_code, reason, command_id, object_id, old_record_id, new_record_id,
			        facility_id, domain_id, ledger_topic, ledger_partition, ledger_seq)
			    SELECT p.actor, p.et, p.step || '_change', 'accepted', NULL, p.reason, p.cmd,
			           p.change_id, CASE WHEN p.step = 'propose' THEN p.head_id END, NULL,
			           p.facility_id, p.domain_id, p_topic,
			           p_partition, p_seqs[p.i]
			      FROM p ORDER BY p.i)
			SELECT ARRAY(SELECT CASE WHEN g.go IS NOT TRUE THEN NULL WHEN g.step = 'propose'
			                    THEN axiom.accepted('change proposed', g.change_id, g.base_version)
			                    ELSE axiom.accepted(format('change %s', g.next_status),
			                        g.change_id, g.base_version) END
			               FROM s LEFT JOIN g ON g.i = s.i ORDER BY s.i)
			  INTO outs;
			EXIT;
		EXCEPTION WHEN unique_violation THEN
			-- a change id in use by a change the actor cannot see: every proposal to its
			-- function (a run without proposals inserts no key)
			IF NOT proposals THEN
				RAISE;
			END IF;
			proposals := false;
		END;
	END LOOP;
	DELETE FROM axiom.batch_scope WHERE ctid = ANY (scope); -- no row of it outlives the run (0025)
	RETURN outs;
END
$function$;

-- Approve change p_change_id: change_transition('approve'), manager level, neither its author
-- nor a delegate of its author, not its reviewer unless the gate allows it, reviewed first
-- under a review gate.
CREATE OR REPLACE FUNCTION axiom_api.approve_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('approve', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Read for the applier (axiom_user executes it): the lineage, title and content of change
-- p_change_id as p_actor sees it at p_event_time (no row when the actor is not active or may
-- not see the change), so that the applier can compute in C the record hash of the version
-- apply_change will create. Writes nothing, no audit row; clears the identity before it
-- returns.
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

-- Not called by the applier since migration 0021: dispatch_command calls the overload with
-- p_reason below; only SQL tests call this one directly, as the definer (ax_dbtest.h, 0101,
-- 0103). Kept until a migration drops it. It makes the same checks as that overload, without
-- reason_required, and its audit row has no reason.
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
			o := axiom.insufficient_access_level('creating a record', axiom.tier_rank('author'),
			    p_actor, p_facility_id, rt.domain_id, p_event_time);
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
				    p_facility_id, rt.domain_id, p_title, p_content, p_actor, p_event_time, NULL, h);
				o := CASE WHEN h IS NULL THEN axiom.not_found_or_denied()
				    ELSE axiom.accepted('created version 1', p_id, 1, h) END;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('create_record', p_actor, p_event_time, p_command_id, o, NULL, p_id,
	    NULL, p_record_id, p_facility_id, rt.domain_id);
END
$function$;

-- Create version 1 of lineage p_id: record id p_record_id, type p_record_type (whose domain
-- is the record's), facility p_facility_id, title and content, created by p_actor at
-- p_event_time; the reason is kept in the audit row. Refusals, in this order: invalid_command
-- (a missing id, title or content), reason_required, not_found_or_denied (unknown record type,
-- or no access at all in that facility and domain), insufficient_access_level (L2: below the
-- author level), hash_mismatch (L6), not_found_or_denied (the lineage id or record id is in
-- use, whether the actor can see it or not: the hash is checked first, so no answer tells a
-- hidden lineage from a visible one, L3). The outcome carries the lineage, version 1 and its
-- record hash.
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
			o := axiom.insufficient_access_level('creating a record', axiom.tier_rank('author'),
			    p_actor, p_facility_id, rt.domain_id, p_event_time);
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
				    p_facility_id, rt.domain_id, p_title, p_content, p_actor, p_event_time, NULL, h);
				o := CASE WHEN h IS NULL THEN axiom.not_found_or_denied()
				    ELSE axiom.accepted('created version 1', p_id, 1, h) END;
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('create_record', p_actor, p_event_time, p_command_id, o, p_reason, p_id,
	    NULL, p_record_id, p_facility_id, rt.domain_id);
END
$function$;

-- Read for the applier (axiom_user executes it): the head of lineage p_id (record id,
-- version, record hash, type, facility, domain) as p_actor sees it at p_event_time, no row when
-- the actor is not active or may not see it (L3), so that the applier can compute in C the
-- record hash of the next version before it sends the command; the database computes it again.
-- Writes nothing, no audit row; clears the identity before it returns.
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

-- Not called by the applier since migration 0021: dispatch_command calls the overload with
-- p_reason below; only SQL tests call this one directly, as the definer (0102, 0103, 0105,
-- 0106). Kept until a migration drops it. It makes the same checks as that overload, without
-- reason_required, and its audit row has no reason.
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
			o := axiom.insufficient_access_level('a new version', axiom.tier_rank('author'),
			    p_actor, head.facility_id, head.domain_id, p_event_time);
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
				    p_content, p_actor, p_event_time, NULL, h);
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

-- Create the next version of lineage p_id directly (record types with gate 'none'): record id
-- p_record_id, title and content, created by p_actor at p_event_time, linked to the head; the
-- reason is kept in the audit row. Refusals, in this order: invalid_command (a missing id,
-- title or content), reason_required, not_found_or_denied (no head the actor may see, L3),
-- insufficient_access_level (L2: below the author level), change_control_required (the record
-- type has a review gate), record_retired, stale_previous_hash (p_previous_record_hash is not
-- the head's), hash_mismatch (L6), not_found_or_denied (the record id is in use). The outcome
-- carries the lineage, the new version and its record hash.
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
			o := axiom.insufficient_access_level('a new version', axiom.tier_rank('author'),
			    p_actor, head.facility_id, head.domain_id, p_event_time);
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
				    p_content, p_actor, p_event_time, NULL, h);
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

-- Propose change p_change_id to lineage p_id, based on head version p_base_version, with a new
-- title and content; the change starts as a draft with a propose step. Refusals, in this
-- order: invalid_command (a missing id, title or content), not_found_or_denied (no head the
-- actor may see), reason_required, insufficient_access_level (L2: below the author level),
-- record_retired, stale_base (p_base_version is not the head), not_found_or_denied (the
-- change id is in use).
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
			o := axiom.insufficient_access_level('proposing a change', axiom.tier_rank('author'),
			    p_actor, head.facility_id, head.domain_id, p_event_time);
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

-- Reject change p_change_id: change_transition('reject'), reviewer level, neither its author
-- nor a delegate of its author.
CREATE OR REPLACE FUNCTION axiom_api.reject_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('reject', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Review change p_change_id: change_transition('review'), reviewer level, neither its author
-- nor a delegate of its author, only under a review gate.
CREATE OR REPLACE FUNCTION axiom_api.review_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('review', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Submit draft change p_change_id for review or approval: change_transition('submit'), by its
-- author only, at the author level.
CREATE OR REPLACE FUNCTION axiom_api.submit_change(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_change_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT axiom.change_transition('submit', p_actor, p_event_time, p_command_id, p_change_id, p_reason) $function$;

-- Move head version p_version of lineage p_id to p_to_status: draft -> effective, effective
-- -> retired, or draft -> retired. Making a version effective retires the lineage's earlier
-- effective versions. Refusals, in this order: not_found_or_denied (no head the actor may
-- see), reason_required, insufficient_access_level (L2: below the manager level), not_head
-- (p_version is not the head), invalid_transition. Only the lifecycle columns change (L5); the
-- audit row's operation is transition_record:<status>.
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
			o := axiom.insufficient_access_level('a lifecycle transition',
			    axiom.tier_rank('manager'), p_actor, head.facility_id, head.domain_id,
			    p_event_time);
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
