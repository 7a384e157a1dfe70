-- axiom-migrate: run-as=admin
--
-- db/definitions/70_esignatures.sql - E-signatures: signing factors, signing policies and the
-- signature of a record version.
--
-- register_factor and revoke_factor keep the registry of signing factors: a person's FIDO2
-- credentials, the signing gateway's password-attestation keys and OIDC issuers (with their
-- JWKS); set_signing_policy says which factor types a signature of each meaning on each record
-- type requires, from its event time on. The cryptographic proofs are verified in C before the
-- batch (consumers/ax_sign.c; common/esig/: ax_webauthn.c, ax_oidc.c, ax_attest.c),
-- against the registry as signing_context shows it at the command's event time; sign_record
-- then checks in SQL what only the database knows (the record and its hash, the signer's
-- access level, the nonce used once, the policy and the session rule, the WebAuthn counter) and
-- stores the signature with its manifestation and raw proofs. The signer is always the actor:
-- a delegation never lets anyone sign for another person. The axiom_api functions here are
-- SECURITY DEFINER, owned by axiom_definer and reached only through the batch entry point
-- (80_batch_entry_point.sql), except signing_context, which the applier's login executes.
-- docs/esignatures.md maps each check to Part 11. Tests: 0600-esign-end-to-end,
-- 0601-esign-applier-and-reverify.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- Register signing factor p_factor_id of type fido2 (a credential of person p_user_id:
-- credential id, COSE public key and algorithm, and the origin in p_issuer), password (the
-- signing gateway's attestation key: public key, algorithm) or oidc (issuer p_issuer, audience,
-- JWKS), from p_event_time on; the fields that do not belong to the type are dropped. L2: an
-- active administrator, else not_found_or_denied. Refusals: invalid_command (no id, another
-- type, a FIDO2 credential whose owner is not an active person, fields that do not fit the
-- type), already_exists (the factor id or the FIDO2 credential id is registered).
CREATE OR REPLACE FUNCTION axiom_api.register_factor(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_factor_id uuid, p_factor_type text, p_user_id text, p_credential_id bytea, p_public_key bytea, p_cose_alg integer, p_issuer text, p_audience text, p_jwks text, p_reason text)
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
		ELSIF p_factor_id IS NULL OR p_factor_type IS NULL
		    OR p_factor_type NOT IN ('fido2', 'password', 'oidc') THEN
			o := axiom.rejected('invalid_command', 'a factor id and a factor type (fido2, password, oidc) are required');
		ELSIF p_factor_type = 'fido2' AND NOT axiom.user_active_at(p_user_id, p_event_time) THEN
			o := axiom.rejected('invalid_command', 'a FIDO2 credential needs an enrolled owner');
		ELSE
			BEGIN
				INSERT INTO axiom.signing_factors (factor_id, factor_type, user_id, credential_id,
				    public_key, cose_alg, issuer, audience, jwks, registered_at, registered_by)
				VALUES (p_factor_id, p_factor_type,
				    CASE WHEN p_factor_type = 'fido2' THEN p_user_id END,
				    CASE WHEN p_factor_type = 'fido2' THEN p_credential_id END,
				    CASE WHEN p_factor_type <> 'oidc' THEN p_public_key END,
				    CASE WHEN p_factor_type <> 'oidc' THEN p_cose_alg END,
				    nullif(p_issuer, ''),
				    CASE WHEN p_factor_type = 'oidc' THEN p_audience END,
				    CASE WHEN p_factor_type = 'oidc' THEN p_jwks END,
				    p_event_time, p_actor);
				o := axiom.accepted(format('registered %s factor %s', p_factor_type, p_factor_id),
				    p_factor_id);
			EXCEPTION
				WHEN unique_violation THEN
					o := axiom.rejected('already_exists', 'the factor or its credential id is already registered');
				WHEN check_violation OR foreign_key_violation THEN
					o := axiom.rejected('invalid_command', format('the fields do not fit a %s factor', p_factor_type));
			END;
		END IF;
	END IF;
	RETURN axiom.finish('register_factor', p_actor, p_event_time, p_command_id, o, p_reason,
	    p_factor_id, NULL, NULL, NULL, NULL);
