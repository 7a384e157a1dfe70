-- axiom-migrate: run-as=admin
--
-- 0029_drop_unused_functions - the overload of insert_version that nothing calls leaves the
-- schema.
--
-- Layer: 2 (what the definer may execute); nothing it may do changes.
--
-- Why: a definition file drops nothing (db/README.md), so axiom.insert_version with 13
-- arguments, which computed the record hash itself, stayed defined, owned and executable by
-- axiom_definer after every caller moved to the 14-argument overload (the hash computed once
-- per command, by the caller that compared it with the command's). An executable function no
-- path uses is surface without a purpose: it is dropped, and its text, owner and grants leave
-- db/definitions/.
--
-- Not dropped: axiom.refuse_change_of_data_columns(), the old trigger function of
-- immutable_data_columns. The migrations that created those triggers name it, and the
-- definition files, applied after every migration, point the triggers at the generated
-- functions; dropping it here would mean dropping the triggers first, leaving the tables
-- without them until the definitions are applied.

DROP FUNCTION axiom.insert_version(uuid, uuid, bigint, uuid, bytea, text, text, text, text,
    bytea, text, timestamp with time zone, uuid);
