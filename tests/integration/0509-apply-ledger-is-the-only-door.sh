#!/usr/bin/env bash
# 0509-apply-ledger-is-the-only-door - every regulated row is the result of a decision taken
# from the log (db/0018). A scenario is applied from the real broker; then, as the runtime
# login axiom_user, every per-command API function is refused (before db/0018 each call
# succeeded with any actor and any event time and left rows no ledger entry explains); the
# database itself refuses a row that names no ledger entry, even from a superuser; and
# `axiom verify` fails on a row whose ledger reference is forged, on ledger event times
# that go back within a partition, and (with --signatures) on a signature it cannot
# re-verify, where it used to say "every chain is valid".
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

fault_setup 0509 2 3
apply_fg "$TMP/apply.log" --instance it0509
check "apply exits 0" 0 $?

# as the runtime login: the batch entry point only
as_user() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$(DSN_OF)" -c "$1" 2>&1; }
for call in \
	"axiom_api.create_record('alice', '3000-01-01', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'sop', 'basel', 't', '\\x00', '\\x00')" \
	"axiom_api.enroll_user('axiom-system', '1970-01-02', gen_random_uuid(), 'mallet', 'M', true, NULL, 'x')" \
	"axiom_api.grant_access('axiom-system', now(), gen_random_uuid(), gen_random_uuid(), 'mallory', 'basel', 'quality_control', 'manager', NULL, 'x')" \
	"axiom_api.transition_record('carol', now(), gen_random_uuid(), gen_random_uuid(), 1, 'retired', 'x')" \
	"axiom_api.sign_record('carol', now(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'approval', '\\x00', ARRAY['fido2'], '\\x00')" \
	"axiom_api.apply_batch('$P.commands', 0, '[]')" \
	"axiom_api.append_ledger_entry('carol', now(), '$P.commands', 0, 99, NULL, 'accepted', NULL, NULL)"; do
	out=$(as_user "SELECT * FROM $call")
	check "axiom_user may not call ${call%%(*}" "permission denied" \
		"$(grep -o 'permission denied' <<<"$out" | head -n 1)"
done

verify() { # ARGS: axiom verify as the auditor; output in $TMP/verify.out, exit code returned
	timeout 120 "$AX" verify --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" --prefix "$P" "$@" \
		>"$TMP/verify.out" 2>&1
}
has() { grep -qF -- "$1" "$TMP/verify.out" && echo yes || { cat "$TMP/verify.out" >&2; echo no; }; }
verify --signatures
check "verify of the applied log exits 0" 0 $?
check "... and says every chain is valid" yes "$(has 'every chain is valid')"

# the database refuses a regulated row that names no ledger entry, whoever inserts it
out=$(admin "INSERT INTO axiom.users (user_id, printed_name, enrolled_at, enrolled_by)
             VALUES ('mallet', 'M', now(), 'axiom-system')" 2>&1)
check "a superuser's row without a ledger entry is refused" 'null value in column "ledger_topic"' \
	"$(grep -o 'null value in column "ledger_topic"' <<<"$out")"

# a forged reference is named
admin "SET axiom.ledger_topic = '$P.control'; SET axiom.ledger_partition = '0';
       SET axiom.ledger_seq = '9999';
       INSERT INTO axiom.users (user_id, printed_name, enrolled_at, enrolled_by)
       VALUES ('mallet', 'M', now(), 'axiom-system')" >/dev/null
verify
check "verify fails on a row with no matching ledger entry" 1 $?
check "... and names it" yes \
	"$(has "broken: axiom.users row mallet: names ledger entry $P.control/0#9999, which does not exist")"

# ledger event times that go back within a partition (the last entry of the partition with
# the most entries, a superuser's edit)
read -r part last < <(admin "SELECT kafka_partition || ' ' || max(seq) FROM axiom.ledger
	WHERE topic = '$P.commands' GROUP BY kafka_partition ORDER BY max(seq) DESC LIMIT 1")
admin "ALTER TABLE axiom.ledger DISABLE TRIGGER USER;
       UPDATE axiom.ledger SET event_time = '2000-01-01' WHERE topic = '$P.commands'
          AND kafka_partition = $part AND seq = $last" >/dev/null
verify
check "verify fails on an event time that goes back" 1 $?
check "... and names the entry" yes \
	"$(has "broken: axiom.ledger row $P.commands/$part#$last: event time 2000-01-01 00:00:00+00 is before")"

# a signature nobody can re-verify (what the 9-argument sign_record used to leave)
admin "SET axiom.ledger_topic = '$P.commands'; SET axiom.ledger_partition = '0';
       SET axiom.ledger_seq = '1';
       INSERT INTO axiom.signatures (signature_id, record_id, id, version, record_hash,
           facility_id, domain_id, signer, printed_name, signed_at, meaning, intent_hash,
           factor_types, proofs)
       SELECT gen_random_uuid(), r.record_id, r.id, r.version, r.record_hash, r.facility_id,
           r.domain_id, 'carol', 'Carol Dubois', r.created_at, 'approval', sha256('x'),
           ARRAY['fido2'], '\\x00' FROM axiom.records r ORDER BY r.record_id LIMIT 1" >/dev/null
verify --signatures
check "verify --signatures fails on a signature without proofs" 1 $?
check "... and says why" yes "$(has 'recorded without the proofs that would let anyone re-verify them')"
finish
