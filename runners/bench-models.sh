#!/usr/bin/env bash
# The three model families (MiniLM-L6, bge-small, e5-small) on the same texts, same run.
#   runners/bench-models.sh [--texts=1000] [--rounds=2] [--batchSize=32]
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
cd "$(dirname "$0")/.."
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
exec java -Xmx6g -Dai.djl.offline=true -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.pgembed.bench.ModelFamiliesBenchmark "$@"
