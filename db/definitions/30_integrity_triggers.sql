-- axiom-migrate: run-as=admin
--
-- db/definitions/30_integrity_triggers.sql - Integrity triggers: what no role, the definer
-- included, may do to stored rows.
--
-- - append-only tables refuse UPDATE, DELETE and TRUNCATE (refuse_change_of_append_only; layer
--   L4): the audit trail (session_events), change_request_steps, signatures,
--   signature_evidence, signing_nonces, signing_policies, the ledger, applied_commands,
--   checkpoints, context_key and the reference data (access_tiers, facilities, domains,
--   delegation_limits);
-- - tables whose rows have lifecycle columns refuse an UPDATE of any other column (trigger
--   immutable_data_columns, one function per table, immutable_data_columns_of_<table>, that
--   compares every column but the lifecycle ones, generated below from the catalog) and
--   refuse DELETE and TRUNCATE (refuse_removal; layer L5): records (status), change_requests,
--   grants (revocation), users (deactivation), signing_factors (revocation), record_types (gate),
--   and the applier's partition_offsets, partition_claims and control_watermark;
-- - a new record version gets its hash computed, a supplied one compared (link_record_version,
--   per row), and every statement's new versions are checked to extend their lineages' heads
--   (check_record_links, once per statement over its rows; layers L5, L6), so a row whose
--   hash does not match its columns or that breaks its chain never lands.
-- Every trigger is ENABLE ALWAYS: it fires under session_replication_role = replica too, and
-- only the tables' owner (axiom_owner, NOLOGIN) or a superuser could disable it.
-- Tests: 0101-db-privileges, 0103-canonical-encoding-in-sql, 0106-db-tamper-detection.
--
-- The current definitions, applied by `axiom migrate` whenever a file of db/definitions/
-- changed (see common/io/ax_migrate.h); the migrations of db/ hold the history.

-- The two insert triggers of axiom.records (L5, L6), one per row and one per statement, so
-- that the link checks read the table once per statement, however many versions it inserts.
-- Until the second one came, link_record_version also read the lineage's head for every row,
-- under the inserting role's row policies, and cost about ten times the row's hash; it keeps
-- its name (a definition file drops nothing, db/README.md) and now reads no table.

-- BEFORE INSERT trigger link_record_version on axiom.records, per row (L6): computes
-- record_hash (record_hash_v1) and refuses a caller-supplied one that differs; a new version
-- always starts as a draft (status 'draft', no status change). Reads no table. A refusal
-- raises integrity_constraint_violation, whoever inserts, a superuser included.
CREATE OR REPLACE FUNCTION axiom.link_record_version()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	h bytea := axiom.record_hash_v1(NEW);
BEGIN
	IF NEW.record_hash IS NOT NULL AND NEW.record_hash <> h THEN
		RAISE EXCEPTION 'record_hash of version % of lineage % does not match its canonical encoding',
		    NEW.version, NEW.id
		    USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	NEW.record_hash := h;
	NEW.status := 'draft';
	NEW.status_changed_at := NULL;
	NEW.status_changed_by := NULL;
	RETURN NEW;
END
$function$;

