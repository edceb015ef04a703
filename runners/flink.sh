#!/usr/bin/env bash
# Runs a command of the bundled jar with its pipelines submitted to a Flink cluster (Beam's FlinkRunner).
#
#   runners/flink.sh [COMMAND] [--option=value ...]
#   runners/flink.sh run --jdbcUrl=jdbc:postgresql://db:5432/app --sourceTable=artifacts --parallelism=4
#   FLINK_MASTER=flink-jm:8081 runners/flink.sh run ...
#   runners/flink.sh worker --queue=embeddings --jdbcUrl=...    (a queue worker whose jobs run on the cluster)
#
# The cluster: --flinkMaster=HOST:PORT (its REST port), else FLINK_MASTER, else localhost:8081 (what
# runners/flink-cluster.sh start gives); --flinkMaster=[local] runs Flink embedded in this JVM instead.
# The bundled jar is staged to the cluster (--filesToStage) unless the options name other files. The command waits
# for the job and prints the same report as on the DirectRunner (--reportFile=F also writes it as JSON).
# Restart strategy, parallelism and checkpointing: see "Flink" in README.md.
# JAVA_OPTS overrides the client's heap (default -Xmx2g); the client loads the model once, to check the target.
# JAVA_HOME picks the JVM; PGEMBED_JAR names a bundled jar to use as it is (no build check).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=$("$root/runners/bundled-jar.sh")
args=("$@")
given() { local a; for a in "${args[@]}"; do case $a in "--$1="*) return 0 ;; esac; done; return 1; }
given runner || args+=("--runner=FlinkRunner")
given flinkMaster || args+=("--flinkMaster=${FLINK_MASTER:-localhost:8081}")
given filesToStage || args+=("--filesToStage=$jar")

# Java 17: the same --add-opens/--add-exports list as the cluster's JVMs (Flink 1.19's distribution applies it to
# its client too), as a java @argfile.
# shellcheck disable=SC2086
# Beam's Flink runner logs every translated transform and dumps all accumulators as JSON at INFO: warnings only.
exec ${JAVA_HOME:+$JAVA_HOME/bin/}java ${JAVA_OPTS:--Xmx2g} "@$root/runners/flink-conf/java17.args" -Dai.djl.offline=true -Dpgembed.home="$root" \
  -Dorg.slf4j.simpleLogger.log.org.apache.beam.runners.flink=warn -jar "$jar" "${args[@]}"
