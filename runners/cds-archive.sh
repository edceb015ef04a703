#!/usr/bin/env bash
# Prints the JVM flags that start a bundled jar from its class-data archive (AppCDS), building the archive first
# when there is none yet for this jar and this JVM: one training run of the jar's class-data-training command under
# -XX:ArchiveClassesAtExit (an embedded PostgreSQL, a small run, embed and search; 10-20 s, once). A start from
# the archive maps Beam's, DJL's, pgjdbc's and the job's classes ready-parsed instead of reading and verifying them
# from the jar: 0.4-0.6 s less to a run's first forward pass on 2 cores (README, "Start-up").
#
#   runners/cds-archive.sh JAR      used by direct.sh: one flag per line; nothing when there is no archive to use
#
# The archive: $PGEMBED_CACHE_DIR, else $XDG_CACHE_HOME/pg-embeddings, else ~/.cache/pg-embeddings (the cache of the
# weights' digests), class-data/<jar>-<key>.jsa, the key a checksum of the jar's path, size and modification time and
# of libjvm.so's: a rebuilt or moved jar or another JVM gets its own (the JVM would refuse a stale one), and older
# archives of the same jar name are removed. A failed training is logged
# beside it (.log) and not retried for that jar and JVM. PGEMBED_CDS=off: no archive, no training.
# JAVA_OPTS (default -Xmx4g) applies to the training as to the runs, so both map classes the same way.
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
jar=${1:?usage: runners/cds-archive.sh JAR}
[ "${PGEMBED_CDS:-on}" = off ] && exit 0
root=$(cd "$(dirname "$0")/.." && pwd)
java_bin=$(readlink -f "$(command -v java)") || exit 0
libjvm=$(dirname "$(dirname "$java_bin")")/lib/server/libjvm.so
[ -f "$libjvm" ] || exit 0 # not a HotSpot layout we know: start as before
# The JVM checks the jar's path, size and modification time against the archive's, and its own build.
key=$(stat -c '%n %s %Y' "$(readlink -f "$jar")" "$libjvm" | cksum | cut -d' ' -f1)
name=$(basename "$jar" .jar)
# The cache directory as DigestCache.dir() finds it (keep the two in step; -Dpgembed.cacheDir is the JVM's alone).
dir="${PGEMBED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pg-embeddings}/class-data"
archive="$dir/$name-$key.jsa"
# A stale or foreign archive is refused by the JVM; its refusal would be a warning on stdout, mixed into output.
flags() { printf '%s\n' "-XX:SharedArchiveFile=$archive" "-Xlog:cds=off,cds+dynamic=off"; }
if [ -f "$archive" ]; then
  flags
  exit 0
fi
[ -f "$archive.failed" ] && exit 0
mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ] || exit 0
echo "Preparing the class-data archive of $name for faster starts (once per jar and JVM, 10-20 s;" \
  "PGEMBED_CDS=off skips it) ..." >&2
tmp="$archive.$$.tmp"
# shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
if java "@$root/runners/direct-jvm.args" ${JAVA_OPTS:--Xmx4g} -Dai.djl.offline=true -XX:ArchiveClassesAtExit="$tmp" \
    -jar "$jar" class-data-training >"$archive.log" 2>&1 && [ -s "$tmp" ]; then
  # Archives of earlier builds of this jar (another key); not this key's, nor another training's of it.
  find "$dir" -maxdepth 1 -name "$name-*.jsa*" ! -name "$(basename "$archive")*" -delete 2>/dev/null || true
  mv -f "$tmp" "$archive"
  rm -f "$archive.log"
  flags
else
  rm -f "$tmp"
  touch "$archive.failed"
  echo "The class-data archive was not built (the training's output: $archive.log); starting without it." >&2
fi
