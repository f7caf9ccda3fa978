#!/usr/bin/env bash
# The ledger tests also run on PostgreSQL: make sure Debian's server binaries are present.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing Debian's postgresql (server binaries for the PostgreSQL ledger tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql > /dev/null
else
  echo "note: no PostgreSQL server binaries and no root apt-get: the PostgreSQL ledger tests will be skipped" >&2
fi
