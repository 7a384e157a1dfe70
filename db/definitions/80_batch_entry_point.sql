-- axiom-migrate: run-as=admin
--
-- db/definitions/80_batch_entry_point.sql - The batch entry point: the only door from the log
-- to regulated rows.
--
-- axiom_api.apply_partition_batch is the one function through which the applier's login
-- (axiom_user) changes anything (layer L1): it checks the partition's claim (claim_conflict for a
-- writer that lost the partition), then axiom.partition_batch checks the stored offset
-- (compare-and-set: the batch applies only if the offset is still the one the writer read) and
-- hands the commands to axiom.partition_commands, which, per command, sets the ledger reference
-- settings, decides (duplicate, tick, or dispatch_command to the per-command function of
-- 50_control_plane.sql, 60_data_plane.sql or 70_esignatures.sql) and appends the ledger entry
-- whose hash chains the partition (canonical encoding v1, layer L6); a run of new records and
-- new versions, and a run of proposals and change steps, is decided as one set instead
-- (version_run and step_run, and apply_version_run and apply_step_run in 60_data_plane.sql),
-- with exactly the outcomes, rows and entries the per-command functions give (test 0109) and
-- every layer on. All of it commits in the caller's one transaction with the new offset, so
-- each command is applied exactly once. The
-- functions beside it serve the applier: claim_partition (on assignment), the reads
-- next_offset, partition_event_time, control_watermark and ledger_entries, and
-- store_checkpoint (the relay's signed checkpoints). axiom_user executes these six and
-- apply_partition_batch, nothing else here (90_ownership_and_privileges.sql).
--
-- Invariants (consumers/ax_batch.h states the C side of the same):
--  (1) the control watermark only grows: the running maximum of the event times of the applied
--      control commands, ticks included;
--  (2) a claim waits for the batch that holds the partition and then reads the next offset that
--      batch stored: a new owner starts exactly where the last committed batch ended;
--  (3) a data command at event time T is decided only when the watermark is beyond T; the batch
--      stops at the first one that is not, and the applier waits for a control message after T;
--  (4) a batch whose claim is not the partition's latest (claim_conflict) or whose expected next
--      offset is not the stored one (offset_conflict) raises SQLSTATE AX409 and rolls back whole;
--  (5) a command id is applied at most once per ledger (topic and partition): a republished one
--      is a rejected duplicate_command, chained in the ledger like any other outcome;
--  (6) within a partition, ledger offsets increase and ledger event times never decrease
--      (event_time_regressed stops the partition);
--  (7) every regulated row inserted by a command names that command's ledger entry;
--  (8) deciding commands as a set changes nothing a command gets: a run decided by version_run
--      or step_run gets the outcomes, rows and ledger entries the per-command functions give
--      it, in the same order, and axiom.batch_scope, the run's row-policy scope, holds rows
--      only while a try of apply_version_run or apply_step_run runs (never while a per-command
--      function runs, never committed).
-- Tests: 0106-db-tamper-detection, 0109-db-set-based-equals-per-command, 0500-0515
-- (0505-apply-zombie-fenced, 0507-apply-stale-owner, 0509-apply-ledger-is-the-only-door,
-- 0510-apply-one-command-id-on-two-topics).
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- p as a uuid when PostgreSQL's uuid input reads it as one, else NULL: the batch's readers of
-- command ids, which must not raise where a cast would, and must read every id as the functions'
-- casts then read it. That input takes 32 hex digits, in either case, with a hyphen allowed after
-- any group of four but the last, the whole optionally in braces (the texts
-- ^[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}$ and that between { and } match). The canonical
-- 8-4-4-4-12 form, the applier's, is read without a regular expression: 36 characters with a
-- hyphen at 9, 14, 19 and 24, nothing but hex digits and hyphens, and 32 once the hyphens are
-- gone, which took 1.9 us where the expression took 2.6-2.8, and a batch reads its commands' ids
-- about ten times per command; only another text pays for the expression. Until an id in
-- another form was NULL here, so the batch's duplicate check and its set runs' windows did not
-- see a command id, lineage, record or change written so, while its function read it: such a
-- command was applied again under its id in braces, or decided after a member it should have
-- preceded (test 0106 compares this function with the cast, 0109 the batches). Inlined by the
-- planner.
CREATE OR REPLACE FUNCTION axiom.uuid_or_null(p text)
 RETURNS uuid
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN p OPERATOR(pg_catalog.~~) '________-____-____-____-____________'
	    AND pg_catalog.ltrim(p, '0123456789abcdefABCDEF-') OPERATOR(pg_catalog.=) ''
	    AND pg_catalog.octet_length(pg_catalog.replace(p, '-', '')) OPERATOR(pg_catalog.=) 32
	    THEN p::pg_catalog.uuid
	    WHEN p OPERATOR(pg_catalog.~) '^[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}$'
	      OR p OPERATOR(pg_catalog.~) '^\{[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}\}$'
	    THEN p::pg_catalog.uuid END
$function$;

-- The 32 bytes p names when p is 64 hex digits (a message's SHA-256 as the applier sends it,
-- "payload_sha256", in lowercase; either case is read, as decode(p, 'hex') reads it for a
-- quarantined message's outcome, so that its ledger entry and its outcome never name two
-- hashes), else NULL: the texts ^[0-9a-fA-F]{64}$ matches. Not a regular
-- expression: PostgreSQL's took about 6 us for this one, once per command of every batch; this
-- takes under 1 us (test 0106 compares the two). Inlined by the planner.
CREATE OR REPLACE FUNCTION axiom.sha256_hex_or_null(p text)
 RETURNS bytea
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
	SELECT CASE WHEN pg_catalog.octet_length(p) OPERATOR(pg_catalog.=) 64
	    AND pg_catalog.ltrim(p, '0123456789abcdefABCDEF') OPERATOR(pg_catalog.=) ''
	    THEN pg_catalog.decode(p, 'hex') END
$function$;

-- The event time of command x (an element of a batch's JSON array) when x may join the window
-- of a set run after a command at offset p_off and event time p_et, so that x gets the next
-- ledger entry: an offset of 1 to 18 digits after p_off (any, when p_off is NULL) and an event
-- time before the control watermark p_w and not before p_et (any, when p_et is NULL); else NULL,
-- and the window ends before x. The cast is the one partition_commands makes (a malformed event
-- time raises, and the batch takes its second try). Inlined by the planner (version_run,
-- step_run).
CREATE OR REPLACE FUNCTION axiom.window_event_time(x jsonb, p_off bigint, p_et timestamp with time zone, p_w timestamp with time zone)
 RETURNS timestamp with time zone
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
	SELECT CASE
	    WHEN COALESCE(x OPERATOR(pg_catalog.->>) 'offset', '') OPERATOR(pg_catalog.!~)
	        '^[0-9]{1,18}$' OR (x OPERATOR(pg_catalog.->>) 'event_time') IS NULL THEN NULL
	    WHEN (x OPERATOR(pg_catalog.->>) 'offset')::pg_catalog.int8 OPERATOR(pg_catalog.<=) p_off
	        THEN NULL
	    WHEN (x OPERATOR(pg_catalog.->>) 'event_time')::pg_catalog.timestamptz
	        OPERATOR(pg_catalog.>=) p_w
	        OR (x OPERATOR(pg_catalog.->>) 'event_time')::pg_catalog.timestamptz
	        OPERATOR(pg_catalog.<) p_et THEN NULL
	    ELSE (x OPERATOR(pg_catalog.->>) 'event_time')::pg_catalog.timestamptz END
$function$;

-- Call the per-command function named by c->>'op' with the fields of command c (an element of
-- the batch's JSON array; bytea fields as lowercase hex without \x), the actor, event time and
-- command id the caller parsed, and the partition (p_topic, p_partition) that sign_record's
-- session and counter rules need. Ops: create_record, new_version, transition_record,
-- propose_change, submit_change, review_change, approve_change, reject_change, apply_change,
-- sign_record (invalid_command without a nonce: the verifier could not re-check it),
-- register_factor, revoke_factor, set_signing_policy, grant_access, revoke_grant, delegate,
-- revoke_delegation, enroll_user, deactivate_user, define_scope, configure_record_type; and
-- quarantine, decided here: decision quarantined, reason "reason_code" (undecodable by
-- default), message "detail" (what refused the bytes, when the applier says), the message's
-- SHA-256 ("payload_sha256") as record_hash. Any other op is
-- invalid_command. Raises a data_exception when a field does not cast (a malformed uuid,
-- timestamp, number or hex); partition_batch then takes the trap path. One branch per op,
-- each a plain expression PL/pgSQL keeps for the transaction: a single CASE over every op
-- started an executor for each command and built all its branches each time. The four change
-- steps call change_transition, the body of their SQL-language wrappers (submit_change and its
-- siblings, which this function runs with the same rights). Executable by axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.dispatch_command(c jsonb, actor text, et timestamp with time zone, cmd uuid, p_topic text, p_partition integer)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	op text := c->>'op';
BEGIN
	IF op = 'create_record' THEN
		RETURN axiom_api.create_record(actor, et, cmd,
		    (c->>'record_id')::uuid, (c->>'id')::uuid, c->>'record_type', c->>'facility_id',
		    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'),
		    c->>'reason');
	ELSIF op = 'new_version' THEN
		RETURN axiom_api.new_version(actor, et, cmd,
		    (c->>'record_id')::uuid, (c->>'id')::uuid, decode(c->>'previous_record_hash', 'hex'),
		    c->>'title', decode(c->>'content', 'hex'), decode(c->>'record_hash', 'hex'),
		    c->>'reason');
	ELSIF op = 'transition_record' THEN
		RETURN axiom_api.transition_record(actor, et, cmd,
		    (c->>'id')::uuid, (c->>'version')::bigint, c->>'to_status', c->>'reason');
	ELSIF op = 'propose_change' THEN
		RETURN axiom_api.propose_change(actor, et, cmd,
		    (c->>'change_id')::uuid, (c->>'id')::uuid, (c->>'base_version')::bigint,
		    c->>'title', decode(c->>'content', 'hex'), c->>'reason');
	ELSIF op IN ('submit_change', 'review_change', 'approve_change', 'reject_change') THEN
		-- the body of axiom_api.submit_change and its three siblings, without the wrapper
		RETURN axiom.change_transition(split_part(op, '_', 1), actor, et, cmd,
		    (c->>'change_id')::uuid, c->>'reason');
	ELSIF op = 'apply_change' THEN
		RETURN axiom_api.apply_change(actor, et, cmd,
		    (c->>'change_id')::uuid, (c->>'record_id')::uuid, decode(c->>'record_hash', 'hex'),
		    c->>'reason');
	ELSIF op = 'sign_record' THEN
		RETURN CASE WHEN c ? 'nonce' THEN axiom_api.sign_record(actor, et,
		    cmd, (c->>'signature_id')::uuid, (c->>'record_id')::uuid, (c->>'id')::uuid,
		    (c->>'version')::bigint, decode(c->>'record_hash', 'hex'), c->>'meaning',
		    decode(c->>'nonce', 'hex'), decode(c->>'intent_hash', 'hex'), p_topic,
		    p_partition,
		    ARRAY(SELECT jsonb_array_elements_text(c->'factor_ids'))::uuid[],
		    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
		    (c->>'user_verified')::boolean, (c->>'sign_count')::bigint, c->>'refusal',
		    c->>'refusal_detail', decode(c->>'proofs', 'hex'), c->>'comment')
		    ELSE axiom.rejected('invalid_command',
		        'a signature needs its nonce and proofs (the verifier re-checks every signature)') END;
	ELSIF op = 'register_factor' THEN
		RETURN axiom_api.register_factor(actor, et, cmd,
		    (c->>'factor_id')::uuid, c->>'factor_type', c->>'user_id',
		    decode(c->>'credential_id', 'hex'), decode(c->>'public_key', 'hex'),
		    (c->>'cose_alg')::integer, c->>'issuer', c->>'audience', c->>'jwks', c->>'reason');
	ELSIF op = 'revoke_factor' THEN
		RETURN axiom_api.revoke_factor(actor, et, cmd,
		    (c->>'factor_id')::uuid, c->>'reason');
	ELSIF op = 'set_signing_policy' THEN
		RETURN axiom_api.set_signing_policy(actor, et, cmd,
		    c->>'record_type', c->>'meaning', (c->>'require_fido2')::boolean,
		    (c->>'require_oidc')::boolean, (c->>'require_password')::boolean, c->>'reason');
	ELSIF op = 'grant_access' THEN
		RETURN axiom_api.grant_access(actor, et, cmd,
		    (c->>'grant_id')::uuid, c->>'user_id', c->>'facility_id', c->>'domain_id',
		    c->>'tier', (c->>'expires_at')::timestamptz, c->>'reason');
	ELSIF op = 'revoke_grant' THEN
		RETURN axiom_api.revoke_grant(actor, et, cmd,
		    (c->>'grant_id')::uuid, c->>'reason');
	ELSIF op = 'delegate' THEN
		RETURN axiom_api.delegate(actor, et, cmd,
		    (c->>'delegation_id')::uuid, (c->>'source_grant_id')::uuid, c->>'delegatee',
		    c->>'kind', (c->>'expires_at')::timestamptz, c->>'reason');
	ELSIF op = 'revoke_delegation' THEN
		RETURN axiom_api.revoke_delegation(actor, et, cmd,
		    (c->>'delegation_id')::uuid, c->>'reason');
	ELSIF op = 'enroll_user' THEN
		RETURN axiom_api.enroll_user(actor, et, cmd, c->>'user_id',
		    c->>'printed_name', coalesce((c->>'administrator')::boolean, false),
		    (c->>'db_role')::name, c->>'reason');
	ELSIF op = 'deactivate_user' THEN
		RETURN axiom_api.deactivate_user(actor, et, cmd,
		    c->>'user_id', c->>'reason');
	ELSIF op = 'define_scope' THEN
		RETURN axiom_api.define_scope(actor, et, cmd, c->>'kind',
		    c->>'key', c->>'name');
	ELSIF op = 'configure_record_type' THEN
		RETURN axiom_api.configure_record_type(actor, et, cmd,
		    c->>'record_type', c->>'domain_id', c->>'gate');
	ELSIF op = 'quarantine' THEN
		RETURN ROW('quarantined', coalesce(c->>'reason_code', 'undecodable'),
		    coalesce(c->>'detail', 'the message was quarantined'), NULL, NULL,
		    decode(c->>'payload_sha256', 'hex'))::axiom_api.outcome;
	ELSE
		RETURN axiom.rejected('invalid_command',
		    format('unknown operation %s', coalesce(c->>'op', '(none)')));
	END IF;
END
$function$;

-- The run of create_record, new_version and apply_change commands of p_cmds from p_from on
-- (p_from itself one, at most p_cap of them) that apply_version_run (60_data_plane.sql) decides
-- as one set before the commands the run steps over, and its outcomes: ordinals are the
-- members' places in p_cmds, candidates their number, outs what apply_version_run returns for
-- the members before the run's cut: an accepted member's outcome or one its function gave
-- inside the run, NULL for one the set leaves to its function (partition_commands decides
-- those, and the member at the cut, one by one). Deciding a member before a command that
-- precedes it in the log changes nothing only when neither can see the other, so the run steps
-- over a command only when it is a change step that touches no record (submit, review, approve,
-- reject), a propose_change, an apply_change that is not a member, transition_record or
-- sign_record, whose lineage and record id no later member may then use, a tick or a
-- quarantine; no member may reuse a command id of the window or a record id of another member,
-- nor create a lineage another member used (a new version of one builds on the version before
-- it). An apply_change's lineage is its change's, read as its actor sees it (change_content);
-- it is a member when that change is stored and visible, when its lineage and record id are
-- free as a new record's are (the run's only command on that lineage: no later member may use
-- it either), and when no command of the window before it names its change but one decided
-- already (p_pre: an earlier run's member, whose rows are stored); apply_version_run is given
-- that lineage as the member's "id". Every command of the window must get the next ledger
-- entry (the seq of command j is p_seq + j - p_from): an offset after the previous one (after
-- p_last_off, the ledger's last, for the first) and an event time before the control watermark
-- p_w and not before the previous one (p_last_et for the first); a command id of p_applied (the
-- caller passes every command id of the batch this ledger applied before, in an earlier batch
-- or earlier in this one) ends the run before that member (invariant 5). Executable by
-- axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.version_run(p_topic text, p_partition integer, p_w timestamp with time zone, p_cmds jsonb[], p_from integer, p_cap integer, p_seq bigint, p_last_off bigint, p_last_et timestamp with time zone, p_applied uuid[], p_pre axiom_api.outcome[], OUT outs axiom_api.outcome[], OUT ordinals integer[], OUT candidates integer)
 RETURNS record
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	j integer := p_from;
	x jsonb;
	op text;
	off bigint := p_last_off;
	et timestamptz := p_last_et;
	x_et timestamptz;
	-- the command's ids, NULL where one is missing or not a uuid
	x_cmd uuid;
	x_id uuid;
	x_rid uuid;
	x_chg uuid;
	-- what members use, and what the commands stepped over may see or use; the changes the
	-- window named, but by commands decided already
	lineages uuid[] := '{}';
	record_ids uuid[] := '{}';
	command_ids uuid[] := '{}';
	seen_lineages uuid[] := '{}';
	seen_records uuid[] := '{}';
	changes uuid[] := '{}';
	member_cmds uuid[] := '{}';
	members jsonb[] := '{}';
	dup integer;
BEGIN
	ordinals := '{}';
	WHILE j <= cardinality(p_cmds) AND cardinality(ordinals) < p_cap LOOP
		x := p_cmds[j];
		op := x->>'op';
		x_et := axiom.window_event_time(x, off, et, p_w);
		EXIT WHEN x_et IS NULL;
		x_cmd := axiom.uuid_or_null(x->>'command_id');
		x_id := axiom.uuid_or_null(x->>'id');
		x_rid := axiom.uuid_or_null(x->>'record_id');
		x_chg := CASE WHEN op LIKE '%\_change' THEN axiom.uuid_or_null(x->>'change_id') END;
		-- a command id of the window used again is a duplicate, decided in log order
		EXIT WHEN x_cmd = ANY (command_ids);
		IF op = 'apply_change' THEN
			-- the lineage it versions is its change's, read as its actor sees it; a change
			-- that actor cannot see is not_found_or_denied in any order, and one proposed in
			-- the window, not stored yet, is named before it
			x_id := (SELECT c.id FROM axiom_api.change_content(x->>'actor', x_et, x_chg) c);
			IF x_cmd IS NOT NULL AND x_id IS NOT NULL AND x_rid IS NOT NULL
			    AND (p_pre[j]).decision IS NULL
			    AND NOT x_chg = ANY (changes) AND NOT x_id = ANY (lineages || seen_lineages)
			    AND NOT x_rid = ANY (record_ids || seen_records) THEN
				-- a member, the only one on its lineage: no later member may use it
				ordinals := ordinals || j;
				members := members || (x || jsonb_build_object('id', x_id));
				seen_lineages := seen_lineages || x_id;
				record_ids := record_ids || x_rid;
				member_cmds := member_cmds || x_cmd;
				x_id := NULL;
				x_rid := NULL;
			END IF;
		ELSIF op IN ('create_record', 'new_version') THEN
			EXIT WHEN x_cmd IS NULL OR x_id IS NULL OR x_rid IS NULL;
			-- a lineage again: only as a new version, on the one the run made before it
			EXIT WHEN (op = 'create_record' AND x_id = ANY (lineages))
			    OR x_rid = ANY (record_ids) OR x_id = ANY (seen_lineages)
			    OR x_rid = ANY (seen_records);
			ordinals := ordinals || j;
			members := members || x;
			lineages := lineages || x_id;
			record_ids := record_ids || x_rid;
			member_cmds := member_cmds || x_cmd;
			x_id := NULL;
			x_rid := NULL;
		ELSIF op IN ('submit_change', 'review_change', 'approve_change', 'reject_change',
		    'propose_change', 'transition_record', 'sign_record', 'tick', 'quarantine') THEN
			-- stepped over: what it reads or writes of records is out of the later members'
			-- reach (its lineage and record id; a change step reads no record)
			-- (a malformed id makes that command raise, and the batch takes its second try)
			NULL;
		ELSE
			EXIT;
		END IF;
		-- the change it names, unless decided already (stored), is out of the later members'
		-- reach; and so are the lineage and record id of a command stepped over
		IF x_chg IS NOT NULL AND (p_pre[j]).decision IS NULL THEN
			changes := changes || x_chg;
		END IF;
		IF x_id IS NOT NULL THEN
			seen_lineages := seen_lineages || x_id;
		END IF;
		IF x_rid IS NOT NULL THEN
			seen_records := seen_records || x_rid;
		END IF;
		IF x_cmd IS NOT NULL THEN
			command_ids := command_ids || x_cmd;
		END IF;
		off := (x->>'offset')::bigint;
		et := x_et;
		j := j + 1;
	END LOOP;
	-- the first member whose command id this ledger applied before (p_applied): the run ends
	-- before it
	SELECT min(u.i) INTO dup FROM unnest(member_cmds) WITH ORDINALITY AS u(id, i)
	 WHERE u.id = ANY (p_applied);
	candidates := coalesce(dup - 1, cardinality(ordinals));
	ordinals := ordinals[1:candidates];
	outs := CASE WHEN candidates > 0 THEN axiom.apply_version_run(p_topic, p_partition,
	    ARRAY(SELECT p_seq + o - p_from FROM unnest(ordinals) AS o),
	    members[1:candidates]) ELSE '{}' END;
END
$function$;

-- The run of change-request commands (proposals and the steps submit, review, approve and
-- reject; "members") of p_cmds from p_from on (p_from itself one, at most p_cap of them) that
-- apply_step_run (60_data_plane.sql) decides as one set before the commands the run steps over,
-- and its outcomes: ordinals are the members' places in p_cmds, outs what apply_step_run returns
-- for them (an accepted member's outcome, NULL for one it leaves to its function, which
-- partition_commands then decides alone, in log order). No run (both empty) for fewer than four
-- members: their functions cost about as much (one backend, the applier's generic plans, rolled
-- back: a proposal and its three steps 1.7-2.3 ms as a run, 2.0-2.6 ms through the four
-- functions; eight commands 2.8-3.1 ms against 3.9-4.0). A member is decided before the
-- commands between the run's first and it, which changes nothing only when none of them reads
-- or writes its change, nor, for a proposal, writes its lineage, but the run's own members. So
-- the run steps over the commands that read no change request (create_record, new_version,
-- transition_record: the lineage each names is then out of the later proposals' reach;
-- sign_record, tick, quarantine) and over the commands that name a change otherwise
-- (apply_change, whose lineage, its change's, stored and read as its actor sees it, and that of
-- every proposal of its change id in the window, whichever is accepted, is then out of the
-- proposals' reach too; a member the caller decided already or left to its function, p_pre
-- and p_alone; a proposal on such a lineage or of a change the window named before; a step on
-- a change named so before it), whose change no later member may then be on; any other
-- command ends the window. A proposal is a member only as the
-- window's first command on its change. A command id of the window used twice, or a member's
-- that this ledger applied before (p_applied: earlier batches and earlier in this one), ends
-- the run before it (invariant 5). Every command of the window must get the next ledger entry,
-- as for version_run (the seq of command j is p_seq + j - p_from). Executable by
-- axiom_definer only.
CREATE OR REPLACE FUNCTION axiom.step_run(p_topic text, p_partition integer, p_w timestamp with time zone, p_cmds jsonb[], p_from integer, p_cap integer, p_seq bigint, p_last_off bigint, p_last_et timestamp with time zone, p_applied uuid[], p_pre axiom_api.outcome[], p_alone integer[], OUT outs axiom_api.outcome[], OUT ordinals integer[])
 RETURNS record
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	j integer := p_from;
	x jsonb;
	op text;
	off bigint := p_last_off;
	et timestamptz := p_last_et;
	x_et timestamptz;
	x_cmd uuid;
	x_chg uuid;
	x_id uuid;
	-- the changes the window named, those no later member may be on, the lineages the commands
	-- stepped over write, the proposals of the window (change, lineage) and the lineages of the
	-- member proposals, the window's command ids
	named uuid[] := '{}';
	touched uuid[] := '{}';
	written uuid[] := '{}';
	proposed_changes uuid[] := '{}';
	proposed_lineages uuid[] := '{}';
	member_lineages uuid[] := '{}';
	command_ids uuid[] := '{}';
BEGIN
	ordinals := '{}';
	outs := '{}';
	WHILE j <= cardinality(p_cmds) AND cardinality(ordinals) < p_cap LOOP
		x := p_cmds[j];
		op := x->>'op';
		x_et := axiom.window_event_time(x, off, et, p_w);
		EXIT WHEN x_et IS NULL;
		x_cmd := axiom.uuid_or_null(x->>'command_id');
		-- a command id of the window used again is a duplicate, decided in log order
		EXIT WHEN x_cmd = ANY (command_ids);
		x_chg := CASE WHEN op LIKE '%\_change' THEN axiom.uuid_or_null(x->>'change_id') END;
		x_id := CASE WHEN op IN ('propose_change', 'create_record', 'new_version',
		    'transition_record') THEN axiom.uuid_or_null(x->>'id') END;
		IF op IN ('submit_change', 'review_change', 'approve_change', 'reject_change',
		    'propose_change') THEN
			-- (a malformed id makes that command raise, and the batch takes its second try)
			EXIT WHEN x_cmd IS NULL OR x_chg IS NULL
			    OR (op = 'propose_change' AND x_id IS NULL);
			IF x_chg = ANY (touched) OR (p_pre[j]).decision IS NOT NULL OR j = ANY (p_alone)
			    OR (op = 'propose_change' AND (x_chg = ANY (named) OR x_id = ANY (written))) THEN
				touched := touched || x_chg;
			ELSE
				EXIT WHEN x_cmd = ANY (p_applied);
				ordinals := ordinals || j;
				IF op = 'propose_change' THEN
					member_lineages := member_lineages || x_id;
				END IF;
			END IF;
			named := named || x_chg;
			IF op = 'propose_change' THEN
				proposed_changes := proposed_changes || x_chg;
				proposed_lineages := proposed_lineages || x_id;
			END IF;
		ELSIF op = 'apply_change' THEN
			IF x_chg IS NOT NULL THEN
				touched := touched || x_chg;
				named := named || x_chg;
				-- the lineage it versions is its change's: the stored change's (read as its
				-- actor sees it; a change that actor cannot see changes nothing) or, for a
				-- change proposed in the window, its proposal's; which proposal of a change id
				-- is accepted is known only once decided, so every one of them counts
				x_id := (SELECT c.id FROM axiom_api.change_content(x->>'actor', x_et, x_chg) c);
				written := written || ARRAY(SELECT x_id WHERE x_id IS NOT NULL UNION ALL
				    SELECT u.l FROM unnest(proposed_changes, proposed_lineages) AS u(c, l)
				     WHERE u.c = x_chg);
			END IF;
		ELSIF op IN ('create_record', 'new_version', 'transition_record') THEN
			IF x_id IS NOT NULL THEN
				written := written || x_id;
			END IF;
		ELSIF op NOT IN ('sign_record', 'tick', 'quarantine') THEN
			EXIT;
		END IF;
		-- a version or an applied change decided already (by version_run) is never after a
		-- member proposal on its lineage: version_run steps over a proposal and keeps its
		-- lineage out (a proposal decided by an earlier run of steps may be: proposals do not
		-- read each other)
		IF op <> 'propose_change' AND (p_pre[j]).decision IS NOT NULL
		    AND x_id = ANY (member_lineages) THEN
			RAISE EXCEPTION 'step run of %/% at command % would decide a proposal before command %, a version of its lineage decided already',
			    p_topic, p_partition, p_from, j USING ERRCODE = 'internal_error';
		END IF;
		IF x_cmd IS NOT NULL THEN
			command_ids := command_ids || x_cmd;
		END IF;
		off := (x->>'offset')::bigint;
		et := x_et;
		j := j + 1;
	END LOOP;
	IF cardinality(ordinals) < 4 THEN
		ordinals := '{}';
	ELSE
		outs := axiom.apply_step_run(p_topic, p_partition,
		    ARRAY(SELECT p_seq + o - p_from FROM unnest(ordinals) AS o),
		    ARRAY(SELECT p_cmds[o] FROM unnest(ordinals) AS o));
	END IF;
END
$function$;

-- The batch of apply_partition_batch once its claim is checked; owned by axiom_definer, no
-- login may execute it. Raises invalid_parameter_value without instance, topic, partition,
-- control flag or a JSON array of commands. Locks the partition's offset row and compares the
-- stored next offset with p_expected (NULL: none stored): offset_conflict, AX409 (invariant
-- 4). Reads the control watermark (and locks it for a control batch). Runs partition_commands
-- in one subtransaction; when that raised a data_exception (a malformed command), runs it
-- again with p_trap, which gives the same outcomes and ledger entries with the malformed
-- command rejected as invalid_command. Returns one row per decided command, in order (ordinal,
-- offset, decision, reason code, message, object id, version, record hash); stores the offset
-- after the last decided command (store_next_offset, offset_conflict again if it moved) and,
-- for a control batch, raises the watermark to the greatest event time decided (invariant 1).
-- Data commands at or beyond the watermark are left undecided and unstored for a later
-- batch (invariant 3).
CREATE OR REPLACE FUNCTION axiom.partition_batch(p_instance text, p_topic text, p_partition integer, p_control boolean, p_expected bigint, p_commands jsonb)
 RETURNS TABLE(ordinal integer, kafka_offset bigint, decision text, reason_code text, message text, object_id uuid, version bigint, record_hash bytea)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	stored bigint;
	found_row boolean;
	w timestamptz;
	outs axiom.batch_outcome[];
	x axiom.batch_outcome;
	next_off bigint;
	o axiom_api.outcome;
BEGIN
	IF p_instance IS NULL OR p_topic IS NULL OR p_partition IS NULL OR p_control IS NULL
	    OR jsonb_typeof(p_commands) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'instance, topic, partition, control flag and a json array of commands are required'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- fencing first (invariant 4): lock the offset row and compare
	SELECT po.next_offset, true INTO stored, found_row FROM axiom.partition_offsets po
	 WHERE po.topic = p_topic AND po.kafka_partition = p_partition FOR UPDATE;
	IF coalesce(found_row, false) <> (p_expected IS NOT NULL) OR stored IS DISTINCT FROM p_expected THEN
		RAISE EXCEPTION 'offset_conflict: the stored next offset of %/% is %, not %', p_topic,
		    p_partition, coalesce(stored::text, 'unset'), coalesce(p_expected::text, 'unset')
		    USING ERRCODE = 'AX409',
		          HINT = 'Another applier instance owns this partition; this one must stop.';
	END IF;

	-- no lock for data batches: every check of the API is a function of the event time, so a
	-- control commit landing meanwhile (event time > w >= T) cannot change their decisions
	IF p_control THEN
		SELECT cw.event_time INTO w FROM axiom.control_watermark cw FOR UPDATE;
	ELSE
		SELECT cw.event_time INTO w FROM axiom.control_watermark cw;
	END IF;

	-- one subtransaction for the batch; a malformed command sends it down 0008's path
	BEGIN
		outs := ARRAY(SELECT b FROM axiom.partition_commands(p_topic, p_partition, p_control,
		    p_expected, w, p_commands, false) b);
	EXCEPTION WHEN data_exception THEN
		outs := ARRAY(SELECT b FROM axiom.partition_commands(p_topic, p_partition, p_control,
		    p_expected, w, p_commands, true) b);
	END;

	next_off := p_expected;
	FOREACH x IN ARRAY outs LOOP
		IF p_control AND x.event_time > w THEN
			w := x.event_time;
		END IF;
		next_off := x.kafka_offset + 1;
		ordinal := x.ordinal;
		kafka_offset := x.kafka_offset;
		decision := x.decision;
		reason_code := x.reason_code;
		message := x.message;
		object_id := x.object_id;
		version := x.version;
		record_hash := x.record_hash;
		RETURN NEXT;
	END LOOP;

	IF next_off IS DISTINCT FROM p_expected THEN
		o := axiom_api.store_next_offset(p_instance, p_topic, p_partition, p_expected, next_off);
		IF o.decision <> 'accepted' THEN
			RAISE EXCEPTION 'offset_conflict: %', o.message USING ERRCODE = 'AX409';
		END IF;
	END IF;
	IF p_control THEN
		UPDATE axiom.control_watermark SET event_time = w, updated_by = p_instance
		 WHERE event_time < w;
	END IF;
END
$function$;

-- Decide the commands p_commands of (p_topic, p_partition) in order and return their outcomes
-- (axiom.batch_outcome); the caller, partition_batch, holds the partition's offset row lock. Per
-- command: raise invalid_parameter_value for a missing offset or event time or an offset that goes
-- back; stop at the first data command whose event time is not before the watermark p_w (invariant
-- 3); raise event_time_regressed (internal_error) for an event time before the ledger's last
-- (invariant 6); decide: duplicate_command when this ledger applied the command id before, in an
-- earlier batch or earlier in this one (invariant 5), accepted for a tick, else dispatch_command,
-- or, for a create_record or new_version on the normal path of a data batch, the outcome
-- version_run decided for it: the run of such commands from this one on, stepping over the
-- commands that cannot see them, decided as one set (invariant 8); the members the set left to
-- their functions (refused, or after a refused one on its lineage beyond what the run's deferred
-- tries take) and the member that cut a run (a key conflict) are then dispatched alone, in log
-- order; a run after a cut may be at most twice the members decided before it; likewise, for a
-- proposal or a change step, the outcome step_run decided for it (the run of such commands from
-- this one on, at most 64, when four or more of them are left in the batch; the ones it leaves
-- to their functions dispatched alone in log order). A refused command costs its share of a set
-- statement and its own function, so a producer of refusals costs about twice the per-command
-- work at most. axiom.ledger_topic and axiom.ledger_partition name the partition for the batch,
-- and axiom.ledger_seq the entry a command will get before its function runs: every row a
-- function inserts takes them as its ledger reference (invariant 7; a set run names each
-- member's entry itself). Then the ledger entry (seq, offset, command id, actor, event time,
-- decision, reason code, record hash, previous entry hash, entry_hash = SHA-256 of
-- canon_ledger_v1) when the offset is after the ledger's last, and the command id for
-- applied_commands. p_trap false, the normal path: the partition's ledger lock (the advisory lock
-- append_ledger_entry takes) once for the batch, no per-command subtransaction, so a malformed
-- field raises out of the batch, and the batch's entries and applied command ids inserted in one
-- statement each after the last command (no function of a command reads either table). p_trap
-- true, partition_batch's second try: each command goes through apply_batch, whose per-command
-- trap turns a malformed command into invalid_command, and each entry through
-- append_ledger_entry. The ledger settings are cleared at the end. Executable by axiom_definer
-- only.
CREATE OR REPLACE FUNCTION axiom.partition_commands(p_topic text, p_partition integer, p_control boolean, p_expected bigint, p_w timestamp with time zone, p_commands jsonb, p_trap boolean)
 RETURNS SETOF axiom.batch_outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	cmds jsonb[] := ARRAY(SELECT jsonb_array_elements(p_commands));
	-- their command ids, NULL where one is missing or not a uuid
	ids uuid[] := ARRAY(SELECT axiom.uuid_or_null(x->>'command_id') FROM unnest(cmds) AS x);
	c jsonb;
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
	l_payload bytea;
	l_detail text;
	last_seq bigint;
	last_off bigint;
	last_hash bytea;
	last_et timestamptz;
	h bytea;
	res axiom.batch_outcome;
	zero constant bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
	-- the outcomes set runs (version_run) decided, by place in the batch; the last run's
	-- outcomes and members; the members a run left to their function (dispatched alone, not
	-- tried again as a run); the longest run to try next
	pre axiom_api.outcome[] := '{}';
	run_outs axiom_api.outcome[];
	run_ords integer[];
	run_candidates integer;
	alone integer[] := '{}';
	run_cap integer := 64;
	k integer;
	-- the batch's ledger entries and applied command ids (the normal path inserts them in
	-- one statement each at the end; no function of a command reads either table); an entry
	-- is one value of the ledger's row type (its columns in table order): one assignment per
	-- command, where an array per column took twelve
	entries axiom.ledger[] := '{}';
	a_cmd uuid[] := '{}';
	a_off bigint[] := '{}';
	-- the batch's command ids this ledger applied in an earlier batch (read once)
	prior uuid[];
	-- the places of the batch's proposals and change steps, in order (a data batch's normal
	-- path; NULL otherwise, and no step run)
	step_places integer[];
	applied_at integer;
	dup_at text;
BEGIN
	IF NOT p_trap THEN
		-- append_ledger_entry's lock, once for the batch
		PERFORM pg_advisory_xact_lock(hashtextextended(p_topic || '/' || p_partition::text, 7));
	END IF;
	SELECT l.seq, l.kafka_offset, l.entry_hash, l.event_time
	  INTO last_seq, last_off, last_hash, last_et
	  FROM axiom.ledger l WHERE l.topic = p_topic AND l.kafka_partition = p_partition
	 ORDER BY l.seq DESC LIMIT 1;
	IF NOT p_trap AND NOT p_control THEN
		-- where the batch's proposals and change steps are: a step run needs four of them
		step_places := ARRAY(SELECT u.i::integer FROM unnest(cmds) WITH ORDINALITY AS u(x, i)
		                      WHERE u.x->>'op' IN ('propose_change', 'submit_change',
		                          'review_change', 'approve_change', 'reject_change')
		                      ORDER BY u.i);
	END IF;
	-- one index probe per command: as "command_id = ANY (ids)", a generic plan made without
	-- the table's statistics read every command id the partition ever applied
	prior := ARRAY(SELECT a.command_id FROM unnest(ids) AS x
	                CROSS JOIN LATERAL (SELECT a.command_id FROM axiom.applied_commands a
	                                     WHERE a.topic = p_topic AND a.kafka_partition = p_partition
	                                       AND a.command_id = x LIMIT 1) a);
	PERFORM set_config('axiom.ledger_topic', p_topic, true),
	    set_config('axiom.ledger_partition', p_partition::text, true);
	FOR n IN 1..coalesce(cardinality(cmds), 0) LOOP
		c := cmds[n];
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
		cmd := ids[n];
		l_actor := c->>'actor';
		l_et := et;
		l_cmd := cmd;
		l_hash := NULL;
		-- outside the ledger hash (db/0024): the SHA-256 of the message bytes, and below what
		-- decided a refusal
		l_payload := axiom.sha256_hex_or_null(c->>'payload_sha256');
		-- where this ledger applied the command id before: earlier in this batch (an array
		-- lookup, no statement) or in an earlier one (prior: one indexed read for a hit)
		dup_at := NULL;
		applied_at := array_position(a_cmd, cmd);
		IF applied_at IS NOT NULL THEN
			dup_at := p_topic || '/' || p_partition || '@' || a_off[applied_at];
		ELSIF cmd = ANY (prior) THEN
			dup_at := (SELECT a.topic || '/' || a.kafka_partition || '@' || a.kafka_offset
			             FROM axiom.applied_commands a WHERE a.topic = p_topic
			              AND a.kafka_partition = p_partition AND a.command_id = cmd);
		END IF;
		IF dup_at IS NOT NULL AND (pre[n]).decision IS NOT NULL THEN
			-- version_run takes no duplicate (invariant 8): never store a run's rows under one
			RAISE EXCEPTION 'set run decided command % of %/% at offset %, a duplicate', n,
			    p_topic, p_partition, off USING ERRCODE = 'internal_error';
		ELSIF dup_at IS NOT NULL THEN
			o := axiom.rejected('duplicate_command', format(
			    'command %s was already applied (%s)', cmd, dup_at));
			l_reason := o.reason_code;
			IF p_trap THEN
				PERFORM axiom_api.append_ledger_entry(l_actor, et, p_topic, p_partition, off,
				    cmd, o.decision, o.reason_code, NULL, l_payload, left(o.message, 2000));
			END IF;
		ELSIF c->>'op' = 'tick' THEN
			o := axiom.accepted('control watermark tick');
			l_reason := 'tick';
			IF p_trap THEN
				PERFORM axiom_api.append_ledger_entry(l_actor, et, p_topic, p_partition, off,
				    cmd, o.decision, 'tick', NULL, l_payload, NULL);
			END IF;
		ELSIF p_trap THEN
			PERFORM set_config('axiom.ledger_seq', (coalesce(last_seq, 0) + 1)::text, true);
			SELECT b.decision, b.reason_code, b.message, b.object_id, b.version, b.record_hash
			  INTO r FROM axiom_api.apply_batch(p_topic, p_partition, jsonb_build_array(c)) b;
			o := ROW(r.decision, r.reason_code, r.message, r.object_id, r.version, r.record_hash);
		ELSE
			-- apply_batch's parsing, without its trap: a malformed field raises
			l_et := (c->>'event_time')::timestamptz;
			l_cmd := (c->>'command_id')::uuid;
			IF (pre[n]).decision IS NULL AND NOT n = ANY (alone) AND NOT p_control
			    AND c->>'op' IN ('create_record', 'new_version') THEN
				-- decide this command and the run that follows it as one set
				SELECT vr.outs, vr.ordinals, vr.candidates
				  INTO run_outs, run_ords, run_candidates
				  FROM axiom.version_run(p_topic, p_partition, p_w, cmds, n, run_cap,
				      coalesce(last_seq, 0) + 1, last_off, last_et, a_cmd || prior, pre) vr;
				-- the members before the cut: accepted, or left to their function
				k := cardinality(run_outs);
				FOR j IN 1..k LOOP
					IF (run_outs[j]).decision IS NULL THEN
						alone := alone || run_ords[j];
					ELSE
						pre[run_ords[j]] := run_outs[j];
					END IF;
				END LOOP;
				-- a cut: its member goes alone, and the next run may be at most twice the
				-- members decided before it; longer runs after none
				IF k < run_candidates THEN
					alone := alone || run_ords[k + 1];
				END IF;
				run_cap := CASE WHEN k < run_candidates THEN greatest(2, 2 * k)
				    ELSE least(64, 2 * run_cap) END;
			END IF;
			IF (pre[n]).decision IS NULL AND NOT n = ANY (alone)
			    AND cardinality(step_places) - array_position(step_places, n) >= 3 THEN
				-- decide this change-request command and the run of them that follows as one
				-- set
				SELECT sr.outs, sr.ordinals INTO run_outs, run_ords
				  FROM axiom.step_run(p_topic, p_partition, p_w, cmds, n, 64,
				      coalesce(last_seq, 0) + 1, last_off, last_et, a_cmd || prior, pre, alone) sr;
				FOR j IN 1..coalesce(cardinality(run_outs), 0) LOOP
					IF (run_outs[j]).decision IS NULL THEN
						alone := alone || run_ords[j];
					ELSE
						pre[run_ords[j]] := run_outs[j];
					END IF;
				END LOOP;
			END IF;
			IF (pre[n]).decision IS NOT NULL THEN
				o := pre[n];
			ELSE
				PERFORM set_config('axiom.ledger_seq', (coalesce(last_seq, 0) + 1)::text, true);
				o := axiom.dispatch_command(c, l_actor, l_et, l_cmd, p_topic, p_partition);
			END IF;
			l_reason := o.reason_code;
			l_hash := o.record_hash;
		END IF;
		-- at most 2,000 characters: an audit reader's caps stay far away
		l_detail := CASE WHEN o.decision <> 'accepted' THEN left(o.message, 2000) END;
		-- append_ledger_entry's entry, with its refusals (no entry for an offset that does not
		-- increase): the same seq, links and hash
		IF off >= 0 AND (last_seq IS NULL OR off > last_off) THEN
			IF NOT p_trap THEN
				h := sha256(axiom.canon_ledger_v1(p_topic, p_partition, coalesce(last_seq, 0) + 1,
				    off, l_cmd, l_actor, l_et, o.decision, l_reason, l_hash,
				    coalesce(last_hash, zero)));
				entries := entries || ROW(p_topic, p_partition, coalesce(last_seq, 0) + 1, off,
				    l_cmd, l_actor, l_et, o.decision, l_reason, l_hash, coalesce(last_hash, zero), h,
				    l_payload, l_detail)::axiom.ledger;
				last_hash := h;
			END IF;
			last_seq := coalesce(last_seq, 0) + 1;
			last_off := off;
			last_et := et;
		END IF;
		IF cmd IS NOT NULL AND o.reason_code IS DISTINCT FROM 'duplicate_command' THEN
			a_cmd := a_cmd || cmd;
			a_off := a_off || off;
		END IF;
		next_off := off + 1;
		res := ROW(n, off, et, o.decision,
		    CASE WHEN c->>'op' = 'tick' AND o.decision = 'accepted' THEN 'tick' ELSE o.reason_code END,
		    o.message, o.object_id, o.version, o.record_hash);
		RETURN NEXT res;
	END LOOP;
	INSERT INTO axiom.ledger (topic, kafka_partition, seq, kafka_offset, command_id, actor,
	    event_time, decision, reason_code, record_hash, previous_entry_hash, entry_hash,
	    payload_hash, reason_detail)
	SELECT u.topic, u.kafka_partition, u.seq, u.kafka_offset, u.command_id, u.actor,
	       u.event_time, u.decision, u.reason_code, u.record_hash, u.previous_entry_hash,
	       u.entry_hash, u.payload_hash, u.reason_detail
	  FROM unnest(entries) AS u
	 ORDER BY u.seq;
	INSERT INTO axiom.applied_commands
	SELECT u.applied_cmd, p_topic, p_partition, u.applied_off
	  FROM unnest(a_cmd, a_off) AS u(applied_cmd, applied_off);
	-- nothing after the batch's commands may claim one of their entries
	PERFORM set_config('axiom.ledger_topic', '', true),
	    set_config('axiom.ledger_partition', '', true), set_config('axiom.ledger_seq', '', true);
