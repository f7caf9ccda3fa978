# taxstorm in one image: the mock platform (default command), the harness CLI and Locust master/workers.
#   docker run -p 8080:8080 taxstorm:dev                                   # the platform, ledger in /data
#   docker run taxstorm:dev taxstorm run /opt/taxstorm/scenarios/smoke.yaml --toxiproxy-url http://toxiproxy:8474
# Works with the classic builder (DOCKER_BUILDKIT=0) and BuildKit. With internet the public base is pulled;
# scripts/build-images.sh builds from a local base (--build-arg BASE_IMAGE=taxstorm-base:bookworm) and installs
# offline from wheelhouse/ (runtime dependencies as wheels for the base's Python); without one, from PyPI.
ARG BASE_IMAGE=python:3.12-slim-bookworm

# The dependencies: a venv that only changes with pyproject.toml or the wheelhouse. pyproject.toml makes the COPY
# valid when there is no wheelhouse/ (an unmatched wildcard copies nothing).
FROM ${BASE_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/taxstorm
COPY pyproject.toml wheelhouse* /tmp/wheelhouse/
RUN set -eu; \
    if ls /tmp/wheelhouse/*.whl > /dev/null 2>&1; then \
      printf '[global]\nno-index = true\nfind-links = /tmp/wheelhouse\n' > /etc/pip.conf; \
      echo "installing offline from the wheelhouse"; \
    fi; \
    python3 -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb"))["project"]; x = p["optional-dependencies"]; print("\n".join(p["dependencies"] + x["postgres"] + x["docker"]))' \
      /tmp/wheelhouse/pyproject.toml > /tmp/requirements.txt; \
    /opt/taxstorm/bin/pip install --quiet -r /tmp/requirements.txt

# The project as a wheel, built from source (offline, the wheelhouse holds its build backend).
FROM deps AS build
COPY pyproject.toml README.md /src/
COPY taxstorm /src/taxstorm
COPY mock_platform /src/mock_platform
COPY chaos /src/chaos
COPY loadtests /src/loadtests
COPY scenarios /src/scenarios
RUN /opt/taxstorm/bin/pip wheel --quiet --no-deps --wheel-dir /dist /src

# The image: the base, the dependency venv (a layer shared by every build) and the project (a small layer).
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="taxstorm" \
      org.opencontainers.image.description="Mock e-invoicing platform, chaos harness and Locust load in one image"
RUN (command -v useradd > /dev/null \
      && groupadd --system --gid 10001 taxstorm \
      && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin taxstorm) \
    || (echo 'taxstorm:x:10001:' >> /etc/group \
      && echo 'taxstorm:x:10001:10001::/data:/usr/sbin/nologin' >> /etc/passwd); \
    mkdir -p /data && chown 10001:10001 /data
COPY --from=deps /opt/taxstorm /opt/taxstorm
COPY --from=build /dist /tmp/dist
RUN /opt/taxstorm/bin/pip install --quiet --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
      --no-index --no-deps /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && /opt/taxstorm/bin/python -c 'import taxstorm.cli, taxstorm.mock_platform.app, taxstorm.loadtests, taxstorm.clients, taxstorm.chaos'
COPY scenarios /opt/taxstorm/scenarios
ENV PATH=/opt/taxstorm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    TAXSTORM_PLATFORM_LEDGER_PATH=/data/ledger.sqlite3
USER 10001:10001
WORKDIR /data
# 8080 platform · 8089 Locust web UI · 5557 Locust master ⟷ workers
EXPOSE 8080 8089 5557
# Meaningful for the platform role; compose disables or replaces it for the harness and Locust roles.
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/opt/taxstorm/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]
CMD ["python", "-m", "taxstorm.mock_platform", "--host", "0.0.0.0", "--port", "8080"]