END
$function$;

-- Revoke factor p_factor_id from p_event_time on (11.300(c): lost or compromised tokens);
-- signatures made before stay valid and verifiable. L2: an active administrator, or the owner
-- of a FIDO2 credential reporting its loss. Refusals: not_found_or_denied (no factor
-- registered at p_event_time, or neither of them), already_revoked (revoked at or before
-- p_event_time).
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

-- Set the factor types (fido2, oidc, password) that a signature of p_meaning (authorship,
-- review, approval, responsibility) on records of p_record_type requires, from p_event_time on;
-- an earlier policy stays in force for earlier event times. L2: an active administrator.
-- Refusals: not_found_or_denied (not an administrator, unknown record type), invalid_command
-- (no record type, another meaning, no factor type required), policy_unsatisfiable (FIDO2 and
-- password together: one Sign command of contract revision 3 carries either a FIDO2 assertion
-- or a password attestation, never both, so such a policy would block every signature),
-- invalid_command (a factor type neither required nor not: until it was checked, a NULL
-- beside a required one raised a not-null violation, and the batch with it: 0106),
-- already_exists (a policy for that type and meaning at this event time).
CREATE OR REPLACE FUNCTION axiom_api.set_signing_policy(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_record_type text, p_meaning text, p_require_fido2 boolean, p_require_oidc boolean, p_require_password boolean, p_reason text)
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
		ELSIF p_record_type IS NULL OR p_meaning IS NULL
		    OR p_meaning NOT IN ('authorship', 'review', 'approval', 'responsibility')
		    OR NOT coalesce(p_require_fido2 OR p_require_oidc OR p_require_password, false) THEN
			o := axiom.rejected('invalid_command', 'a record type, a meaning and at least one required factor type are needed');
		ELSIF p_require_fido2 AND p_require_password THEN
			o := axiom.rejected('policy_unsatisfiable',
			    'one Sign command carries either a FIDO2 assertion or a password attestation, not both');
		ELSIF p_require_fido2 IS NULL OR p_require_oidc IS NULL OR p_require_password IS NULL THEN
			-- (after the checks above, which decided such a command before this one came)
			o := axiom.rejected('invalid_command',
			    'each of the three factor types must be required or not');
		ELSE
			BEGIN
				INSERT INTO axiom.signing_policies VALUES (p_record_type, p_meaning,
				    p_require_fido2, p_require_oidc, p_require_password, p_event_time, p_actor);
				o := axiom.accepted(format('signing policy for %s signatures on %s', p_meaning,
				    p_record_type));
			EXCEPTION
				WHEN foreign_key_violation THEN
					o := axiom.not_found_or_denied();
				WHEN unique_violation THEN
					o := axiom.rejected('already_exists', 'a policy was already set at this event time');
			END;
		END IF;
	END IF;
	RETURN axiom.finish('set_signing_policy', p_actor, p_event_time, p_command_id, o, p_reason,
	    NULL, NULL, NULL, NULL, NULL);
END
$function$;

