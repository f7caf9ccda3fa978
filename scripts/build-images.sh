#!/usr/bin/env bash
# Build taxstorm's container images locally, pulling nothing from any Docker registry:
#   taxstorm-base:bookworm            debootstrap'd minimal Debian with python3 (rootfs cached under /var/tmp)
#   wheelhouse/                       the runtime dependencies as wheels, built on the host (offline image build;
#                                     a copy is kept beside the base's rootfs for the next clone)
#   taxstorm:dev (or TAG)             the Dockerfile: platform, harness and Locust in one image
#   ghcr.io/shopify/toxiproxy:2.12.0  the upstream image's layout, from the real v2.12.0 binaries in .bin/
# Usage: scripts/build-images.sh [--force] [TAG]
# Only what is missing is built. --force rebuilds TAG and the Toxiproxy image (Docker's layer cache still
# applies); the wheelhouse is rebuilt when pyproject.toml or the venv's versions change; the base is made only
# when missing, from a rootfs cached in $TAXSTORM_BASE_WORK (delete both to debootstrap afresh).
# Needs root (debootstrap), a Docker engine and the project's venv (or PYTHON=...); TAXSTORM_DEBIAN_MIRROR
# picks the Debian mirror.
set -euo pipefail

force=0
tag=taxstorm:dev
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) tag=$arg ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
base=taxstorm-base:bookworm
toxiproxy_version=$(cd "$here" && "$python" -m taxstorm.chaos.toxiproxy.install --print-default-version) # set in install.py
toxiproxy_image=ghcr.io/shopify/toxiproxy:$toxiproxy_version
work=${TAXSTORM_BASE_WORK:-/var/tmp/taxstorm-base}
rootfs=$work/rootfs
wheelhouse=$here/wheelhouse
export DOCKER_BUILDKIT=0 # the classic builder: no buildx here, and the Dockerfile must work with it
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

missing() { ! docker image inspect "$1" > /dev/null 2>&1; }
took() { echo "built $1 in $((SECONDS - $2)) s"; }

