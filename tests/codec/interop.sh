#!/usr/bin/env bash
# interop.sh BUILD_DIR CODEC_TOOL - run interop.py (the C codec against fastavro, both
# directions) in a virtualenv under BUILD_DIR that this script creates with a pinned
# fastavro from PyPI.
# A virtualenv that cannot be made (offline, python3-venv missing, pip install failing) is a
# failure (exit 1), so that CI cannot turn a broken install into a quiet "skipped".
#   AXIOM_ALLOW_SKIP=1  opt out for that case only: exit 77 instead (ctest: skipped), e.g. on
#                       a machine that is offline on purpose. Any other failure stays one.
set -euo pipefail
build=$1 tool=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=$build/interop-venv
FASTAVRO=fastavro==1.13.1
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import fastavro' 2>/dev/null; then
	rm -rf "$venv"
	if ! python3 -m venv "$venv" || ! "$venv/bin/pip" install --quiet --disable-pip-version-check "$FASTAVRO"; then
		rm -rf "$venv"
		if [[ ${AXIOM_ALLOW_SKIP:-0} == 1 ]]; then
			echo "interop: could not create a virtualenv with $FASTAVRO (offline? python3-venv missing?): skipped (AXIOM_ALLOW_SKIP=1)"
			exit 77
		fi
		echo "interop: could not create a virtualenv with $FASTAVRO (offline? python3-venv missing?)" >&2
		echo "interop: failed; set AXIOM_ALLOW_SKIP=1 to skip this test instead where PyPI cannot be reached" >&2
		exit 1
	fi
fi
exec "$venv/bin/python" "$here/interop.py" "$tool" "$root/schemas/avro" \
	"$root/tests/data/avro/examples.jsonl" "$build/interop-work" "${AXIOM_INTEROP_N:-500}"
