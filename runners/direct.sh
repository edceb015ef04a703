#!/usr/bin/env bash
# Runs a command of the bundled jar on this machine (pipelines run on Beam's DirectRunner).
#
#   runners/direct.sh COMMAND [--option=value ...]
#   runners/direct.sh embed --input=IN.jsonl --output=OUT.jsonl [--model=...] [--device=cpu|cuda|cuda:N|auto]
#   runners/direct.sh help
#
# Builds target/pg-embeddings-*-bundled.jar first when it is missing or older than the sources (bundled-jar.sh).
# JVM flags: runners/direct-jvm.args (C1 only, and why), then JAVA_OPTS (default -Xmx4g), which may override them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=$("$root/runners/bundled-jar.sh")
# Never download anything at run time: DJL's natives come from the jar.
# -Dpgembed.home: profiles (pipelines/) and the demo's corpus are found in this checkout from any directory.
exec java "@$root/runners/direct-jvm.args" ${JAVA_OPTS:--Xmx4g} -Dai.djl.offline=true -Dpgembed.home="$root" \
  -jar "$jar" "$@"
