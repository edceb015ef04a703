#!/usr/bin/env bash
# Continuous mode, --changeCapture=scan against trigger, on one Debian PostgreSQL (runners/install-pgvector.sh first):
# the server's CPU while idle, commit-to-vector latency at 1,000,000 and 10,000 rows, the triggers' cost to writes.
#   runners/bench-capture.sh [--rows=1000000] [--smallRows=10000] [--inserts=20] [--idleSeconds=20] [--writeRows=100000]
#                             [--scan=0: no scan mode] [--writesOnly=1: only the writes]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,5p' "$0"; exit 0; fi
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java ${BENCH_JAVA_OPTS:-} -Xmx4g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.ChangeCaptureBenchmark "$@"
