#!/usr/bin/env bash
# Usage: source infra/scripts/moto.sh  — starts moto server on a free 127.0.0.1 port,
# exports CRMSYNC_TEST_MOTO_ENDPOINT, and stops it when the calling shell exits.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
moto_port="$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
if [ "${CRMSYNC_MOTO_FAST_SQS:-0}" = 1 ]; then
  # Benchmarks only: moto without its per-send queue-depth scan (see the script).
  "$root/.venv/bin/python" "$root/infra/scripts/moto_fast_sqs.py" -H 127.0.0.1 -p "$moto_port" >"${TMPDIR:-/tmp}/crmsync-moto-$moto_port.log" 2>&1 &
else
  "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"${TMPDIR:-/tmp}/crmsync-moto-$moto_port.log" 2>&1 &
fi
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$root/.venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/')" 2>/dev/null; then break; fi
  sleep 0.1
done
export CRMSYNC_TEST_MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
echo "moto server on $CRMSYNC_TEST_MOTO_ENDPOINT (pid $moto_pid)"
