#!/usr/bin/env bash
# Start/stop the real local services Flywheel's production path and integration tests use:
# PostgreSQL, Redis, a single-node Apache Kafka (KRaft) and a Ray head. See `usage` below.
#
# Everything lives under var/services/<name>/ (gitignored), binds 127.0.0.1 only and uses
# non-standard ports, so it never collides with a system-wide install. Every command is
# idempotent: starting a running service or stopping a stopped one succeeds and does nothing.
# Data survives stop/start; `rm -rf var/services` gives a fresh state.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var/services"
ALL_SERVICES=(postgres redis kafka ray)

# Every default port is below Linux's ephemeral range (32768-60999): a port in it can be the
# local end of any outgoing connection, and a service restarted while one holds it fails to
# bind (a Ray head restarted under the test suite did, on its object-manager port).
PG_PORT="${FLYWHEEL_PG_PORT:-25432}"
REDIS_PORT="${FLYWHEEL_REDIS_PORT:-26379}"
KAFKA_PORT="${FLYWHEEL_KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${FLYWHEEL_KAFKA_CONTROLLER_PORT:-29093}"
# Ray head: GCS port, dashboard (Jobs API) port; its other ports are RAY_PORT+2..+60.
RAY_PORT="${FLYWHEEL_RAY_PORT:-29300}"
RAY_DASHBOARD_PORT="${FLYWHEEL_RAY_DASHBOARD_PORT:-29365}"
RAY_NUM_CPUS="${FLYWHEEL_RAY_NUM_CPUS:-2}"
# Seconds to wait for a graceful stop before SIGKILL; fault tests stop services under load.
STOP_TIMEOUT="${FLYWHEEL_STOP_TIMEOUT:-20}"
# Seconds to wait for a started service to answer (a cold JVM on 2 slow cores is the worst case).
START_TIMEOUT="${FLYWHEEL_START_TIMEOUT:-180}"
PYTHON="${FLYWHEEL_PYTHON:-$ROOT/.venv/bin/python}"

usage() {
  cat <<EOF
usage: scripts/services.sh COMMAND [name...]     (names: ${ALL_SERVICES[*]}; default all)
  start [name...]     start (no-op if running) and wait until each service answers
  stop [name...]      graceful stop (SIGTERM, then SIGKILL after ${STOP_TIMEOUT}s); keeps data
  restart NAME...     stop then start
  status [name...]    show state; exit 0 only if all named services run and answer
  env                 print export lines for the connection settings
  fetch-kafka         download the Kafka jars from Maven Central (start does it when needed)
EOF
}

