#!/usr/bin/env bash
# The job's two write methods side by side (--writeMethod=statements: JdbcIO batch upserts; copy: binary COPY into a
# temporary table and one upsert per batch), for real[], vector(384) and halfvec(384) (runners/install-pgvector.sh first).
#   runners/bench-copy.sh [--rows=100000] [--rounds=2] [--writeBatchSize=500]     (-Donly=vector in BENCH_JAVA_OPTS)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,4p' "$0"; exit 0; fi
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java ${BENCH_JAVA_OPTS:-} -Xmx4g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.CopyWriteBenchmark "$@"
