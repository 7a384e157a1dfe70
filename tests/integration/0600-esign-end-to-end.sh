#!/usr/bin/env bash
# 0600-esign-end-to-end - e-signatures through the real broker, applier and PostgreSQL
# (issue 6, db/0009_esign.sql, consumers/ax_sign.c, `axiom sign`). Factors are registered on
# the control topic; Sign commands come from `axiom sign` (software authenticator) and, for
# the OIDC and password factors, from tests/lib/esign_helper.py (an identity provider
# and a signing gateway). Each factor is accepted with a valid proof and refused with its own
# reason: signature counter regression (a clone), wrong challenge (a signature moved to another version), wrong origin, wrong type,
# wrong rpId, tampered or trailing authenticatorData, clientDataJSON not strict or with a
# repeated key, UV absent on
# the first signing of a session, replayed nonce, revoked credential, a delegate using the
# delegator's key or signing as the delegator, expired token, stale auth_time, wrong audience, unknown issuer key,
# unknown issuer, stale attestation, policy not satisfied; a signing later in the session
# needs one component only; the manifestation and the raw proofs are stored.
set -uo pipefail
AX=${AXIOM_BIN:?run through ctest}
ROOT=${AXIOM_ROOT:?run through ctest}
: "${AXIOM_PG_ADMIN_DSN:?run through tests/with-stack}"
tag="$$-$(date +%s)"
P="it0600-$tag"
DB="axiom_it_0600_${tag//-/_}"
RB="axiom_it_0600_rebuilt_${tag//-/_}"
TMP=$(mktemp -d)
fails=0 passes=0
KADMIN=${AXIOM_TEST_BIN_DIR:-$(dirname "$AX")/../tests}/kafka_admin
HELPER="$ROOT/tests/lib/esign_helper.py"
admin() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$AXIOM_PG_ADMIN_DSN dbname=$DB" -c "$1"; }
cleanup() {
	for db in "$DB" "$RB"; do
		psql -X -q "$AXIOM_PG_ADMIN_DSN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	if [[ -x $KADMIN ]]; then
		"$KADMIN" "$AXIOM_BROKERS" delete-groups "g-$P" "r-$P" >/dev/null 2>&1
		"$KADMIN" "$AXIOM_BROKERS" delete-topics "$P.control" "$P.commands" "$P.audit" >/dev/null 2>&1
	fi
	rm -rf "$TMP"
}
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
apply() {
	timeout 180 "$AX" apply --until-caught-up --prefix "$P" --group "g-$P" --instance it0600 \
		--dsn "$AXIOM_PG_DSN dbname=$DB" --progress 0 --batch-ms 5 2>>"$TMP/apply.log"
}
publish() { # FILE: one publish per stage, so that each stage's event time is later
	"$AX" publish "$1" --prefix "$P" >/dev/null || { echo "FAIL publish $1"; exit 1; }
	sleep 0.05
}
outcome() { # COMMAND_ID -> accepted | the reason code
	admin "SELECT CASE WHEN decision = 'accepted' THEN 'accepted' ELSE reason_code END FROM axiom.ledger WHERE command_id = '$1'"
}
cid() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["command_id"])'; }
# a python with `cryptography` for the identity provider and the gateway
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import cryptography' 2>/dev/null; then PY=$p; break; fi
done
[[ -n $PY ]] || { echo "FAIL no python3 with the cryptography package (apt-get install python3-cryptography)"; exit 1; }

psql -X -q "$AXIOM_PG_ADMIN_DSN" -c "CREATE DATABASE $DB" || exit 1
(cd "$ROOT" && "$AX" migrate --dsn "$AXIOM_PG_ADMIN_DSN dbname=$DB" >/dev/null) || { echo "FAIL migrate"; exit 1; }
"$AX" topics create --prefix "$P" --partitions 1 >/dev/null || { echo "FAIL topics"; exit 1; }

