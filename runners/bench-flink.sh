#!/usr/bin/env bash
# DirectRunner versus a real Flink cluster on the same texts, side by side in one run: starts a local cluster
# (one TaskManager, two slots) on free ports under target/flink-bench, runs io.pgembed.bench.FlinkBenchmark, stops it.
#   runners/bench-flink.sh [--texts=2000] [--rounds=2]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
cd "$(dirname "$0")/.."
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
export FLINK_CLUSTER_HOME=$PWD/target/flink-bench FLINK_REST_PORT=${FLINK_REST_PORT:-18081} FLINK_RPC_PORT=${FLINK_RPC_PORT:-16123}
export FLINK_MASTER=localhost:$FLINK_REST_PORT PGEMBED_JAR=$(runners/bundled-jar.sh)
runners/flink-cluster.sh start --taskmanagers=1
trap 'runners/flink-cluster.sh stop' EXIT
java -Xmx6g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.FlinkBenchmark "$@"
