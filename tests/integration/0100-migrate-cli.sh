#!/usr/bin/env bash
# 0100-migrate-cli - `axiom migrate` on throwaway databases of the stack's cluster: applies
# db/ in order and records name + SHA-256; re-running is a no-op; an applied file that
# changed, went missing, or a new file numbered below the last applied one stops the run with
# nothing applied; a failing migration is rolled back whole and named with its line; objects
# a later migration adds as axiom_owner give PUBLIC nothing; a second database of the same
# cluster (roles already there) migrates too; a released file whose comments only were
# rewritten is accepted when db/comment-revisions.txt lists it, one with a new statement is not.
set -euo pipefail

: "${AXIOM_BIN:?run through ctest (AXIOM_BIN)}" "${AXIOM_ROOT:?run through ctest (AXIOM_ROOT)}"
: "${AXIOM_PG_ADMIN_DSN:?run through tests/with-stack}"

DB=axiom_it_0100
DB2=axiom_it_0100b
TMP=$(mktemp -d)
pass=0

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$1" -c "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
cleanup() {
	sql postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
	sql postgres "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" || true
	rm -rf "$TMP"
}
trap cleanup EXIT
migrate() { "$AXIOM_BIN" migrate --dsn "$AXIOM_PG_ADMIN_DSN dbname=$1" --dir "$2"; }

for db in $DB $DB2; do
	sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
	sql postgres "CREATE DATABASE $db"
done

"$AXIOM_BIN" migrate --help | grep -q "forward-only" || fail "--help does not explain the rules"
ok "--help explains the rules"

