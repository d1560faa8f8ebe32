#!/usr/bin/env bash
# Runs a command (`make test`: npm test) against exactly one Kafka + schema registry, chosen once here and
# handed to the command as KAFKA_BROKERS / SCHEMA_REGISTRY_URL, so the test harness never starts another:
#   1. KAFKA_BROKERS and SCHEMA_REGISTRY_URL already set: that stack, nothing started;
#   2. the local JVM stack (scripts/stack.sh, RADAR_* ports) already answers, or no Docker engine answers:
#      scripts/stack.sh up (starts only what is not running), its env file exported (SASL, TLS listeners);
#   3. else (a Docker engine answers): docker compose up --wait kafka schema-registry (docker-compose.yml).
# Whatever it started keeps running: `make stack-down` or `make down` stops it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK=${RADAR_STACK_DIR:-$ROOT/.stack}

log() { printf '[with-stack] %s\n' "$*" >&2; }

[ $# -gt 0 ] || { echo "usage: $0 command [args...]" >&2; exit 64; }

local_stack_answers() {
  local registry
  registry=$("$ROOT/scripts/stack.sh" env | sed -n 's/^SCHEMA_REGISTRY_URL=//p')
  curl -fsS -o /dev/null --max-time 5 "$registry/subjects" 2>/dev/null
}

docker_answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }

if [ -n "${KAFKA_BROKERS:-}" ] && [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then
  log "using KAFKA_BROKERS=$KAFKA_BROKERS SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
elif local_stack_answers || ! docker_answers; then
  "$ROOT/scripts/stack.sh" up >/dev/null
  log "using the local JVM stack ($STACK/env)"
  set -a
  # shellcheck disable=SC1091
  . "$STACK/env"
  set +a
else
  log "a Docker engine answers: docker compose up --wait kafka schema-registry"
  docker compose -f "$ROOT/docker-compose.yml" up -d --wait kafka schema-registry
  export KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081
fi
exec "$@"
