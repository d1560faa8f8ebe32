#!/usr/bin/env bash
# `make demo`: a few minutes of simulated Exchange Online audit traffic through the real pipeline.
#
#   1. the stack: uses Kafka + the schema registry if they already answer, else starts them
#      (docker compose where `docker info` answers, scripts/stack.sh otherwise);
#   2. topics of this run's own (demo.<id>.*) and the schemas: `schemas register --create-topics`;
#   3. DEMO_INSTANCES (1) pipelines (`run`) in the background, in one consumer group, each with its own health
#      and metrics port (chosen by the system; each logs its URL); logs in .demo/<id>/pipeline-<n>.log;
#   4. `tail` in the background: alerts printed as they arrive (scripts/demo-alerts.ts prints each alert_id once);
#      and `dashboard` beside it, on 127.0.0.1:DEMO_DASHBOARD_PORT (8080; a free port if that one is taken), its
#      URL printed: the same alerts on a web page, with charts from the pipelines' metrics;
#   5. `simulate`: DEMO_DURATION (90s) at DEMO_RATE (300) records/s with DEMO_ATTACKS (2) attacks per rule —
#      of the three user rules and of the three app rules (an app sweeping mailboxes, a Sync download, a new app);
#   6. injected vs detected per rule (all six), counting alerts by distinct alert_id (a rebalance between instances may
#      deliver an alert twice, with the same id), and what each instance did.
# Stops what it started (pipelines, tail, dashboard; the stack only if it started it), on Ctrl-C too; in a
# terminal it first waits for Enter, so the page can still be looked at. Exit code 1 when an injected attack
# went undetected. Needs `npm ci` and `npm run build` (make demo does both).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

RATE=${DEMO_RATE:-300}
DURATION=${DEMO_DURATION:-90s}
ATTACKS=${DEMO_ATTACKS:-2}
INSTANCES=${DEMO_INSTANCES:-1}
# After the last record, how long to wait for the alerts still on their way.
GRACE_SECONDS=${DEMO_GRACE_SECONDS:-60}
CLI=(node "$ROOT/dist/src/cli/main.js")

RUN_ID=$(date -u +%Y%m%d-%H%M%S)-$$
DIR=$ROOT/.demo/$RUN_ID
mkdir -p "$DIR"

say() { printf '\n\033[1m[demo] %s\033[0m\n' "$*" >&2; }
die() { printf '[demo] error: %s\n' "$*" >&2; exit 1; }

[[ $INSTANCES =~ ^[1-9][0-9]*$ ]] || die "DEMO_INSTANCES must be a positive whole number (got '$INSTANCES')"
[ -f "$ROOT/dist/src/cli/main.js" ] || die "dist/ is missing: run \`npm ci && npm run build\` (or \`make demo\`)"

