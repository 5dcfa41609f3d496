#!/usr/bin/env bash
# Runs the README's start command in a database of its own, waits for every service to
# report up through the gateway, then stops it with SIGTERM and checks that all apps exit.
set -euo pipefail
cd "$(dirname "$0")/.."
db="platform_ci_$$"
port=3390
key="ci-smoke-key-$(date +%s)-$$"
logf="$(mktemp)"

cleanup() {
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" PORT=$port HEALTH_PORT_BASE=3391 SIM_PORT=3399 STORAGE_ROOT="$(mktemp -d)" DEV_API_KEY="$key" \
  LOG_LEVEL=warn node dist/tools/start.js >"$logf" 2>&1 &
pid=$!

ok=""
for _ in $(seq 1 90); do
  body="$(curl -s -H "X-Api-Key: $key" "http://127.0.0.1:$port/api/v1/status" || true)"
  if [ "$(printf '%s' "$body" | grep -o '"status":"up"' | wc -l)" -eq 5 ]; then ok=1; break; fi
  sleep 1
done
if [ -z "$ok" ]; then
  echo "npm start did not bring every service up; last status: ${body:-none}" >&2
  tail -50 "$logf" >&2
  kill -TERM "$pid" 2>/dev/null || true
  exit 1
fi
echo "all five services up through the gateway"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/status")" = 401 ] || { echo "status answered without a key" >&2; exit 1; }

children="$(pgrep -P "$pid" || true)"
[ "$(printf '%s\n' $children | grep -c .)" -eq 7 ] || { echo "expected seven processes (six apps and the upstream simulators), found: $children" >&2; exit 1; }
kill -TERM "$pid"
for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then echo "npm start did not stop on SIGTERM" >&2; exit 1; fi
for c in $children; do
  if kill -0 "$c" 2>/dev/null; then echo "app process $c left running" >&2; exit 1; fi
done
grep -q "all apps stopped" "$logf" || { echo "start did not report a clean stop" >&2; tail -20 "$logf" >&2; exit 1; }
echo "stopped cleanly on SIGTERM"
