# cli-check-lib.sh - sourced by the CLI tests (0004, 0006, 0401); not a test itself (ctest
# registers only tests/integration/[0-9]*.sh).
#
#   check NAME EXPECTED_RC PATTERN -- CMD...   run CMD (bounded by CHECK_TIMEOUT_S, default
#                                              90); ok when it exits EXPECTED_RC, its output
#                                              (stdout and stderr) matches the extended
#                                              regular expression PATTERN and, when
#                                              CHECK_MAX_S is set, it took at most that long
#   finish                                     the "N passed, M failed" line and exit status
fails=0 passes=0

check() {
	local name=$1 want=$2 pat=$3 out rc t0 t1
	shift 4
	t0=$(date +%s)
	out=$(timeout "${CHECK_TIMEOUT_S:-90}" "$@" 2>&1)
	rc=$?
	t1=$(date +%s)
	if [[ $rc -ne $want ]] || ! grep -qE -- "$pat" <<<"$out" ||
		[[ -n ${CHECK_MAX_S:-} && $((t1 - t0)) -gt ${CHECK_MAX_S:-0} ]]; then
		printf 'FAIL %s: rc=%s (want %s) after %ss; output:\n%s\n' "$name" "$rc" "$want" \
			"$((t1 - t0))" "$out"
		fails=$((fails + 1))
	else
		printf 'ok   %s (rc=%s, %ss)\n' "$name" "$rc" "$((t1 - t0))"
		passes=$((passes + 1))
	fi
}

finish() {
	echo "$passes passed, $fails failed"
	((fails == 0))
	exit $?
}
