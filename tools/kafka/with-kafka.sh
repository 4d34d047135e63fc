#!/usr/bin/env bash
# Runs a command with KAFKA_BROKERS pointing at a local broker.
#
#   tools/kafka/with-kafka.sh [--brokers 3] [--port N] -- <command> [args...]
#
# If KAFKA_BROKERS is already set, just runs the command. Otherwise starts (or
# reuses) the tools/kafka broker, runs the command, and stops the broker
# afterwards if this script started it and TRIBUTARY_KEEP_BROKER is not set.
# Exits with the command's exit code.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
opts=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  opts+=("$1")
  shift
done
if [[ "${1:-}" != "--" || $# -lt 2 ]]; then
  echo "usage: $0 [--brokers 3] [--port N] -- <command> [args...]" >&2
  exit 2
fi
shift

if [[ -n "${KAFKA_BROKERS:-}" ]]; then
  exec "$@"
fi

# Select exactly one set-up for `status` (without options it reports any).
[[ ${#opts[@]} -gt 0 ]] || opts=(--brokers 1)

started=0
if ! node "$here/broker.mjs" status "${opts[@]}" >/dev/null 2>&1; then
  started=1
fi
KAFKA_BROKERS="$(node "$here/broker.mjs" start "${opts[@]}")"
export KAFKA_BROKERS

cleanup() {
  if [[ $started -eq 1 && -z "${TRIBUTARY_KEEP_BROKER:-}" ]]; then
    node "$here/broker.mjs" stop "${opts[@]}" || true
  fi
}
trap cleanup EXIT

set +e
"$@"
status=$?
set -e
exit $status
