#!/usr/bin/env bash
# Schemathesis against the service's own /openapi.json: a persistent service
# on a temporary data directory and a free port, an admin token, and every
# operation fuzzed (coverage, fuzzing and stateful phases). It fails on any
# 5xx, any response that does not match the schema (body, status code,
# content type). `GET /v1/events` is left out: a server-sent event stream
# does not end while the service runs, so it cannot be one request of a
# fuzzer (tests/events.rs covers it over HTTP).
#
# Installs Schemathesis (pinned) into target/schemathesis-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

cargo build --quiet -p atomic-ledger-service
data=$(mktemp -d)
log=$(mktemp)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR="127.0.0.1:$port" DATA_DIR="$data" SECRET="schemathesis" target/debug/atomic-ledger-service >"$log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null || true; rm -rf "$data" "$log"' EXIT

token=""
for _ in $(seq 1 100); do
    token=$(sed -n 's/^admin token (24 h): //p' "$log")
    [ -n "$token" ] && break
    kill -0 $service 2>/dev/null || { cat "$log"; echo "the service exited"; exit 1; }
    sleep 0.1 # waiting for another process to start listening, not a test's synchronisation
done
[ -n "$token" ] || { cat "$log"; echo "the service did not start"; exit 1; }

"$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --header "Authorization: Bearer $token" \
    --exclude-path /v1/events \
    --max-examples 100 --seed 1 --workers 1 --request-timeout 10 --no-color
