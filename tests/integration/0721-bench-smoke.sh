#!/usr/bin/env bash
# 0721-bench-smoke - a small `axiom bench` run end to end (issue 7 item 4, issue 16): every
# phase runs (throughput with the realistic mix, paced latency, ceiling, replay, verify, and
# verify at a given size), the latency phase once per fraction with --rate-fractions (0.2,
# and 0.5 from --rate-fraction's default), and the three outputs exist and are well-formed:
# the human table on stdout, the JSON file with every figure in its phase's object (the
# sweep's runs and its 50 ms crossing in the latency object), the PNG plot with its sweep
# panel's data. A malformed --rate-fractions is a usage error (exit 2) before any work. The mix's
# refusals are decided as refusals by the applier: the ledger's rejected count is the mix's.
# No threshold on any figure: the bench reports, the test only checks that it does; the
# throwaway databases and topics are gone afterwards. "Gone" is read from a listing that
# worked: psql must answer, and kcat must exit 0 with the broker's metadata (at least one
# broker and the topic count), so a missing kcat or an unreachable broker is a failure, not
# an empty list that looks like "no topics".
set -uo pipefail
AX=${AXIOM_BIN:?run through ctest}
ROOT=${AXIOM_ROOT:?run through ctest}
: "${AXIOM_PG_ADMIN_DSN:?run through tests/with-stack}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kafka-lib.sh" # kc: kcat as a principal
TMP=$(mktemp -d)
fails=0 passes=0
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
check() { # NAME WANT GOT
	if [[ "$2" == "$3" ]]; then
		printf 'ok   %s (%s)\n' "$1" "$3"
		passes=$((passes + 1))
	else
		printf 'FAIL %s: want %s, got %s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	fi
}

"$AX" bench --rate-fractions 0.2,zero >/dev/null 2>"$TMP/usage.err"
check "a malformed --rate-fractions is a usage error" 2 "$?"
check "the usage error names the bad fraction" 1 "$(grep -c "not 'zero'" "$TMP/usage.err")"

(cd "$ROOT" && TMPDIR="$TMP" timeout 300 "$AX" bench --commands 600 --latency-commands 150 \
	--partitions 2 --batch 100 --rate-fractions 0.2 --verify-versions 1200 \
	--json "$TMP/bench.json" --plot "$TMP/bench.png" >"$TMP/out" 2>"$TMP/err") &
bench=$!
# while it runs, the bench database's ledger has no trigger but the project's own: the bench
# reads commit times and adds nothing to the applier's transactions (a NOTIFY trigger, as
# before, serialized every commit behind one lock)
extra=0 looked=0
while kill -0 "$bench" 2>/dev/null; do
	n=$(psql -X -t -A "$AXIOM_PG_ADMIN_DSN" -c "SELECT datname FROM pg_database WHERE datname LIKE 'axiom_bench_%' AND datname NOT LIKE '%_replay' LIMIT 1" 2>/dev/null)
	if [[ -n $n ]]; then # a later dbname in a conninfo string wins
		got=$(psql -X -t -A "$AXIOM_PG_ADMIN_DSN dbname=$n" -c "SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace s ON s.oid = p.pronamespace WHERE t.tgrelid = 'axiom.ledger'::regclass AND s.nspname <> 'axiom'" 2>/dev/null)
		[[ $got =~ ^[0-9]+$ ]] && looked=$((looked + 1)) && ((got > extra)) && extra=$got
	fi
	sleep 0.5
done
wait "$bench"
rc=$?
check "bench exits 0" 0 "$rc"
check "the ledger's triggers were read while the bench ran" 1 "$((looked > 0))"
check "the bench adds no trigger to the ledger" 0 "$extra"
((rc == 0)) || { tail -n 30 "$TMP/err"; }
check "the table has the apply rate" 1 "$(grep -c '^apply rate, all checks on (commands/s) *[0-9]' "$TMP/out")"
check "the table has the ceiling and the ratio" 2 "$(grep -c '^ceiling: raw COPY\|^apply / ceiling *[0-9]' "$TMP/out")"
check "the table has p50, p95, p99" 3 "$(grep -c '^latency append->commit p[059]* (ms) *[0-9]' "$TMP/out")"
check "the table has the CPU per command of each applying phase" 8 "$(grep -c '^applier CPU per command (us) *[0-9]\|^PostgreSQL CPU per command (us, whole server) *[0-9]' "$TMP/out")"
check "the table has the peak RSS of both applier runs" 2 "$(grep -c '^applier peak RSS (MiB) *[0-9]' "$TMP/out")"
check "the table has accepted and rejected counts" 1 "$(grep -c '^accepted / rejected (ledger) *[0-9]* / *[0-9]' "$TMP/out")"
check "the table has verify's database and Kafka stages against the synthetic rate" 2 "$(grep -c '^database stages / synthetic *[0-9]' "$TMP/out")"
check "the table names the machine" 1 "$(grep -c '^machine: .* CPUs, [0-9]* MiB, load average' "$TMP/out")"
check "the table reports signature verifications against raw ECDSA" 1 "$(grep -cE '^signatures / raw ECDSA +[0-9]+\.[0-9]+$' "$TMP/out")"
check "the replay equals the live database" 1 "$(grep -c 'rebuilt = live' "$TMP/out")"
check "the table has a sweep line per fraction" 2 "$(grep -cE '^ +0\.[25]0( +[0-9]+(\.[0-9])?){8}$' "$TMP/out")"
check "the table names the 50 ms crossing" 1 "$(grep -cE '^p99 above 50 ms from fraction: (none up to 0\.50|0\.[25]0 \(p99 [0-9.]+ ms\))$' "$TMP/out")"

