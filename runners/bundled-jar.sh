#!/usr/bin/env bash
# Prints the path of the bundled jar (target/pg-embeddings-*-bundled.jar), building it first (mvn package, tests
# skipped) when it is missing or older than the sources. PGEMBED_JAR names a jar to use as it is.
# Used by direct.sh, flink.sh and bench-flink.sh.
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
if [ -n "${PGEMBED_JAR:-}" ]; then
  echo "$PGEMBED_JAR"
  exit 0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
jar() { ls "$root"/target/pg-embeddings-*-bundled.jar 2>/dev/null | head -n 1; }
if [ -z "$(jar)" ] || [ -n "$(find "$root/src/main" "$root/pom.xml" -newer "$(jar)" -print -quit 2>/dev/null)" ]; then
  echo "Building the bundled jar (mvn package, tests skipped) ..." >&2
  (cd "$root" && mvn -q -B -ntp -DskipTests package) >&2
fi
jar