END
$function$;

-- Append the outcome of the command at p_offset to the ledger chain of (p_topic, p_partition)
-- under the partition's advisory lock; the database computes seq (the last one + 1),
-- previous_entry_hash (the last entry's, 32 zero bytes for the first) and entry_hash (SHA-256
-- of canon_ledger_v1). p_actor is the command's actor (NULL for undecodable input).
-- p_payload_hash (the SHA-256 of the message bytes) and p_reason_detail (what decided a
-- refusal) are kept beside the entry, outside its hash (db/0024; both default NULL). Refusals:
-- invalid_command (a missing topic, partition, offset, event time or decision, a negative
-- offset, a decision other than accepted, rejected, quarantined), offset_not_increasing
-- (p_offset is not after the last entry's). Returns the entry's seq as version and its hash as
-- record_hash (L6). Called inside a batch only on the trap path (partition_commands with
-- p_trap, apply_batch); SQL tests call it directly as the definer; no login may execute it
-- (L1).
CREATE OR REPLACE FUNCTION axiom_api.append_ledger_entry(p_actor text, p_event_time timestamp with time zone, p_topic text, p_partition integer, p_offset bigint, p_command_id uuid, p_decision text, p_reason_code text, p_record_hash bytea, p_payload_hash bytea DEFAULT NULL::bytea, p_reason_detail text DEFAULT NULL::text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
	INSERT INTO axiom.ledger (topic, kafka_partition, seq, kafka_offset, command_id, actor,
	    event_time, decision, reason_code, record_hash, previous_entry_hash, entry_hash,
	    payload_hash, reason_detail)
	VALUES (p_topic, p_partition, seq, p_offset, p_command_id, p_actor, p_event_time,
	    p_decision, p_reason_code, p_record_hash, prev, h, p_payload_hash, p_reason_detail);
	RETURN axiom.accepted(format('ledger entry %s', seq), NULL, seq, h);
END
$function$;

-- Apply the ordered commands p_commands of (p_topic, p_partition) and return their outcomes
-- in order (ordinal from 1). Each element is an object with "op", "actor", "event_time" (ISO
-- 8601 with offset), "command_id", the operation's fields (dispatch_command), and optionally
-- "offset": then the outcome is also appended to the partition's ledger
-- (append_ledger_entry), with the element's "payload_sha256" (64 hex digits: the SHA-256 of
-- the message bytes) as its payload_hash and, for a refusal, the outcome's message as its
-- reason_detail (db/0024). Each element runs in its own subtransaction: a malformed one is
-- rejected as invalid_command and never aborts the batch. No claim, offset, watermark or
-- duplicate check of its own. No longer the applier's entry point (apply_partition_batch is),
-- and no login may execute it (L1): partition_commands calls it, one command at a time, only
-- on its trap path, and SQL tests call it directly as the definer.
CREATE OR REPLACE FUNCTION axiom_api.apply_batch(p_topic text, p_partition integer, p_commands jsonb)
 RETURNS TABLE(ordinal integer, decision text, reason_code text, message text, object_id uuid, version bigint, record_hash bytea)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
			o := axiom.dispatch_command(c, actor, et, cmd, p_topic, p_partition);
		EXCEPTION WHEN data_exception THEN
			o := axiom.rejected('invalid_command', 'malformed command: ' || SQLERRM);
		END;
		IF c ? 'offset' AND et IS NOT NULL THEN
			PERFORM axiom_api.append_ledger_entry(actor, et, p_topic, p_partition,
			    (c->>'offset')::bigint, cmd, o.decision, o.reason_code, o.record_hash,
			    axiom.sha256_hex_or_null(c->>'payload_sha256'),
			    CASE WHEN o.decision <> 'accepted' THEN left(o.message, 2000) END);
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
$function$;

-- The applier's batch: the only function through which axiom_user changes anything (L1).
-- Refuses, before it reads or writes anything else, a batch whose p_claim is not the
-- partition's latest claim (claim_conflict, SQLSTATE AX409: another instance claimed the
-- partition since; this writer must stop), and holds that claim row FOR SHARE until commit, so
-- a new claim waits for this batch (invariant 2); then runs partition_batch: the offset
-- compare-and-set against p_expected, the commands decided in order with their ledger entries,
-- the next offset stored, all in the caller's one transaction. p_commands is a JSON array of
-- objects with "offset", "event_time", "command_id", "actor", "op" and the op's fields;
-- p_control says whether (p_topic, p_partition) is the control partition. Returns one row per
-- decided command, in order.
CREATE OR REPLACE FUNCTION axiom_api.apply_partition_batch(p_instance text, p_topic text, p_partition integer, p_control boolean, p_expected bigint, p_claim bigint, p_commands jsonb)
 RETURNS TABLE(ordinal integer, kafka_offset bigint, decision text, reason_code text, message text, object_id uuid, version bigint, record_hash bytea)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	latest bigint;
