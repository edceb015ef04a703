#!/usr/bin/env bash
# Runs a command of the bundled jar on this machine (pipelines run on Beam's DirectRunner).
#
#   runners/direct.sh COMMAND [--option=value ...]
#   runners/direct.sh embed --input=IN.jsonl --output=OUT.jsonl [--model=...] [--device=cpu|cuda|cuda:N|auto]
#   runners/direct.sh help
#
# Builds target/pg-embeddings-*-bundled.jar first when it is missing or older than the sources (bundled-jar.sh).
# JVM flags: runners/direct-jvm.args (C1 only, and why), the class-data archive's (runners/cds-archive.sh: the first
# start of a new jar trains it, 10-20 s), then JAVA_OPTS (default -Xmx4g), which may override them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=$("$root/runners/bundled-jar.sh")
# Never download anything at run time: DJL's natives come from the jar.
# -Dpgembed.home: profiles (pipelines/) and the demo's corpus are found in this checkout from any directory.
# The jar's classes from its class-data archive (cds-archive.sh: built by a training run before the first command
# that is not help; PGEMBED_CDS=off starts without it).
cds=()
if [[ " ${*:-help} " != *" help "* && " $* " != *" --help "* && " $* " != *" -h "* ]]; then
  mapfile -t cds < <("$root/runners/cds-archive.sh" "$jar")
fi
exec java "@$root/runners/direct-jvm.args" "${cds[@]}" ${JAVA_OPTS:--Xmx4g} -Dai.djl.offline=true \
  -Dpgembed.home="$root" -jar "$jar" "$@"
