#!/usr/bin/env bash
# The job at scale, every run a whole process of the bundled jar (start-up and model load included):
#   runners/bench-scale.sh ab --jarB=OTHER.jar [run options]   run with this jar vs OTHER.jar (e.g. the code before
#       a change, built and copied aside), 5 alternating rounds (-Drounds=N) on 10,000 short texts; OTHER.jar starts
#       without a class-data archive, so compare with PGEMBED_CDS=off unless that is the change
#   runners/bench-scale.sh ratio  [--corpus=code|short|debian] [run options]   embed vs run, 3 alternating rounds
#       (-Drounds=N in BENCH_JAVA_OPTS), on Debian's PostgreSQL with pgvector (runners/install-pgvector.sh first):
#       2,000 code chunks, 10,000 short texts, every Debian package description into vector(384); medians, and
#       the server's CPU seconds during each run
# and on an embedded PostgreSQL:
#   runners/bench-scale.sh memory [run options]   -Xmx1g, --timeout=60000: 10,000 vs 1,000,000 short rows
#   runners/bench-scale.sh writes [--rows=N]      precomputed vectors through the job's JdbcIO write
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
cd "$(dirname "$0")/.."
jar=$(runners/bundled-jar.sh)
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
cp="target/test-classes:target/classes:$(cat target/test-classpath.txt)"
if [ "${1:-}" = "writes" ]; then
  shift
  exec java -Xmx4g -cp "$cp" io.pgembed.bench.WriteBenchmark "$@"
fi
# The processes start as runners/direct.sh starts them: with the jar's class-data archive (PGEMBED_CDS=off: without).
BENCH_CDS_FLAGS=$(runners/cds-archive.sh "$jar") BENCH_CDS_JAR=$jar \
  exec java ${BENCH_JAVA_OPTS:-} -Xmx2g -cp "$cp" io.pgembed.bench.ScaleBenchmark "$@" --jar="$jar"
