#!/usr/bin/env bash
# The container-fault tests need a Docker engine and debootstrap (images are built locally, never pulled):
# install Debian's docker.io and debootstrap when missing. The tests start dockerd themselves.
set -euo pipefail
missing=()
command -v dockerd > /dev/null || missing+=(docker.io)
command -v debootstrap > /dev/null || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing ${missing[*]} (Debian) for the container-fault tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
else
  echo "note: ${missing[*]} missing and no root apt-get: the container tests will be skipped" >&2
fi