BEGIN
	SELECT c.claim INTO latest FROM axiom.partition_claims c
	 WHERE c.topic = p_topic AND c.kafka_partition = p_partition FOR SHARE;
	IF latest IS DISTINCT FROM p_claim THEN
		RAISE EXCEPTION 'claim_conflict: the latest claim of %/% is %, not %', p_topic,
		    p_partition, coalesce(latest::text, 'none'), coalesce(p_claim::text, 'none')
		    USING ERRCODE = 'AX409',
		          HINT = 'Another applier instance claimed this partition; this one must stop.';
	END IF;
	RETURN QUERY SELECT * FROM axiom.partition_batch(p_instance, p_topic, p_partition,
	    p_control, p_expected, p_commands);
END
$function$;

-- Claim (p_topic, p_partition) for applier instance p_instance, on partition assignment: the
-- claim number grows by one (1 for the first claim), so every later batch of an earlier
-- claimant fails with claim_conflict (invariant 4). Returns the new claim and the stored next
-- offset (NULL when none), read in a statement of its own after the claim's row lock was
-- granted: the offset the batch holding the partition, if any, left (invariant 2). Raises
-- invalid_parameter_value without instance, topic or a partition >= 0. axiom_user executes
-- it.
CREATE OR REPLACE FUNCTION axiom_api.claim_partition(p_instance text, p_topic text, p_partition integer, OUT next_offset bigint, OUT claim bigint)
 RETURNS record
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	IF p_instance IS NULL OR p_topic IS NULL OR p_partition IS NULL OR p_partition < 0 THEN
		RAISE EXCEPTION 'instance, topic and partition are required'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO axiom.partition_claims AS c
	VALUES (p_topic, p_partition, 1, p_instance, clock_timestamp())
	ON CONFLICT (topic, kafka_partition) DO UPDATE
	   SET claim = c.claim + 1, claimed_by = excluded.claimed_by,
	       claimed_at = excluded.claimed_at
	RETURNING c.claim INTO claim;
	-- a statement of its own, so its snapshot is taken after the claim's row lock was granted
	-- (invariant 2)
	SELECT o.next_offset INTO next_offset FROM axiom.partition_offsets o
	 WHERE o.topic = p_topic AND o.kafka_partition = p_partition;