log() { echo "services: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A service's log tail, for error messages that point at the cause.
fail_with_log() {  # name logfile message
  log "ERROR: $1: $3"
  log "---- last lines of $2 ----"
  tail -n 25 "$2" >&2 2>/dev/null || true
  log "---- (full log: $2) ----"
  exit 1
}

# pid_alive PID PATTERN: the process exists and its command line matches PATTERN
# (guards against a stale pid file whose pid the kernel has since reused).
pid_alive() {
  local cmdline
  [ -n "${1:-}" ] && [ -r "/proc/$1/cmdline" ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$2"* ]]
}

# Wait for PID to exit; SIGKILL it after STOP_TIMEOUT seconds.
wait_exit_or_kill() {  # pid pattern name
  local pid=$1 pattern=$2 name=$3 waited=0
  while pid_alive "$pid" "$pattern"; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      log "$name: still running after ${STOP_TIMEOUT}s, sending SIGKILL to $pid"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      return 0
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Run "$@" until it succeeds or START_TIMEOUT passes; give up early if the process dies.
wait_until() {  # name logfile pid-check-function command...
  local name=$1 logfile=$2 alive=$3 deadline=$((SECONDS + START_TIMEOUT))
  shift 3
  until "$@" >/dev/null 2>&1; do
    "$alive" || fail_with_log "$name" "$logfile" "the process exited during startup"
    [ "$SECONDS" -lt "$deadline" ] ||
      fail_with_log "$name" "$logfile" "did not answer within ${START_TIMEOUT}s"
    sleep 0.3
  done
}

# Replace the current (sub)shell by a server process detached from the caller: own
# session (a Ctrl-C aimed at make or pytest does not reach it), stdin /dev/null,
# stdout+stderr appended to LOGFILE, and no other inherited fd. A daemon that kept the
# caller's pipe or our lock fd open would make e.g. subprocess.run(capture_output=True)
# on this script, or the next start/stop, wait for ever.
# Use `detached` to wait for the command, or `detached_exec ... &` to leave it running:
# either way no shell of ours stays behind as its parent.
detached_exec() {  # logfile command...
  local logfile=$1 fd
  shift
  for fd in "/proc/$BASHPID/fd"/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  cd /   # all paths are absolute; a server should not pin (or be denied) the repo dir
  exec setsid -w "$@" </dev/null >>"$logfile" 2>&1
}

detached() { (detached_exec "$@"); }

# Serialize start/stop of one service (parallel test workers may race to start it).
lock_service() {  # name
  mkdir -p "$VAR"
  exec 9>"$VAR/.$1.lock"
  flock 9
}

# ---------------------------------------------------------------------------------------
# PostgreSQL
#
# The server refuses to run as root, so the cluster belongs to the `postgres` OS user.
# Its data dir is var/services/postgres/data when `postgres` can reach that path; a clone
# under a private directory (e.g. /root, mode 700) cannot be reached, and then the data dir
# is /var/lib/flywheel-pg/<hash of the repo path>/data, with a symlink at the usual place.
# The log is always var/services/postgres/postgres.log: root opens it and hands the fd over.
# ---------------------------------------------------------------------------------------
PG_DIR="$VAR/postgres"
PG_LOG="$PG_DIR/postgres.log"

PG_BIN=""   # set by pg_resolve
PG_DATA=""  # set by pg_resolve

# From / : the repo dir may be unreadable for postgres (tools would warn about the cwd).
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# Find the newest installed PostgreSQL and decide where the data dir lives.
pg_resolve() {
  [ -z "$PG_BIN" ] || return 0
  PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -x "$PG_BIN/pg_ctl" ] ||
    die "postgres: no PostgreSQL under /usr/lib/postgresql/*/bin (run scripts/install_system.sh)"
  id postgres >/dev/null 2>&1 || die "postgres: no 'postgres' OS user (run scripts/install_system.sh)"
  [ "$(id -u)" -eq 0 ] || die "postgres: run as root (the server runs as the postgres OS user, via runuser)"
  mkdir -p "$PG_DIR"
  if [ -L "$PG_DIR/data" ]; then   # decided on an earlier run: outside the repo
    PG_DATA=$(readlink "$PG_DIR/data")
    return 0
  fi
  chown postgres:postgres "$PG_DIR"
  if as_postgres test -w "$PG_DIR" 2>/dev/null; then
    PG_DATA="$PG_DIR/data"
  else
    local alt
    alt="/var/lib/flywheel-pg/$(echo -n "$ROOT" | md5sum | cut -c1-12)"
    mkdir -p "$alt"
    chown postgres:postgres /var/lib/flywheel-pg "$alt"
    # No symlink means var/services was removed: honour that as "start from scratch".
    if [ -e "$alt/data" ]; then
      log "postgres: removing the old cluster $alt/data (var/services was reset)"
      rm -rf "$alt/data"
    fi
    ln -sfn "$alt/data" "$PG_DIR/data"
    log "postgres: $PG_DIR is not reachable by the postgres user; data dir is $alt/data"
    PG_DATA="$alt/data"
  fi
}

pg_running() {
  [ -f "$PG_DATA/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; }

# psql as the superuser over the unix socket (peer auth; no superuser password exists).
pg_psql() { as_postgres "$PG_BIN/psql" -h /tmp -p "$PG_PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }

pg_init() {
  local data=$PG_DATA
  log "postgres: initdb $data"
  as_postgres mkdir -p "$data"
  as_postgres "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
    --auth-local=peer --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 ||
    fail_with_log postgres "$PG_LOG" "initdb failed"
  # Settings live in the cluster so that every later start (and pg_ctl restart) uses them.
  cat >>"$data/postgresql.conf" <<EOF

# --- flywheel (scripts/services.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
# a short socket path of our own: the repo path may exceed the 107-byte socket limit,
# and /var/run/postgresql belongs to the system cluster
unix_socket_directories = '/tmp'
max_connections = 200
# Test/dev cluster: skip fsync for speed. Writes still reach the kernel, so a killed
# server (stop/start, SIGKILL) loses nothing; only an OS crash could.
fsync = off
full_page_writes = off
EOF
}

pg_start() {
  pg_resolve
  touch "$PG_LOG"
  if pg_running; then
    log "postgres: already running"
  else
    [ -f "$PG_DATA/PG_VERSION" ] || pg_init
    log "postgres: starting on 127.0.0.1:$PG_PORT"
    # pg_ctl forks the postmaster, which inherits pg_ctl's stdout: the log file.
    # -p on every start: FLYWHEEL_PG_PORT must win over the port written at initdb.
    detached "$PG_LOG" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "-p $PG_PORT" -w -t "$START_TIMEOUT" start ||
      fail_with_log postgres "$PG_LOG" "pg_ctl start failed"
  fi
  wait_until postgres "$PG_LOG" pg_running pg_answers
  pg_ensure_role
  log "postgres: up"
}

# Role and database the app and the tests use (CREATEDB: the Django test runner needs it).
pg_ensure_role() {
  pg_psql -d postgres <<'EOF'
SELECT 'CREATE ROLE flywheel LOGIN CREATEDB'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flywheel') \gexec
ALTER ROLE flywheel LOGIN CREATEDB PASSWORD 'flywheel';
SELECT 'CREATE DATABASE flywheel OWNER flywheel'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'flywheel') \gexec
EOF
}

pg_stop() {
  local pid
  pg_resolve
  if ! pg_running; then
    log "postgres: not running"
    return 0
  fi
  log "postgres: stopping"
  # fast = roll back open transactions and disconnect clients, then a clean checkpoint
  if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" stop >>"$PG_LOG" 2>&1; then
    log "postgres: fast shutdown timed out; immediate shutdown (WAL recovery on next start)"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >>"$PG_LOG" 2>&1 || {
      pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    }
  fi
  log "postgres: stopped"
}

pg_status() {
  pg_resolve
  if ! pg_running; then
    echo "postgres  stopped"
    return 1
  elif ! pg_answers; then
    echo "postgres  NOT ANSWERING  (see $PG_LOG)"
    return 1
  fi
  echo "postgres  running   127.0.0.1:$PG_PORT  data=$PG_DATA"
}

# ---------------------------------------------------------------------------------------
# Redis: append-only file on, so data survives stop/start (including a SIGKILL).
# ---------------------------------------------------------------------------------------
REDIS_DIR="$VAR/redis"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_PID="$REDIS_DIR/redis.pid"

redis_pid() { cat "$REDIS_PID" 2>/dev/null || true; }
# redis-server retitles itself "redis-server 127.0.0.1:PORT": that tells ours from others.
redis_running() { pid_alive "$(redis_pid)" "redis-server 127.0.0.1:$REDIS_PORT"; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

redis_start() {
  command -v redis-server >/dev/null || die "redis: redis-server not installed (run scripts/install_system.sh)"
  mkdir -p "$REDIS_DIR/data"
  touch "$REDIS_LOG"
  if redis_running; then
    log "redis: already running"
  else
    cat >"$REDIS_DIR/redis.conf" <<EOF
# generated by scripts/services.sh
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_LOG
dir $REDIS_DIR/data
appendonly yes
appendfsync everysec
save 60 1000
EOF
    log "redis: starting on 127.0.0.1:$REDIS_PORT"
    detached "$REDIS_LOG" redis-server "$REDIS_DIR/redis.conf" ||
      fail_with_log redis "$REDIS_LOG" "redis-server failed to start"
    # daemonize: the pid file appears a moment after the parent returns
    local i
    for i in $(seq 50); do redis_running && break; sleep 0.1; done
  fi
  wait_until redis "$REDIS_LOG" redis_running redis_answers
  log "redis: up"
}

redis_stop() {
  local pid
  pid=$(redis_pid)
  if ! redis_running; then
    log "redis: not running"
    return 0
  fi
  log "redis: stopping"
  kill -TERM "$pid" 2>/dev/null || true   # redis flushes the AOF and exits
  wait_exit_or_kill "$pid" "redis-server 127.0.0.1:$REDIS_PORT" redis
  log "redis: stopped"
}

redis_status() {
  if ! redis_running; then
    echo "redis     stopped"
    return 1
  elif ! redis_answers; then
    echo "redis     NOT ANSWERING  (see $REDIS_LOG)"
    return 1
  fi
  echo "redis     running   127.0.0.1:$REDIS_PORT  pid=$(redis_pid)"
}

# ---------------------------------------------------------------------------------------
# Kafka: the broker jars come from Maven Central (scripts/kafka/pom.xml) into
# var/services/kafka/libs; one JVM is both broker (29092) and KRaft controller (29093).
# ---------------------------------------------------------------------------------------
KAFKA_DIR="$VAR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_MAIN="kafka.Kafka"
# Matches only our broker's command line (not another checkout's Kafka).
KAFKA_CMD_PATTERN="$KAFKA_MAIN $KAFKA_DIR/server.properties"

kafka_fetch() {
  # The stamp records which pom the jars came from; a changed pom (new version) refetches.
  local want
  want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  if [ "$(cat "$KAFKA_LIBS/.pom.sha256" 2>/dev/null || true)" = "$want" ]; then
    return 0
  fi
  command -v mvn >/dev/null || die "kafka: mvn not installed (run scripts/install_system.sh)"
  log "kafka: fetching jars from Maven Central (first time only)"
  mkdir -p "$KAFKA_DIR"
  rm -rf "$KAFKA_LIBS"   # no jars of an older version left on the classpath
  mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >"$KAFKA_DIR/mvn.log" 2>&1 ||
    fail_with_log kafka "$KAFKA_DIR/mvn.log" "mvn could not fetch the Kafka jars"
  echo "$want" >"$KAFKA_LIBS/.pom.sha256"
}

kafka_pid() { cat "$KAFKA_PID" 2>/dev/null || true; }
kafka_running() { pid_alive "$(kafka_pid)" "$KAFKA_CMD_PATTERN"; }

# A real metadata request through the same client library the app uses.
kafka_answers() {
  if [ -x "$PYTHON" ] && "$PYTHON" -c 'import kafka' 2>/dev/null; then
    "$PYTHON" - "127.0.0.1:$KAFKA_PORT" <<'EOF'
import sys
from kafka import KafkaAdminClient
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000)
try:
    admin.list_topics()
    assert admin.describe_cluster()["brokers"], "no broker registered yet"
finally:
    admin.close()
EOF
  else
    # No venv yet: fall back to the broker's own "started" line plus an open port.
    grep -q "Kafka Server started" "$KAFKA_LOG" && (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null
  fi
}

# JVM flags. A 1 GiB heap is Kafka's own default and plenty here. TieredStopAtLevel=1
# (client JIT only) starts the broker ~3x faster on a busy 2-core box (measured 11 s vs
# 34 s), where the C2 compiler otherwise fights the tests for CPU; our clients are Python,
# so broker-side peak throughput is never the bottleneck.
KAFKA_JAVA_OPTS="${FLYWHEEL_KAFKA_JAVA_OPTS:--Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1}"

kafka_java_cmd() {  # main-class args... -> sets JAVA_CMD
  # shellcheck disable=SC2206  # word splitting of the flags is intended
  JAVA_CMD=(java $KAFKA_JAVA_OPTS -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.xml"
    -cp "$KAFKA_LIBS/*" "$@")
}

kafka_write_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by scripts/services.sh: single node, combined broker + KRaft controller
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=4
auto.create.topics.enable=true
# one node: every internal topic has exactly one replica
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# fewer internal partitions and no join delay: first consumer group is ready in a blink
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
EOF
}

kafka_start() {
  command -v java >/dev/null || die "kafka: java not installed (run scripts/install_system.sh)"
  mkdir -p "$KAFKA_DIR"
  touch "$KAFKA_LOG"
  if kafka_running; then
    log "kafka: already running"
  else
    kafka_fetch
    kafka_write_config
    # KRaft: the log dir must be formatted once with a cluster id; never again (keeps data).
    if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
      local cluster_id
      cluster_id=$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
      log "kafka: formatting $KAFKA_DATA (cluster id $cluster_id)"
      kafka_java_cmd kafka.tools.StorageTool format --ignore-formatted \
        -t "$cluster_id" -c "$KAFKA_DIR/server.properties"
      "${JAVA_CMD[@]}" </dev/null >>"$KAFKA_LOG" 2>&1 ||
        fail_with_log kafka "$KAFKA_LOG" "storage format failed"
    fi
    log "kafka: starting on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
    # The inner shell writes its pid and then becomes the JVM (exec), so the pid is java's.
    kafka_java_cmd "$KAFKA_MAIN" "$KAFKA_DIR/server.properties"
    rm -f "$KAFKA_PID"
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
    KAFKA_PID="$KAFKA_PID" detached_exec "$KAFKA_LOG" \
      bash -c 'echo $$ >"$KAFKA_PID"; exec "$@"' kafka "${JAVA_CMD[@]}" &
    local i
    for i in $(seq 50); do [ -s "$KAFKA_PID" ] && break; sleep 0.1; done
  fi
  wait_until kafka "$KAFKA_LOG" kafka_running kafka_answers
  log "kafka: up"
}

kafka_stop() {
  local pid
  pid=$(kafka_pid)
  if ! kafka_running; then
    log "kafka: not running"
    return 0
  fi
  log "kafka: stopping"
  kill -TERM "$pid" 2>/dev/null || true   # controlled shutdown: flushes logs, clean marker
  wait_exit_or_kill "$pid" "$KAFKA_CMD_PATTERN" kafka
  rm -f "$KAFKA_PID"
  log "kafka: stopped"
}

kafka_status() {
  if ! kafka_running; then
    echo "kafka     stopped"
    return 1
  elif ! kafka_answers >/dev/null 2>&1; then
    echo "kafka     NOT ANSWERING  (starting? see $KAFKA_LOG)"
    return 1
  fi
  echo "kafka     running   127.0.0.1:$KAFKA_PORT  pid=$(kafka_pid)"
}

# ---------------------------------------------------------------------------------------
# Ray head: `ray start --head` from the project's venv, dashboard (Jobs API) on 127.0.0.1.
# Every port is pinned (derived from RAY_PORT) so several heads coexist on one machine, and
# the session dir is private to this checkout. `stop` kills only the processes of this head
# (found by that session dir), never `ray stop`, which would stop every Ray on the machine.
# The venv's bin comes first on PATH so a job entrypoint's `python` is the project's.
# Token authentication is off (RAY_AUTH_MODE=disabled): the head listens on 127.0.0.1 only,
# like the other local services, and clients then need no token file.
# ---------------------------------------------------------------------------------------
RAY_DIR="$VAR/ray"
RAY_LOG="$RAY_DIR/ray.log"
# Unix socket paths must stay under 107 bytes: the session dir lives under /tmp.
RAY_TMP="/tmp/flywheel-ray-$(echo -n "$ROOT:$RAY_PORT" | md5sum | cut -c1-10)"
RAY_BIN="$(dirname "$PYTHON")/ray"

ray_pids() { pgrep -f -- "$RAY_TMP" || true; }  # processes naming our private session dir
# The sessions of those processes (`detached` starts the head under setsid), never our own.
ray_sessions() {
  local own_sid
  own_sid=$(ps -o sid= -p $$ | tr -d ' ')
  for pid in $(ray_pids); do ps -o sid= -p "$pid" | tr -d ' '; done | sort -u | grep -vx -e "$own_sid" -e 0 || true
}
# Every process of those sessions: with the named ones, the agents they spawn, which rename
# themselves (ray::DashboardAgent, ray::RuntimeEnvAgent) and would outlive a stop by name.
ray_session_pids() {
  local sid
  for sid in "$@"; do pgrep -s "$sid" || true; done
}
ray_running() { [ -n "$(ray_pids | head -n 1)" ]; }
ray_answers() {
  "$PYTHON" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version', timeout=3)"
}

ray_start() {
  [ -x "$RAY_BIN" ] || die "ray: $RAY_BIN not found (make venv installs ray[default])"
  mkdir -p "$RAY_DIR" "$RAY_TMP"
  touch "$RAY_LOG"
  if ray_running; then
    log "ray: already running"
  else
    log "ray: starting head on 127.0.0.1:$RAY_PORT (dashboard/Jobs API 127.0.0.1:$RAY_DASHBOARD_PORT)"
    local p=$RAY_PORT
    PATH="$(dirname "$PYTHON"):$PATH" RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled detached "$RAY_LOG" "$RAY_BIN" start --head \
      --node-ip-address=127.0.0.1 --port="$p" --num-cpus="$RAY_NUM_CPUS" --num-gpus=0 \
      --include-dashboard=true --dashboard-host=127.0.0.1 --dashboard-port="$RAY_DASHBOARD_PORT" \
      --ray-client-server-port=$((p + 2)) --node-manager-port=$((p + 3)) --object-manager-port=$((p + 4)) \
      --dashboard-agent-listen-port=$((p + 5)) --dashboard-agent-grpc-port=$((p + 6)) \
      --metrics-export-port=$((p + 7)) --runtime-env-agent-port=$((p + 8)) \
      --min-worker-port=$((p + 10)) --max-worker-port=$((p + 60)) \
      --temp-dir="$RAY_TMP" --disable-usage-stats ||
      fail_with_log ray "$RAY_LOG" "ray start --head failed"
  fi
  wait_until ray "$RAY_LOG" ray_running ray_answers
  log "ray: up"
}

ray_stop() {
  local sessions pid waited=0
  sessions=$(ray_sessions)
  if [ -z "$sessions" ]; then
    log "ray: not running"
    return 0
  fi
  log "ray: stopping"
  # shellcheck disable=SC2086  # one session id per word
  for pid in $(ray_session_pids $sessions); do kill -TERM "$pid" 2>/dev/null || true; done
  # shellcheck disable=SC2086
  while [ -n "$(ray_session_pids $sessions)" ]; do
    # gcs_server and raylet take their time on SIGTERM; a head holds no data worth waiting for
    if [ "$waited" -eq 50 ]; then
      log "ray: still running after 5s, sending SIGKILL"
      # shellcheck disable=SC2086
      for pid in $(ray_session_pids $sessions); do kill -KILL "$pid" 2>/dev/null || true; done
    elif [ "$waited" -ge 100 ]; then
      log "ray: WARNING: processes of session(s) $sessions outlived SIGKILL"
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  log "ray: stopped"
}

ray_status() {
  if ! ray_running; then
    echo "ray       stopped"
    return 1
  elif ! ray_answers >/dev/null 2>&1; then
    echo "ray       NOT ANSWERING  (see $RAY_LOG)"
    return 1
  fi
  echo "ray       running   127.0.0.1:$RAY_PORT  jobs=http://127.0.0.1:$RAY_DASHBOARD_PORT"
}

# ---------------------------------------------------------------------------------------

env_lines() {
  cat <<EOF
export DATABASE_URL=postgresql://flywheel:flywheel@127.0.0.1:$PG_PORT/flywheel
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/1
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export RAY_ADDRESS=http://127.0.0.1:$RAY_DASHBOARD_PORT
EOF
}

fn_prefix() {  # service name -> function prefix
  case "$1" in
    postgres) echo pg ;;
    redis) echo redis ;;
    kafka) echo kafka ;;
    ray) echo ray ;;
    *) usage >&2; log "ERROR: unknown service '$1'"; return 1 ;;
  esac
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ALL_SERVICES[@]}")
  local name rc=0
  for name in "${names[@]}"; do
    case "$cmd:$name" in
      start:* | stop:* | restart:* | status:*) fn_prefix "$name" >/dev/null || exit 2 ;;
    esac
  done
  case "$cmd" in
    start)
      for name in "${names[@]}"; do
        (lock_service "$name"; "$(fn_prefix "$name")_start")
      done ;;
    stop)
      # reverse order: clients of the database go before it
      for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        name=${names[$i]}
        (lock_service "$name"; "$(fn_prefix "$name")_stop")
      done ;;
    restart)
      [ $# -gt 0 ] || die "restart needs a service name"
      for name in "${names[@]}"; do
        (lock_service "$name"; "$(fn_prefix "$name")_stop"; "$(fn_prefix "$name")_start")
      done ;;
    status)
      for name in "${names[@]}"; do
        "$(fn_prefix "$name")_status" || rc=3
      done
      return $rc ;;
    env) env_lines ;;
    fetch-kafka) (lock_service kafka; kafka_fetch) ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