out=$(migrate $DB "$AXIOM_ROOT/db")
n=$(ls "$AXIOM_ROOT"/db/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
grep -q "applied $n migration" <<<"$out" || fail "first run: $out"
[[ $(sql $DB "SELECT count(*) FROM axiom_meta.migrations") == "$n" ]] || fail "not recorded"
[[ $(sql $DB "SELECT count(*) FROM axiom_meta.migrations WHERE octet_length(sha256) = 32") == "$n" ]] ||
	fail "checksums not recorded"
want=$(sha256sum "$AXIOM_ROOT/db/0002_tables.sql" | cut -d' ' -f1)
[[ $(sql $DB "SELECT encode(sha256, 'hex') FROM axiom_meta.migrations WHERE name = '0002_tables.sql'") == "$want" ]] ||
	fail "recorded SHA-256 is not the file's"
ok "applies all $n migrations and records each SHA-256"

stamp=$(sql $DB "SELECT max(applied_at) FROM axiom_meta.migrations")
out=$(migrate $DB "$AXIOM_ROOT/db")
grep -q "up to date" <<<"$out" || fail "second run: $out"
[[ $(sql $DB "SELECT max(applied_at) FROM axiom_meta.migrations") == "$stamp" ]] || fail "re-run changed something"
migrate $DB "$AXIOM_ROOT/db" >/dev/null
ok "re-running is a no-op"

out=$(migrate $DB2 "$AXIOM_ROOT/db")
grep -q "applied $n migration" <<<"$out" || fail "second database: $out"
ok "a second database of the cluster migrates with the roles already there"

cp -r "$AXIOM_ROOT/db" "$TMP/db"
cat >"$TMP/db/0900_later.sql" <<'EOF'
-- a later migration, run as axiom_owner
CREATE TABLE axiom.later_table (a integer);
CREATE FUNCTION axiom.later_function() RETURNS integer LANGUAGE sql AS 'SELECT 1';
EOF
echo "-- an edit after the fact" >>"$TMP/db/0003_canonical_encoding.sql"
if out=$(migrate $DB "$TMP/db" 2>&1); then fail "a changed migration was accepted"; fi
grep -q "migration 0003_canonical_encoding.sql was changed after it was applied" <<<"$out" ||
	fail "changed file: $out"
[[ $(sql $DB "SELECT to_regclass('axiom.later_table') IS NULL") == t ]] || fail "applied despite a changed file"
ok "a changed applied migration stops the run before anything is applied"

cp -r "$AXIOM_ROOT/db" "$TMP/rev"
line=$("$AXIOM_BIN" migrate --revision-line "$TMP/rev/0003_canonical_encoding.sql")
printf '%s\n' "$line" >>"$TMP/rev/comment-revisions.txt"
sed -i '1s/^/-- a comment rewritten after the file was applied\n/' "$TMP/rev/0003_canonical_encoding.sql"
out=$(migrate $DB "$TMP/rev") || fail "a listed comment revision was refused: $out"
grep -q "up to date" <<<"$out" || fail "comment revision: $out"
printf 'SELECT 1;\n' >>"$TMP/rev/0003_canonical_encoding.sql"
if out=$(migrate $DB "$TMP/rev" 2>&1); then fail "a listed file with a new statement was accepted"; fi
grep -q "migration 0003_canonical_encoding.sql was changed after it was applied" <<<"$out" ||
	fail "statement change under a revision line: $out"
ok "rewritten comments are accepted when comment-revisions.txt lists the file; a new statement is not"

cp "$AXIOM_ROOT/db/0003_canonical_encoding.sql" "$TMP/db/"
out=$(migrate $DB "$TMP/db")
grep -q "applied 1 migration" <<<"$out" || fail "new migration: $out"
[[ $(sql $DB "SELECT tableowner FROM pg_tables WHERE tablename = 'later_table'") == axiom_owner ]] ||
	fail "later table not owned by axiom_owner"
[[ $(sql $DB "SELECT has_function_privilege('public', 'axiom.later_function()', 'EXECUTE') OR has_table_privilege('public', 'axiom.later_table', 'SELECT')") == f ]] ||
	fail "a later object leaks to PUBLIC"
ok "a new migration runs as axiom_owner and its objects give PUBLIC nothing"

printf 'CREATE TABLE axiom.half_done (a int);\n\nSELEC oops;\n' >"$TMP/db/0901_broken.sql"
if out=$(migrate $DB "$TMP/db" 2>&1); then fail "a broken migration was accepted"; fi
grep -q "migration 0901_broken.sql failed at line 3" <<<"$out" || fail "broken: $out"
[[ $(sql $DB "SELECT to_regclass('axiom.half_done') IS NULL AND NOT EXISTS (SELECT 1 FROM axiom_meta.migrations WHERE number = 901)") == t ]] ||
	fail "a failed migration left something behind"
rm "$TMP/db/0901_broken.sql"
ok "a failing migration is rolled back whole and named with its line"

printf 'BEGIN;\nCOMMIT;\n' >"$TMP/db/0902_commits.sql"
if out=$(migrate $DB "$TMP/db" 2>&1); then fail "a migration ending its transaction was accepted"; fi
grep -q "0902_commits.sql ended its transaction" <<<"$out" || fail "commits: $out"
rm "$TMP/db/0902_commits.sql"
ok "a migration may not end the migrator's transaction"

printf 'SELECT 1;\n' >"$TMP/db/0500_late.sql"
if out=$(migrate $DB "$TMP/db" 2>&1); then fail "an out-of-order migration was accepted"; fi
grep -q "0500_late.sql is numbered below the last applied migration 0900" <<<"$out" || fail "late: $out"
rm "$TMP/db/0500_late.sql"
rm "$TMP/db/0900_later.sql"
if out=$(migrate $DB "$TMP/db" 2>&1); then fail "a missing migration was accepted"; fi
grep -q "applied migration 0900_later.sql is missing" <<<"$out" || fail "missing: $out"
ok "out-of-order and missing migrations are refused"

out=$(migrate $DB "$AXIOM_ROOT/db" 2>&1) && fail "missing 0900 not noticed"
if "$AXIOM_BIN" migrate --bogus >/dev/null 2>&1; then fail "bad option accepted"; fi
rc=0
"$AXIOM_BIN" migrate --bogus >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "bad option: exit $rc, want 2"
ok "a bad command line exits 2"

echo "0100-migrate-cli: $pass checks passed"
