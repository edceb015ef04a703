#!/usr/bin/env bash
# End-to-end PostgreSQL -> PostgreSQL throughput against the raw encoder, same texts, same run.
#   runners/bench-pipeline.sh [--texts=2000] [--rounds=2] [pipeline options, e.g. --batchSize=32]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
cd "$(dirname "$0")/.."
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java -Xmx6g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.PipelineBenchmark "$@"
