-- axiom-migrate: run-as=admin
--
-- 0009_esign - electronic signatures end to end (docs/esignatures.md, issue 6): the registry
-- of signing factors (FIDO2 credentials, password-attestor keys, OIDC issuers), signing
-- policies per (record type, meaning), the consumed intent nonces, the evidence of every
-- accepted signature, and sign_record that enforces them.
--
-- Layers: 2 (administrators register factors and set policies; a factor's owner may also
-- revoke it, 11.300(c); the signer is always the actor), 3 (RLS + FORCE on every new table),
-- 4 (nonces and evidence are append-only; factors change only their revocation columns;
-- policies are an append-only history), all triggers ENABLE ALWAYS.
--
-- Division of labour: the applier verifies the cryptographic proofs in C at the command's
-- event time (consumers/ax_sign.c: WebAuthn, OIDC, password attestation) and passes which
-- factor types it verified, the WebAuthn UV flag and signature counter, the raw proofs, and
-- the first refusal with its precise reason. The database records the manifestation and the
-- proofs and refuses what the policy does not allow: required factor types, the nonce once,
-- the continuous-session rule of 11.200(a)(1) and the signature-counter regression.
--
-- Continuous session (11.200(a)(1), docs/esignatures.md section 6): a signing by user S with
-- event time T on partition P of the data topic continues a session when S has an accepted
-- signature on the same (topic, partition) with event time in [T - 15 min, T]; otherwise it
-- is the first signing of a session. The first signing needs all components: every factor
-- type the policy requires, verified, and a FIDO2 assertion with UV (key + PIN/biometric).
-- A continuing signing needs at least one verified factor of those the policy names (UP is
-- enough). Sessions are per partition because only the order of one partition is a function
-- of the log: a replay makes the same decisions whatever the interleaving of partitions; a
-- signing on another partition starts a new session (stricter, never weaker).
--
-- Time: a factor registered at c is usable by commands at T > c; revoked at c, it is refused
-- for T > c (as grants, 0005). Policies likewise: the latest policy set before T applies.
--
-- Runs as axiom_owner like every migration after 0001 (SET LOCAL ROLE below), except the two
-- replacements of 0007 functions near the end (see there).

SET LOCAL ROLE axiom_owner;

-- Tables -----------------------------------------------------------------------------------

CREATE TABLE axiom.signing_factors (
	factor_id uuid PRIMARY KEY,
	factor_type text NOT NULL CHECK (factor_type IN ('fido2', 'password', 'oidc')),
	user_id text REFERENCES axiom.users,   -- owner of a FIDO2 credential, else NULL
	credential_id bytea,                   -- FIDO2 credential id
	public_key bytea,                      -- FIDO2: COSE_Key or raw point; attestor: Ed25519
	cose_alg integer,
	issuer text,                           -- OIDC: iss; FIDO2: the relying-party origin or NULL
	audience text,                         -- OIDC: our client_id
	jwks text,                             -- OIDC: the issuer's JWKS document
	registered_at timestamptz NOT NULL,
	registered_by text NOT NULL,
	revoked_at timestamptz,                -- lifecycle column
	revoked_by text,                       -- lifecycle column
	CHECK (factor_type <> 'fido2' OR (user_id IS NOT NULL AND octet_length(credential_id)
	    BETWEEN 1 AND 1023 AND octet_length(public_key) BETWEEN 32 AND 128
	    AND cose_alg IN (-7, -8))),
	CHECK (factor_type <> 'password' OR octet_length(public_key) IN (32, 44)),
	CHECK (factor_type <> 'oidc' OR (issuer <> '' AND audience <> '' AND jwks <> ''
	    AND octet_length(jwks) <= 65536))
);
CREATE UNIQUE INDEX signing_factors_one_credential ON axiom.signing_factors (credential_id)
    WHERE factor_type = 'fido2';
CREATE INDEX signing_factors_by_issuer ON axiom.signing_factors (issuer, registered_at)
    WHERE factor_type = 'oidc';

