#!/usr/bin/env bash
# The local stack without Docker: real Apache Kafka (KRaft, single node) and Apicurio Registry (its
# Confluent-compatible API under /apis/ccompat/v7), both from Maven Central, run with the machine's JDK
# on loopback. Downloads live in .stack/ (ignored); broker data, registry database, logs and pids live in
# the stack directory, .stack/ unless RADAR_STACK_DIR says otherwise.
#
#   scripts/stack.sh up                download once, format once, start what is not running, wait until both answer
#   scripts/stack.sh down              stop what this script started (by pid), nothing else
#   scripts/stack.sh status            say what runs and what is down (exit 0 either way)
#   scripts/stack.sh env               print KAFKA_BROKERS, SCHEMA_REGISTRY_URL, ... for the stack
#   scripts/stack.sh reset             down, then delete broker data and registry state (downloads are kept)
#   scripts/stack.sh restart-kafka     stop the broker (SIGTERM, by pid), start it, wait until it answers
#   scripts/stack.sh restart-registry  the same for the registry; its schemas and ids survive (H2 file database)
#
# Listeners: PLAINTEXT 9092; SASL_PLAINTEXT 9094 (PLAIN, SCRAM-SHA-256/512); TLS 9095; mutual TLS 9096 (a
# client certificate required); SASL_SSL 9097 (the same SASL user); the registry on http 8081 and https 8444.
# The certificates (a CA, the server's for 127.0.0.1/localhost, a client's, and another CA that signed
# nothing, for tests of a wrong CA) are made with openssl at the first `up`, in the stack directory's tls/.
#
# A second, private stack beside the shared one: another directory and other ports, the same downloads:
#   RADAR_STACK_DIR=/tmp/my-stack RADAR_STACK_PORT_OFFSET=10000 scripts/stack.sh up    # 19092, 18081, ...
# (the same variables for every other subcommand on that stack). Variables: RADAR_STACK_DIR,
# RADAR_STACK_DOWNLOADS, RADAR_STACK_PORT_OFFSET (added to every default port), RADAR_KAFKA_PORT (9092),
# RADAR_KAFKA_CONTROLLER_PORT (9093), RADAR_KAFKA_SASL_PORT (9094), RADAR_KAFKA_SSL_PORT (9095),
# RADAR_KAFKA_MTLS_PORT (9096), RADAR_KAFKA_SASL_SSL_PORT (9097), RADAR_REGISTRY_PORT (8081),
# RADAR_REGISTRY_HTTPS_PORT (8444), RADAR_STACK_WAIT_SECONDS (120).
# None starts with MAILBOX_RADAR_: that prefix is the application's configuration namespace.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK=${RADAR_STACK_DIR:-$ROOT/.stack}
# Downloads are shared by every stack directory: fetched once.
DOWNLOADS=${RADAR_STACK_DOWNLOADS:-$ROOT/.stack}
LIBS=$DOWNLOADS/kafka-libs
APICURIO=$DOWNLOADS/apicurio
DATA=$STACK/kafka-data
REGISTRY_DB=$STACK/registry-db
LOGS=$STACK/logs
PIDS=$STACK/pids
TLS=$STACK/tls
OFFSET=${RADAR_STACK_PORT_OFFSET:-0}
KAFKA_PORT=${RADAR_KAFKA_PORT:-$((9092 + OFFSET))}
KAFKA_CONTROLLER_PORT=${RADAR_KAFKA_CONTROLLER_PORT:-$((9093 + OFFSET))}
KAFKA_SASL_PORT=${RADAR_KAFKA_SASL_PORT:-$((9094 + OFFSET))}
KAFKA_SSL_PORT=${RADAR_KAFKA_SSL_PORT:-$((9095 + OFFSET))}
KAFKA_MTLS_PORT=${RADAR_KAFKA_MTLS_PORT:-$((9096 + OFFSET))}
KAFKA_SASL_SSL_PORT=${RADAR_KAFKA_SASL_SSL_PORT:-$((9097 + OFFSET))}
REGISTRY_PORT=${RADAR_REGISTRY_PORT:-$((8081 + OFFSET))}
REGISTRY_HTTPS_PORT=${RADAR_REGISTRY_HTTPS_PORT:-$((8444 + OFFSET))}
KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
# A test-only user on the SASL listener (loopback only): PLAIN and SCRAM-SHA-256/512.
SASL_USER=radar
SASL_PASSWORD=radar-test-secret
SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
APICURIO_VERSION=$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$ROOT/stack/pom.xml")
WAIT_SECONDS=${RADAR_STACK_WAIT_SECONDS:-${STACK_WAIT_SECONDS:-120}}

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid in a pid file, if that process still runs.
running_pid() {
  local file=$PIDS/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  # A killed process that nobody has reaped yet (a zombie) no longer runs.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

need_java() {
  command -v java >/dev/null || die "java not found: the local stack needs a JDK 17+ (apt-get install openjdk-17-jre-headless)"
}

fetch_kafka() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: the local stack downloads Kafka from Maven Central with Maven"
  log "downloading Apache Kafka from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mvn -q -B -f "$ROOT/stack/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$DOWNLOADS/mvn-kafka.log" 2>&1 ||
    die "maven could not fetch Kafka; see $DOWNLOADS/mvn-kafka.log"
  touch "$LIBS/.complete"
}