-- Record p_actor's own signature p_signature_id, of meaning p_meaning, over version p_version
-- of lineage p_id (or record p_record_id), as the applier verified its proofs against intent
-- hash p_intent_hash: p_factor_types are the factor types it verified, p_refusal its refusal
-- of a proof, if any. Refusals, in this order:
--   invalid_command (no signature id, another meaning, an intent hash not of 32 bytes, a nonce
--   not of 16 to 64 bytes, no record, no proofs); not_found_or_denied (no version the actor
--   may see, L3); signature_record_hash_mismatch (p_record_hash is not that version's: a
--   signature moved to another version); insufficient_access_level (L2: author level,
--   manager for approval); p_refusal itself as the reason code (with p_refusal_detail);
--   policy_not_satisfied (no verified factor); intent_nonce_replayed (the nonce was used by an
--   accepted signature); policy_not_satisfied (the first signing of a session lacks a factor
--   type that the policy in force requires; a signing that continues a session, within 15
--   minutes of an earlier one by the same signer on this topic and partition, needs only one
--   of them, and has none);
--   webauthn_user_not_verified (the first signing of a session with FIDO2 without user
--   verification); webauthn_sign_count_regressed (the FIDO2 counter is not above the last one
--   stored for that credential on this partition); not_found_or_denied (an id in use).
-- Accepted: the signature with its manifestation (the enrolled printed name, the event time,
-- the meaning), the verified factor types and the raw proofs for offline re-verification
-- (signatures); the nonce, once (signing_nonces); the session evidence (signature_evidence).
-- dispatch_command always passes a nonce; p_nonce NULL is the older overload's form, which
-- consumes no nonce and never continues a session.
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
			o := axiom.insufficient_access_level(format('a %s signature', p_meaning),
			    axiom.tier_rank(CASE WHEN p_meaning = 'approval' THEN 'manager' ELSE 'author' END),
			    p_actor, r.facility_id, r.domain_id, p_event_time);
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
				-- the highest count: the last entry of the credential's range of the index
				-- signature_evidence_counter (migration 0026), written as such so that no
				-- row estimate turns it into a scan of the range; no partition (a direct
				-- caller's NULL) has no last count
				SELECT e.sign_count INTO last_count FROM axiom.signature_evidence e
				 WHERE e.fido2_factor_id = fido2_id AND e.topic = p_topic
				   AND e.kafka_partition = p_partition AND e.sign_count IS NOT NULL
				 ORDER BY e.sign_count DESC LIMIT 1;
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

-- Not called by the applier since migration 0018: dispatch_command refuses a sign_record
-- element without a nonce (invalid_command), because the verifier cannot re-check such a
-- signature; only SQL tests call this one directly, as the definer (0101, 0102, 0105, 0601).
-- Kept until a migration drops it. It refuses invalid_command without a factor type or a
-- record id, and otherwise calls the overload above with no nonce, topic, partition or
-- counter and user verification taken as given: `axiom verify --signatures` reports such a
-- signature as unverifiable.
CREATE OR REPLACE FUNCTION axiom_api.sign_record(p_actor text, p_event_time timestamp with time zone, p_command_id uuid, p_signature_id uuid, p_record_id uuid, p_meaning text, p_intent_hash bytea, p_factor_types text[], p_proofs bytea)
 RETURNS axiom_api.outcome
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	IF coalesce(cardinality(p_factor_types), 0) = 0 OR p_record_id IS NULL THEN
		RETURN axiom.finish('sign_record', p_actor, p_event_time, p_command_id,
		    axiom.rejected('invalid_command',
		        'signature id, meaning, a 32-byte intent hash, factor types and proofs are required'),
		    p_meaning, p_signature_id, p_record_id, NULL, NULL, NULL);
	END IF;
	RETURN axiom_api.sign_record(p_actor, p_event_time, p_command_id, p_signature_id,
	    p_record_id, NULL, NULL, NULL, p_meaning, NULL, p_intent_hash, NULL, NULL, NULL,
	    p_factor_types, true, NULL, NULL, NULL, p_proofs, NULL);
END
$function$;

-- Read for the applier (axiom_user executes it), in the batch's lookup round trip, to verify a
-- Sign command at p_event_time: the control watermark it read (a context is only valid for
-- commands at T <= watermark: later control events may still come), factor p_factor_id and the
-- OIDC issuer registered as p_issuer, as the registry stood at p_event_time (registered at or
-- before T; revoked when revoked at or before T). Writes nothing, no audit row. It takes no
-- actor because it authorizes nothing and returns only public registry data (public keys,
-- JWKS); the owner check is the applier's (webauthn_credential_not_owned) and sign_record's.
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
