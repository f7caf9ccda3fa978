#!/usr/bin/env bash
# The game-day tests drive `docker compose` (v2, a Docker CLI plugin). When it is missing, build it from the Go
# module proxy and install it in ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose, where the docker CLI
# looks for plugins. COMPOSE_VERSIONS: the versions to try in order (v2.29.7 verified; the others are fallbacks).
# Last resort: Debian's docker-compose 1.29.2 (the `docker-compose` command only; `docker compose` stays missing).
set -euo pipefail
docker compose version > /dev/null 2>&1 && exit 0
command -v docker > /dev/null || { echo "note: no docker CLI: the compose tests will be skipped" >&2; exit 0; }

versions=${COMPOSE_VERSIONS:-v2.29.7 v2.29.2 v2.27.3}
module=github.com/docker/compose/v2
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
gobin=$(mktemp -d)
trap 'rm -rf "$gobin"' EXIT

if command -v go > /dev/null; then
  for version in $versions; do
    echo "building docker compose $version from the Go module proxy (a few minutes, once)"
    start=$SECONDS
    # As upstream builds its releases: static (no cgo), trimmed paths, the version stamped in.
    if CGO_ENABLED=0 GOBIN=$gobin go install -trimpath -ldflags "-s -w -X $module/internal.Version=$version" \
      "$module/cmd@$version" > "$gobin/log" 2>&1; then
      mkdir -p "$plugins"
      install -m 0755 "$gobin/cmd" "$plugins/docker-compose"
      echo "installed $plugins/docker-compose ($version, built in $((SECONDS - start)) s)"
      docker compose version
      exit 0
    fi
    echo "go install $module/cmd@$version failed:" >&2
    grep -v '^go: downloading' "$gobin/log" | tail -n 15 >&2
  done
else
  echo "note: no Go toolchain to build docker compose v2" >&2
fi

if ! command -v docker-compose > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "falling back to Debian's docker-compose (v1)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose > /dev/null
fi
echo "note: 'docker compose' (v2) is unavailable; $(docker-compose version --short 2> /dev/null || echo 'no docker-compose either')" >&2
