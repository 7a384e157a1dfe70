-- 0006_api_control_plane - the outcome type, the helpers every API function shares, and the
-- control-plane API: people, facilities, domains, record types, grants and delegations.
--
-- Layers: 1 (only these functions are executable by axiom_user), 2 (function-layer
-- authorization at the command's event time) and the delegation rules of docs/security-layers.md.
--
-- Every API function: is SECURITY DEFINER, owned by axiom_definer (the DO block at the end of
-- 0007 hands them over), pins search_path = pg_catalog, pg_temp (every name below is
-- schema-qualified), takes the actor and the event time as parameters, and returns an
-- outcome. Business rejections never raise: they are outcomes with a stable reason code,
-- and every outcome, accepted or rejected, is appended to axiom.session_events.
--
-- Reason codes that apply everywhere:
--   not_found_or_denied  the object does not exist, or the actor may not see or use it; the
--                        same code and message for both, so nobody can probe for rows
--   invalid_command      a required field is missing or malformed
--   reason_required      a reason is mandatory for this operation (Annex 11 section 9)

CREATE TYPE axiom_api.outcome AS (
	decision text,     -- 'accepted' or 'rejected'
	reason_code text,  -- NULL when accepted
	message text,      -- what happened, in words
	object_id uuid,    -- the lineage, change, grant or signature concerned
	version bigint,    -- the version created or concerned (ledger: the entry's seq)
	record_hash bytea  -- the record hash created (ledger: the entry hash)
);
GRANT USAGE ON TYPE axiom_api.outcome TO axiom_definer, axiom_user;
GRANT USAGE ON SCHEMA axiom_api TO axiom_user;

-- An accepted outcome.
CREATE FUNCTION axiom.accepted(p_message text, p_object_id uuid DEFAULT NULL,
    p_version bigint DEFAULT NULL, p_record_hash bytea DEFAULT NULL) RETURNS axiom_api.outcome
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ROW('accepted', NULL, p_message, p_object_id, p_version, p_record_hash)::axiom_api.outcome
$$;

-- A rejected outcome with a stable reason code.
CREATE FUNCTION axiom.rejected(p_code text, p_message text) RETURNS axiom_api.outcome
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ROW('rejected', p_code, p_message, NULL, NULL, NULL)::axiom_api.outcome
$$;

-- The one refusal for "does not exist" and "may not see or use".
CREATE FUNCTION axiom.not_found_or_denied() RETURNS axiom_api.outcome
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT axiom.rejected('not_found_or_denied', 'no such object, or the actor may not use it')
$$;

-- Check the identity part of a command and make it the row-policy identity; NULL when the
-- command may proceed, else the outcome to return.
CREATE FUNCTION axiom.start_command(p_actor text, p_event_time timestamptz)
RETURNS axiom_api.outcome
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Append the outcome of an operation to the audit trail, end the command's identity, and
-- return the outcome.
CREATE FUNCTION axiom.finish(p_operation text, p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_outcome axiom_api.outcome, p_reason text, p_object_id uuid,
    p_old_record_id uuid, p_new_record_id uuid, p_facility_id text, p_domain_id text)
RETURNS axiom_api.outcome
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO axiom.session_events (actor, event_time, operation, decision, reason_code,
	    reason, command_id, object_id, old_record_id, new_record_id, facility_id, domain_id)
	VALUES (coalesce(p_actor, ''), coalesce(p_event_time, 'epoch'), p_operation,
	    (p_outcome).decision, (p_outcome).reason_code, p_reason, p_command_id,
	    coalesce(p_object_id, (p_outcome).object_id), p_old_record_id,
	    CASE WHEN (p_outcome).decision = 'accepted' THEN p_new_record_id END,
	    p_facility_id, p_domain_id);
	SELECT axiom.begin_command(NULL, NULL); -- the identity ends with the command
	SELECT p_outcome;
$$;

-- Whether p_actor is an active administrator at p_event_time.
CREATE FUNCTION axiom.is_administrator(p_actor text, p_event_time timestamptz) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM axiom.users u WHERE u.user_id = p_actor AND u.administrator)
	   AND axiom.user_active_at(p_actor, p_event_time)
$$;

-- Revoke grant p_grant_id and, transitively, every delegation whose source it is.
CREATE FUNCTION axiom.revoke_cascade(p_grant_id uuid, p_actor text, p_event_time timestamptz,
    p_reason text) RETURNS integer
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

GRANT EXECUTE ON FUNCTION axiom.accepted(text, uuid, bigint, bytea), axiom.rejected(text, text),
    axiom.not_found_or_denied(), axiom.start_command(text, timestamptz),
    axiom.finish(text, text, timestamptz, uuid, axiom_api.outcome, text, uuid, uuid, uuid, text,
        text),
    axiom.is_administrator(text, timestamptz),
    axiom.revoke_cascade(uuid, text, timestamptz, text)
    TO axiom_definer;

-- People and configuration (administrators only) ------------------------------------------

-- Enroll a person. Layer 2: only an active administrator; identity is p_actor.
CREATE FUNCTION axiom_api.enroll_user(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_user_id text, p_printed_name text, p_administrator boolean,
    p_db_role name, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Deactivate a person from p_event_time on. Layer 2: only an active administrator.
CREATE FUNCTION axiom_api.deactivate_user(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_user_id text, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Define a facility or a domain (p_kind). Layer 2: only an active administrator.
CREATE FUNCTION axiom_api.define_scope(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_kind text, p_key text, p_name text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Create or reconfigure a record type and its review gate. Layer 2: administrators only.
CREATE FUNCTION axiom_api.configure_record_type(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_record_type text, p_domain_id text, p_gate text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
BEGIN
	IF o IS NULL THEN
		IF NOT axiom.is_administrator(p_actor, p_event_time) THEN
			o := axiom.not_found_or_denied();
		ELSIF p_gate IS NULL OR p_gate NOT IN ('none', 'approve', 'review_approve') THEN
			o := axiom.rejected('invalid_command', 'gate must be none, approve or review_approve');
		ELSE
			UPDATE axiom.record_types SET gate = p_gate, configured_at = p_event_time,
			    configured_by = p_actor
			 WHERE record_type = p_record_type AND domain_id = p_domain_id;
			IF FOUND THEN
				o := axiom.accepted(format('record type %s now has gate %s', p_record_type, p_gate));
			ELSE
				BEGIN
					INSERT INTO axiom.record_types VALUES (p_record_type, p_domain_id, p_gate,
					    p_event_time, p_actor);
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
	RETURN axiom.finish('configure_record_type', p_actor, p_event_time, p_command_id, o, NULL,
	    NULL, NULL, NULL, NULL, p_domain_id);
END
$$;

-- Grants --------------------------------------------------------------------------------

-- Grant p_user_id access level p_tier in (facility, domain) from p_event_time on.
-- Layer 2: only an active administrator; the grantee must be enrolled.
CREATE FUNCTION axiom_api.grant_access(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_grant_id uuid, p_user_id text, p_facility_id text, p_domain_id text,
    p_tier text, p_expires_at timestamptz, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Revoke a grant from p_event_time on; every delegation derived from it is revoked with it.
-- Layer 2: only an active administrator.
CREATE FUNCTION axiom_api.revoke_grant(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_grant_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Delegations (docs/security-layers.md) ----------------------------------------------------------

-- Delegate the actor's own direct grant p_source_grant_id to p_delegatee until p_expires_at.
-- Layer 2 and the delegation rules, each refusal with its own reason code:
--   reason_required, invalid_command, not_found_or_denied (the source is not the actor's),
--   redelegation_forbidden (the source is itself a delegation), source_revoked,
--   source_not_valid (expired or not yet valid), expiry_required, expiry_in_past,
--   beyond_source_expiry, self_delegation,
--   horizontal_same_facility (the delegatee holds a grant in the source's facility),
--   horizontal_lower_level (the delegatee holds no same-or-higher level elsewhere in the domain),
--   vertical_not_one_tier_below (the delegatee's level in the source's facility and domain is
--   not exactly one tier below the source's).
-- The delegation carries the source's facility, domain and access level.
CREATE FUNCTION axiom_api.delegate(p_actor text, p_event_time timestamptz, p_command_id uuid,
    p_delegation_id uuid, p_source_grant_id uuid, p_delegatee text, p_kind text,
    p_expires_at timestamptz, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	s axiom.grants;
	src_rank integer;
	same_facility integer;
	elsewhere integer;
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

-- Revoke a delegation. Layer 2: the person who delegated it, or an administrator.
CREATE FUNCTION axiom_api.revoke_delegation(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_delegation_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;
