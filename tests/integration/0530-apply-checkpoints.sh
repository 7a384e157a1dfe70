#!/usr/bin/env bash
# 0530-apply-checkpoints - signed checkpoints of the ledgers (docs/verify.md): the applier
# signs every N-th ledger entry with its Ed25519 key, stores the checkpoint and publishes it on
# the audit topic; axiom verify (as the auditor) checks every checkpoint against the ledger as
# it is now, and a forged one is found and located.
# The scenario (ops/scenario --records 30, 2 partitions) must first have been applied in full
# (69 data commands with an outcome, 17 control commands accepted) and so give at least 15
# checkpoints at N = 5; an empty ledger, with nothing to sign, fails there rather than
# passing every later check with zero checkpoints.
# Clean-up (apply-fault-lib.sh, trap EXIT): the database, the consumer group and the topics.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh" # check, check_le, admin, new_db, clean-up
tag="$$-$(date +%s)"
P="it0530-$tag"
DB="axiom_it_0530_${tag//-/_}"
FAULT_GROUPS+=("g-$P")

new_db "$DB"
"$AX" topics create --prefix "$P" --partitions 2 >/dev/null || { echo "FAIL topics"; exit 1; }
"$ROOT/ops/scenario" "$TMP/sc" --records 30 --seed "$tag" >/dev/null || exit 1
for f in "$TMP"/sc/*.jsonl; do "$AX" publish "$f" --prefix "$P" >/dev/null || exit 1; done
openssl genpkey -algorithm ed25519 -out "$TMP/key.pem" 2>/dev/null || { echo "FAIL keygen"; exit 1; }

check "a missing key file is a clear error" 1 "$("$AX" apply --until-caught-up --prefix "$P" --group "g-$P" \
	--dsn "$AXIOM_PG_DSN dbname=$DB" --checkpoint-key "$TMP/none.pem" >/dev/null 2>&1; echo $?)"
timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "g-$P" --instance it0530 \
	--dsn "$AXIOM_PG_DSN dbname=$DB" --progress 0 --checkpoint-key "$TMP/key.pem" \
	--checkpoint-every 5 2>"$TMP/apply.log"
check "apply exits 0" 0 $?
check "the public key is logged" 1 "$(grep -c 'event=checkpoint_key key_id=.* ed25519_public_key=' "$TMP/apply.log")"
# real work first: without it every count below is 0 = 0
check "data commands with an outcome (30 SOPs x 2 + 9)" 69 \
	"$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.commands'")"
check "control commands accepted (ticks aside)" 17 \
	"$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.control' AND decision = 'accepted' AND reason_code IS DISTINCT FROM 'tick'")"
want=$(admin "SELECT coalesce(sum(n / 5), 0) FROM (SELECT count(*) AS n FROM axiom.ledger GROUP BY topic, kafka_partition) x")
# >= 17 control entries give 3 checkpoints, 69 data entries on 2 partitions at least 12
check_le "at least 15 checkpoints due (entries / 5 per partition)" 15 "${want:-0}"
check "one checkpoint per 5 ledger entries of each partition" "$want" "$(admin "SELECT count(*) FROM axiom.checkpoints")"
check "each checkpoint holds its entry's hash" 0 "$(admin "SELECT count(*) FROM axiom.checkpoints c JOIN axiom.ledger l USING (topic, kafka_partition, seq) WHERE c.entry_hash <> l.entry_hash")"
"$AX" audit --prefix "$P" >"$TMP/audit.jsonl"
check "each checkpoint is on the audit topic" "$want" "$(grep -c '"Checkpoint"' "$TMP/audit.jsonl")"

out=$("$AX" verify --no-kafka --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" 2>&1)
check "verify as the auditor exits 0" 0 $?
check "verify counts the checkpoints" 1 "$(grep -c "checkpoints    $want signed checkpoints: 0 broken" <<<"$out")"

# a second run signs nothing new and stores nothing twice
timeout 120 "$AX" apply --until-caught-up --prefix "$P" --group "g-$P" --instance it0530 \
	--dsn "$AXIOM_PG_DSN dbname=$DB" --progress 0 --checkpoint-key "$TMP/key.pem" \
	--checkpoint-every 5 2>>"$TMP/apply.log"
check "checkpoints unchanged by a second run" "$want" "$(admin "SELECT count(*) FROM axiom.checkpoints")"

# a superuser forges one signature: verify names the checkpoint
admin "ALTER TABLE axiom.checkpoints DISABLE TRIGGER append_only_row;
       UPDATE axiom.checkpoints SET signature = set_byte(signature, 0, get_byte(signature, 0) # 1)
        WHERE (topic, kafka_partition, seq) = (SELECT topic, kafka_partition, min(seq) FROM axiom.checkpoints GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 1);
       ALTER TABLE axiom.checkpoints ENABLE ALWAYS TRIGGER append_only_row;" >/dev/null
out=$("$AX" verify --no-kafka --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" 2>&1)
check "a forged checkpoint fails verify" 1 $?
check "and is located" 1 "$(grep -c 'broken: axiom.checkpoints .* partition .* seq 5: the signed checkpoint does not match' <<<"$out")"
finish
