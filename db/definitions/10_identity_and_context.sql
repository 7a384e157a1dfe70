-- axiom-migrate: run-as=admin
--
-- db/definitions/10_identity_and_context.sql - Identity and context: who acts, at which event time, in this transaction.
--
-- Every per-command function starts with axiom.begin_command, which sets three transaction-local
-- settings: the actor, the event time in microseconds, and a MAC over both bound to this backend
-- and transaction (axiom.context_mac, keyed by axiom.context_key, which only the definer reads).
-- The row policies of 45_row_level_security.sql trust the actor and event time only with a valid
-- MAC, so a session that sets the settings itself sees nothing. axiom.finish writes the audit
-- trail row (axiom.session_events) of every decision and ends the identity; accepted, rejected
-- and not_found_or_denied build the outcome a command returns.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/ax_migrate.h); the migrations of db/ hold the history.

-- An accepted outcome.
CREATE OR REPLACE FUNCTION axiom.accepted(p_message text, p_object_id uuid DEFAULT NULL::uuid, p_version bigint DEFAULT NULL::bigint, p_record_hash bytea DEFAULT NULL::bytea)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 IMMUTABLE
AS $function$
	SELECT ROW('accepted', NULL, p_message, p_object_id, p_version, p_record_hash)::axiom_api.outcome
$function$;

-- Make (actor, event time) the identity the definer's row policies see, until cleared
-- (NULL, NULL clears it); only called after the API function validated both.
CREATE OR REPLACE FUNCTION axiom.begin_command(p_actor text, p_event_time timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
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

-- The MAC binding (actor, event time) to this backend and this transaction.
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

-- Append the outcome of an operation to the audit trail, end the command's identity, and
-- return the outcome.
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

-- The one refusal for "does not exist" and "may not see or use".
CREATE OR REPLACE FUNCTION axiom.not_found_or_denied()
 RETURNS axiom_api.outcome
 LANGUAGE sql
 IMMUTABLE
AS $function$
	SELECT axiom.rejected('not_found_or_denied', 'no such object, or the actor may not use it')
$function$;

-- A rejected outcome with a stable reason code.
CREATE OR REPLACE FUNCTION axiom.rejected(p_code text, p_message text)
 RETURNS axiom_api.outcome
 LANGUAGE sql
 IMMUTABLE
AS $function$
	SELECT ROW('rejected', p_code, p_message, NULL, NULL, NULL)::axiom_api.outcome
$function$;

-- Check the identity part of a command and make it the row-policy identity; NULL when the
-- command may proceed, else the outcome to return.
CREATE OR REPLACE FUNCTION axiom.start_command(p_actor text, p_event_time timestamp with time zone)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	PERFORM axiom.begin_command(NULL, NULL); -- whatever the caller SET is gone
	IF p_actor IS NULL OR p_event_time IS NULL OR NOT isfinite(p_event_time) THEN
		RETURN axiom.rejected('invalid_command', 'actor and event time are required');
	END IF;
	IF NOT axiom.user_active_at(p_actor, p_event_time) THEN
		RETURN axiom.not_found_or_denied();
	END IF;
	PERFORM axiom.begin_command(p_actor, p_event_time);
	RETURN NULL;
END
$function$;