END
$function$;

-- The control watermark: the greatest event time of the applied control commands (invariant
-- 1), -infinity before the first. Read-only; axiom_user executes it.
CREATE OR REPLACE FUNCTION axiom_api.control_watermark()
 RETURNS timestamp with time zone
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT w.event_time FROM axiom.control_watermark w
$function$;

-- The ledger entries of (p_topic, p_partition) after seq p_after, at most p_limit (taken as 1
-- to 10000), in seq order: what the relay publishes on the audit topic, payload_hash and
-- reason_detail included (NULL for entries written before db/0024). Read-only; axiom_user
-- executes it.
CREATE OR REPLACE FUNCTION axiom_api.ledger_entries(p_topic text, p_partition integer, p_after bigint, p_limit integer)
 RETURNS TABLE(seq bigint, kafka_offset bigint, command_id uuid, actor text, event_time timestamp with time zone, decision text, reason_code text, record_hash bytea, previous_entry_hash bytea, entry_hash bytea, payload_hash bytea, reason_detail text)
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT l.seq, l.kafka_offset, l.command_id, l.actor, l.event_time, l.decision,
	       l.reason_code, l.record_hash, l.previous_entry_hash, l.entry_hash, l.payload_hash,
	       l.reason_detail
	  FROM axiom.ledger l
	 WHERE l.topic = p_topic AND l.kafka_partition = p_partition AND l.seq > p_after
	 ORDER BY l.seq
	 LIMIT least(greatest(p_limit, 1), 10000)
