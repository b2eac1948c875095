#!/usr/bin/env bash
# A private single-node Apache Kafka (KRaft mode) for the tests and benchmarks of the scale-out deployment.
#
#   scripts/services/kafka.sh bootstrap  fetch Kafka and its dependencies from Maven Central (cached)
#   scripts/services/kafka.sh up         bootstrap, format the storage once, start; idempotent
#   scripts/services/kafka.sh down       stop it cleanly
#   scripts/services/kafka.sh status     exit 0 if the broker answers
#   scripts/services/kafka.sh servers    print its bootstrap address
#
# Kafka comes from its Maven Central artifacts (org.apache.kafka:kafka_2.13 and its runtime
# dependencies), resolved with Maven into ~/.cache/edupulse/kafka/<version>/libs and run with
# the machine's java: one combined broker+controller on 127.0.0.1:${EDUPULSE_KAFKA_PORT:-19092}
# (controller on the next port). Its data and log live in
# ${EDUPULSE_SERVICES_DIR:-/var/tmp/edupulse-services}/kafka, never in the repository.
set -euo pipefail

VERSION=4.1.1
# Below the kernel's ephemeral port range (32768-60999 by default): there, a client that keeps
# reconnecting to a stopped broker can connect to itself on the broker's port and hold it.
PORT=${EDUPULSE_KAFKA_PORT:-19092}
CONTROLLER_PORT=$((PORT + 1))
CACHE=${EDUPULSE_CACHE_DIR:-$HOME/.cache/edupulse}/kafka/$VERSION
LIBS=$CACHE/libs
ROOT=${EDUPULSE_SERVICES_DIR:-/var/tmp/edupulse-services}/kafka
DATA=$ROOT/data
CONF=$ROOT/server.properties
PIDFILE=$ROOT/kafka.pid
LOGFILE=$ROOT/server.log
HEAP=${EDUPULSE_KAFKA_HEAP:-512m}

tools() {
    # Java 17+ runs Kafka 4; Maven resolves it from Maven Central. Debian's packages if missing.
    local missing=()
    command -v java >/dev/null || missing+=(default-jre-headless)
    command -v mvn >/dev/null || missing+=(maven)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    echo "kafka: installing the Debian packages ${missing[*]}" >&2
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

bootstrap() {
    if [[ -f $LIBS/.complete ]]; then return 0; fi
    tools
    echo "kafka: fetching org.apache.kafka:kafka_2.13:$VERSION and its dependencies from Maven Central" >&2
    mkdir -p "$CACHE"
    cat >"$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>edupulse</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>2.24.3</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>2.24.3</version>
    </dependency>
  </dependencies>
</project>
POM
    rm -rf "$LIBS"
    if ! mvn -q -B -f "$CACHE/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$CACHE/maven.log" 2>&1; then
        cat "$CACHE/maven.log" >&2
        echo "kafka: Maven Central could not supply Kafka $VERSION (see above)" >&2
        exit 1
    fi
    cat >"$CACHE/log4j2.properties" <<LOG
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = \${sys:kafka.logs.dir}/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
LOG
    touch "$LIBS/.complete"
}

run_java() {
    java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$CACHE/log4j2.properties" -Dkafka.logs.dir="$ROOT" \
        -cp "$LIBS/*" "$@"
}

configure() {
    mkdir -p "$ROOT"
    cat >"$CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=12
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=9223372036854775807
PROPS
}

running() {
    if [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then return 0; fi
    # A broker this script started but whose pid file was lost (or overwritten by a start
    # that failed): find it by its configuration file, and track it again.
    local pid
    pid=$(pgrep -f "kafka.Kafka $CONF" | head -n 1 || true)
    [[ -n $pid ]] || return 1
    echo "$pid" >"$PIDFILE"
}

answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && grep -q "Kafka Server started" "$ROOT/broker.log" 2>/dev/null
}

up() {
    bootstrap
    if running && answers; then return 0; fi
    configure
    if [[ ! -f $DATA/meta.properties ]]; then
        local cluster
        cluster=$(run_java kafka.tools.StorageTool random-uuid)
        run_java kafka.tools.StorageTool format -t "$cluster" -c "$CONF" >/dev/null
    fi
    if ! running; then
        : >"$LOGFILE"
        : >"$ROOT/broker.log"
        nohup java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$CACHE/log4j2.properties" -Dkafka.logs.dir="$ROOT" \
            -cp "$LIBS/*" kafka.Kafka "$CONF" >>"$LOGFILE" 2>&1 </dev/null 9>&- &
        echo $! >"$PIDFILE"
    fi
    for _ in $(seq 1 120); do
        if answers; then
            echo "kafka: up at 127.0.0.1:$PORT" >&2
            return 0
        fi
        running || break
        sleep 0.5
    done
    echo "kafka: did not start; see $LOGFILE and $ROOT/broker.log" >&2
    tail -n 20 "$LOGFILE" >&2 || true
    exit 1
}

down() {
    if ! running; then rm -f "$PIDFILE"; return 0; fi
    local pid
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }
        sleep 0.5
    done
    echo "kafka: still stopping after 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
}

# One start or stop at a time: test suites running side by side may all call up/down.
mkdir -p "$ROOT"
exec 9>"$ROOT/.lock"
flock 9

case ${1:-} in
    bootstrap) bootstrap ;;
    up) up ;;
    down) down ;;
    status) running && answers ;;
    servers) echo "127.0.0.1:$PORT" ;;
    *) echo "usage: $0 bootstrap|up|down|status|servers" >&2; exit 2 ;;
esac
