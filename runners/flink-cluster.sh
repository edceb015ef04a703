#!/usr/bin/env bash
# A real Flink 1.19 session cluster on loopback: one JobManager and TaskManagers, each its own JVM, run from the
# Flink jars on Maven Central (runners/flink-cluster/pom.xml; Flink's binary distribution is not needed).
#
#   runners/flink-cluster.sh start [--taskmanagers=N]   start a JobManager and N TaskManagers (default 1), wait
#                                                       until they are registered, print the REST address
#   runners/flink-cluster.sh add-taskmanager            start one more TaskManager
#   runners/flink-cluster.sh status                     the processes and what the JobManager sees (exit 3: down)
#   runners/flink-cluster.sh stop                       stop this cluster's processes, and only those
#
# Configuration: runners/flink-conf/config.yaml (FLINK_CLUSTER_CONF to use another directory).
# Everything the cluster writes goes under FLINK_CLUSTER_HOME (default target/flink-cluster):
#   lib/  the classpath      log/  jobmanager.log, taskmanager-N.log      run/  pid files      tmp/  blobs, spills
# Ports: FLINK_REST_PORT (default 8081: submit with --flinkMaster=localhost:8081), FLINK_RPC_PORT (default 6123).
# JAVA_HOME picks the JVM (Java 17 or later); FLINK_TM_JAVA_OPTS adds TaskManager JVM flags.
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
root=$(cd "$(dirname "$0")/.." && pwd)
home=${FLINK_CLUSTER_HOME:-$root/target/flink-cluster}
conf=${FLINK_CLUSTER_CONF:-$root/runners/flink-conf}
rest_port=${FLINK_REST_PORT:-8081}
rpc_port=${FLINK_RPC_PORT:-6123}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
lib=$home/lib
run=$home/run
log=$home/log
# Every process of this cluster carries this flag, so that stop and status touch only their own processes.
marker="-Dpgembed.flinkCluster=$home"

# Java 17: the --add-opens/--add-exports list of Flink 1.19's own distribution (env.java.opts.all), as a java
# @argfile shared with runners/flink.sh. This job ran without them too (Beam's coders avoid Kryo's reflection into
# java.util); they are there for the Flink code paths that need them (Kryo's fallback serializers, JMX, Kerberos).
java17_args=@$conf/java17.args
[ -f "$conf/java17.args" ] || java17_args=@$root/runners/flink-conf/java17.args

die() { echo "flink-cluster.sh: $*" >&2; exit 1; }

# The classpath, from Maven, once (again when the pom changes).
ensure_lib() {
  if [ -f "$lib/.complete" ] && [ "$lib/.complete" -nt "$root/runners/flink-cluster/pom.xml" ]; then
    return
  fi
  echo "Building the cluster classpath in $lib (Maven) ..." >&2
  rm -rf "$lib"
  mvn -q -B -ntp -f "$root/runners/flink-cluster/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" >&2
  touch "$lib/.complete"
}