$function$;

-- The stored next offset of (p_topic, p_partition), NULL when none: where the applier resumes.
-- Infrastructure state, no actor. Read-only; axiom_user executes it.
CREATE OR REPLACE FUNCTION axiom_api.next_offset(p_topic text, p_partition integer)
 RETURNS bigint
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT o.next_offset FROM axiom.partition_offsets o
	 WHERE o.topic = p_topic AND o.kafka_partition = p_partition
$function$;

-- The event time of the last ledger entry of (p_topic, p_partition), the epoch when it has
-- none: where the applier's running event time of the partition starts, and the time at which
-- it quarantines a message that carries none (not_log_append_time). Read-only; axiom_user
-- executes it.
CREATE OR REPLACE FUNCTION axiom_api.partition_event_time(p_topic text, p_partition integer)
 RETURNS timestamp with time zone
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT coalesce((SELECT l.event_time FROM axiom.ledger l
	                  WHERE l.topic = p_topic AND l.kafka_partition = p_partition
	                  ORDER BY l.seq DESC LIMIT 1),
	                '1970-01-01 00:00:00+00'::timestamptz)
$function$;

-- Store the checkpoint of ledger entry (p_topic, p_partition, p_seq): that entry's hash and
-- event time, signed by key p_key_id (p_public_key, p_signature). Returns 'stored', or
-- 'exists' when the checkpoint of that entry and key was stored before; raises
-- invalid_parameter_value without p_instance or for an entry that does not exist. The
-- database does not check the signature (`axiom verify` and `axiom audit --verify` do).
-- p_instance names the applier for its log only: a replay with the same key rebuilds the same
-- rows. axiom_user executes it (the relay); checkpoints are append-only.
CREATE OR REPLACE FUNCTION axiom_api.store_checkpoint(p_instance text, p_topic text, p_partition integer, p_seq bigint, p_key_id uuid, p_public_key bytea, p_signature bytea)
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	l axiom.ledger;
BEGIN
	SELECT * INTO l FROM axiom.ledger x
	 WHERE x.topic = p_topic AND x.kafka_partition = p_partition AND x.seq = p_seq;
	IF p_instance IS NULL THEN
		RAISE EXCEPTION 'the applier instance is required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF l.seq IS NULL THEN
		RAISE EXCEPTION 'no ledger entry %/% seq % to checkpoint', p_topic, p_partition, p_seq
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO axiom.checkpoints VALUES (p_topic, p_partition, p_seq, l.entry_hash,
	    l.event_time, p_key_id, p_public_key, p_signature)
	ON CONFLICT DO NOTHING;
	RETURN CASE WHEN FOUND THEN 'stored' ELSE 'exists' END;
END
$function$;

-- Store next offset p_next of (p_topic, p_partition) if the stored one is still p_expected
-- (NULL: none stored yet): the fencing compare-and-set. Refusals (outcomes): invalid_command
-- (a missing argument, a negative next offset or one below p_expected), offset_conflict (the
-- stored offset is another: partition_batch then raises AX409 and the batch rolls back).
-- p_actor names the applier instance (updated_by). Called by partition_batch; SQL tests call
-- it directly as the definer; no login may execute it (L1).
CREATE OR REPLACE FUNCTION axiom_api.store_next_offset(p_actor text, p_topic text, p_partition integer, p_expected bigint, p_next bigint)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;