-- A policy is never edited: setting it again appends a row valid from its event time.
CREATE TABLE axiom.signing_policies (
	record_type text NOT NULL REFERENCES axiom.record_types,
	meaning text NOT NULL CHECK (meaning IN ('authorship', 'review', 'approval', 'responsibility')),
	require_fido2 boolean NOT NULL,
	require_oidc boolean NOT NULL,
	require_password boolean NOT NULL,
	valid_from timestamptz NOT NULL,
	set_by text NOT NULL,
	PRIMARY KEY (record_type, meaning, valid_from),
	CHECK (require_fido2 OR require_oidc OR require_password)
);

-- Every intent nonce of an accepted signature: a nonce is accepted once (11.200(a)(2)).
CREATE TABLE axiom.signing_nonces (
	nonce bytea PRIMARY KEY CHECK (octet_length(nonce) BETWEEN 16 AND 64),
	signature_id uuid NOT NULL,
	used_at timestamptz NOT NULL
);

-- What the applier verified for each accepted signature, and the session it belongs to.
CREATE TABLE axiom.signature_evidence (
	signature_id uuid PRIMARY KEY,
	signer text NOT NULL,
	topic text,
	kafka_partition integer,
	signed_at timestamptz NOT NULL,
	nonce bytea,
	factor_ids uuid[] NOT NULL,
	factor_types text[] NOT NULL,
	all_components boolean NOT NULL,  -- first signing of a session (11.200(a)(1)(i))
	user_verified boolean NOT NULL,   -- WebAuthn UV flag (or no WebAuthn factor)
	fido2_factor_id uuid,
	sign_count bigint,
	comment text
);
CREATE INDEX signature_evidence_session ON axiom.signature_evidence
    (signer, topic, kafka_partition, signed_at);
CREATE INDEX signature_evidence_counter ON axiom.signature_evidence
    (fido2_factor_id, topic, kafka_partition, signed_at);

DO $triggers$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['signing_policies', 'signing_nonces', 'signature_evidence'] LOOP
		EXECUTE format('CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON axiom.%I '
		    'FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only()', t);
		EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.%I '
		    'FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only()', t);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER append_only_row', t);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER append_only_truncate', t);
	END LOOP;
	CREATE TRIGGER immutable_data_columns BEFORE UPDATE ON axiom.signing_factors
	    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_data_columns('revoked_at', 'revoked_by');
	CREATE TRIGGER no_removal_row BEFORE DELETE ON axiom.signing_factors
	    FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
	CREATE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.signing_factors
	    FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
	ALTER TABLE axiom.signing_factors ENABLE ALWAYS TRIGGER immutable_data_columns;
	ALTER TABLE axiom.signing_factors ENABLE ALWAYS TRIGGER no_removal_row;
	ALTER TABLE axiom.signing_factors ENABLE ALWAYS TRIGGER no_removal_truncate;
	FOREACH t IN ARRAY ARRAY['signing_factors', 'signing_policies', 'signing_nonces',
	    'signature_evidence'] LOOP
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE axiom.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY auditor_reads_all ON axiom.%I FOR SELECT '
		    'TO axiom_auditor USING (true)', t);
		-- configuration and evidence are needed whole to decide (like grants in 0005)
		EXECUTE format('CREATE POLICY definer_all ON axiom.%I TO axiom_definer '
		    'USING (true) WITH CHECK (true)', t);
	END LOOP;
END
$triggers$;

GRANT SELECT, INSERT ON axiom.signing_factors, axiom.signing_policies, axiom.signing_nonces,
    axiom.signature_evidence TO axiom_definer;
GRANT UPDATE (revoked_at, revoked_by) ON axiom.signing_factors TO axiom_definer;
GRANT SELECT ON axiom.signing_factors, axiom.signing_policies, axiom.signing_nonces,
    axiom.signature_evidence TO axiom_auditor;

-- Control plane ----------------------------------------------------------------------------

