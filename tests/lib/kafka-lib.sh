# kafka-lib.sh - sourced by the shell tests that call kcat; not a test itself (ctest
# registers only tests/integration/[0-9]*.sh).
#
# The broker takes mutually authenticated TLS clients only (ops/stack), so kcat needs a
# principal's settings like every other client: `ops/stack env` exports one librdkafka
# properties file per principal (AXIOM_KAFKA_<ROLE>_CONFIG), and kcat reads it with -F.
#   kc ROLE KCAT-ARGS...   kcat as the principal ROLE (admin, applier, upstream, control,
#                          analyst, auditor) against $AXIOM_BROKERS, librdkafka's log off
: "${AXIOM_BROKERS:?run through tests/with-stack}"

kc() { # ROLE KCAT-ARGS...
	local var="AXIOM_KAFKA_${1^^}_CONFIG"
	shift
	kcat -F "${!var:?not set: run through tests/with-stack}" -b "$AXIOM_BROKERS" \
		-X log_level=0 "$@" 2> >(grep -v '^% Reading configuration from file' >&2)
}