fetch_registry() {
  [ -f "$APICURIO/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: the local stack downloads Apicurio Registry with Maven"
  log "downloading Apicurio Registry $APICURIO_VERSION from Maven Central into $APICURIO"
  rm -rf "$APICURIO"
  # The plugin's marker of an earlier unpack would make it skip this one (a deleted .stack, an old stack/target).
  rm -rf "$ROOT/stack/target/dependency-maven-plugin-markers"
  mvn -q -B -f "$ROOT/stack/pom.xml" dependency:unpack \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:zip:all" \
    -DoutputDirectory="$APICURIO" >"$DOWNLOADS/mvn-apicurio.log" 2>&1 ||
    die "maven could not fetch Apicurio Registry; see $DOWNLOADS/mvn-apicurio.log"
  ls "$APICURIO"/*-runner.jar >/dev/null 2>&1 || die "no runner jar in the Apicurio zip ($APICURIO)"
  touch "$APICURIO/.complete"
}

# A CA, a server certificate for 127.0.0.1 and localhost, a client certificate (for mutual TLS) and another
# CA that signed nothing (what a client with the wrong CA trusts), once per stack directory. Test material:
# unencrypted keys, loopback only.
make_certs() {
  [ -f "$TLS/.complete" ] && return 0
  command -v openssl >/dev/null || die "openssl not found: the local stack makes its TLS certificates with it"
  log "making a CA and certificates in $TLS"
  rm -rf "$TLS"
  mkdir -p "$TLS"
  (
    cd "$TLS"
    ssl() { openssl "$@" >>openssl.log 2>&1 || die "openssl $1 failed; see $TLS/openssl.log"; }
    for ca in ca other-ca; do
      ssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mailbox-radar local $ca" \
        -keyout "$ca-key.pem" -out "$ca.pem"
    done
    for name in server client; do
      ssl req -newkey rsa:2048 -nodes -subj "/CN=mailbox-radar local $name" -keyout "$name-key.pem" -out "$name.csr"
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' \
        "$([ $name = server ] && echo serverAuth || echo clientAuth)" >"$name.ext"
      ssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
        -extfile "$name.ext" -out "$name.pem"
    done
    # Kafka reads a PEM keystore: the PKCS#8 key and the certificate chain in one file.
    cat server-key.pem server.pem >server-keystore.pem
    rm -f ./*.csr ./*.ext ca.srl
  )
  touch "$TLS/.complete"
}

format_kafka() {
  [ -f "$DATA/meta.properties" ] && return 0
  log "formatting KRaft storage in $DATA"
  mkdir -p "$DATA"
  local cluster_id
  cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  java -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$STACK/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" \
    >>"$LOGS/kafka-format.log" 2>&1 || die "formatting Kafka storage failed; see $LOGS/kafka-format.log"
}

start_kafka() {
  if pid=$(running_pid kafka); then
    log "kafka already running (pid $pid)"
    return 0
  fi
  if port_open "$KAFKA_PORT"; then
    log "something not started by this script listens on 127.0.0.1:$KAFKA_PORT; using it as the broker"
    return 0
  fi
  sed -e "s:@DATA_DIR@:$DATA:" -e "s:@SASL_USER@:$SASL_USER:" -e "s:@SASL_PASSWORD@:$SASL_PASSWORD:" \
    -e "s:@KAFKA_PORT@:$KAFKA_PORT:g" -e "s:@CONTROLLER_PORT@:$KAFKA_CONTROLLER_PORT:g" \
    -e "s:@SASL_PORT@:$KAFKA_SASL_PORT:g" -e "s:@SSL_PORT@:$KAFKA_SSL_PORT:g" \
    -e "s:@MTLS_PORT@:$KAFKA_MTLS_PORT:g" -e "s:@SASL_SSL_PORT@:$KAFKA_SASL_SSL_PORT:g" -e "s:@TLS_DIR@:$TLS:g" \
    "$ROOT/stack/server.properties" >"$STACK/server.properties"
  format_kafka
  log "starting kafka on $KAFKA_BROKERS"
  KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx768m}
  # shellcheck disable=SC2086
  detach "$PIDS/kafka.pid" "$LOGS/kafka.log" "$STACK" \
    java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/stack/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$STACK/server.properties"
}

# Runs a command in its own session (it outlives this shell, and a Ctrl-C there does not reach it) and
# writes the pid of the command itself: the inner shell records its own pid, then execs the command.
# (setsid forks when the caller leads a process group, as under job control, so $! would be wrong.)
detach() {
  local pidfile=$1 logfile=$2 dir=$3
  shift 3
  rm -f "$pidfile"
  (
    cd "$dir" || exit 1
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$logfile" 2>&1 </dev/null &
  ) >/dev/null 2>&1
  for _ in $(seq 1 50); do
    [ -s "$pidfile" ] && return 0
    sleep 0.1
  done
  die "could not start $1"
}

start_registry() {
  if pid=$(running_pid registry); then
    log "registry already running (pid $pid)"
    return 0
  fi
  if port_open "$REGISTRY_PORT"; then
    log "something not started by this script listens on 127.0.0.1:$REGISTRY_PORT; using it as the registry"
    return 0
  fi
  log "starting Apicurio Registry on http://127.0.0.1:$REGISTRY_PORT (Confluent API: $SCHEMA_REGISTRY_URL)"
  local jar
  jar=$(ls "$APICURIO"/*-runner.jar | head -n 1)
  REGISTRY_HEAP=${REGISTRY_HEAP:--Xms128m -Xmx512m}
  # SQL storage in an H2 file database in the stack directory: schemas and their ids survive a restart of
  # the registry, as they do in a real one. FILE_LOCK=FS: the OS drops the lock when the JVM dies, so a
  # killed registry starts again without waiting out a stale lock file.
  mkdir -p "$REGISTRY_DB"
  # shellcheck disable=SC2086
  detach "$PIDS/registry.pid" "$LOGS/registry.log" "$STACK" \
    java $REGISTRY_HEAP -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.http.ssl-port="$REGISTRY_HTTPS_PORT" \
    -Dquarkus.http.ssl.certificate.files="$TLS/server.pem" \
    -Dquarkus.http.ssl.certificate.key-files="$TLS/server-key.pem" \
    -Dquarkus.log.level=WARN \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="jdbc:h2:file:$REGISTRY_DB/registry;FILE_LOCK=FS" \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -jar "$jar"
}

kafka_answers() {
  # The port opens before the broker has a controller; the log line says it can serve.
  port_open "$KAFKA_PORT" && { ! [ -f "$PIDS/kafka.pid" ] || grep -q 'Kafka Server started' "$LOGS/kafka.log" 2>/dev/null; }
}

registry_answers() { curl -fsS -o /dev/null "$SCHEMA_REGISTRY_URL/subjects" 2>/dev/null; }

# Waits until each named service (kafka, registry) answers; dies with its log if one exits or time runs out.
wait_for() {
  local deadline=$((SECONDS + WAIT_SECONDS)) name pending=("$@") left
  while [ $SECONDS -lt $deadline ]; do
    left=()
    for name in "${pending[@]}"; do
      if "${name}_answers"; then
        if [ "$name" = kafka ]; then log "kafka answers on $KAFKA_BROKERS"; else log "registry answers on $SCHEMA_REGISTRY_URL"; fi
      else
        left+=("$name")
      fi
    done
    [ ${#left[@]} = 0 ] && return 0
    pending=("${left[@]}")
    for name in "${pending[@]}"; do
      if [ -f "$PIDS/$name.pid" ] && ! running_pid "$name" >/dev/null; then
        tail -n 30 "$LOGS/$name.log" >&2 || true
        die "$name exited during start-up; see $LOGS/$name.log"
      fi
    done
    sleep 0.5
  done
  for name in "${pending[@]}"; do tail -n 30 "$LOGS/$name.log" >&2 || true; done
  die "${pending[*]} did not answer within ${WAIT_SECONDS}s"
}

write_env() {
  print_env >"$STACK/env"
}

up() {
  local started=$SECONDS
  need_java
  mkdir -p "$STACK" "$DOWNLOADS" "$LOGS" "$PIDS"
  fetch_kafka
  fetch_registry
  make_certs
  start_kafka
  start_registry
  wait_for kafka registry
  write_env
  log "up in $((SECONDS - started))s"
  print_env
}

stop_one() {
  local name=$1 pid
  if ! pid=$(running_pid "$name"); then
    log "$name: not started by this script"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/$name.pid"
}

down() {
  stop_one registry
  stop_one kafka
}

# One line per service (started by this script or not, answering or not), then what is down. Exit 0 either
# way: it is a report, and `make stack-status` should not end in a make error when the stack is down.
status() {
  local pid name where answers down=()
  for name in kafka registry; do
    if [ "$name" = kafka ]; then where=$KAFKA_BROKERS; else where=$SCHEMA_REGISTRY_URL; fi
    answers=no
    if [ "$name" = kafka ]; then port_open "$KAFKA_PORT" && answers=yes; else registry_answers && answers=yes; fi
    if pid=$(running_pid "$name"); then
      if [ $answers = yes ]; then echo "$name: running (pid $pid), answers on $where"; else echo "$name: running (pid $pid), no answer yet on $where"; fi
    elif [ $answers = yes ]; then
      echo "$name: not started by this script; answers on $where"
    else
      echo "$name: not running; no answer on $where"
    fi
    [ $answers = yes ] || down+=("$name")
  done
  if [ ${#down[@]} = 0 ]; then
    echo "up: kafka and registry answer"
  elif [ ${#down[@]} = 1 ]; then
    echo "down: ${down[0]} (make stack-up starts it)"
  else
    echo "down: ${down[0]}, ${down[1]} (make stack-up starts them)"
  fi
}

print_env() {
  printf 'KAFKA_BROKERS=%s\nSCHEMA_REGISTRY_URL=%s\n' "$KAFKA_BROKERS" "$SCHEMA_REGISTRY_URL"
  printf 'KAFKA_SASL_BROKERS=127.0.0.1:%s\nKAFKA_SASL_USER=%s\nKAFKA_SASL_PASSWORD=%s\n' "$KAFKA_SASL_PORT" "$SASL_USER" "$SASL_PASSWORD"
  printf 'KAFKA_SSL_BROKERS=127.0.0.1:%s\nKAFKA_MTLS_BROKERS=127.0.0.1:%s\nKAFKA_SASL_SSL_BROKERS=127.0.0.1:%s\n' \
    "$KAFKA_SSL_PORT" "$KAFKA_MTLS_PORT" "$KAFKA_SASL_SSL_PORT"
  printf 'KAFKA_SSL_CA=%s\nKAFKA_SSL_OTHER_CA=%s\nKAFKA_SSL_CLIENT_CERT=%s\nKAFKA_SSL_CLIENT_KEY=%s\n' \
    "$TLS/ca.pem" "$TLS/other-ca.pem" "$TLS/client.pem" "$TLS/client-key.pem"
  printf 'SCHEMA_REGISTRY_HTTPS_URL=https://127.0.0.1:%s/apis/ccompat/v7\n' "$REGISTRY_HTTPS_PORT"
}

# For fault tests: stop one service by its pid (SIGTERM, as an orchestrator would), start it, wait until it
# answers. Only a service this script started can be restarted.
restart() {
  local name=$1
  running_pid "$name" >/dev/null || die "$name: not started by this script (scripts/stack.sh up first)"
  stop_one "$name"
  "start_$name"
  wait_for "$name"
}

case "${1:-}" in
  up) up ;;
  restart-kafka) need_java; restart kafka ;;
  restart-registry) need_java; restart registry ;;
  down) down ;;
  status) status ;;
  env) print_env ;;
  reset)
    down
    rm -rf "$DATA" "$REGISTRY_DB" "$LOGS" "$STACK/env" "$STACK/server.properties"
    log "broker data, registry database and logs removed"
    ;;
  *)
    echo "usage: $0 up|down|status|env|reset|restart-kafka|restart-registry" >&2
    exit 64
    ;;
esac
