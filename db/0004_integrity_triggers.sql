-- 0004_integrity_triggers - what the tables refuse whoever asks: append-only audit,
-- immutable data columns, and the record chain computed and linked by the database itself.
--
-- Layers: 4 (append-only audit), 5 (SCD2: immutable data columns, gap-free versions) and
-- 6 (record_hash computed here). Every trigger is ENABLE ALWAYS, so
-- session_replication_role = replica does not skip it; only the table owner (axiom_owner,
-- used by migrations alone) or a superuser can disable a trigger. The trigger functions run
-- with the caller's rights (the API's axiom_definer) and pin search_path.

-- Refuse UPDATE, DELETE and TRUNCATE: for append-only tables.
CREATE FUNCTION axiom.refuse_change_of_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION '% on table %.% is not allowed: the table is append-only',
	    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
	    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Refuse DELETE and TRUNCATE: for tables whose rows may only change lifecycle columns.
CREATE FUNCTION axiom.refuse_removal() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION '% on table %.% is not allowed: rows are never removed',
	    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
	    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Refuse an UPDATE that changes any column other than the lifecycle columns named in the
-- trigger arguments.
CREATE FUNCTION axiom.refuse_change_of_data_columns() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
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
$$;

-- Compute record_hash and check the link to the lineage's head: version = head + 1 (1 for a
-- new lineage), previous_record_id and previous_record_hash = the head's, same record type,
-- facility and domain as the lineage. A caller-supplied record_hash must equal the computed.
CREATE FUNCTION axiom.link_record_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	head axiom.records;
	h bytea;
BEGIN
	SELECT * INTO head FROM axiom.records r WHERE r.id = NEW.id
	    ORDER BY r.version DESC LIMIT 1;
	IF head.record_id IS NULL THEN
		IF NEW.version <> 1 OR NEW.previous_record_id IS NOT NULL
		    OR NEW.previous_record_hash IS NOT NULL THEN
			RAISE EXCEPTION 'version % of lineage % has no predecessor', NEW.version, NEW.id
			    USING ERRCODE = 'integrity_constraint_violation';
		END IF;
	ELSIF NEW.version <> head.version + 1
	    OR NEW.previous_record_id IS DISTINCT FROM head.record_id
	    OR NEW.previous_record_hash IS DISTINCT FROM head.record_hash THEN
		RAISE EXCEPTION 'version % of lineage % does not extend its head (version %)',
		    NEW.version, NEW.id, head.version
		    USING ERRCODE = 'integrity_constraint_violation';
	ELSIF (NEW.record_type, NEW.facility_id, NEW.domain_id)
	    IS DISTINCT FROM (head.record_type, head.facility_id, head.domain_id) THEN
		RAISE EXCEPTION 'version % of lineage % changes its record type, facility or domain',
		    NEW.version, NEW.id
		    USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	h := axiom.record_hash_v1(NEW);
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
$$;

-- Append-only tables ------------------------------------------------------------------------

DO $append_only$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['session_events', 'change_request_steps', 'signatures', 'ledger',
	    'access_tiers', 'facilities', 'domains'] LOOP
		EXECUTE format('CREATE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON axiom.%I '
		    'FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_append_only()', t);
		EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON axiom.%I '
		    'FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_change_of_append_only()', t);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER append_only_row', t);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER append_only_truncate', t);
	END LOOP;
END
$append_only$;

-- Tables with lifecycle columns: only those may change, rows are never removed ------------

DO $lifecycle$
DECLARE
	t record;
