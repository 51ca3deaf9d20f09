# syntax=docker/dockerfile:1
# One image for the four services; the command picks the service:
#   docker build -t ferry .
#   docker run ferry ferry-dml-svc            # or ferry-release-svc (default), ferry-deploy-svc,
#   docker run ferry ferry-els-svc migrate    # ferry-els-svc; `<script> migrate` applies migrations
# Builder and runtime share one base so the venv's interpreter path is the same in both.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# uv from the package index, at the version that wrote uv.lock; only the builder has it.
RUN pip install --no-cache-dir uv==0.13.9
# Compile bytecode at build time (the runtime root filesystem is read-only), copy rather than
# hard-link from the cache mount, and use the base image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Third-party dependencies first, from the lock file only: this layer survives source changes.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/release-svc/pyproject.toml services/release-svc/
COPY services/dml-svc/pyproject.toml services/dml-svc/
COPY services/deploy-svc/pyproject.toml services/deploy-svc/
COPY services/els-svc/pyproject.toml services/els-svc/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace
# Then the workspace members, installed as wheels (not editable): the venv stands alone.
COPY shared/src shared/src
COPY services/release-svc/src services/release-svc/src
COPY services/dml-svc/src services/dml-svc/src
COPY services/deploy-svc/src services/deploy-svc/src
COPY services/els-svc/src services/els-svc/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FERRY_HOST=0.0.0.0
WORKDIR /app
# Only the venv: no uv, no sources, no compilers. Owned by root, so the service cannot alter it.
COPY --from=builder /app/.venv /app/.venv
# A data folder the service user owns (the DML's blobs, the compose stack's dev issuer keys).
RUN mkdir -p /var/lib/ferry/dml && chown -R 10001:10001 /var/lib/ferry
USER 10001:10001
# release-svc, dml-svc, deploy-svc, els-svc (FERRY_<SVC>_PORT)
EXPOSE 8001 8002 8003 8004
CMD ["ferry-release-svc"]
