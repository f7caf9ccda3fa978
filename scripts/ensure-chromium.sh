#!/usr/bin/env bash
# The HTML-report test renders the report in headless Chromium: install Debian's chromium when missing.
set -euo pipefail
command -v chromium > /dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing chromium (Debian) for the HTML report test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core > /dev/null
else
  echo "note: chromium missing and no root apt-get: the HTML rendering test will be skipped" >&2
fi
