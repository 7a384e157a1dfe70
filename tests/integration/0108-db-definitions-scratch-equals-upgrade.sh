#!/usr/bin/env bash
# 0108-db-definitions-scratch-equals-upgrade - the definition files of db/definitions/ are the
# present of the schema: a database built from scratch, one upgraded from the oldest migration
# state (0001 alone) and one upgraded from the last release without definition files (every
# migration, no db/definitions/) end with identical functions (pg_get_functiondef), owners,
# policies, triggers, RLS flags and privileges (tests/lib/definitions-snapshot.sql).
# Then, on the scratch database: a re-run applies nothing; a changed definition file applies
# every file again, each application recorded, and the changed text is what the database
# runs; a dry run lists the files without applying them; a failing file is rolled back whole
# and named with its line; a later migration that drops a trigger, a policy and a grant gets
# them back from the definitions; a definitions step that failed after its migration committed
# is redone by the next run although no file changed; a misnamed file is refused; the records
# of applications refuse UPDATE, DELETE and TRUNCATE.
set -euo pipefail

: "${AXIOM_BIN:?run through ctest (AXIOM_BIN)}" "${AXIOM_ROOT:?run through ctest (AXIOM_ROOT)}"
: "${AXIOM_PG_ADMIN_DSN:?run through tests/with-stack}"

