#!/usr/bin/env bash
# Installs pgvector into a Debian PostgreSQL 15 for the pgvector tests (PgVectorServer) and for users who want the
# job's vector(d)/halfvec(d) targets on this machine. Idempotent: does nothing when vector.control is installed.
#
#   runners/install-pgvector.sh [SOURCE]     SOURCE: a pgvector source tarball or directory
#                                             (default: runners/vendor/pgvector-0.8.6.tar.gz)
#
# Needs root for apt and `make install` (the packages postgresql-15 and postgresql-server-dev-15). Without root,
# install those two packages yourself and run `make && sudo make install` in pgvector's source, or point the tests
# at a server that has pgvector with PGEMBED_PGVECTOR_URL (see the README, "pgvector").
set -euo pipefail
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" | grep -v '^set -euo'; exit 0; fi  # the usage above
here="$(cd "$(dirname "$0")" && pwd)"
source="${1:-$here/vendor/pgvector-0.8.6.tar.gz}"
pg_config="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"

if [[ ! -x "$pg_config" || ! -e "$("$pg_config" --includedir-server 2>/dev/null)/postgres.h" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-pgvector: $pg_config or its server headers are missing; as root: apt-get install -y" \
      "postgresql-15 postgresql-server-dev-15 (or set PG_CONFIG to another PostgreSQL's pg_config)" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-server-dev-15 >/dev/null
fi
sharedir="$("$pg_config" --sharedir)"
if [[ -e "$sharedir/extension/vector.control" ]]; then
  echo "install-pgvector: pgvector is installed in $sharedir/extension ($(grep default_version "$sharedir/extension/vector.control"))"
  exit 0
fi
if [[ ! -e "$source" ]]; then
  echo "install-pgvector: no pgvector source at $source; pass a tarball or directory of pgvector's source" >&2
  exit 2
fi
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
if [[ -d "$source" ]]; then
  cp -r "$source/." "$build/"
else
  tar xzf "$source" -C "$build" --strip-components=1
fi
# OPTFLAGS="": no -march=native, so the library also runs on another CPU than the one that built it.
make -s -C "$build" PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null
make -s -C "$build" PG_CONFIG="$pg_config" OPTFLAGS="" install >/dev/null
echo "install-pgvector: installed $(grep default_version "$sharedir/extension/vector.control") into $sharedir/extension"
