#!/usr/bin/env bash
# serve under 1, 4, 16 and 64 closed-loop clients on the loopback, against the embed command on the same texts (run
# before and after, each in a JVM of its own), with the launcher's JVM flags (runners/direct-jvm.args;
# BENCH_JAVA_OPTS after them may override them). Other --options are serve's (--maxWaitMs=5, --batchSize=64, ...).
#   runners/bench-serve.sh [--clients=1,4,16,64] [--seconds=15] [--texts=4000] [serve's options]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,5p' "$0"; exit 0; fi
mvn -q -B test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
bench() {
  java @runners/direct-jvm.args ${BENCH_JAVA_OPTS:-} -Xmx4g -Dai.djl.offline=true \
    -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" io.pgembed.bench.ServeBenchmark "$@" \
    2>&1 | grep -v '^\[' | tee -a target/bench-serve.out
}
: > target/bench-serve.out
bench --mode=embed "$@"
bench "$@"
bench --mode=embed "$@"
awk '/^embed command/ { e += $(NF-1); n++ } /^serve at/ { s = $(NF-1); c = $3 }
  END { if (n && s) printf "serve at %s clients over embed (mean of the two embed runs, %.1f texts/s): %.2f\n", c, e / n, s / (e / n) }' \
  target/bench-serve.out
