# syntax=docker/dockerfile:1
# clusterbot for linux/amd64 and linux/arm64 (Raspberry Pi): no shell, no package manager,
# non-root, nothing written outside /tmp (so readOnlyRootFilesystem works). Build and push both:
#   docker buildx build --platform linux/arm64,linux/amd64 -t REGISTRY/clusterbot:0.1.0 --push .
# Expected size: README "Install in your cluster".

# Debian 12's own Python 3.11 is the interpreter of the distroless image below, so a venv made
# here runs there unchanged (the layout of Google's distroless python3 example).
FROM debian:12-slim AS builder
# The base image pins the Debian release; its python3-venv follows Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/clusterbot
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY bot/ bot/
COPY commands/ commands/
# The install step CI runs (Makefile `install`): the same constraints file pins every runtime
# dependency to the version the tests passed with; CI adds only the editable flag and the dev
# extra. Then drop what the bot never runs: pip and setuptools, and the kubernetes package's
# asyncio copy of its client (kubernetes/aio, 68 MB; clusterbot uses the synchronous one).
RUN /opt/clusterbot/bin/pip install --no-cache-dir --constraint constraints.txt ".[matrix]" \
    && /opt/clusterbot/bin/pip uninstall --yes pip setuptools \
    && rm -rf /opt/clusterbot/lib/python3.11/site-packages/kubernetes/aio

FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=builder /opt/clusterbot /opt/clusterbot
# HOME=/tmp: the only writable place (an emptyDir in the Deployment), for the Matrix sync
# token and matplotlib's font cache; bytecode was compiled at install, so nothing else is
# written.
ENV PATH=/opt/clusterbot/bin:/usr/local/bin:/usr/bin:/bin \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# distroless's "nonroot" user, by number so Kubernetes can check runAsNonRoot.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["clusterbot"]
CMD ["serve"]
