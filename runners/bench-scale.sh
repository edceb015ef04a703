#!/usr/bin/env bash
# The job at scale, every run a whole process of the bundled jar (start-up and model load included), on an
# embedded PostgreSQL:
#   runners/bench-scale.sh ratio  [run options]   embed vs run on 2,000 code chunks and 10,000 short texts
#   runners/bench-scale.sh memory [run options]   -Xmx1g, --timeout=60000: 10,000 vs 1,000,000 short rows
#   runners/bench-scale.sh writes [--rows=N]      precomputed vectors through the job's JdbcIO write
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$(runners/bundled-jar.sh)
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
cp="target/test-classes:target/classes:$(cat target/test-classpath.txt)"
if [ "${1:-}" = "writes" ]; then
  shift
  exec java -Xmx4g -cp "$cp" io.pgembed.bench.WriteBenchmark "$@"
fi
exec java -Xmx2g -cp "$cp" io.pgembed.bench.ScaleBenchmark "$@" --jar="$jar"
