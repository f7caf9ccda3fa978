#!/usr/bin/env bash
# Build the platform image locally, without pulling from any registry:
#   debootstrap a minimal Debian, install the project's platform into a venv from a host-built wheelhouse,
#   then `docker import` it. Usage: scripts/build-platform-image.sh IMAGE[:TAG] [RELEASE]
# The same rootfs is reused for further tags (e.g. a "next" release) while it exists.
set -euo pipefail
image=${1:?usage: build-platform-image.sh IMAGE[:TAG] [RELEASE]}
release=${2:-stable}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
work=${TAXSTORM_IMAGE_WORK:-/var/tmp/taxstorm-image}
rootfs=$work/rootfs

if [ ! -e "$work/complete" ]; then
  rm -rf "$work" && mkdir -p "$work"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs.tmp" \
    > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 3; }
  mv "$rootfs.tmp" "$rootfs"
  "$python" -m pip wheel --quiet --wheel-dir "$work/wheels" -r "$here/images/platform-requirements.txt"
  "$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheels" "$here"
  mkdir -p "$rootfs/wheels" && cp "$work"/wheels/*.whl "$here/images/platform-requirements.txt" "$rootfs/wheels/"
  chroot "$rootfs" python3 -m venv /opt/taxstorm
  chroot "$rootfs" /opt/taxstorm/bin/pip install --quiet --no-index --find-links /wheels \
    -r /wheels/platform-requirements.txt
  chroot "$rootfs" /opt/taxstorm/bin/pip install --quiet --no-index --no-deps --find-links /wheels taxstorm
  rm -rf "$rootfs/wheels" "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  chroot "$rootfs" useradd --system --uid 10001 --home-dir /data --no-create-home taxstorm
  mkdir -p "$rootfs/data" && chown 10001:10001 "$rootfs/data"
  touch "$work/complete"
fi

tar -C "$rootfs" -c . | docker import \
  --change 'USER 10001' \
  --change 'WORKDIR /data' \
  --change 'ENV TAXSTORM_PLATFORM_LEDGER_PATH=/data/ledger.sqlite3' \
  --change "ENV TAXSTORM_PLATFORM_RELEASE=$release" \
  --change 'EXPOSE 8080' \
  --change 'CMD ["/opt/taxstorm/bin/python", "-m", "mock_platform", "--host", "0.0.0.0", "--port", "8080"]' \
  - "$image" > /dev/null
echo "built $image (release $release) from $rootfs"