# keys: one software authenticator per person, the identity provider, the gateway
for u in alice bob carol dave erin frank; do
	"$AX" sign --new-key "$TMP/$u.key" >"$TMP/$u.reg" || { echo "FAIL new-key $u"; exit 1; }
done
"$PY" "$HELPER" "$TMP" init >"$TMP/outside.json" || { echo "FAIL helper init"; exit 1; }
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
fid() { python3 -c 'import uuid,sys; print(uuid.uuid5(uuid.NAMESPACE_URL, "it0600/" + sys.argv[1]))' "$1"; }
LINEAGE=$(fid lineage)
ISSUER_FACTOR=$(fid oidc)
GATEWAY_FACTOR=$(fid gateway)
AUD=axiom-client
AUD_HEX=$(printf '%s' "$AUD" | od -An -tx1 | tr -d ' \n')

python3 - "$TMP" "$LINEAGE" "$ISSUER_FACTOR" "$GATEWAY_FACTOR" "$AUD_HEX" <<'PY'
import json, sys, time, uuid
tmp, lineage, issuer_factor, gateway_factor, aud_hex = sys.argv[1:]
ns = uuid.uuid5(uuid.NAMESPACE_URL, "it0600")
n = [0]
def cmd(actor, payload, lineage_id=None):
    n[0] += 1
    c = {"command_id": str(uuid.uuid5(ns, f"cmd/{n[0]}")), "actor": actor,
         "issued_at": 1795000000000000 + n[0], "reason": "esign test"}
    if lineage_id:
        c["lineage_id"] = lineage_id
    c["payload"] = payload
    return json.dumps(c)
def fid(label):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "it0600/" + label))
out = json.load(open(f"{tmp}/outside.json"))
sysa = "axiom-system"
stage1 = [cmd(sysa, {"ScopeDefine": {"kind": "FACILITY", "key": "basel", "name": "Basel"}}),
          cmd(sysa, {"ScopeDefine": {"kind": "DOMAIN", "key": "qc", "name": "QC"}})]
for u in ["alice", "bob", "carol", "dave", "erin", "frank"]:
    stage1.append(cmd(sysa, {"UserEnroll": {"user_id": u, "display_name": "Person " + u}}))
stage2 = [cmd(sysa, {"RecordTypeConfig": {"record_type": "sop", "review_required": False,
          "description": "SOP", "domain": "qc", "gate": "none"}})]
levels = {"alice": "author", "bob": "reviewer", "carol": "manager", "dave": "author", "erin": "author",
          "frank": "author"}
for u, lvl in levels.items():
    stage2.append(cmd(sysa, {"Grant": {"grant_id": fid("grant/" + u), "user_id": u,
        "facility": "basel", "domain": "qc", "access_level": lvl, "expires_at": None}}))
for u in ["alice", "bob", "carol", "dave", "erin", "frank"]:
    reg = json.load(open(f"{tmp}/{u}.reg"))
    stage2.append(cmd(sysa, {"FactorRegister": {"factor_id": fid("fido2/" + u),
        "factor_type": "FIDO2_CREDENTIAL", "user_id": u, "credential_id": reg["credential_id"],
        "public_key": reg["public_key"], "cose_alg": -7, "issuer": "", "jwks": ""}}))
stage2.append(cmd(sysa, {"FactorRegister": {"factor_id": issuer_factor,
    "factor_type": "OIDC_ISSUER", "user_id": "", "credential_id": aud_hex, "public_key": "",
    "cose_alg": 0, "issuer": "https://idp.test", "jwks": out["jwks"]}}))
stage2.append(cmd(sysa, {"FactorRegister": {"factor_id": gateway_factor,
    "factor_type": "PASSWORD_ATTESTOR", "user_id": "", "credential_id": "",
    "public_key": out["attestor_public_key"], "cose_alg": -8, "issuer": "", "jwks": ""}}))
stage2.append(cmd(sysa, {"SigningPolicy": {"record_type": "sop", "meaning": "APPROVAL",
    "require_fido2": True, "require_oidc": True, "require_password": False}}))
