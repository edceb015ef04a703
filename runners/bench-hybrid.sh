#!/usr/bin/env bash
# Hybrid against vector search latency on 100,000 rows of one Debian PostgreSQL with pgvector
# (runners/install-pgvector.sh first): both indexes the job builds, the same queries in both modes, alternating.
#   runners/bench-hybrid.sh [--rows=100000] [--queries=200]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,4p' "$0"; exit 0; fi
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java ${BENCH_JAVA_OPTS:-} -Xmx4g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.HybridSearchBenchmark "$@"
