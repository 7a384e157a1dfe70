-- axiom-migrate: run-as=admin
--
-- db/definitions/10_identity_and_context.sql - Identity and context: who acts, at which event
-- time, in this transaction; and the outcome and audit-trail row of every command.
--
-- Every per-command function (50_control_plane.sql, 60_data_plane.sql, 70_esignatures.sql) starts
-- with axiom.start_command, which checks the actor and event time and then calls
-- axiom.begin_command: three transaction-local settings, the actor, the event time in
-- microseconds, and a MAC over both bound to this backend and transaction (axiom.context_mac,
-- keyed by axiom.context_key, which only axiom_definer reads). The row policies of
-- 45_row_level_security.sql trust the actor and event time only with a valid MAC, checked once
-- per statement by axiom.context_identity, so a session that sets the settings itself sees
-- nothing (layer L3). Every per-command function ends with axiom.finish, which writes the
-- audit-trail row (axiom.session_events) of the decision, accepted or rejected, and clears the
-- identity (layer L4). accepted, rejected and not_found_or_denied build the outcome
-- (axiom_api.outcome) that a command returns.
-- Tests: 0101-db-privileges (identity cannot be spoofed), 0102-db-rls.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- The outcome of an accepted command: decision 'accepted', no reason code, p_message, and the
-- object id, version and record hash the command produced, when it produced one. A pure
-- constructor for the per-command functions and the batch.
CREATE OR REPLACE FUNCTION axiom.accepted(p_message text, p_object_id uuid DEFAULT NULL::uuid, p_version bigint DEFAULT NULL::bigint, p_record_hash bytea DEFAULT NULL::bytea)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 IMMUTABLE
AS $function$
	SELECT ROW('accepted', NULL, p_message, p_object_id, p_version, p_record_hash)::axiom_api.outcome
$function$;

