#!/usr/bin/env bash
# The HTML-report test renders the report in headless Chromium, and the game day test drives the Chaos tab
# through chromedriver (Selenium): install Debian's chromium and chromium-driver when missing.
set -euo pipefail
command -v chromium > /dev/null && command -v chromedriver > /dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing chromium and chromium-driver (Debian) for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core > /dev/null
else
  echo "note: chromium or chromedriver missing and no root apt-get: the browser tests will be skipped" >&2
fi
