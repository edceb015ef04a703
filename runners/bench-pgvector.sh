#!/usr/bin/env bash
# pgvector against real[] on one Debian PostgreSQL 15 with pgvector (runners/install-pgvector.sh first):
# write rates into real[], vector(384), halfvec(384); HNSW build time; search latency, scan against index.
#   runners/bench-pgvector.sh [--rows=100000] [--queries=200] [--scanQueries=5] [--writeBatchSize=500]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
cd "$(dirname "$0")/.."
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java -Xmx4g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.PgVectorBenchmark "$@"
