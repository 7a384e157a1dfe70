-- axiom-migrate: run-as=admin
--
-- db/definitions/50_control_plane.sql - The control plane: users, facilities and domains,
-- grants and delegations, record types.
--
-- Commands of the control topic (schemas/avro/control.avsc) reach these SECURITY DEFINER
-- functions only through the batch entry point (80_batch_entry_point.sql, dispatch_command);
-- they are owned by axiom_definer and no login of the project (axiom_user, axiom_analytics,
-- axiom_auditor) may execute them (90_ownership_and_privileges.sql; layer L1). Each one starts
-- with axiom.start_command, checks the actor's authority at the command's event time (layer L2:
-- an active administrator, or for revoke_delegation the delegator; 40_authorization.sql),
-- refuses a missing reason where the command takes one (reason_required), writes its rows (whose
-- ledger reference columns take the entry the batch set), and returns through axiom.finish,
-- which writes the audit-trail row of the outcome, refusals included. Control rows are never
-- deleted; grants, users and record types change only their lifecycle columns
-- (30_integrity_triggers.sql). Tests: 0104-db-delegation, 0513-apply-reason-required,
-- 0514-apply-same-instant, 0511-apply-separation-of-duties.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- Revoke grant p_grant_id and, transitively, every delegation derived from it, at p_event_time
-- by p_actor: revoked_at, revoked_by, and the reason (for a derived delegation "source grant
-- <id> revoked: <reason>"). A grant already revoked at or before p_event_time is left as it
-- is; one revoked later gets the earlier time. Returns how many grants it revoked. Internal to
-- revoke_grant and revoke_delegation, which do the checks; it checks nothing itself.
CREATE OR REPLACE FUNCTION axiom.revoke_cascade(p_grant_id uuid, p_actor text, p_event_time timestamp with time zone, p_reason text)
 RETURNS integer
 LANGUAGE sql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	WITH RECURSIVE tree AS (
		SELECT g.grant_id FROM axiom.grants g WHERE g.grant_id = p_grant_id
		UNION
		SELECT d.grant_id FROM axiom.grants d JOIN tree t ON d.source_grant_id = t.grant_id
	), done AS (
		UPDATE axiom.grants g SET revoked_at = p_event_time, revoked_by = p_actor,
		    revoke_reason = CASE WHEN g.grant_id = p_grant_id THEN p_reason
		        ELSE 'source grant ' || p_grant_id::text || ' revoked: ' || p_reason END
		  FROM tree t
		 WHERE g.grant_id = t.grant_id
		   AND (g.revoked_at IS NULL OR g.revoked_at > p_event_time)
		RETURNING 1
	)
	SELECT count(*)::integer FROM done
$function$;

-- Define record type p_record_type in domain p_domain_id with review gate p_gate (none,
-- approve, review_approve, review_approve_reviewer_may_approve), or change the gate of an
-- existing one in place (configured_at = p_event_time). L2: an active administrator, else
-- not_found_or_denied. Refusals: domain_required (no domain: a producer of control schema
-- revision 1 or 2), invalid_command (another gate; no record type; the record type belongs to
-- another domain; a malformed name), not_found_or_denied (unknown domain). A refusal never
-- raises: no record type raised a not-null violation until it was checked, and the batch with
-- it (0106). Takes no reason; the audit row's
-- reason is "gate <gate>".
CREATE OR REPLACE FUNCTION axiom_api.configure_record_type(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_record_type text, p_domain_id text, p_gate text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(p_domain_id, '') = '' THEN
			o := axiom.rejected('domain_required', 'a record type needs its domain '
			    '(RecordTypeConfig.domain, added in revision 3 of the control schema: a '
			    'producer that writes revision 1 or 2 must move to revision 3)');
		ELSIF p_gate IS NULL OR p_gate NOT IN ('none', 'approve', 'review_approve',
		    'review_approve_reviewer_may_approve') THEN
			o := axiom.rejected('invalid_command',
			    'gate must be none, approve, review_approve or review_approve_reviewer_may_approve');
		ELSIF p_record_type IS NULL THEN
			-- (after the checks above, which decided such a command before this one came)
			o := axiom.rejected('invalid_command', 'a record type is required');
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
$function$;

-- Deactivate person p_user_id from p_event_time on: from then on the person is not active
-- (user_active_at), so neither their grants nor the delegations they gave count. L2: an active
-- administrator. Refusals: reason_required; not_found_or_denied (not an administrator, or no
-- person enrolled at p_event_time and still active).
CREATE OR REPLACE FUNCTION axiom_api.deactivate_user(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_user_id text, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'deactivating a person requires a reason');
		ELSE
			UPDATE axiom.users SET deactivated_at = p_event_time
			 WHERE user_id = p_user_id AND deactivated_at IS NULL AND enrolled_at <= p_event_time;
			IF FOUND THEN
				o := axiom.accepted(format('deactivated user %s', p_user_id));
			ELSE
				o := axiom.not_found_or_denied();
			END IF;
		END IF;
	END IF;
	RETURN axiom.finish('deactivate_user', p_actor, p_event_time, p_command_id, o, p_reason,
	    NULL, NULL, NULL, NULL, NULL);
END
$function$;

-- Define a facility or a domain (p_kind 'facility' or 'domain') with key p_key and name
-- p_name, at p_event_time. L2: an active administrator. Refusals: invalid_command (another
-- kind, a missing key or name, a malformed key), already_exists. Takes no reason; the audit
-- row's operation is define_facility or define_domain.
CREATE OR REPLACE FUNCTION axiom_api.define_scope(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_kind text, p_key text, p_name text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF p_kind IS NULL OR p_kind NOT IN ('facility', 'domain') OR p_key IS NULL
		    OR p_name IS NULL THEN
			o := axiom.rejected('invalid_command', 'kind must be facility or domain, with a key and a name');
		ELSE
			BEGIN
				IF p_kind = 'facility' THEN
					INSERT INTO axiom.facilities VALUES (p_key, p_name, p_event_time, p_actor);
				ELSE
					INSERT INTO axiom.domains VALUES (p_key, p_name, p_event_time, p_actor);
				END IF;
				o := axiom.accepted(format('defined %s %s', p_kind, p_key));
			EXCEPTION
				WHEN unique_violation THEN
					o := axiom.rejected('already_exists', format('the %s is already defined', p_kind));
				WHEN check_violation THEN
					o := axiom.rejected('invalid_command', format('malformed %s key', p_kind));
			END;
		END IF;
	END IF;
	RETURN axiom.finish('define_' || coalesce(p_kind, 'scope'), p_actor, p_event_time,
	    p_command_id, o, NULL, NULL, NULL, NULL, NULL, NULL);
END
$function$;

-- Delegate the actor's own direct grant p_source_grant_id to p_delegatee from p_event_time
-- until p_expires_at, as delegation p_delegation_id of kind horizontal or vertical. The
-- delegation carries the source's facility, domain and access tier. L2 and the delegation
-- rules, checked in this order, each refusal with its own reason code:
--   reason_required; invalid_command (no delegation id, another kind);
--   not_found_or_denied (no such grant, or not the actor's); redelegation_forbidden (the
--   source is itself a delegation); source_revoked; source_not_valid (expired or not yet
--   valid); expiry_required; expiry_in_past; beyond_source_expiry; delegation_too_long (longer
--   than the maximum of axiom.delegation_limits in force at p_event_time); self_delegation;
--   not_found_or_denied (the delegatee is not an active person);
--   horizontal_same_facility (the delegatee holds a direct grant in the source's facility);
--   horizontal_lower_level (the delegatee holds no same-or-higher level elsewhere in the
--   domain); vertical_not_one_tier_below (the delegatee's level in the source's facility and
--   domain is not exactly one tier below the source's); already_exists (the id is taken).
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

-- Enroll person p_user_id (printed name p_printed_name, the name a signature shows) at
-- p_event_time; p_administrator makes the person an administrator of the control plane, and
-- p_db_role maps a database login to the person (what analyst_in_scope reads). L2: an active
-- administrator. Refusals: reason_required; invalid_command (user id not matching
-- ^[a-z0-9][a-z0-9._@-]{0,127}$, or no printed name); already_exists (the user id or the
-- database role is enrolled).
CREATE OR REPLACE FUNCTION axiom_api.enroll_user(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_user_id text, p_printed_name text, p_administrator boolean, p_db_role name, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'enrolling a person requires a reason');
		ELSIF p_user_id IS NULL OR p_user_id !~ '^[a-z0-9][a-z0-9._@-]{0,127}$'
		    OR coalesce(p_printed_name, '') = '' THEN
			o := axiom.rejected('invalid_command', 'user id or printed name is missing or malformed');
		ELSE
			BEGIN
				INSERT INTO axiom.users (user_id, printed_name, administrator, db_role,
				    enrolled_at, enrolled_by)
				VALUES (p_user_id, p_printed_name, coalesce(p_administrator, false), p_db_role,
				    p_event_time, p_actor);
				o := axiom.accepted(format('enrolled user %s', p_user_id));
			EXCEPTION WHEN unique_violation THEN
				o := axiom.rejected('already_exists', 'the user or database role is already enrolled');
			END;
		END IF;
	END IF;
	RETURN axiom.finish('enroll_user', p_actor, p_event_time, p_command_id, o, p_reason, NULL,
	    NULL, NULL, NULL, NULL);
END
$function$;

-- Grant p_user_id access tier p_tier in (p_facility_id, p_domain_id) from p_event_time until
-- p_expires_at (NULL: no expiry), as direct grant p_grant_id. L2: an active administrator.
-- Refusals: reason_required; invalid_command (no grant id); expiry_in_past;
-- not_found_or_denied (the grantee is not an active person; unknown facility, domain or tier);
-- already_exists (the id is taken).
CREATE OR REPLACE FUNCTION axiom_api.grant_access(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_grant_id uuid, p_user_id text, p_facility_id text, p_domain_id text, p_tier text, p_expires_at timestamp with time zone, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a grant requires a reason');
		ELSIF p_grant_id IS NULL THEN
			o := axiom.rejected('invalid_command', 'grant id is required');
		ELSIF p_expires_at IS NOT NULL AND p_expires_at <= p_event_time THEN
			o := axiom.rejected('expiry_in_past', 'the expiry is not after the event time');
		ELSIF NOT axiom.user_active_at(p_user_id, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSE
			BEGIN
				INSERT INTO axiom.grants (grant_id, user_id, facility_id, domain_id, tier, kind,
				    granted_by, reason, valid_from, expires_at)
				VALUES (p_grant_id, p_user_id, p_facility_id, p_domain_id, p_tier, 'direct',
				    p_actor, p_reason, p_event_time, p_expires_at);
				o := axiom.accepted(format('granted %s in %s/%s to %s', p_tier, p_facility_id,
				    p_domain_id, p_user_id), p_grant_id);
			EXCEPTION
				WHEN unique_violation THEN
					o := axiom.rejected('already_exists', 'a grant with this id exists');
				WHEN foreign_key_violation OR not_null_violation THEN
					o := axiom.not_found_or_denied();
			END;
		END IF;
	END IF;
	RETURN axiom.finish('grant_access', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_grant_id, NULL, NULL, p_facility_id, p_domain_id);
END
$function$;

-- Revoke delegation p_delegation_id from p_event_time on, with every delegation derived from it
-- (revoke_cascade). L2: the person who delegated it, or an active administrator. Refusals:
-- not_found_or_denied (no such delegation, or neither of them), reason_required,
-- already_revoked (revoked at or before p_event_time).
CREATE OR REPLACE FUNCTION axiom_api.revoke_delegation(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_delegation_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	g axiom.grants;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO g FROM axiom.grants WHERE grant_id = p_delegation_id AND kind <> 'direct';
		IF g.grant_id IS NULL OR (g.granted_by <> p_actor
		    AND NOT axiom.is_administrator(p_actor, p_event_time)) THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a revocation requires a reason');
		ELSIF g.revoked_at IS NOT NULL AND g.revoked_at <= p_event_time THEN
			o := axiom.rejected('already_revoked', 'the delegation is already revoked');
		ELSE
			PERFORM axiom.revoke_cascade(p_delegation_id, p_actor, p_event_time, p_reason);
			o := axiom.accepted(format('revoked delegation %s', p_delegation_id), p_delegation_id);
		END IF;
	END IF;
	RETURN axiom.finish('revoke_delegation', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_delegation_id, NULL, NULL, g.facility_id, g.domain_id);
END
$function$;

-- Revoke grant p_grant_id (direct or delegated) from p_event_time on; every delegation derived
-- from it is revoked with it (revoke_cascade). L2: an active administrator. Refusals:
-- not_found_or_denied (no such grant, or not an administrator), reason_required,
-- already_revoked (revoked at or before p_event_time).
CREATE OR REPLACE FUNCTION axiom_api.revoke_grant(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_grant_id uuid, p_reason text)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	g axiom.grants;
	n integer;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO g FROM axiom.grants WHERE grant_id = p_grant_id;
		IF g.grant_id IS NULL OR NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF coalesce(btrim(p_reason), '') = '' THEN
			o := axiom.rejected('reason_required', 'a revocation requires a reason');
		ELSIF g.revoked_at IS NOT NULL AND g.revoked_at <= p_event_time THEN
			o := axiom.rejected('already_revoked', 'the grant is already revoked');
		ELSE
			n := axiom.revoke_cascade(p_grant_id, p_actor, p_event_time, p_reason);
			o := axiom.accepted(format('revoked grant %s and %s delegation(s) derived from it',
			    p_grant_id, n - 1), p_grant_id);
		END IF;
	END IF;
	RETURN axiom.finish('revoke_grant', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_grant_id, NULL, NULL, g.facility_id, g.domain_id);
END
$function$;