# ---- cleanup: whatever was started, in reverse order ---------------------------------------------------
PIPELINE_PIDS=()
TAIL_PID=
VIEW_PID=
DASHBOARD_PID=
STARTED_STACK=
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if [ -n "$TAIL_PID" ] && kill -0 "$TAIL_PID" 2>/dev/null; then kill -INT "$TAIL_PID" 2>/dev/null || true; fi
  if [ -n "$DASHBOARD_PID" ]; then kill -TERM "$DASHBOARD_PID" 2>/dev/null || true; fi
  [ ${#PIPELINE_PIDS[@]} -gt 0 ] && say "stopping the pipeline (${#PIPELINE_PIDS[@]} instance(s))"
  for pid in ${PIPELINE_PIDS[@]+"${PIPELINE_PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $TAIL_PID $VIEW_PID $DASHBOARD_PID ${PIPELINE_PIDS[@]+"${PIPELINE_PIDS[@]}"}; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # The run's topics go with it (DEMO_KEEP_TOPICS=1 keeps them, to look at them afterwards).
  if [ -n "${KAFKA_BROKERS:-}" ] && [ "${DEMO_KEEP_TOPICS:-0}" != 1 ]; then delete_topics || true; fi
  case $STARTED_STACK in
    docker) say "stopping the compose stack the demo started"; docker compose down >/dev/null 2>&1 || true ;;
    jvm) say "stopping the local stack the demo started"; scripts/stack.sh down || true ;;
  esac
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This run's topics: a re-run never reads an earlier run's records or alerts.
export MAILBOX_RADAR_TOPICS__ACTIVITY=demo.$RUN_ID.activity
export MAILBOX_RADAR_TOPICS__DEAD_LETTER=demo.$RUN_ID.activity.dlq
export MAILBOX_RADAR_TOPICS__ALERTS__NON_OWNER_BURST=demo.$RUN_ID.alerts.non-owner-burst
export MAILBOX_RADAR_TOPICS__ALERTS__CROSS_DOMAIN_BURST=demo.$RUN_ID.alerts.cross-domain-burst
export MAILBOX_RADAR_TOPICS__ALERTS__MAILBOX_SWEEP=demo.$RUN_ID.alerts.mailbox-sweep
export MAILBOX_RADAR_TOPICS__ALERTS__APP_MAILBOX_SWEEP=demo.$RUN_ID.alerts.app-mailbox-sweep
export MAILBOX_RADAR_TOPICS__ALERTS__BULK_MAIL_ACCESS=demo.$RUN_ID.alerts.bulk-mail-access
export MAILBOX_RADAR_TOPICS__ALERTS__FIRST_APP_ACCESS=demo.$RUN_ID.alerts.first-app-access
export MAILBOX_RADAR_TOPICS__ALERTS__FIRST_ACCESS=demo.$RUN_ID.alerts.first-access
export MAILBOX_RADAR_KAFKA__GROUP_ID=mailbox-radar-demo-$RUN_ID
export MAILBOX_RADAR_KAFKA__TOPIC_PARTITIONS=3
# The simulated tenant is one organization over two domains.
export MAILBOX_RADAR_DETECTION__ORGANIZATION_DOMAINS='[[contoso.com, contoso.co.uk]]'
# Its backup app (src/simulate/tenant.ts BACKUP_APP_ID) synchronises every mailbox: allow-listed, as a tenant
# would. first_app_access and first_access need nothing shorter than their learning periods (14 and 30 days):
# simulate writes the apps' and the delegations' history, dated 30 days, 14 days and 1 day back, first.
export MAILBOX_RADAR_DETECTION__ALLOWLIST__APPS='[3f1c2b9e-6d4a-4e8b-9c7d-0a1b2c3d4e5f]'
# Its helpdesk opens mailboxes through admin accounts (adm-…), which is their job: a policy turns first_access
# off for them (src/simulate/tenant.ts tenantDetectionSettings).
export MAILBOX_RADAR_DETECTION__POLICIES='[{name: helpdesk, match: {actors: [adm-*@contoso.com, adm-*@contoso.co.uk]}, rules: {firstAccess: {enabled: false}}}]'
# Health and metrics on loopback, each instance on a port the system chooses (another pipeline may hold
# 9464); each logs the URL it got.
export MAILBOX_RADAR_HTTP__HOST=127.0.0.1 MAILBOX_RADAR_HTTP__PORT=0

delete_topics() {
  node --input-type=module -e "
    import { Kafka, logLevel } from 'kafkajs';
    const admin = new Kafka({ brokers: process.env.KAFKA_BROKERS.split(','), clientId: 'demo-cleanup', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    // The run's own topics, and the internal repartition topic named after its consumer group.
    const mine = (await admin.listTopics()).filter(
      (t) => t.startsWith('demo.$RUN_ID.') || t.startsWith('$MAILBOX_RADAR_KAFKA__GROUP_ID-'),
    );
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  " 2>/dev/null
}

# ---- 1. the stack --------------------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
registry_at() { curl -fsS -o /dev/null --max-time 3 "$1/subjects" 2>/dev/null; }

find_stack() {
  if [ -n "${KAFKA_BROKERS:-}" ] && [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then return 0; fi
  port_open 9092 || return 1
  export KAFKA_BROKERS=127.0.0.1:9092
  if registry_at http://127.0.0.1:8081/apis/ccompat/v7; then
    export SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 # Apicurio (scripts/stack.sh)
  elif registry_at http://127.0.0.1:8081; then
    export SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 # Confluent (docker compose)
  else
    return 1
  fi
}

say "1/6 stack"
if find_stack; then
  echo "Kafka $KAFKA_BROKERS and the registry $SCHEMA_REGISTRY_URL already answer; using them" >&2
elif docker info >/dev/null 2>&1; then
  echo "starting Kafka and the schema registry with docker compose" >&2
  STARTED_STACK=docker
  docker compose up -d --wait kafka schema-registry
  export KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081
else
  echo "no Docker engine: starting Kafka and the registry as JVM processes (scripts/stack.sh)" >&2
  STARTED_STACK=jvm
  scripts/stack.sh up >/dev/null
  eval "$(scripts/stack.sh env | sed 's/^/export /')"
fi

# ---- 2. topics and schemas ---------------------------------------------------------------------------
say "2/6 topics and schemas (run $RUN_ID)"
"${CLI[@]}" schemas register --create-topics

# ---- 3. the pipeline -----------------------------------------------------------------------------------
say "3/6 pipeline: $INSTANCES instance(s) in consumer group $MAILBOX_RADAR_KAFKA__GROUP_ID (logs: ${DIR#"$ROOT"/}/pipeline-<n>.log)"
METRICS_URLS=()
for n in $(seq 1 "$INSTANCES"); do
  "${CLI[@]}" run --log-format json >"$DIR/pipeline-$n.log" 2>&1 &
  PIPELINE_PIDS+=($!)
done
for n in $(seq 1 "$INSTANCES"); do
  log=$DIR/pipeline-$n.log pid=${PIPELINE_PIDS[n - 1]}
  for i in $(seq 1 120); do
    grep -q '"msg":"pipeline running"' "$log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "pipeline $n exited during start-up"; }
    [ "$i" = 120 ] && { tail -n 20 "$log" >&2; die "pipeline $n did not start within 60s"; }
    sleep 0.5
  done
  # The URL of its metrics, from its log (`"metrics":"http://127.0.0.1:<port>/metrics"`).
  url=$(sed -n 's/.*"metrics":"\([^"]*\)".*/\1/p' "$log" | head -n 1)
  METRICS_URLS+=("$url")
  echo "pipeline $n running: pid $pid, $url (/readyz, /healthz)" >&2
done

# ---- 4. tail -------------------------------------------------------------------------------------------
say "4/6 alerts, as they arrive (and on the dashboard)"
# It stops by itself once every attack in the manifest was seen (simulate writes the manifest at the end).
# Its JSON goes through scripts/demo-alerts.ts: each alert_id printed once, the summary written at the end.
mkfifo "$DIR/alerts.fifo"
node --import tsx scripts/demo-alerts.ts "$DIR/manifest.json" "$DIR/alerts.ndjson" "$DIR/summary.txt" \
  <"$DIR/alerts.fifo" &
VIEW_PID=$!
"${CLI[@]}" tail --json --manifest "$DIR/manifest.json" >"$DIR/alerts.fifo" 2>"$DIR/tail.log" &
TAIL_PID=$!
for i in $(seq 1 60); do
  grep -q 'tail: listening' "$DIR/tail.log" 2>/dev/null && break
  kill -0 "$TAIL_PID" 2>/dev/null || { cat "$DIR/tail.log" >&2; die "tail exited during start-up"; }
  [ "$i" = 60 ] && { cat "$DIR/tail.log" >&2; die "tail did not join within 30s"; }
  sleep 0.5
done

# The dashboard: the same alerts on a web page (loopback only), with charts from each pipeline's metrics.
DASHBOARD_PORT=${DEMO_DASHBOARD_PORT:-8080}
port_open "$DASHBOARD_PORT" && DASHBOARD_PORT=0 # taken: the system picks one
DASHBOARD_ARGS=(--host 127.0.0.1 --port "$DASHBOARD_PORT")
for url in "${METRICS_URLS[@]}"; do DASHBOARD_ARGS+=(--metrics "$url"); done
"${CLI[@]}" dashboard "${DASHBOARD_ARGS[@]}" >"$DIR/dashboard.log" 2>&1 &
DASHBOARD_PID=$!
DASHBOARD_URL=
for i in $(seq 1 60); do
  DASHBOARD_URL=$(sed -n 's/^dashboard: \(http:[^ ]*\)$/\1/p' "$DIR/dashboard.log" 2>/dev/null | head -n 1)
  [ -n "$DASHBOARD_URL" ] && break
  kill -0 "$DASHBOARD_PID" 2>/dev/null || { cat "$DIR/dashboard.log" >&2; die "the dashboard exited during start-up"; }
  [ "$i" = 60 ] && { cat "$DIR/dashboard.log" >&2; die "the dashboard did not start within 30s"; }
  sleep 0.5
done
say "dashboard: $DASHBOARD_URL  (open it in a browser: the alerts as they arrive, the pipeline's charts)"

# ---- 5. traffic ----------------------------------------------------------------------------------------
say "5/6 simulated traffic: $DURATION at $RATE records/s, $ATTACKS attacks per rule"
SEED_ARGS=()
[ -n "${DEMO_SEED:-}" ] && SEED_ARGS=(--seed "$DEMO_SEED")
"${CLI[@]}" simulate --rate "$RATE" --duration "$DURATION" --attacks "$ATTACKS" ${SEED_ARGS[@]+"${SEED_ARGS[@]}"} \
  --manifest "$DIR/manifest.json" --progress

# ---- 6. injected vs detected ---------------------------------------------------------------------------
say "6/6 waiting up to ${GRACE_SECONDS}s for the last alerts"
for _ in $(seq 1 $((GRACE_SECONDS * 2))); do
  kill -0 "$TAIL_PID" 2>/dev/null || break
  sleep 0.5
done
kill -INT "$TAIL_PID" 2>/dev/null || true
TAIL_CODE=0
wait "$TAIL_PID" || TAIL_CODE=$?
TAIL_PID=
# The end of tail's output ends the view, which then writes the summary.
VIEW_CODE=0
wait "$VIEW_PID" || VIEW_CODE=$?
VIEW_PID=

# What each instance did, from its own metrics (a sum over the metric's series).
# $2 is a metric's name, or its name and first labels ('name{label="value"').
metric() {
  awk -v name="$2" 'BEGIN { p = index(name, "{") ? name : name "{" }
    $1 == name || index($1, p) == 1 { sum += $NF } END { print sum + 0 }' <<<"$1"
}
say "per instance"
for n in $(seq 1 "$INSTANCES"); do
  text=$(curl -fsS --max-time 5 "${METRICS_URLS[n - 1]}" 2>/dev/null) || text=
  printf 'pipeline %s: %s records decoded, %s alerts written, %s rebalances; partitions owned: %s mailbox, %s actor (repartition)\n' \
    "$n" "$(metric "$text" mailbox_radar_records_decoded_total)" "$(metric "$text" mailbox_radar_alerts_total)" \
    "$(metric "$text" mailbox_radar_rebalances_total)" \
    "$(metric "$text" 'mailbox_radar_assigned_partitions{sub_topology="mailbox"')" \
    "$(metric "$text" 'mailbox_radar_assigned_partitions{sub_topology="actor"')" >&2
done

say "injected vs detected"
cat "$DIR/summary.txt" >&2 2>/dev/null || { cat "$DIR/tail.log" >&2; die "no summary (tail exit code $TAIL_CODE)"; }
if [ "$VIEW_CODE" = 0 ]; then
  say "every injected attack was detected (files: ${DIR#"$ROOT"/})"
else
  say "an injected attack went undetected (tail exit code $TAIL_CODE; files: ${DIR#"$ROOT"/})"
fi
# In a terminal, the page stays up until Enter (the topics it reads go at the end).
if [ -t 0 ] && [ -n "$DASHBOARD_URL" ] && kill -0 "$DASHBOARD_PID" 2>/dev/null; then
  say "the dashboard is still at $DASHBOARD_URL: press Enter to stop everything"
  read -r _ || true
fi
[ "$VIEW_CODE" = 0 ] || exit 1
