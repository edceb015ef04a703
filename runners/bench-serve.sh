#!/usr/bin/env bash
# serve under 1, 4, 16 and 64 closed-loop clients on the loopback, against the embed command on the same texts, with
# the launcher's JVM flags (runners/direct-jvm.args; BENCH_JAVA_OPTS after them may override them).
#   runners/bench-serve.sh [--clients=1,4,16,64] [--seconds=15] [--texts=4000]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,4p' "$0"; exit 0; fi
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java @runners/direct-jvm.args ${BENCH_JAVA_OPTS:-} -Xmx4g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.ServeBenchmark "$@"