stage2.append(cmd(sysa, {"SigningPolicy": {"record_type": "sop", "meaning": "REVIEW",
    "require_fido2": False, "require_oidc": False, "require_password": True}}))
stage2.append(cmd(sysa, {"SigningPolicy": {"record_type": "sop", "meaning": "RESPONSIBILITY",
    "require_fido2": True, "require_oidc": False, "require_password": True}}))
stage3 = [cmd("carol", {"Delegate": {"delegation_id": fid("delegation/bob"),
    "source_grant_id": fid("grant/carol"), "delegatee": "bob", "kind": "VERTICAL",
    "facility": "basel", "access_level": "reviewer",
    "expires_at": int(time.time() + 30 * 86400) * 1000000}}),
    cmd("frank", {"FactorRevoke": {"factor_id": fid("fido2/frank")}})]
stage4 = [cmd("alice", {"CreateRecord": {"record_type": "sop", "facility": "basel",
    "domain": "qc", "content": "clean the balance", "title": "SOP-1"}}, lineage),
    cmd("alice", {"NewVersion": {"base_version": 1, "content": "clean the balance twice",
    "title": "SOP-1"}}, lineage)]
for i, st in enumerate([stage1, stage2, stage3, stage4], 1):
    open(f"{tmp}/stage{i}.jsonl", "w").write("\n".join(st) + "\n")
PY
for i in 1 2 3 4; do publish "$TMP/stage$i.jsonl"; done
apply
check "set-up: control commands accepted" "0" "$(admin "SELECT count(*) FROM axiom.ledger WHERE topic = '$P.control' AND decision <> 'accepted' AND reason_code <> 'policy_unsatisfiable'")"
check "a policy needing FIDO2 and password at once is refused" "policy_unsatisfiable" \
	"$(admin "SELECT string_agg(reason_code, ',') FROM axiom.ledger WHERE topic = '$P.control' AND decision = 'rejected'")"
check "set-up: six FIDO2 credentials, an issuer, an attestor, one revoked" "8/1" \
	"$(admin "SELECT count(*) || '/' || count(revoked_at) FROM axiom.signing_factors")"
check "set-up: two versions" "2" "$(admin "SELECT count(*) FROM axiom.records")"
H1=$(admin "SELECT encode(record_hash, 'hex') FROM axiom.records WHERE version = 1")
H2=$(admin "SELECT encode(record_hash, 'hex') FROM axiom.records WHERE version = 2")

# one Sign line; ARGS: USER KEYUSER MEANING VERSION HASH [axiom sign options]
sign() {
	local who=$1 keyu=$2 meaning=$3 ver=$4 hash=$5
	shift 5
	"$AX" sign --key "$TMP/$keyu.key" --actor "$who" --lineage "$LINEAGE" --version "$ver" \
		--record-hash "$hash" --meaning "$meaning" --factor-id "$(fid "fido2/$keyu")" "$@"
}
declare -A C
line() { # NAME LINE: keep the line for stage 5, remember its command id
	printf '%s\n' "$2" >>"$TMP/stage5.jsonl"
	C[$1]=$(printf '%s' "$2" | cid)
}
: >"$TMP/stage5.jsonl"