# (a) The base: debootstrap once (cached), then import the rootfs as an image.
build_base() {
  local start=$SECONDS
  if [ ! -e "$work/complete" ]; then
    command -v debootstrap > /dev/null || { echo "debootstrap is missing (scripts/ensure-docker.sh installs it)" >&2; exit 3; }
    rm -rf "$work" && mkdir -p "$work"
    echo "debootstrap bookworm into $rootfs (a few minutes, once)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs.tmp" \
      ${TAXSTORM_DEBIAN_MIRROR:+"$TAXSTORM_DEBIAN_MIRROR"} > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 3; }
    rm -rf "$rootfs.tmp"/var/cache/apt/archives/*.deb "$rootfs.tmp"/var/lib/apt/lists/* \
      "$rootfs.tmp"/usr/share/doc/* "$rootfs.tmp"/usr/share/man/* "$rootfs.tmp"/usr/share/info/* \
      "$rootfs.tmp"/var/log/*.log "$rootfs.tmp"/var/log/apt/*
    find "$rootfs.tmp/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} + # translations
    : > "$rootfs.tmp/etc/hostname" && : > "$rootfs.tmp/etc/resolv.conf" # the host's; docker provides its own
    mv "$rootfs.tmp" "$rootfs"
    touch "$work/complete"
  fi
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$base" > /dev/null
  took "$base" "$start"
}

# (b) The wheelhouse: the project's runtime dependencies (no dev extras) and its build backend, as wheels for
# the base image's Python, at the versions the host venv runs the tests with. The project itself is built from
# source in the image (see Dockerfile), so editing it never invalidates the dependency layer.
py_minor() { "$@" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

build_wheelhouse() {
  local start=$SECONDS want have stamp tmp=$scratch/wheelhouse
  mkdir -p "$tmp"
  "$python" - "$here/pyproject.toml" > "$tmp/requirements.txt" << 'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)
extras = project["project"]["optional-dependencies"]  # the image plays every role: postgres and docker too
print("\n".join(project["project"]["dependencies"] + extras["postgres"] + extras["docker"] + project["build-system"]["requires"]))
EOF
  "$python" -m pip freeze --exclude-editable | grep -v -e ' @ ' -e '^-' > "$tmp/constraints.txt" || true
  have=$(py_minor "$python")
  stamp=$( (cat "$tmp/requirements.txt" "$tmp/constraints.txt" && echo "python $have") | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$wheelhouse/.stamp" 2> /dev/null)" = "$stamp" ]; then
    return 0
  fi
  local cached=$work/wheelhouse-$stamp # beside the base's cache: a fresh clone (CI) need not build it again
  if [ "$(cat "$cached/.stamp" 2> /dev/null)" = "$stamp" ]; then
    rm -rf "$wheelhouse" && cp -r "$cached" "$wheelhouse"
    took "wheelhouse/ (from $cached)" "$start"
    return 0
  fi
  want=$(py_minor docker run --rm "$base" python3)
  if [ "$want" != "$have" ]; then
    echo "$base has Python $want but $python is $have: the wheels must match; set PYTHON=python$want" >&2
    exit 3
  fi
  "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$tmp" \
    --requirement "$tmp/requirements.txt" --constraint "$tmp/constraints.txt"
  rm -f "$tmp/requirements.txt" "$tmp/constraints.txt"
  echo "$stamp" > "$tmp/.stamp"
  rm -rf "$wheelhouse" && mv "$tmp" "$wheelhouse"
  mkdir -p "$work" && rm -rf "$work"/wheelhouse-* # keep one copy, for the next clone
  cp -r "$wheelhouse" "$cached.tmp" && mv "$cached.tmp" "$cached"
  took "wheelhouse/ ($(find "$wheelhouse" -name '*.whl' | wc -l) wheels for Python $have)" "$start"
}

# (c) The project image, with the classic builder.
build_app() {
  local start=$SECONDS
  docker build --force-rm --build-arg BASE_IMAGE="$base" --tag "$tag" "$here"
  took "$tag" "$start"
}

# (d) Toxiproxy: the upstream image's layout (FROM scratch, /toxiproxy and /toxiproxy-cli) from static binaries.
static_elf() { # a 64-bit little-endian ELF executable without an interpreter (PT_INTERP): statically linked?
  [ -x "$1" ] && "$python" - "$1" << 'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(64)
    if head[:4] != b"\x7fELF" or head[4] != 2:
        sys.exit(1)
    (phoff,) = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        if struct.unpack("<I", f.read(4))[0] == 3:
            sys.exit(1)
EOF
}

usable_toxiproxy() { # static server and CLI, the server reporting the wanted version
  static_elf "$1" && static_elf "$2" && "$1" -version 2>&1 | grep -q -E "version v?$toxiproxy_version\$"
}

build_toxiproxy() {
  local start=$SECONDS ctx=$scratch/toxiproxy server=${TOXIPROXY_SERVER:-$here/.bin/toxiproxy-server} cli
  cli=$(dirname "$server")/toxiproxy-cli
  mkdir -p "$ctx"
  if ! usable_toxiproxy "$server" "$cli"; then
    echo "$server (and toxiproxy-cli) is not a static v$toxiproxy_version: installing a static one"
    (cd "$here" && "$python" -m taxstorm.chaos.toxiproxy.install --no-search --bin-dir "$ctx/bin" --version "$toxiproxy_version")
    server=$ctx/bin/toxiproxy-server cli=$ctx/bin/toxiproxy-cli
    usable_toxiproxy "$server" "$cli" || { echo "the rebuilt Toxiproxy is not a static v$toxiproxy_version" >&2; exit 3; }
  fi
  cp "$server" "$ctx/toxiproxy" && cp "$cli" "$ctx/toxiproxy-cli"
  cat > "$ctx/Dockerfile" << 'EOF'
FROM scratch
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
ENV LOG_LEVEL=info
LABEL org.opencontainers.image.source="https://github.com/Shopify/toxiproxy" \
      io.taxstorm.local-build="built by taxstorm's scripts/build-images.sh from the release's Go module"
COPY toxiproxy /toxiproxy
COPY toxiproxy-cli /toxiproxy-cli
EOF
  docker build --force-rm --quiet --tag "$toxiproxy_image" "$ctx" > /dev/null
  took "$toxiproxy_image" "$start"
}

docker version > /dev/null || { echo "no Docker engine answers" >&2; exit 3; }
if missing "$base"; then build_base; fi
if [ "$force" = 1 ] || missing "$tag"; then
  build_wheelhouse
  build_app
fi
if [ "$force" = 1 ] || missing "$toxiproxy_image"; then build_toxiproxy; fi
for image in "$base" "$tag" "$toxiproxy_image"; do
  docker image inspect --format "$image  {{.Size}} bytes" "$image"
done
