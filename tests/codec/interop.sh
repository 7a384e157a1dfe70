#!/usr/bin/env bash
# interop.sh BUILD_DIR CODEC_TOOL - run interop.py (the C codec against fastavro, both
# directions) in a virtualenv under BUILD_DIR that this script creates with a pinned
# fastavro from PyPI. Exit 77 (ctest: skipped) when the virtualenv cannot be made, for
# example offline; any other non-zero exit is a failure.
set -euo pipefail
build=$1 tool=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=$build/interop-venv
FASTAVRO=fastavro==1.13.1
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import fastavro' 2>/dev/null; then
	rm -rf "$venv"
	if ! python3 -m venv "$venv" || ! "$venv/bin/pip" install --quiet --disable-pip-version-check "$FASTAVRO"; then
		echo "interop: could not create a virtualenv with $FASTAVRO (offline? python3-venv missing?): skipped"
		rm -rf "$venv"
		exit 77
	fi
fi
exec "$venv/bin/python" "$here/interop.py" "$tool" "$root/schemas/avro" \
	"$root/tests/data/avro/examples.jsonl" "$build/interop-work" "${AXIOM_INTEROP_N:-500}"
