#!/usr/bin/env bash
# The benchmarks drive HTTP load with wrk (Debian's package): a C load generator that is not the bottleneck.
set -euo pipefail
command -v wrk > /dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk > /dev/null
else
  echo "wrk is missing: install Debian's 'wrk' package to run the benchmarks" >&2
  exit 3
fi
