#!/usr/bin/env bash
# 0402-python-client - the reference Python client (producers/python, docs/producers.md),
# installed as a new user would: a virtualenv under the build folder, `pip install` of the
# package from the repository with its dependencies (fastavro, confluent-kafka) from PyPI.
# From Python: murmur2 against the Java client's test values and against librdkafka's own
# murmur2 partitioner; a scenario published (control plane in dependency order, a record
# versioned and released, a specification changed through approval, a self-approval that
# must be refused, a dict payload refused before sending, a broker that is away raising);
# then `axiom apply --until-caught-up`; then the audit topic read back from Python
# (read_committed), decoded, its chains verified and compared with the database's ledger.
# A virtualenv that cannot be made (offline, python3-venv missing) fails the test, unless
# AXIOM_ALLOW_SKIP=1 (exit 77, skipped), as tests/codec/interop.sh does.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"
venv=${AXIOM_TEST_BIN_DIR:?run through ctest}/python-client-venv

check "the client's schemas are the contract's (producers/python/axiom_client/schemas)" "" \
	"$(diff -r "$ROOT/schemas/avro" "$ROOT/producers/python/axiom_client/schemas" 2>&1 | grep -v '^Only in .*avro: README.md$')"

# a copy of the package, so that the build leaves nothing in the source tree
cp -r "$ROOT/producers/python" "$TMP/pkg"
if [[ ! -x $venv/bin/python ]] && ! python3 -m venv "$venv"; then
	rm -rf "$venv"
	venv_failed=1
fi
if [[ -z ${venv_failed:-} ]] && ! "$venv/bin/pip" install --quiet --disable-pip-version-check \
	--force-reinstall "$TMP/pkg" >"$TMP/pip.log" 2>&1; then
	venv_failed=1
fi
if [[ -n ${venv_failed:-} ]]; then
	if [[ ${AXIOM_ALLOW_SKIP:-0} == 1 ]]; then
		echo "0402: could not install axiom-client into a virtualenv (offline? python3-venv missing?): skipped (AXIOM_ALLOW_SKIP=1)"
		exit 77
	fi
	tail -n 20 "$TMP/pip.log" 2>/dev/null
	echo "FAIL could not install axiom-client into a virtualenv (offline? python3-venv missing?); AXIOM_ALLOW_SKIP=1 skips this test instead"
	exit 1
fi
PY=$venv/bin/python
SC=$ROOT/tests/integration/python_client_scenario.py
check "pip installed axiom-client with fastavro and confluent-kafka" 0 \
	"$("$PY" -c 'import axiom_client, fastavro, confluent_kafka' >/dev/null 2>&1; echo $?)"

tag="$$-$(date +%s)"
P="it0402-$tag" G="g-$P" DB="axiom_it_0402_${tag//-/_}"
FAULT_GROUPS+=("$G")
new_db "$DB"
"$AX" topics create --prefix "$P" --partitions 3 >/dev/null || { echo "FAIL topics create"; exit 1; }

# each step prints its own ok / FAIL lines; its exit status counts as one more check
"$PY" "$SC" murmur2 "$AXIOM_BROKERS" "$P" 2>&1
check "murmur2 from Python" 0 $?
"$PY" "$SC" publish "$AXIOM_BROKERS" "$P" "$TMP/state.json" 2>&1
check "the scenario published from Python" 0 $?

apply_fg "$TMP/apply.log"
check "axiom apply --until-caught-up" 0 $?
grep -E 'partition_failed' "$TMP/apply.log" | head -n 3

"$PY" "$SC" audit "$AXIOM_BROKERS" "$P" "$TMP/state.json" >"$TMP/audit.out" 2>&1
check "the audit topic read and verified from Python" 0 $?
grep -v '^LEDGER ' "$TMP/audit.out"
# the heads Python read from the audit topic are the database's ledger heads
admin "SELECT 'LEDGER ' || l.topic || '/' || l.kafka_partition || '/' || l.seq || '/' || encode(l.entry_hash, 'hex')
	FROM axiom.ledger l WHERE (l.topic, l.kafka_partition, l.seq) IN
	(SELECT topic, kafka_partition, max(seq) FROM axiom.ledger GROUP BY 1, 2)" | LC_ALL=C sort >"$TMP/db-heads.txt"
check "ledgers in the database (control, 3 data partitions at most)" 1 \
	"$(admin "SELECT (count(DISTINCT (topic, kafka_partition)) BETWEEN 2 AND 4)::int FROM axiom.ledger")"
check "the audit heads are the database's ledger heads" "$(cat "$TMP/db-heads.txt")" \
	"$(grep '^LEDGER ' "$TMP/audit.out" | LC_ALL=C sort)"
finish