alive() { # pid file -> 0 when its process runs and is ours
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# The JVM and Flink memory flags Flink's own scripts would compute, from the same configuration.
resource_params() { # GET_JM_RESOURCE_PARAMS|GET_TM_RESOURCE_PARAMS -> two lines: JVM flags, then -D settings
  "$java" -cp "$lib/*" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$conf" 2>/dev/null \
    | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'
}

common_settings() {
  echo "-D jobmanager.rpc.port=$rpc_port -D rest.port=$rest_port -D io.tmp.dirs=$home/tmp"
}

rest_get() { # path -> the JSON body of the JobManager's REST answer (empty when it is not up); bash only, no curl
  (
    exec 3<>"/dev/tcp/localhost/$rest_port" || exit 0
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
    timeout 5 cat <&3 | tr -d '\r' | sed '1,/^$/d'
  ) 2>/dev/null || true
}

registered_taskmanagers() {
  rest_get /overview | sed -n 's/.*"taskmanagers":\([0-9]*\).*/\1/p'
}

# Starts one JVM of the cluster in the background and writes its pid file:
#   launch NAME MAIN_CLASS RESOURCE_PARAMS "EXTRA_JVM_FLAGS" [-D key=value ...]
launch() {
  local name=$1 main=$2 params=$3 extra_jvm=$4 jvm settings
  shift 4
  jvm=$(echo "$params" | sed -n 1p)
  settings=$(echo "$params" | sed -n 2p)
  # shellcheck disable=SC2086
  nohup "$java" $jvm "$java17_args" "$marker" -Dlog.file="$log/$name.log" $extra_jvm -cp "$lib/*" "$main" \
    --configDir "$conf" $(common_settings) -D blob.storage.directory="$home/tmp/blobs-$name" $settings "$@" \
    >"$log/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  echo "$name pid $!, log $log/$name.log"
}

start_jobmanager() {
  launch jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
    "$(resource_params GET_JM_RESOURCE_PARAMS)" ""
}

start_taskmanager() {
  local n=1
  while [ -f "$run/taskmanager-$n.pid" ]; do n=$((n + 1)); done
  # Every TaskManager gets the same memory flags: computed once per command.
  tm_params=${tm_params:-$(resource_params GET_TM_RESOURCE_PARAMS)}
  launch "taskmanager-$n" org.apache.flink.runtime.taskexecutor.TaskManagerRunner "$tm_params" \
    "-Dai.djl.offline=true ${FLINK_TM_JAVA_OPTS:-}" -D taskmanager.resource-id="taskmanager-$n"
}

wait_for_taskmanagers() { # count -> waits (at most 180 s) until the JobManager has that many registered
  local want=$1 deadline=$((SECONDS + 180))
  until [ "$(registered_taskmanagers)" = "$want" ]; do
    alive "$run/jobmanager.pid" || die "the JobManager exited; see $log/jobmanager.log"
    [ $SECONDS -lt $deadline ] || die "only '$(registered_taskmanagers)' of $want TaskManagers registered after 180 s; see $log/"
    sleep 0.5
  done
}

live_taskmanagers() {
  local n=0 f
  for f in "$run"/taskmanager-*.pid; do
    if alive "$f"; then n=$((n + 1)); fi
  done
  echo $n
}

cmd_start() {
  local tms=1
  for a in "$@"; do
    case $a in
      --taskmanagers=*) tms=${a#*=} ;;
      *) die "unknown option $a (start takes --taskmanagers=N)" ;;
    esac
  done
  [[ $tms =~ ^[1-9][0-9]*$ ]] || die "--taskmanagers=$tms: give a whole number >= 1"
  if alive "$run/jobmanager.pid"; then
    die "a cluster already runs from $home (pid $(cat "$run/jobmanager.pid")); run '$0 stop' first"
  fi
  if [ -n "$(rest_get /overview)" ]; then
    die "port $rest_port already answers as a Flink REST endpoint; set FLINK_REST_PORT or stop that cluster"
  fi
  ensure_lib
  rm -rf "$run" "$home/tmp"
  mkdir -p "$run" "$log" "$home/tmp"
  local t0=$SECONDS
  start_jobmanager
  for _ in $(seq "$tms"); do start_taskmanager; done
  wait_for_taskmanagers "$tms"
  echo "Flink session cluster up in $((SECONDS - t0)) s: $tms TaskManager(s); submit with --flinkMaster=localhost:$rest_port"
}

cmd_add_taskmanager() {
  alive "$run/jobmanager.pid" || die "no cluster runs from $home; run '$0 start' first"
  local want
  want=$(($(live_taskmanagers) + 1))
  start_taskmanager
  wait_for_taskmanagers "$want"
}

cmd_status() {
  local f up=0
  for f in "$run"/jobmanager.pid "$run"/taskmanager-*.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then
      echo "$(basename "$f" .pid) pid $(cat "$f") running"
      up=1
    else
      echo "$(basename "$f" .pid) pid $(cat "$f") not running"
    fi
  done
  if [ $up = 0 ]; then
    echo "no cluster runs from $home"
    exit 3
  fi
  echo "REST localhost:$rest_port overview: $(rest_get /overview)"
}

cmd_stop() {
  local f pid pids=()
  for f in "$run"/taskmanager-*.pid "$run"/jobmanager.pid; do
    if alive "$f"; then
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pid $pid did not stop in 30 s: killing it" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$run"
  echo "stopped ${#pids[@]} process(es) of the cluster in $home"
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  add-taskmanager) cmd_add_taskmanager ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