# the JSON: well-formed, every figure a positive number where one must be
python3 - "$TMP/bench.json" >"$TMP/json.check" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
t, l, c, rp, v, sc = j["throughput"], j["latency"], j["ceiling"], j["replay"], j["verify"], j["scale"]
need = [t["apply_per_s"], t["publish_per_s"], t["applier_cpu_us_per_command"],
        t["postgres_cpu_us_per_command"], t["applier_peak_rss_mib"],
        l["p50_ms"], l["p95_ms"], l["p99_ms"], l["applier_cpu_us_per_command"],
        l["postgres_cpu_us_per_command"], c["per_s"], c["apply_to_ceiling"],
        rp["per_s"], rp["applier_cpu_us_per_command"], rp["postgres_cpu_us_per_command"],
        v["versions_per_s"], v["database_versions_per_s"], v["kafka_items_per_s"],
        v["synthetic_versions_per_s"], v["database_to_synthetic"],
        sc["apply_per_s"], sc["verify"]["database_versions_per_s"]]
assert all(isinstance(x, (int, float)) and x > 0 for x in need), need
assert "apply_to_ceiling" not in l and "ceiling_per_s" not in t, "figures outside their phase"
assert l["p50_ms"] <= l["p95_ms"] <= l["p99_ms"] <= l["max_ms"]
assert j["options"]["commands"] == 600 and l["n"] == 150 and j["options"]["mix"] == "realistic"
# the sweep: a run per fraction, ascending, each with sane figures; the 0.5 run is the
# latency object's; the crossing is the lowest fraction whose p99 is above 50 ms
sw = l["latency_sweep"]
assert [e["fraction"] for e in sw] == [0.2, 0.5] == j["options"]["rate_fractions"], sw
for e in sw:
    assert e["n"] == 150 and e["applied_commands"] == 150 + 60, e
    assert all(e[k] > 0 for k in ("paced_per_s", "achieved_per_s", "p50_ms",
               "applier_cpu_us_per_command", "postgres_cpu_us_per_command",
               "applier_peak_rss_mib")), e
    assert e["p50_ms"] <= e["p95_ms"] <= e["p99_ms"] <= e["max_ms"], e
assert sw[0]["paced_per_s"] < sw[1]["paced_per_s"], sw
assert all(sw[1][k] == l[k] for k in ("paced_per_s", "p50_ms", "p99_ms", "max_ms", "n")), (sw, l)
cross = next((e["fraction"] for e in sw if e["p99_ms"] > 50), None)
assert l["p99_crosses_50ms_at_fraction"] == cross, (l["p99_crosses_50ms_at_fraction"], cross)
# the refusals the mix meant are the ledger's rejections, each command decided once
assert t["mix_refusals"] > 0 and t["rejected"] == t["mix_refusals"], t
assert t["accepted"] + t["rejected"] == 600 and t["quarantined"] == 0, t
assert sum(t["rejected_by_reason"].values()) == t["rejected"], t
assert t["mix_signatures"] > 0 and t["signatures_stored"] == t["mix_signatures"], t
assert rp["equal"] is True and v["exit"] == 0, (rp, v)
assert sc["verify"]["versions"] >= 1200 and sc["verify"]["exit"] == 0, sc
assert j["machine"]["nproc"] >= 1 and j["machine"]["cpu"]
print("json ok")
EOF
check "the JSON file is well-formed and complete" "json ok" "$(tail -n 1 "$TMP/json.check")"

# the PNG: its signature and a non-trivial size; its data file has one line per second
check "the plot is a PNG" "89504e470d0a1a0a" "$(head -c 8 "$TMP/bench.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
check "the plot is not empty" 1 "$(($(stat -c %s "$TMP/bench.png" 2>/dev/null || echo 0) > 5000))"
check "the plot's data has seconds with commits" 1 "$(awk '!/^#/ && $2 > 0 {n++} END {print (n > 0)}' "$TMP/bench.png.dat" 2>/dev/null)"
check "the plot's sweep data has a line per fraction" "0.200 0.500" "$(awk '!/^#/ {printf "%s%s", s, $1; s=" "}' "$TMP/bench.png.sweep.dat" 2>/dev/null)"

# nothing left behind: the bench's tag names its databases and topics
tag=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tag"])' "$TMP/bench.json" 2>/dev/null)
check "the bench reports its tag" 1 "$([[ -n $tag ]] && echo 1 || echo 0)"
check "the benchmark databases are dropped" 0 \
	"$(psql -X -t -A "$AXIOM_PG_ADMIN_DSN" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'axiom_bench_${tag:-?}%'")"
kc admin -L >"$TMP/metadata" 2>"$TMP/metadata.err"
rc=$?
check "kcat lists the broker metadata (exit status)" 0 "$rc"
((rc == 0)) || head -c 500 "$TMP/metadata.err"
check "the metadata names a broker and counts the topics" 1 \
	"$(grep -qE '^ *[1-9][0-9]* brokers?:' "$TMP/metadata" && grep -qE '^ *[0-9]+ topics?:' "$TMP/metadata" && echo 1 || echo 0)"
check "the benchmark topics are deleted" 0 "$(grep -c "topic \"bench-${tag:-?}\." "$TMP/metadata")"
echo "$passes passed, $fails failed"
((fails == 0))
