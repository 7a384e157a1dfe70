#!/usr/bin/env bash
# 0721-bench-smoke - a small `axiom bench` run end to end (issue 7 item 4): every phase runs
# (throughput, paced latency, ceiling, replay, verify), and the three outputs exist and are
# well-formed: the human table on stdout, the JSON file with every figure, the PNG plot.
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

(cd "$ROOT" && TMPDIR="$TMP" timeout 240 "$AX" bench --commands 600 --latency-commands 150 \
	--partitions 2 --batch 100 --json "$TMP/bench.json" --plot "$TMP/bench.png" \
	>"$TMP/out" 2>"$TMP/err")
rc=$?
check "bench exits 0" 0 "$rc"
((rc == 0)) || { tail -n 30 "$TMP/err"; }
check "the table has the apply rate" 1 "$(grep -c '^apply rate, all checks on (commands/s) *[0-9]' "$TMP/out")"
check "the table has the ceiling and the ratio" 2 "$(grep -c '^ceiling: raw COPY\|^apply / ceiling *[0-9]' "$TMP/out")"
check "the table has p50, p95, p99" 3 "$(grep -c '^latency append->commit p[059]* (ms) *[0-9]' "$TMP/out")"
check "the table has CPU per 1,000 and RSS" 2 "$(grep -c '^applier CPU s per 1,000\|^applier peak RSS' "$TMP/out")"
check "the table names the machine" 1 "$(grep -c '^machine: .* CPUs, [0-9]* MiB, load average' "$TMP/out")"
check "the table reports signature verifications against raw ECDSA" 1 "$(grep -cE '^signatures / raw ECDSA +[0-9]+\.[0-9]+$' "$TMP/out")"
check "the replay equals the live database" 1 "$(grep -c 'rebuilt = live' "$TMP/out")"

# the JSON: well-formed, every figure a positive number where one must be
python3 - "$TMP/bench.json" >"$TMP/json.check" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
t, l, rv = j["throughput"], j["latency"], j["replay_verify"]
need = [t["apply_per_s"], t["ceiling_per_s"], t["publish_per_s"], t["applier_cpu_s_per_1000"],
        t["applier_peak_rss_mib"], l["p50_ms"], l["p95_ms"], l["p99_ms"], l["apply_to_ceiling"],
        rv["replay_per_s"], rv["verify_versions_per_s"]]
assert all(isinstance(x, (int, float)) and x > 0 for x in need), need
assert l["p50_ms"] <= l["p95_ms"] <= l["p99_ms"] <= l["max_ms"]
assert j["options"]["commands"] == 600 and l["n"] == 150
assert rv["replay_equal"] is True and rv["verify_exit"] == 0, rv
assert j["machine"]["nproc"] >= 1 and j["machine"]["cpu"]
print("json ok")
EOF
check "the JSON file is well-formed and complete" "json ok" "$(tail -n 1 "$TMP/json.check")"

# the PNG: its signature and a non-trivial size; its data file has one line per second
check "the plot is a PNG" "89504e470d0a1a0a" "$(head -c 8 "$TMP/bench.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
check "the plot is not empty" 1 "$(($(stat -c %s "$TMP/bench.png" 2>/dev/null || echo 0) > 5000))"
check "the plot's data has seconds with commits" 1 "$(awk '!/^#/ && $2 > 0 {n++} END {print (n > 0)}' "$TMP/bench.png.dat" 2>/dev/null)"

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
