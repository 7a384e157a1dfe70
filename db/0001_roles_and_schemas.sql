-- axiom-migrate: run-as=admin
--
-- 0001_roles_and_schemas - the five roles of docs/security-layers.md, the two schemas, and the
-- removal of everything PUBLIC would otherwise get.
--
-- Layer: 1 (execute-only application role) and the ground every other layer stands on.
--
-- This is the one migration that runs as the admin login and not as axiom_owner: roles are
-- cluster-wide objects and only a role with CREATEROLE can make them, and the schemas need
-- CREATE on the database. Everything here is idempotent, because the roles may already exist
-- (created by ops/stack, or by the migrations of another database in the same cluster).
-- Passwords are never set here: the login roles' credentials belong to the operator.

-- Roles -------------------------------------------------------------------------------------

DO $roles$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM (VALUES
		('axiom_owner', false),    -- owns every table; used only by migrations
		('axiom_definer', false),  -- owns the SECURITY DEFINER API functions
		('axiom_user', true),      -- the applier's runtime login: EXECUTE on the API only
		('axiom_analytics', true), -- SELECT on regulated tables, limited by RLS
		('axiom_auditor', true)    -- read-only access to chains, ledger, signatures, audit
	) AS v(name, login) LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
			EXECUTE format('CREATE ROLE %I %s NOSUPERUSER NOCREATEDB NOCREATEROLE '
			    'NOINHERIT NOREPLICATION NOBYPASSRLS', r.name,
			    CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
		END IF;
		-- whatever created the role, it gets none of the powers that bypass the layers
		EXECUTE format('ALTER ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
		    'NOBYPASSRLS', r.name);
	END LOOP;
	-- the two NOLOGIN roles never log in, whatever state the cluster was in
	ALTER ROLE axiom_owner NOLOGIN;
	ALTER ROLE axiom_definer NOLOGIN;
	-- axiom_owner hands functions over to axiom_definer (ALTER FUNCTION ... OWNER needs
	-- membership); the reverse membership would let the definer disable triggers
	IF NOT pg_catalog.pg_has_role('axiom_owner', 'axiom_definer', 'MEMBER') THEN
		GRANT axiom_definer TO axiom_owner;
	END IF;
END
$roles$;

-- no Axiom role may be a member of another Axiom role, except owner -> definer above
DO $members$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
	    JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
	    JOIN pg_catalog.pg_roles u ON u.oid = m.member
	    WHERE u.rolname IN ('axiom_definer', 'axiom_user', 'axiom_analytics', 'axiom_auditor')
	      AND g.rolname LIKE 'axiom%') THEN
		RAISE EXCEPTION 'an axiom role is a member of another axiom role'
		    USING HINT = 'Revoke the membership; only axiom_owner may be a member of axiom_definer.';
	END IF;
END
$members$;

-- The database: nothing for PUBLIC, CONNECT for the three logins -------------------------

DO $db$
BEGIN
	EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', pg_catalog.current_database());
	EXECUTE format('GRANT CONNECT ON DATABASE %I TO axiom_user, axiom_analytics, axiom_auditor',
	    pg_catalog.current_database());
END
$db$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC;
GRANT USAGE ON LANGUAGE plpgsql TO axiom_owner;

-- Schemas -----------------------------------------------------------------------------------
-- axiom      the tables and internal helpers; owned by axiom_owner
-- axiom_api  the SQL API (SECURITY DEFINER functions owned by axiom_definer) and the verifier

CREATE SCHEMA IF NOT EXISTS axiom AUTHORIZATION axiom_owner;
CREATE SCHEMA IF NOT EXISTS axiom_api AUTHORIZATION axiom_owner;
ALTER SCHEMA axiom OWNER TO axiom_owner;
ALTER SCHEMA axiom_api OWNER TO axiom_owner;
REVOKE ALL ON SCHEMA axiom, axiom_api FROM PUBLIC;

-- Default privileges: objects added later by either owning role do not leak to PUBLIC.
-- Global (no IN SCHEMA): per-schema defaults can only add privileges, never remove them.
ALTER DEFAULT PRIVILEGES FOR ROLE axiom_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE axiom_owner REVOKE USAGE ON TYPES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE axiom_definer REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE axiom_definer REVOKE USAGE ON TYPES FROM PUBLIC;
