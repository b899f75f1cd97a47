# The node image of `harness test --runtime docker`: one Unkindness server per
# container, plus the tools the nemeses use inside it (iptables, iproute2's tc,
# libfaketime). The harness builds it itself (harness/runtimes/docker.py) and
# tags it by a digest of the sources, so it is rebuilt only when they change.
#
# BASE is any Debian-like image with python3 and its venv module:
#   - elsewhere, the official image:   --build-arg BASE=python:3.11-slim-bookworm
#   - with no registry (as in CI), a local debootstrap import: `make docker-base`
#     (.ci/docker-base-image), whose base already holds the packages below.
# The project and its dependencies are installed from wheels built outside the
# container (wheels/ in the build context), so no step needs the network unless
# the base lacks iptables, iproute2 or libfaketime and apt must fetch them.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

RUN set -e; \
    if ! command -v iptables >/dev/null || ! command -v tc >/dev/null \
       || ! ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || ! command -v pkill >/dev/null; then \
        apt-get update; \
        apt-get install -y --no-install-recommends iptables iproute2 faketime procps; \
        rm -rf /var/lib/apt/lists/*; \
    fi

COPY wheels/ /tmp/wheels/
RUN python3 -m venv /opt/unkindness \
    && /opt/unkindness/bin/pip install --no-index --find-links /tmp/wheels unkindness \
    && rm -rf /tmp/wheels /root/.cache

ENV PATH=/opt/unkindness/bin:$PATH
# The harness starts the server itself (docker exec), so faults can stop and restart it
# without losing the container, its addresses or its iptables rules.
CMD ["sleep", "infinity"]