-- Register signing factor p_factor_id (docs/esignatures.md). Layer 2: administrators only;
-- a FIDO2 credential names its owner, who must be enrolled. Refuses a factor id or a FIDO2
-- credential id registered before (already_exists) and fields that do not fit the type.
CREATE FUNCTION axiom_api.register_factor(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_factor_id uuid, p_factor_type text, p_user_id text,
    p_credential_id bytea, p_public_key bytea, p_cose_alg integer, p_issuer text,
    p_audience text, p_jwks text, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Revoke factor p_factor_id from p_event_time on (11.300(c): lost or compromised tokens);
-- signatures made before stay valid and verifiable. Layer 2: an administrator, or the owner
-- of a FIDO2 credential reporting its loss.
CREATE FUNCTION axiom_api.revoke_factor(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_factor_id uuid, p_reason text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o axiom_api.outcome := axiom.start_command(p_actor, p_event_time);
	f axiom.signing_factors;
BEGIN
	IF o IS NULL THEN
		SELECT * INTO f FROM axiom.signing_factors WHERE factor_id = p_factor_id FOR UPDATE;
		IF f.factor_id IS NULL OR f.registered_at >= p_event_time
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
$$;

-- Set the factor types a signature of p_meaning on records of p_record_type requires, from
-- p_event_time on. Layer 2: administrators only. A FIDO2 assertion and a password
-- attestation cannot both travel in one Sign command of contract revision 3 (one factor_id),
-- so that combination is refused as policy_unsatisfiable rather than silently blocking all
-- signatures.
CREATE FUNCTION axiom_api.set_signing_policy(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_record_type text, p_meaning text, p_require_fido2 boolean,
    p_require_oidc boolean, p_require_password boolean, p_reason text)
RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- What the applier needs to verify a Sign command at p_event_time, read in the batch's
-- lookup round trip: the control watermark it read (a context is only valid for commands at
-- T <= watermark: later control events may still come), factor p_factor_id and the OIDC
-- issuer registered as p_issuer, as the registry stood at p_event_time (registered before T;
-- revoked when revoked before T). Read-only; writes no audit row. It takes no actor because
-- it authorizes nothing and returns only public registry data (public keys, JWKS); the
-- owner check is the applier's (webauthn_credential_not_owned) and sign_record's start.
CREATE FUNCTION axiom_api.signing_context(p_event_time timestamptz, p_factor_id uuid,
    p_issuer text)
RETURNS TABLE (watermark timestamptz, factor_type text, user_id text, credential_id bytea,
    public_key bytea, cose_alg integer, origin text, factor_revoked boolean,
    issuer_factor_id uuid, issuer_audience text, issuer_jwks text, issuer_revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT (SELECT w.event_time FROM axiom.control_watermark w),
	       f.factor_type, f.user_id, f.credential_id, f.public_key, f.cose_alg,
	       CASE WHEN f.factor_type = 'fido2' THEN f.issuer END,
	       f.revoked_at IS NOT NULL AND f.revoked_at < p_event_time,
	       i.factor_id, i.audience, i.jwks,
	       i.revoked_at IS NOT NULL AND i.revoked_at < p_event_time
	  FROM (SELECT 1) one
	  LEFT JOIN axiom.signing_factors f ON f.factor_id = p_factor_id
	       AND f.registered_at < p_event_time
	  LEFT JOIN LATERAL (SELECT * FROM axiom.signing_factors x
	        WHERE x.factor_type = 'oidc' AND x.issuer = p_issuer
	          AND x.registered_at < p_event_time
	        ORDER BY (x.revoked_at IS NULL OR x.revoked_at >= p_event_time) DESC,
	                 x.registered_at DESC LIMIT 1) i ON true
$$;

-- Data plane -------------------------------------------------------------------------------

-- Record p_actor's own signature over version p_version of lineage p_id (or the version
-- p_record_id, for the 0007 form), docs/esignatures.md. Layers 2 (author level, manager for
-- approval; the signer is always the actor: a delegation never lets anyone sign for another
-- person) and 3 (a hidden record is not_found_or_denied). In order: the record and the
-- signed record hash (a signature moved to another version names another hash or intent),
-- the access level, the applier's refusal of a proof (p_refusal, stored as the reason code),
-- the nonce once (intent_nonce_replayed), the policy and the continuous-session rule
-- (policy_not_satisfied, webauthn_user_not_verified), the WebAuthn counter on this partition
-- (webauthn_sign_count_regressed). The manifestation is the enrolled printed name, the event
-- time and the meaning; p_proofs keeps the raw proofs for offline re-verification.
-- p_nonce NULL (the 0007 form only): no nonce is consumed and the signing never continues a
-- session.
CREATE FUNCTION axiom_api.sign_record(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_signature_id uuid, p_record_id uuid, p_id uuid, p_version bigint,
    p_record_hash bytea, p_meaning text, p_nonce bytea, p_intent_hash bytea, p_topic text,
    p_partition integer, p_factor_ids uuid[], p_factor_types text[], p_user_verified boolean,
    p_sign_count bigint, p_refusal text, p_refusal_detail text, p_proofs bytea,
    p_comment text) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
		   AND sp.valid_from < p_event_time
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
			o := axiom.rejected('insufficient_access_level',
			    format('a %s signature requires a higher access level', p_meaning));
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
				SELECT max(e.sign_count) INTO last_count FROM axiom.signature_evidence e
				 WHERE e.fido2_factor_id = fido2_id AND e.topic IS NOT DISTINCT FROM p_topic
				   AND e.kafka_partition IS NOT DISTINCT FROM p_partition;
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
$$;

-- The two functions 0009 replaces are owned by axiom_definer since 0007's hand-over, and
-- axiom_owner (NOINHERIT) may not replace them; the admin login does, for these two only
-- (CREATE OR REPLACE keeps their owner, axiom_definer).
RESET ROLE;

-- The 0007 form, replaced: the caller states the factor types it verified and has no nonce;
-- the same checks as above apply (policy, first signing of a session, user verification
-- assumed). Kept for direct SQL callers; the applier uses the form above.
CREATE OR REPLACE FUNCTION axiom_api.sign_record(p_actor text, p_event_time timestamptz,
    p_command_id uuid, p_signature_id uuid, p_record_id uuid, p_meaning text,
    p_intent_hash bytea, p_factor_types text[], p_proofs bytea) RETURNS axiom_api.outcome
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- The batch entry point of 0007, replaced to dispatch the operations of this migration
-- (register_factor, revoke_factor, set_signing_policy, and sign_record with a nonce).
CREATE OR REPLACE FUNCTION axiom_api.apply_batch(p_topic text, p_partition integer, p_commands jsonb)
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
			WHEN 'sign_record' THEN CASE WHEN c ? 'nonce' THEN axiom_api.sign_record(actor, et,
			    cmd, (c->>'signature_id')::uuid, (c->>'record_id')::uuid, (c->>'id')::uuid,
			    (c->>'version')::bigint, decode(c->>'record_hash', 'hex'), c->>'meaning',
			    decode(c->>'nonce', 'hex'), decode(c->>'intent_hash', 'hex'), p_topic,
			    p_partition,
			    ARRAY(SELECT jsonb_array_elements_text(c->'factor_ids'))::uuid[],
			    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
			    (c->>'user_verified')::boolean, (c->>'sign_count')::bigint, c->>'refusal',
			    c->>'refusal_detail', decode(c->>'proofs', 'hex'), c->>'comment')
			    ELSE axiom_api.sign_record(actor, et, cmd,
			    (c->>'signature_id')::uuid, (c->>'record_id')::uuid, c->>'meaning',
			    decode(c->>'intent_hash', 'hex'),
			    ARRAY(SELECT jsonb_array_elements_text(c->'factor_types')),
			    decode(c->>'proofs', 'hex')) END
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

SET LOCAL ROLE axiom_owner;

-- Hand-over, as at the end of 0007: the SECURITY DEFINER functions of this migration to
-- axiom_definer, EXECUTE to axiom_user only; nothing to PUBLIC.
DO $handover$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
	    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname = 'axiom_api' AND p.prosecdef
	      AND p.proname IN ('register_factor', 'revoke_factor', 'set_signing_policy',
	          'signing_context', 'sign_record')
	      AND p.proowner = 'axiom_owner'::regrole LOOP -- the replaced two keep 0007's
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO axiom_user', f);
		EXECUTE format('ALTER FUNCTION %s OWNER TO axiom_definer', f);
	END LOOP;
END
$handover$;
