-- axiom-migrate: run-as=admin
--
-- 0023_record_type_needs_a_domain - a precise refusal for a record type without a domain.
--
-- Layer: 2 (configuration by administrators); nothing about who may do what changes.
--
-- Why: a RecordTypeConfig written with revision 1 or 2 of the control schema has no domain;
-- the applier fills the field's default (the empty string), and the insert's foreign key
-- refused it, answered not_found_or_denied: a producer could not tell that it had to move to
-- revision 3 (docs/producers.md, "Evolution and upgrade order").
--
-- What changes: configure_record_type refuses an empty or missing domain with the reason
-- code domain_required and a message that names the field and the revision, after the
-- administrator check (a non-administrator still learns nothing).

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