-- Set the identity the row policies of axiom_definer read, as three transaction-local
-- settings: axiom.actor, axiom.event_time_us (microseconds since the epoch) and
-- axiom.context_mac (context_mac of both); (NULL, NULL) clears all three. Called by
-- start_command, and with (NULL, NULL) by finish and by the read functions lineage_head and
-- change_content to end the identity. Runs with the caller's rights; only axiom_definer may
-- execute it (90_ownership_and_privileges.sql). Every name in it is schema-qualified, so it
-- needs no SET search_path of its own (one setting saved and restored per call: it runs two to
-- three times per command).
CREATE OR REPLACE FUNCTION axiom.begin_command(p_actor text, p_event_time timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
	us pg_catalog.text := axiom.timestamp_us(p_event_time)::pg_catalog.text;
BEGIN
	PERFORM pg_catalog.set_config('axiom.actor', coalesce(p_actor, ''), true),
	    pg_catalog.set_config('axiom.event_time_us', coalesce(us, ''), true),
	    pg_catalog.set_config('axiom.context_mac', CASE WHEN p_actor IS NULL
	        OR p_event_time IS NULL THEN '' ELSE axiom.context_mac(p_actor, us) END, true);
END
$function$;

-- The MAC that binds (actor, event time in microseconds) to this backend and this transaction:
-- hex SHA-256 of the key in axiom.context_key followed by the canonical encodings of the tag
-- 'axiom/context/v1', the actor, the event time, pg_backend_pid() and transaction_timestamp().
-- Only axiom_definer may execute it or read axiom.context_key, so no login can compute a MAC
-- that context_identity accepts (L3). Not PARALLEL SAFE: a parallel worker has another pid.
CREATE OR REPLACE FUNCTION axiom.context_mac(p_actor text, p_event_time_us text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
AS $function$
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
$function$;

-- The acting identity the row policy definer_actor_scope (45_row_level_security.sql) trusts:
-- one row (the actor of the setting axiom.actor, and the event time of axiom.event_time_us,
-- microseconds since the epoch) while axiom.actor and axiom.event_time_us are set and
-- axiom.context_mac is their valid MAC for this backend and transaction (context_mac); no row
-- otherwise, so a caller-SET identity is no identity. The settings are read once, and the
-- values returned are those the MAC was checked on. The policy reads it as a function scan
-- without arguments, which PostgreSQL runs once per statement and only rewinds for each further
-- row (PL/pgSQL, so it is never inlined into the row's expression). Executable by axiom_definer
-- only.
CREATE OR REPLACE FUNCTION axiom.context_identity()
 RETURNS TABLE(actor text, event_time timestamp with time zone)
 LANGUAGE plpgsql
 STABLE ROWS 1
AS $function$
DECLARE
	a pg_catalog.text := coalesce(pg_catalog.current_setting('axiom.actor', true), '');
	us pg_catalog.text := coalesce(pg_catalog.current_setting('axiom.event_time_us', true), '');
	m pg_catalog.text := coalesce(pg_catalog.current_setting('axiom.context_mac', true), '');
BEGIN
	IF a OPERATOR(pg_catalog.<>) '' AND us OPERATOR(pg_catalog.<>) ''
	   AND m OPERATOR(pg_catalog.=) axiom.context_mac(a, us) THEN
		actor := a;
		event_time := 'epoch'::pg_catalog.timestamptz OPERATOR(pg_catalog.+)
		    (us::pg_catalog.int8 OPERATOR(pg_catalog.*) '1 microsecond'::pg_catalog.interval);
		RETURN NEXT;
	END IF;
END
$function$;

-- Append the audit-trail row of a decided command to axiom.session_events (actor, event time,
-- operation, decision, reason code, p_reason, command id, object, old version, the new version
-- only when accepted, facility, domain; the ledger reference columns take the batch's settings),
-- clear the identity (begin_command(NULL, NULL)) and return p_outcome unchanged. Every
-- per-command function returns through it, refusals included (L4).
CREATE OR REPLACE FUNCTION axiom.finish(p_operation text, p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_outcome axiom_api.outcome, p_reason text, p_object_id uuid, p_old_record_id uuid, p_new_record_id uuid, p_facility_id text, p_domain_id text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
$function$;

-- The one refusal for an object that does not exist and for one the actor may not see or use:
-- reason not_found_or_denied with one message, so no answer tells the two apart (L3: no
-- existence oracle).
CREATE OR REPLACE FUNCTION axiom.not_found_or_denied()
 RETURNS axiom_api.outcome
 LANGUAGE sql
 IMMUTABLE
AS $function$
	SELECT axiom.rejected('not_found_or_denied', 'no such object, or the actor may not use it')
$function$;

-- The outcome of a refused command: decision 'rejected', the stable reason code p_code
-- (docs/security-layers.md, "Reason codes of the API") and p_message. Business refusals are
-- outcomes, never exceptions.
CREATE OR REPLACE FUNCTION axiom.rejected(p_code text, p_message text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 IMMUTABLE
AS $function$
	SELECT ROW('rejected', p_code, p_message, NULL, NULL, NULL)::axiom_api.outcome
$function$;

-- The first step of every per-command function: clear whatever identity the caller set; refuse
-- a command without an actor or with a missing or infinite event time (invalid_command); answer
-- not_found_or_denied when the actor is not enrolled and active at the event time
-- (user_active_at); otherwise make (actor, event time) the row-policy identity (begin_command).
-- Returns NULL when the command may go on, else the refusal to return. The read functions
-- lineage_head and change_content use it too (L2, L3).
CREATE OR REPLACE FUNCTION axiom.start_command(p_actor text, p_event_time timestamp with time zone)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	-- whatever identity the caller SET is gone on every path: cleared on a refusal, replaced
	-- otherwise (the checks between read no row policy's identity)
	IF p_actor IS NULL OR p_event_time IS NULL OR NOT isfinite(p_event_time) THEN
		PERFORM axiom.begin_command(NULL, NULL);
		RETURN axiom.rejected('invalid_command', 'actor and event time are required');
	END IF;
	IF NOT axiom.user_active_at(p_actor, p_event_time) THEN
		PERFORM axiom.begin_command(NULL, NULL);
		RETURN axiom.not_found_or_denied();
	END IF;
	PERFORM axiom.begin_command(p_actor, p_event_time);
	RETURN NULL;
END
$function$;