# FIDO2
L=$(sign dave dave authorship 1 "$H1"); line fido2_ok "$L"
line replayed_nonce "$(printf '%s' "$L" | python3 -c 'import json,sys,uuid; c=json.loads(sys.stdin.read()); c["command_id"]=str(uuid.uuid4()); print(json.dumps(c))')"
line high_s_twin "$(printf '%s' "$L" | python3 -c '
import json,sys,uuid
c=json.loads(sys.stdin.read()); s=c["payload"]["Sign"]
der=bytes.fromhex(s["signature"]); n=0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
# DER: 30 len 02 lr r 02 ls s
lr=der[3]; r=int.from_bytes(der[4:4+lr],"big"); ls=der[5+lr]; sv=int.from_bytes(der[6+lr:6+lr+ls],"big")
def i2d(x):
    b=x.to_bytes((x.bit_length()+7)//8,"big")
    return b"\x00"+b if b[0]&0x80 else b
rb,sb=i2d(r),i2d(n-sv); body=b"\x02"+bytes([len(rb)])+rb+b"\x02"+bytes([len(sb)])+sb
s["signature"]=(b"\x30"+bytes([len(body)])+body).hex(); c["command_id"]=str(uuid.uuid4()); print(json.dumps(c))')"
# a cloned authenticator: dave's counter starts again from 0 (signature counter 1 again)
echo 0 >"$TMP/dave.key.count"
line sign_count_regressed "$(sign dave dave authorship 2 "$H2" --no-uv)"
line uv_absent "$(sign erin erin authorship 1 "$H1" --no-uv)"
line wrong_origin "$(sign erin erin authorship 1 "$H1" --origin https://evil.example)"
line moved_version "$(sign alice alice authorship 1 "$H1" | python3 -c "
import json,sys; c=json.loads(sys.stdin.read()); s=c['payload']['Sign']; s['version']=2; s['record_hash']='$H2'; print(json.dumps(c))")"
line revoked "$(sign frank frank authorship 2 "$H2")"
# the structures themselves (what libfido2 leaves to the relying party)
tamper() { # NAME PYTHON-EXPRESSION-ON-s (the Sign payload; bytes fields are hex)
	line "$1" "$(sign alice alice authorship 2 "$H2" | python3 -c "
import json,sys; c=json.loads(sys.stdin.read()); s=c['payload']['Sign']
cd=bytes.fromhex(s['client_data']).decode(); ad=bytes.fromhex(s['authenticator_data'])
$2
s['client_data']=cd.encode().hex(); s['authenticator_data']=ad.hex(); print(json.dumps(c))")"
}
tamper wrong_type "cd=cd.replace('webauthn.get','webauthn.create')"
tamper client_data_not_strict_json "cd=cd+' x'"
tamper client_data_repeats_a_key "cd=cd.replace('{', '{\\\"type\\\":\\\"webauthn.get\\\",', 1)"
tamper wrong_rp_id "ad=bytes(32)+ad[32:]"
tamper auth_data_tampered "ad=ad[:33]+bytes([ad[33]^1])+ad[34:]"
tamper auth_data_trailing_bytes "ad=ad+b'\\x00'"
line delegate_uses_delegators_key "$(sign bob carol authorship 2 "$H2")"
line delegate_presents_delegators_assertion "$(sign carol carol authorship 2 "$H2" | python3 -c '
import json,sys; c=json.loads(sys.stdin.read()); c["actor"]="bob"; print(json.dumps(c))')"
line delegate_signs_as_delegator "$(sign carol bob authorship 2 "$H2")"
line assertion_for_another_signers_intent "$(sign carol bob authorship 2 "$H2" | python3 -c '
import json,sys; c=json.loads(sys.stdin.read()); c["actor"]="bob"; print(json.dumps(c))')"

# OIDC with FIDO2 (policy: approval needs fido2 + oidc); carol has no session yet
token_line() { # NAME USER MEANING VERSION HASH TOKEN-OPTIONS...
	local name=$1 who=$2 meaning=$3 ver=$4 hash=$5 nonce chal tok
	shift 5
	chal=$(sign "$who" "$who" "$meaning" "$ver" "$hash" --challenge)
	nonce=$(printf '%s' "$chal" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["nonce"])')
	ih=$(printf '%s' "$chal" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["intent_hash"])')
	tok=$("$PY" "$HELPER" "$TMP" token "$who" "$AUD" "$ih" "$@")
	line "$name" "$(sign "$who" "$who" "$meaning" "$ver" "$hash" --nonce "$nonce" --id-token "$tok")"
}
line policy_not_satisfied "$(sign carol carol approval 2 "$H2")"
token_line oidc_expired carol approval 2 "$H2" --exp-in -400 --iat-ago 500 --auth-ago 500
token_line oidc_stale_auth_time carol approval 2 "$H2" --auth-ago 3600
token_line oidc_wrong_audience carol approval 2 "$H2" --iss https://idp.test
sed -i '$d' "$TMP/stage5.jsonl" # replaced below with a token for another audience
chal=$(sign carol carol approval 2 "$H2" --challenge)
nonce=$(printf '%s' "$chal" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["nonce"])')
ih=$(printf '%s' "$chal" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["intent_hash"])')
line oidc_wrong_audience "$(sign carol carol approval 2 "$H2" --nonce "$nonce" --id-token "$("$PY" "$HELPER" "$TMP" token carol other-client "$ih")")"
token_line oidc_unknown_key carol approval 2 "$H2" --kid k2
token_line oidc_unknown_issuer carol approval 2 "$H2" --iss https://other-idp.test
token_line fido2_oidc_ok carol approval 2 "$H2"
# later in carol's session (same partition, within 15 min): one component (UP only) suffices
line session_continues "$(sign carol carol authorship 2 "$H2" --no-uv)"

# password attestation (policy: review needs password); erin's first accepted signing
pw_line() { # NAME USER AGO
	local chal nonce ih proof
	chal=$(sign "$2" "$2" review 2 "$H2" --challenge)
	nonce=$(printf '%s' "$chal" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["nonce"])')
	ih=$(printf '%s' "$chal" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["intent_hash"])')
	proof=$("$PY" "$HELPER" "$TMP" attest "$GATEWAY_FACTOR" "$ih" --ago "$3")
	line "$1" "$("$PY" "$HELPER" sign-line "$2" "$LINEAGE" 2 "$H2" REVIEW "$nonce" "$GATEWAY_FACTOR" "$proof" "")"
}
pw_line attest_stale erin 900
pw_line password_ok erin 0

publish "$TMP/stage5.jsonl"
apply
check "applier exits 0" 0 $?
check "no partition failed" 0 "$(grep -c 'event=partition_failed' "$TMP/apply.log")"
expect() { check "$1" "$2" "$(outcome "${C[$1]}")"; }
expect fido2_ok accepted
expect replayed_nonce intent_nonce_replayed
expect high_s_twin intent_nonce_replayed
expect sign_count_regressed webauthn_sign_count_regressed
expect uv_absent webauthn_user_not_verified
expect wrong_origin webauthn_wrong_origin
expect moved_version webauthn_wrong_challenge
expect revoked webauthn_credential_revoked
expect wrong_type webauthn_wrong_type
expect client_data_not_strict_json webauthn_client_data_malformed
expect client_data_repeats_a_key webauthn_client_data_duplicate_key
expect wrong_rp_id webauthn_wrong_rp_id
expect auth_data_tampered webauthn_bad_signature
expect auth_data_trailing_bytes webauthn_auth_data_trailing_bytes
expect delegate_uses_delegators_key webauthn_credential_not_owned
expect delegate_presents_delegators_assertion webauthn_credential_not_owned
expect delegate_signs_as_delegator webauthn_credential_not_owned
expect assertion_for_another_signers_intent webauthn_wrong_challenge
expect policy_not_satisfied policy_not_satisfied
expect oidc_expired oidc_expired
expect oidc_stale_auth_time oidc_stale_auth_time
expect oidc_wrong_audience oidc_wrong_audience
expect oidc_unknown_key oidc_unknown_key
expect oidc_unknown_issuer oidc_unknown_issuer
expect fido2_oidc_ok accepted
expect session_continues accepted
expect attest_stale attest_stale
expect password_ok accepted

check "manifestation: printed name, meaning, factor types" \
	"Person carol/approval/fido2+oidc Person carol/authorship/fido2 Person dave/authorship/fido2 Person erin/review/password" \
	"$(admin "SELECT string_agg(printed_name || '/' || meaning || '/' || array_to_string(factor_types, '+'), ' ' ORDER BY printed_name, meaning) FROM axiom.signatures")"
check "signed at = the event time of the command" "4" \
	"$(admin "SELECT count(*) FROM axiom.signatures s JOIN axiom.ledger l ON l.command_id = s.signature_id WHERE l.event_time = s.signed_at")"
check "the raw proofs are kept (proofs v1 tag)" "4" \
	"$(admin "SELECT count(*) FROM axiom.signatures WHERE position('\\x6178696f6d2f70726f6f66732f7631'::bytea IN proofs) = 6")"
check "the session rule: first signings with all components, the later one not" \
	"carol:f carol:t dave:t erin:t" \
	"$(admin "SELECT string_agg(signer || ':' || left(all_components::text, 1), ' ' ORDER BY signer, all_components) FROM axiom.signature_evidence")"
check "each accepted nonce is stored once" "4" "$(admin "SELECT count(*) FROM axiom.signing_nonces")"
check "evidence and nonces are append-only, even for a superuser" "2" \
	"$( (admin "UPDATE axiom.signature_evidence SET all_components = true"; admin "DELETE FROM axiom.signing_nonces") 2>&1 | grep -c 'is append-only')"
check "the auditor reads the registry" "8" \
	"$(psql -X -q -t -A "$AXIOM_PG_AUDITOR_DSN dbname=$DB" -c "SELECT count(*) FROM axiom.signing_factors")"
check "ledger chains verify" 0 "$(admin "SELECT count(*) FROM axiom_api.verify_ledger_chains()")"
# raw proofs (WebAuthn assertions, OIDC ID tokens) are the auditor's to re-verify, never an
# analyst's to read (db/0018); the manifestation stays readable within the analyst's scope
analytics() { psql -X -q -t -A "$AXIOM_PG_ANALYTICS_DSN dbname=$DB" -c "$1" 2>&1; }
check "analytics may not read the raw proofs" "permission denied for table signatures" \
	"$(analytics "SELECT proofs FROM axiom.signatures" | grep -o 'permission denied for table signatures')"
check "... nor through a row value" "permission denied for table signatures" \
	"$(analytics "SELECT s FROM axiom.signatures s" | grep -o 'permission denied for table signatures')"
check "analytics reads the manifestation columns" "0" \
	"$(analytics "SELECT count(signer || printed_name || meaning) FROM axiom.signatures WHERE false")"
check "the auditor reads the proofs" "4" \
	"$(psql -X -q -t -A "$AXIOM_PG_AUDITOR_DSN dbname=$DB" -c "SELECT count(proofs) FROM axiom.signatures")"

# axiom verify --signatures, as the auditor: every stored signature re-verifies offline
out=$("$AX" verify --no-kafka --signatures --dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" 2>&1)
check "axiom verify --signatures exits 0" 0 $?
check "and re-verifies the four stored signatures" 1 \
	"$(grep -c 'signatures     4 stored: 4 re-verified, 0 failed' <<<"$out")"

before=$(admin "SELECT count(*) FROM axiom.ledger")
apply
check "a second run applies nothing new" "$before" "$(admin "SELECT count(*) FROM axiom.ledger")"

# a rebuild from the log makes the same signing decisions (event times, registry as of them)
psql -X -q "$AXIOM_PG_ADMIN_DSN" -c "CREATE DATABASE $RB" || exit 1
(cd "$ROOT" && "$AX" migrate --dsn "$AXIOM_PG_ADMIN_DSN dbname=$RB" >/dev/null) || { echo "FAIL migrate rebuilt"; exit 1; }
timeout 180 "$AX" replay --dbname "$RB" --prefix "$P" --group "r-$P" --batch 50 --batch-ms 5 \
	--progress none --compare-dsn "$AXIOM_PG_AUDITOR_DSN dbname=$DB" >"$TMP/replay.out" 2>"$TMP/replay.err"
check "replay into an empty database equals the live one" 0 $?
for t in signatures signature_evidence signing_nonces signing_factors signing_policies; do
	check "replay: $t equal" 1 "$(grep -cE "^$t .*equal$" "$TMP/replay.out")"
done

echo "$passes passed, $fails failed"
[[ $fails -eq 0 ]]