-- AFTER INSERT trigger check_record_links on axiom.records, once per statement, over its
-- inserted rows (the transition table added) (L5, L6): every version above 1 names as
-- previous_record_id a version of its own lineage one below it, whose record_hash is its
-- previous_record_hash and whose record type, facility and domain are its own. Version 1
-- names no predecessor (the table's CHECK constraints). With UNIQUE (id, version) this makes
-- every lineage one unbroken chain 1..head and every new version the head's successor: a
-- version at or below the head collides with a stored one, one above head + 1 finds no
-- predecessor. The predecessor is joined on its record id (uuid equality is leakproof), so the
-- inserting role's row policies are evaluated on that one row only; a predecessor the
-- inserter may not see counts as missing. A refusal names the first such version and raises
-- integrity_constraint_violation, whoever inserts, a superuser included; the statement's rows
-- are then rolled back with it. Plans no sequential scan where an index serves (as
-- apply_version_run, 60_data_plane.sql): under a set run, the predecessor's row policy looks up
-- axiom.batch_scope, which the planner takes for empty, and a scan of all its entries per row
-- cost a third of this trigger's time in a replay.
CREATE OR REPLACE FUNCTION axiom.check_record_links()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET enable_bitmapscan TO 'off'
 SET enable_seqscan TO 'off'
AS $function$
DECLARE
	bad record;
BEGIN
	SELECT n.id, n.version, p.version AS previous_version,
	       p.id = n.id AND p.version = n.version - 1
	           AND p.record_hash = n.previous_record_hash AS extends
	  INTO bad
	  FROM added n
	  LEFT JOIN axiom.records p ON p.record_id = n.previous_record_id
	 WHERE n.version > 1
	   AND (p.record_id IS NULL OR p.id <> n.id OR p.version <> n.version - 1
	        OR p.record_hash <> n.previous_record_hash
	        OR (p.record_type, p.facility_id, p.domain_id)
	            IS DISTINCT FROM (n.record_type, n.facility_id, n.domain_id))
	 ORDER BY n.id, n.version
	 LIMIT 1;
	IF NOT FOUND THEN
		RETURN NULL;
	ELSIF bad.previous_version IS NULL THEN
		RAISE EXCEPTION 'version % of lineage % has no predecessor', bad.version, bad.id
		    USING ERRCODE = 'integrity_constraint_violation';
	ELSIF NOT bad.extends THEN
		RAISE EXCEPTION 'version % of lineage % does not extend its head (version %)',
		    bad.version, bad.id, bad.previous_version
		    USING ERRCODE = 'integrity_constraint_violation';
	ELSE
		RAISE EXCEPTION 'version % of lineage % changes its record type, facility or domain',
		    bad.version, bad.id
		    USING ERRCODE = 'integrity_constraint_violation';
	END IF;
END
$function$;

-- Trigger function of append_only_row (BEFORE UPDATE OR DELETE, per row) and
-- append_only_truncate (BEFORE TRUNCATE): raises insufficient_privilege, naming the operation
-- and the table (L4).
CREATE OR REPLACE FUNCTION axiom.refuse_change_of_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	RAISE EXCEPTION '% on table %.% is not allowed: the table is append-only',
	    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
	    USING ERRCODE = 'insufficient_privilege';
END
$function$;

-- The trigger function of immutable_data_columns until the functions generated below replaced
-- it: compares OLD and NEW as jsonb without the columns named as trigger arguments (the
-- lifecycle columns) and raises insufficient_privilege when anything else differs (L5). Both
-- rows were converted whole, a record's content as hex: a status change of a version with 20
-- MB of content took 450-470 ms (21-24 ms now). No trigger calls it once this file is applied;
-- it stays defined because the migrations that created the triggers name it (db/0029 says why
-- no migration drops it).
CREATE OR REPLACE FUNCTION axiom.refuse_change_of_data_columns()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	o jsonb := to_jsonb(OLD);
	n jsonb := to_jsonb(NEW);
	c text;
BEGIN
	FOREACH c IN ARRAY TG_ARGV LOOP
		o := o - c;
		n := n - c;
	END LOOP;
	IF o IS DISTINCT FROM n THEN
		RAISE EXCEPTION 'data columns of table %.% are immutable', TG_TABLE_SCHEMA, TG_TABLE_NAME
		    USING ERRCODE = 'insufficient_privilege',
		    DETAIL = format('Only %s may change.', array_to_string(TG_ARGV, ', '));
	END IF;
	RETURN NEW;
END
$function$;

-- Trigger function of no_removal_row (BEFORE DELETE) and no_removal_truncate (BEFORE
-- TRUNCATE), for tables whose rows may only change their lifecycle columns: raises
-- insufficient_privilege (L5).
CREATE OR REPLACE FUNCTION axiom.refuse_removal()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	RAISE EXCEPTION '% on table %.% is not allowed: rows are never removed',
	    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
	    USING ERRCODE = 'insufficient_privilege';
END
$function$;

-- Trigger immutable_data_columns (BEFORE UPDATE, per row; L5) of each table with lifecycle
-- columns, and its function immutable_data_columns_of_<table>: raises insufficient_privilege
-- when any column but the table's lifecycle columns (listed here) is distinct from what it was
-- (IS DISTINCT FROM, column by column: an unchanged large value is compared, never converted).
-- The columns come from the catalog when this file runs, and the migrator runs every
-- definition file again after a migration (db/README.md), so a column a migration adds is
-- compared from then on. CREATE OR REPLACE TRIGGER swaps a table's trigger in place, inside
-- this file's one transaction: no moment without it.
DO $generate$
DECLARE
	t record;
	differs text;
BEGIN
	FOR t IN SELECT * FROM (VALUES
	    ('change_requests', ARRAY['status', 'status_changed_at', 'applied_record_id']),
	    ('control_watermark', ARRAY['event_time', 'updated_by']),
	    ('grants', ARRAY['revoked_at', 'revoked_by', 'revoke_reason']),
	    ('partition_claims', ARRAY['claim', 'claimed_by', 'claimed_at']),
	    ('partition_offsets', ARRAY['next_offset', 'updated_by']),
	    ('record_types', ARRAY['gate', 'configured_at', 'configured_by']),
	    ('records', ARRAY['status', 'status_changed_at', 'status_changed_by']),
	    ('signing_factors', ARRAY['revoked_at', 'revoked_by']),
	    ('users', ARRAY['deactivated_at'])) AS v(tbl, lifecycle)
	LOOP
		SELECT string_agg(format('OLD.%1$I IS DISTINCT FROM NEW.%1$I', a.attname),
		           E'\n\t    OR ' ORDER BY a.attnum)
		  INTO differs
		  FROM pg_attribute a
		 WHERE a.attrelid = format('axiom.%I', t.tbl)::regclass AND a.attnum > 0
		   AND NOT a.attisdropped AND a.attname <> ALL (t.lifecycle);
		EXECUTE format($function$CREATE OR REPLACE FUNCTION axiom.%1$I()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $body$
BEGIN
	IF %2$s THEN
		RAISE EXCEPTION 'data columns of table %%.%% are immutable', TG_TABLE_SCHEMA, TG_TABLE_NAME
		    USING ERRCODE = 'insufficient_privilege', DETAIL = %3$L;
	END IF;
	RETURN NEW;
END
$body$$function$, 'immutable_data_columns_of_' || t.tbl, differs,
		    format('Only %s may change.', array_to_string(t.lifecycle, ', ')));
		EXECUTE format('CREATE OR REPLACE TRIGGER immutable_data_columns BEFORE UPDATE ON axiom.%I '
		    'FOR EACH ROW EXECUTE FUNCTION axiom.%I()', t.tbl, 'immutable_data_columns_of_' || t.tbl);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER immutable_data_columns', t.tbl);
	END LOOP;
END
$generate$;

CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.access_tiers FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.access_tiers ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.access_tiers FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.access_tiers ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.applied_commands FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.applied_commands ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.applied_commands FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.applied_commands ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.change_request_steps FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.change_request_steps ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.change_request_steps FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.change_request_steps ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.change_requests FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.change_requests ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.change_requests FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.change_requests ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.checkpoints FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.checkpoints ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.checkpoints FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.checkpoints ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.context_key FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.context_key ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.context_key FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.context_key ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.control_watermark FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.control_watermark ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.control_watermark FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.control_watermark ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.delegation_limits FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.delegation_limits ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.delegation_limits FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.delegation_limits ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.domains FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.domains ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.domains FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.domains ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.facilities FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.facilities ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.facilities FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.facilities ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.grants FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.grants ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.grants FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.grants ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.ledger FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.ledger FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.ledger ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.partition_claims FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.partition_claims ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.partition_claims FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.partition_claims ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.partition_offsets FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.partition_offsets ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.partition_offsets FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.partition_offsets ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.record_types FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.record_types ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.record_types FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.record_types ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER link_record_version BEFORE INSERT ON axiom.records FOR EACH ROW EXECUTE FUNCTION axiom.link_record_version();
ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER link_record_version;
CREATE OR REPLACE TRIGGER check_record_links AFTER INSERT ON axiom.records REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION axiom.check_record_links();
ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER check_record_links;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.records FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.records FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.session_events FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.session_events ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.session_events FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.session_events ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.signature_evidence FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signature_evidence ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.signature_evidence FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signature_evidence ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.signatures FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signatures ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.signatures FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signatures ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.signing_factors FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.signing_factors ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.signing_factors FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.signing_factors ENABLE ALWAYS TRIGGER no_removal_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.signing_nonces FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signing_nonces ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.signing_nonces FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signing_nonces ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER append_only_row BEFORE DELETE OR UPDATE ON axiom.signing_policies FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signing_policies ENABLE ALWAYS TRIGGER append_only_row;
CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.signing_policies FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only();
ALTER TABLE axiom.signing_policies ENABLE ALWAYS TRIGGER append_only_truncate;
CREATE OR REPLACE TRIGGER no_removal_row BEFORE DELETE ON axiom.users FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.users ENABLE ALWAYS TRIGGER no_removal_row;
CREATE OR REPLACE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.users FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal();
ALTER TABLE axiom.users ENABLE ALWAYS TRIGGER no_removal_truncate;
