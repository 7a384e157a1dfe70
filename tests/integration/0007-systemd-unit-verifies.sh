#!/usr/bin/env bash
# 0007-systemd-unit-verifies - ops/systemd/axiom-applier@.service is a unit systemd accepts
# as it is: `systemd-analyze verify` of an instance (the template with this build's binary
# in ExecStart) prints no warning and exits 0; a misspelt key is caught (the check can fail).
# Needs systemd-analyze (Debian's systemd); without it the test fails unless
# AXIOM_ALLOW_SKIP=1.
set -uo pipefail
ROOT=${AXIOM_ROOT:?run through ctest}
AX=${AXIOM_BIN:?run through ctest}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0 passes=0
check() { # NAME WANT GOT
	if [[ "$2" == "$3" ]]; then
		printf 'ok   %s (%s)\n' "$1" "$3"
		passes=$((passes + 1))
	else
		printf 'FAIL %s: want %s, got %s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	fi
}
if ! command -v systemd-analyze >/dev/null; then
	[[ ${AXIOM_ALLOW_SKIP:-0} == 1 ]] && { echo "# skipped: no systemd-analyze"; echo "0 passed, 0 failed"; exit 0; }
	echo "FAIL systemd-analyze is not installed (Debian package systemd; AXIOM_ALLOW_SKIP=1 to skip)"
	exit 1
fi
verify() { # UNIT-FILE: systemd-analyze verify of instance a1; prints what it said
	mkdir -p "$TMP/u" && rm -f "$TMP/u"/*
	sed "s|/usr/local/bin/axiom|$AX|" "$1" >"$TMP/u/axiom-applier@.service"
	(cd "$TMP/u" && systemd-analyze verify "$TMP/u/axiom-applier@a1.service" 2>&1; echo "rc=$?")
}
out=$(verify "$ROOT/ops/systemd/axiom-applier@.service")
check "the unit verifies" "rc=0" "$(tail -n 1 <<<"$out")"
check "... without a warning" 1 "$(wc -l <<<"$out" | tr -d ' ')"
sed 's/^ProtectSystem=strict/ProtectSytem=strict/' "$ROOT/ops/systemd/axiom-applier@.service" >"$TMP/bad.service"
check "a misspelt key is reported" 1 "$(verify "$TMP/bad.service" | grep -c "Unknown key 'ProtectSytem'")"
check "the unit stops with SIGTERM and loads the secrets as credentials" 3 \
	"$(grep -cE '^(KillSignal=SIGTERM|LoadCredential=pgpass:|LoadCredential=checkpoint-key:)' "$ROOT/ops/systemd/axiom-applier@.service")"
echo "$passes passed, $fails failed"
((fails == 0))
