#!/usr/bin/env bash
# 0520-apply-metrics-and-logs - what an operator reads from a running applier.
# `axiom apply --metrics 127.0.0.1:0` serves the Prometheus text format while it applies a
# scenario from the real broker; a scrape once it caught up must agree with the ledger: the
# commands counted by decision and reason code, one append -> commit observation per ledger
# entry, batch sizes adding up to the entries, no lag, no relay backlog. Then PostgreSQL
# drops the applier's connections while more commands arrive: every line the applier writes
# is still a structured line (the server's FATAL as event=pg_notice, never a bare line; no
# raw tab or other control byte), and the writers retry within the bound of ax_backoff.h.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apply-fault-lib.sh"

HOLD_BACK=20 fault_setup 0520 3 40
applier_bg it0520 "$TMP/apply.log" --metrics 127.0.0.1:0 --batch 20 --progress 1
wait_until 30 'grep -qs "event=metrics" "$TMP/apply.log"' || { echo "FAIL no event=metrics line"; cat "$TMP/apply.log"; exit 1; }
port=$(grep -o 'event=metrics .*port=[0-9]*' "$TMP/apply.log" | head -n 1 | sed 's/.*port=//')
check "the metrics port is logged" 1 "$([[ $port =~ ^[0-9]+$ && $port -gt 0 ]] && echo 1)"

scrape() { # PATH: the body, or the HTTP status on an error
	python3 - "http://127.0.0.1:$port$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(f"HTTP {e.code}")
PY
}
# the gauges are refreshed once a second, the relay publishes within a few hundred ms
metric_sum() { # NAME [LABEL-REGEX]: the sum of a family's samples
	awk -v n="$1" -v re="${2:-.}" '$1 ~ "^"n"\\{" && $1 ~ re {s += $2} END {printf "%d\n", s}' "$TMP/metrics.txt"
}
# agree_with_ledger WHEN: a scrape once caught up and relayed, against the ledger
agree_with_ledger() {
	local d entries stored
	# the gauges are refreshed once a second: wait until they show the stored offsets and
	# an empty relay backlog, then read the figures from that scrape
	stored=$(admin "SELECT sum(next_offset) FROM axiom.partition_offsets")
	wait_until 20 'scrape /metrics >"$TMP/metrics.txt" &&
		[[ $(metric_sum axiom_applier_next_offset) == "$stored" &&
		   $(metric_sum axiom_applier_relay_backlog) == 0 ]]' ||
		echo "# the gauges did not reach the stored offsets in 20 s"
	for d in accepted rejected quarantined; do
		check "$1: commands_total{decision=$d} is the ledger's count" \
			"$(admin "SELECT count(*) FROM axiom.ledger WHERE decision = '$d'")" \
			"$(metric_sum axiom_applier_commands_total "decision=\"$d\"")"
	done
	check "$1: refusals by reason code as in the ledger" \
		"$(admin "SELECT string_agg(reason_code || '=' || n, ',' ORDER BY reason_code) FROM
		          (SELECT reason_code, count(*) n FROM axiom.ledger WHERE decision <> 'accepted'
		           GROUP BY reason_code) x")" \
		"$(awk '/^axiom_applier_commands_total\{/ && !/decision="accepted"/ {
			match($1, /reason="[^"]*"/); r = substr($1, RSTART + 8, RLENGTH - 9); n[r] += $2 }
			END {for (r in n) printf "%s=%d\n", r, n[r]}' "$TMP/metrics.txt" | LC_ALL=C sort | paste -sd,)"
	entries=$(admin "SELECT count(*) FROM axiom.ledger")
	check "$1: one append -> commit observation per ledger entry" "$entries" \
		"$(metric_sum axiom_applier_append_to_commit_seconds_count)"
	check "$1: batch sizes add up to the ledger entries" "$entries" \
		"$(metric_sum axiom_applier_batch_size_sum)"
	check "$1: no lag once caught up" 0 "$(metric_sum axiom_applier_lag)"
	check "$1: next offsets are the stored ones" \
		"$(admin "SELECT sum(next_offset) FROM axiom.partition_offsets")" \
		"$(metric_sum axiom_applier_next_offset)"
	check "$1: no claim lost" 0 "$(metric_sum axiom_applier_claims_lost_total)"
}
wait_caught_up 120 || echo "# not caught up in 120 s"
agree_with_ledger "first part"
check "HELP and TYPE for every family" 10 "$(grep -c '^# TYPE axiom_applier_' "$TMP/metrics.txt")"
check "another path is 404" "HTTP 404" "$(scrape /other)"

# PostgreSQL drops the applier's connections while commands keep coming
admin "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
       WHERE datname = current_database() AND usename = 'axiom_user'" >/dev/null
publish_held || echo "# publish of the held-back commands failed"
wait_caught_up 120
check "caught up again after the connections were dropped" 0 $?
agree_with_ledger "after the dropped connections"
check "... the scenario's refusals among them" 3 \
	"$(metric_sum axiom_applier_commands_total 'decision="rejected"')"
check "the writers noticed (database_unavailable or pg_notice)" 1 \
	"$(grep -cE 'event=(database_unavailable|pg_notice)' "$TMP/apply.log" | awk '{print ($1 > 0)}')"
check "every retry waits at most 1000 ms" 0 \
	"$(grep -o 'retry_in_ms=[0-9]*' "$TMP/apply.log" | awk -F= '$2 > 1000' | wc -l)"
check "every line is a structured line" 0 "$(grep -vc '^ts=[0-9TZ:.-]* level=[a-z]* event=[a-z_]' "$TMP/apply.log")"
grep -v '^ts=[0-9TZ:.-]* level=[a-z]* event=[a-z_]' "$TMP/apply.log" | head -n 3 | sed 's/^/# stray: /'
check "no raw tab in any line" 0 "$(grep -c $'\t' "$TMP/apply.log")"
finish