S=axiom_it_0108_scratch
U=axiom_it_0108_oldest
R=axiom_it_0108_release
TMP=$(mktemp -d)
SNAP="$AXIOM_ROOT/tests/lib/definitions-snapshot.sql"
pass=0

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$1" -c "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
cleanup() {
	for db in $S $U $R; do sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
migrate() { "$AXIOM_BIN" migrate --dsn "$AXIOM_PG_ADMIN_DSN dbname=$1" --dir "$2"; }
snapshot() { psql -X -q -At -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$1" -f "$SNAP"; }
defs_rows() { sql "$1" "SELECT count(*) FROM axiom_meta.definitions"; }

for db in $S $U $R; do
	sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
	sql postgres "CREATE DATABASE $db"
done
ndefs=$(ls "$AXIOM_ROOT"/db/definitions/[0-9][0-9]_*.sql | wc -l)
((ndefs >= 8)) || fail "only $ndefs definition files in db/definitions"

# --- three ways to the present ---
out=$(migrate $S "$AXIOM_ROOT/db")
grep -q "and $ndefs definition files" <<<"$out" || fail "scratch: $out"

mkdir -p "$TMP/oldest" "$TMP/release"
cp "$AXIOM_ROOT"/db/0001_*.sql "$TMP/oldest/"
cp "$AXIOM_ROOT"/db/[0-9][0-9][0-9][0-9]_*.sql "$TMP/release/"
migrate $U "$TMP/oldest" >/dev/null
[[ $(sql $U "SELECT count(*) FROM axiom_meta.definitions") == 0 ]] || fail "0001 alone applied definitions"
migrate $U "$AXIOM_ROOT/db" >/dev/null
migrate $R "$TMP/release" >/dev/null
[[ $(sql $R "SELECT count(*) FROM axiom_meta.definitions") == 0 ]] || fail "release applied definitions"
out=$(migrate $R "$AXIOM_ROOT/db")
grep -q "applied 0 migrations .* and $ndefs definition files" <<<"$out" || fail "release upgrade: $out"

snapshot $S >"$TMP/s.txt"
snapshot $U >"$TMP/u.txt"
snapshot $R >"$TMP/r.txt"
nf=$(grep -c '^function|axiom' "$TMP/s.txt") np=$(grep -c '^policy|' "$TMP/s.txt")
nt=$(grep -c '^trigger|' "$TMP/s.txt") nr=$(grep -c '^relation|axiom\.' "$TMP/s.txt")
((nf >= 100 && np >= 50 && nt >= 50 && nr >= 20)) ||
	fail "the snapshot misses objects: $nf functions, $np policies, $nt triggers, $nr relations"
diff -u "$TMP/s.txt" "$TMP/u.txt" >&2 || fail "upgraded from 0001 differs from scratch"
ok "from 0001 alone: $nf functions, $np policies, $nt triggers, $nr relations equal to scratch"
diff -u "$TMP/s.txt" "$TMP/r.txt" >&2 || fail "upgraded from the release differs from scratch"
ok "from every migration without definition files: equal to scratch"

# --- applications are recorded, and only re-run on change ---
[[ $(defs_rows $S) == "$ndefs" ]] || fail "scratch recorded $(defs_rows $S) applications"
[[ $(sql $S "SELECT count(*) FROM axiom_meta.definitions d WHERE octet_length(d.sha256) = 32 AND d.applied_by <> ''") == "$ndefs" ]] ||
	fail "an application lacks its checksum or login"
out=$(migrate $S "$AXIOM_ROOT/db")
grep -q "up to date" <<<"$out" || fail "re-run: $out"
[[ $(defs_rows $S) == "$ndefs" ]] || fail "a re-run recorded applications"
ok "a re-run applies nothing and records nothing"

cp -r "$AXIOM_ROOT/db" "$TMP/changed"
f=$TMP/changed/definitions/40_authorization.sql
grep -q 'CREATE OR REPLACE FUNCTION axiom.tier_rank(tier text)' "$f" || fail "tier_rank moved"
python3 - "$f" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
head = 'CREATE OR REPLACE FUNCTION axiom.tier_rank(tier text)'
i = s.index(head)
j = s.index('$function$', i) + len('$function$')
s = s[:j] + '\n-- 0108 was here' + s[j:]
open(p, 'w').write(s)
EOF
out=$("$AXIOM_BIN" migrate --dsn "$AXIOM_PG_ADMIN_DSN dbname=$S" --dir "$TMP/changed" --dry-run)
grep -q "pending  definitions/40_authorization.sql" <<<"$out" || fail "dry run: $out"
[[ $(defs_rows $S) == "$ndefs" ]] || fail "the dry run applied"
ok "a dry run lists the definition files a change would apply, and applies nothing"
out=$(migrate $S "$TMP/changed")
grep -q "and $ndefs definition files" <<<"$out" || fail "changed file: $out"
[[ $(defs_rows $S) == $((2 * ndefs)) ]] || fail "expected $((2 * ndefs)) applications, $(defs_rows $S)"
want=$(sha256sum "$f" | cut -d' ' -f1)
[[ $(sql $S "SELECT encode(sha256, 'hex') FROM axiom_meta.definitions WHERE name = '40_authorization.sql' ORDER BY application DESC LIMIT 1") == "$want" ]] ||
	fail "the new checksum of 40_authorization.sql is not recorded"
sql $S "SELECT pg_get_functiondef('axiom.tier_rank(text)'::regprocedure)" | grep -q '0108 was here' ||
	fail "the database does not run the changed text"
ok "a changed file applies all $ndefs again, recorded with their checksums; the database runs the new text"

# --- a failing file changes nothing ---
cp -r "$TMP/changed" "$TMP/broken"
sed -i 's/-- 0108 was here/-- 0108 broken run/' "$TMP/broken/definitions/40_authorization.sql"
printf '\nSELECT 1;\nSELEC 2;\n' >>"$TMP/broken/definitions/85_digests_and_verification.sql"
before=$(snapshot $S)
if out=$(migrate $S "$TMP/broken" 2>&1); then fail "a broken definition file was applied: $out"; fi
grep -q "definition file 85_digests_and_verification.sql failed at line" <<<"$out" || fail "not named: $out"
[[ $(defs_rows $S) == $((2 * ndefs)) ]] || fail "a failed run recorded applications"
[[ $(snapshot $S) == "$before" ]] || fail "a failed run changed the schema"
if sql $S "SELECT pg_get_functiondef('axiom.tier_rank(text)'::regprocedure)" | grep -q 'broken run'; then
	fail "an earlier file of the failed run stayed applied"
fi
ok "a failing definition file is named with its line and nothing of the run stays"

# --- a migration after the definitions: what it drops, the definitions bring back ---
cp -r "$TMP/changed" "$TMP/later"
cat >"$TMP/later/0990_drops_what_definitions_define.sql" <<'SQL'
-- a later migration that recreates objects the definition files own (as a table rewrite would)
DROP TRIGGER append_only_row ON axiom.ledger;
DROP POLICY definer_all ON axiom.ledger;
REVOKE SELECT ON axiom.ledger FROM axiom_auditor;
SQL
before=$(snapshot $S)
out=$(migrate $S "$TMP/later")
grep -q "applied 1 migration .* and $ndefs definition files" <<<"$out" || fail "later migration: $out"
[[ $(snapshot $S) == "$before" ]] || fail "the definitions did not restore what a later migration dropped"
ok "a migration after the definitions drops a trigger, a policy and a grant: the definitions restore them"

# --- a definitions step that fails after its migration committed is redone by the next run ---
cp -r "$TMP/later" "$TMP/failing"
printf 'DROP TRIGGER append_only_row ON axiom.ledger;\n' >"$TMP/failing/0991_drops_again.sql"
printf '\nSELEC 2;\n' >>"$TMP/failing/definitions/85_digests_and_verification.sql"
if out=$(migrate $S "$TMP/failing" 2>&1); then fail "a broken definition file was applied: $out"; fi
[[ $(sql $S "SELECT count(*) FROM pg_trigger WHERE tgname = 'append_only_row' AND tgrelid = 'axiom.ledger'::regclass") == 0 ]] ||
	fail "the migration of the failed run did not commit (the case needs it)"
cp "$TMP/later/definitions/85_digests_and_verification.sql" "$TMP/failing/definitions/"
out=$(migrate $S "$TMP/failing")
grep -q "applied 0 migrations .* and $ndefs definition files" <<<"$out" ||
	fail "after a failed definitions step, unchanged files were not applied again: $out"
[[ $(snapshot $S) == "$before" ]] || fail "the re-run did not restore the trigger"
ok "a definitions step that failed after its migration committed is applied again by the next run"

# --- a misnamed file is refused, not skipped ---
cp -r "$TMP/later" "$TMP/misnamed"
cp "$TMP/misnamed/definitions/40_authorization.sql" "$TMP/misnamed/definitions/41-authorization.sql"
if out=$(migrate $S "$TMP/misnamed" 2>&1); then fail "a misnamed definition file was skipped: $out"; fi
grep -q "41-authorization.sql in .* is not named NN_name.sql" <<<"$out" || fail "misnamed: $out"
ok "a misnamed .sql file is refused, not skipped"

# --- the record is append-only ---
rows=$(defs_rows $S)
for stmt in "UPDATE axiom_meta.definitions SET sha256 = sha256" "DELETE FROM axiom_meta.definitions" \
	"TRUNCATE axiom_meta.definitions" "DELETE FROM axiom_meta.migrations" \
	"SET session_replication_role = replica; DELETE FROM axiom_meta.definitions"; do
	if sql $S "$stmt" 2>/dev/null; then fail "admin could: $stmt"; fi
done
[[ $(defs_rows $S) == "$rows" ]] || fail "the record changed"
ok "axiom_meta.definitions and .migrations refuse UPDATE, DELETE and TRUNCATE, also as a replica"

echo "0108: $pass checks passed"