BEGIN
	FOR t IN SELECT * FROM (VALUES
		('users', ARRAY['deactivated_at']),
		('grants', ARRAY['revoked_at', 'revoked_by', 'revoke_reason']),
		('record_types', ARRAY['gate', 'configured_at', 'configured_by']),
		('records', ARRAY['status', 'status_changed_at', 'status_changed_by']),
		('change_requests', ARRAY['status', 'status_changed_at', 'applied_record_id']),
		('partition_offsets', ARRAY['next_offset', 'updated_by'])
	) AS v(name, cols) LOOP
		EXECUTE format('CREATE TRIGGER immutable_data_columns BEFORE UPDATE ON axiom.%I '
		    'FOR EACH ROW EXECUTE FUNCTION axiom.refuse_change_of_data_columns(%s)', t.name,
		    (SELECT string_agg(quote_literal(c), ', ') FROM unnest(t.cols) c));
		EXECUTE format('CREATE TRIGGER no_removal_row BEFORE DELETE ON axiom.%I '
		    'FOR EACH ROW EXECUTE FUNCTION axiom.refuse_removal()', t.name);
		EXECUTE format('CREATE TRIGGER no_removal_truncate BEFORE TRUNCATE ON axiom.%I '
		    'FOR EACH STATEMENT EXECUTE FUNCTION axiom.refuse_removal()', t.name);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER immutable_data_columns', t.name);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER no_removal_row', t.name);
		EXECUTE format('ALTER TABLE axiom.%I ENABLE ALWAYS TRIGGER no_removal_truncate', t.name);
	END LOOP;
END
$lifecycle$;

CREATE TRIGGER link_record_version BEFORE INSERT ON axiom.records
    FOR EACH ROW EXECUTE FUNCTION axiom.link_record_version();
ALTER TABLE axiom.records ENABLE ALWAYS TRIGGER link_record_version;

-- Privileges of the function owner: exactly what the API needs (docs/security-layers.md) -------
-- INSERT on append-only tables, UPDATE only on lifecycle columns, never DELETE or TRUNCATE.

GRANT USAGE ON SCHEMA axiom TO axiom_definer;
GRANT USAGE, CREATE ON SCHEMA axiom_api TO axiom_definer; -- CREATE: to own the API functions
GRANT SELECT ON axiom.access_tiers, axiom.users, axiom.facilities, axiom.domains, axiom.grants,
    axiom.record_types, axiom.records, axiom.change_requests, axiom.ledger,
    axiom.partition_offsets TO axiom_definer;
GRANT INSERT ON axiom.users, axiom.facilities, axiom.domains, axiom.grants, axiom.record_types,
    axiom.records, axiom.change_requests, axiom.change_request_steps, axiom.signatures,
    axiom.session_events, axiom.ledger, axiom.partition_offsets TO axiom_definer;
GRANT UPDATE (deactivated_at) ON axiom.users TO axiom_definer;
GRANT UPDATE (revoked_at, revoked_by, revoke_reason) ON axiom.grants TO axiom_definer;
GRANT UPDATE (gate, configured_at, configured_by) ON axiom.record_types TO axiom_definer;
GRANT UPDATE (status, status_changed_at, status_changed_by) ON axiom.records TO axiom_definer;
GRANT UPDATE (status, status_changed_at, applied_record_id) ON axiom.change_requests
    TO axiom_definer;
GRANT UPDATE (next_offset, updated_by) ON axiom.partition_offsets TO axiom_definer;
GRANT EXECUTE ON FUNCTION axiom.canon_text(text), axiom.canon_bytes(bytea),
    axiom.canon_int64(bigint), axiom.timestamp_us(timestamptz),
    axiom.canon_timestamp(timestamptz), axiom.canon_uuid(uuid),
    axiom.canon_record_v1(uuid, uuid, bigint, uuid, bytea, text, text, text, text, bytea, text,
        timestamptz, uuid),
    axiom.record_hash_v1(axiom.records),
    axiom.canon_ledger_v1(text, integer, bigint, bigint, uuid, text, timestamptz, text, text,
        bytea, bytea),
    axiom.refuse_change_of_append_only(), axiom.refuse_removal(),
    axiom.refuse_change_of_data_columns(), axiom.link_record_version()
    TO axiom_definer;
