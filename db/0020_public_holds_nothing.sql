-- axiom-migrate: run-as=admin
--
-- 0020_public_holds_nothing - no login other than the applier's can lock what the applier
-- locks, or write anything, through a system function PUBLIC could execute.
--
-- Layer: roles (nothing for PUBLIC; docs/security-layers.md). It runs as the admin login
-- because the functions of pg_catalog belong to the bootstrap superuser: only their owner
-- can change who may execute them. Every statement is idempotent, so a re-run changes
-- nothing. Nothing about a decision, an outcome, a record or a ledger entry changes.
--
-- Why: PostgreSQL grants PUBLIC EXECUTE on most of pg_catalog, and 0001 only took away what
-- PUBLIC holds on the objects of the project. So axiom_analytics and axiom_auditor (and
-- axiom_user) could call pg_advisory_lock(hashtextextended(topic || '/' || partition, 7)),
-- the key axiom.partition_batch (0016) and axiom_api.append_ledger_entry (0007) take for a
-- partition: the applier's next batch on that partition then waited for as long as the
-- reader liked, and through the control partition, which every data partition waits for,
-- all of them did. The same logins could write large objects (lo_from_bytea: the auditor
-- wrote 1 MB), queue notifications (pg_notify) and write WAL (pg_logical_emit_message).
--
-- What changes: EXECUTE is revoked from PUBLIC (and from the three logins, should anyone
-- have granted it to them directly) on every signature of these families of pg_catalog,
-- found by a query over pg_proc so that no signature is missed:
--  (1) advisory locks: pg_advisory_*, pg_try_advisory_* (session and transaction level,
--      shared or not, bigint and (integer, integer), the unlocks and pg_advisory_unlock_all);
--  (2) large objects: lo_*, loread, lowrite (lo_import and lo_export were already
--      superuser-only; revoked again all the same);
--  (3) pg_notify;
--  (4) pg_logical_emit_message: writes a WAL record of any size, which logical decoding
--      hands to every consumer;
--  (5) functions that write the catalogs, the server's files or indexes and are guarded
--      only by a check inside them (superuser, REPLICATION, binary-upgrade mode, ownership
--      of the index): replication slots (create, drop, copy, advance, get/peek changes, which
--      consume a slot), binary_upgrade_*, gin_clean_pending_list, brin_summarize_new_values,
--      brin_summarize_range, brin_desummarize_range (these two families take their lock
--      before they check ownership), pg_import_system_collations, pg_nextoid,
--      pg_extension_config_dump, pg_stop_making_pinned_objects, pg_rotate_logfile_old and
--      pg_read_file_old. None of them is needed by a project role; closing them removes the
--      dependency on each internal check.
-- Re-granted, to the one role each that needs it:
--  (6) pg_advisory_xact_lock(bigint) to axiom_definer (NOLOGIN): axiom.partition_batch and
--      axiom_api.append_ledger_entry run as their owner and take the partition's lock;
--      nobody logs in as the definer, so only the project's own SECURITY DEFINER code, on
--      the partition its caller names, takes it;
--  (7) pg_advisory_lock(bigint) and pg_advisory_unlock(bigint) to the admin login running
--      this migration when it is not a superuser: common/ax_migrate.c takes the migration
--      lock with them (a superuser bypasses the check, as in ops/stack).
--
-- Judged and left executable (VOLATILE functions of pg_catalog that PUBLIC still executes
-- after this; the exact list of what each login holds is tests/integration/allow-list/):
--  - set_config, setseed, pg_stat_clear_snapshot, pg_stat_force_next_flush: change only
--    the caller's own session (set_config is how axiom.begin_command, 0005, carries the
--    identity; the MAC keeps a caller's own SET from meaning anything);
--  - nextval, setval, currval, lastval, pg_sequence_last_value, currtid2: check the
--    privilege on the sequence or table themselves; the readers hold none on sequences;
--  - pg_cancel_backend, pg_terminate_backend: refuse unless the caller is a member of the
--    target's role (or of pg_signal_backend); no login is a member of any role;
--  - pg_sleep, pg_sleep_for, pg_sleep_until: block only the caller; a long transaction can
--    idle without them (residual in docs/security-layers.md);
--  - pg_relation_size and the other size functions: take ACCESS SHARE on the relation for
--    the statement (or the caller's transaction), like a SELECT; ACCESS SHARE conflicts only
--    with ACCESS EXCLUSIVE, which the applier never takes (residual: a migration does);
--  - query_to_xml, cursor_to_xml, their xmlschema variants, ts_stat, ts_rewrite(tsquery,
--    text): run a query the caller could run itself, with the caller's privileges;
--  - pg_export_snapshot: makes the caller's snapshot importable by another session (pg_dump
--    --jobs); takes no lock and writes nothing to the database;
--  - readers of server state and checkers (pg_lock_status, pg_blocking_pids,
--    pg_prepared_xact, pg_current_wal_lsn, pg_control_*, txid_status, pg_xact_status,
--    pg_notification_queue_usage, amvalidate, plpgsql_validator, clock_timestamp, random,
--    gen_random_uuid, ...): read only;
--  - UPDATE on the view pg_catalog.pg_settings (PostgreSQL's own grant to PUBLIC): its rule
--    calls set_config, so it is a SET of the caller's own session parameters; USAGE on the
--    languages c and internal: creating a function in them needs a superuser, and CREATE on
--    a schema, which no login holds;
--  - trigger functions (RI_FKey_*, unique_key_recheck, suppress_redundant_updates_trigger,
--    tsvector_update_trigger*) and handlers taking internal or returning a handler (table
--    and index access methods, tablesample methods, snowball, plpgsql_call_handler and
--    plpgsql_inline_handler): refuse to be called directly, or cannot be given their
--    argument from SQL.
-- Not functions, closed or bounded elsewhere (docs/security-layers.md): TEMP and CREATE on
-- the database (0001 revokes ALL from PUBLIC), SELECT ... FOR UPDATE/SHARE (needs UPDATE,
-- which no reader holds), LOCK TABLE (a reader's SELECT allows ACCESS SHARE only), PREPARE
-- TRANSACTION (ops/stack keeps max_prepared_transactions at 0), the NOTIFY statement
-- (cannot be revoked: bounded, residual).
--
-- Invariants:
--  (1) PUBLIC, axiom_user, axiom_analytics and axiom_auditor hold EXECUTE on no function of
--      the families above; the migration fails otherwise (for example when run by an admin
--      login that does not own pg_catalog and holds no grant option on it);
--  (2) axiom_definer holds EXECUTE on pg_advisory_xact_lock(bigint) and on no other
--      function of the families;
--  (3) the login running the migrations can take and release the migration lock;
--  (4) every signature of a family is covered, including signatures a later PostgreSQL
--      adds, when this file runs (re-running it in a newer cluster covers them again).

DO $revoke$
DECLARE
	fams regprocedure[];
	f regprocedure;
	held text;
BEGIN
	-- (7) first, so that the migrator never loses its lock function in between
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
		EXECUTE format('GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock(bigint), '
		    'pg_catalog.pg_advisory_unlock(bigint) TO %I', current_user);
	END IF;
	SELECT array_agg(p.oid::regprocedure ORDER BY p.oid) INTO fams FROM pg_catalog.pg_proc p
	 WHERE p.pronamespace = 'pg_catalog'::regnamespace
	   AND (p.proname ~ '^pg_(try_)?advisory_'                                  -- (1)
	     OR p.proname ~ '^lo_' OR p.proname IN ('loread', 'lowrite')             -- (2)
	     OR p.proname = 'pg_notify'                                              -- (3)
	     OR p.proname = 'pg_logical_emit_message'                                -- (4)
	     OR p.proname ~ '^pg_(create|copy)_(physical|logical)_replication_slot$' -- (5)
	     OR p.proname IN ('pg_drop_replication_slot', 'pg_replication_slot_advance')
	     OR p.proname ~ '^pg_logical_slot_(get|peek)_'
	     OR p.proname ~ '^binary_upgrade_'
	     OR p.proname IN ('gin_clean_pending_list', 'brin_summarize_new_values',
	         'brin_summarize_range', 'brin_desummarize_range', 'pg_import_system_collations',
	         'pg_nextoid', 'pg_extension_config_dump', 'pg_stop_making_pinned_objects',
	         'pg_rotate_logfile_old', 'pg_read_file_old'));
	FOREACH f IN ARRAY fams LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, axiom_user, axiom_analytics, '
		    'axiom_auditor, axiom_owner, axiom_definer', f);
	END LOOP;
	-- (6)
	GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) TO axiom_definer;

	-- Invariants (1) to (3), checked: a REVOKE that PostgreSQL could not carry out (the
	-- admin does not own pg_catalog and holds no grant option on it) is only a warning.
	SELECT string_agg(format('%s to %s', a.fn, CASE WHEN a.grantee = 0 THEN 'PUBLIC'
	           ELSE a.grantee::regrole::text END), ', ' ORDER BY a.fn::text)
	  INTO held
	  FROM (SELECT p.oid::regprocedure AS fn, x.grantee
	          FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(coalesce(p.proacl,
	               pg_catalog.acldefault('f', p.proowner))) x
	         WHERE p.oid = ANY (fams) AND x.privilege_type = 'EXECUTE') a
	 WHERE (a.grantee = 0 OR a.grantee IN (SELECT r.oid FROM pg_catalog.pg_roles r
	       WHERE r.rolname IN ('axiom_user', 'axiom_analytics', 'axiom_auditor', 'axiom_owner',
	           'axiom_definer')))
	   AND NOT (a.grantee = 'axiom_definer'::regrole
	       AND a.fn = 'pg_catalog.pg_advisory_xact_lock(bigint)'::regprocedure);
	IF held IS NOT NULL THEN
		RAISE EXCEPTION 'EXECUTE is still granted on: %', held
		    USING HINT = 'Run the migrations as a superuser, or as the owner of pg_catalog.';
	END IF;
	IF NOT pg_catalog.has_function_privilege('axiom_definer',
	    'pg_catalog.pg_advisory_xact_lock(bigint)', 'EXECUTE') THEN
		RAISE EXCEPTION 'axiom_definer cannot take the partition lock';
	END IF;
	IF NOT (pg_catalog.has_function_privilege('pg_catalog.pg_advisory_lock(bigint)', 'EXECUTE')
	    AND pg_catalog.has_function_privilege('pg_catalog.pg_advisory_unlock(bigint)',
	        'EXECUTE')) THEN
		RAISE EXCEPTION 'the migrating login % cannot take the migration lock', current_user;
	END IF;
END
$revoke$;
