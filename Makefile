# Ferry: the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
LOCAL := deploy/local

# The test and benchmark stacks use their own ports and state, so they never touch `make run`'s.
TEST_ENV := FERRY_STATE_DIR=$(CURDIR)/.ferry/test FERRY_KAFKA_PORT=19092 \
	FERRY_KAFKA_CONTROLLER_PORT=19093 FERRY_KAFKA_MTLS_PORT=19094 FERRY_PG_PORT=15432
BENCH_ENV := FERRY_STATE_DIR=$(CURDIR)/.ferry/bench FERRY_KAFKA_PORT=29092 \
	FERRY_KAFKA_CONTROLLER_PORT=29093 FERRY_KAFKA_MTLS_PORT=29094 FERRY_PG_PORT=25432
# Below 32768, where the kernel picks no ephemeral port that could take one first.
SOAK_ENV := FERRY_STATE_DIR=$(CURDIR)/.ferry/soak FERRY_KAFKA_PORT=26092 \
	FERRY_KAFKA_CONTROLLER_PORT=26093 FERRY_KAFKA_MTLS_PORT=26094 FERRY_PG_PORT=26432
CLUSTER_ENV := FERRY_STATE_DIR=$(CURDIR)/.ferry/cluster FERRY_KAFKA_BROKERS=3 \
	FERRY_KAFKA_PORT=31092 FERRY_KAFKA_CONTROLLER_PORT=31093 FERRY_KAFKA_MTLS_PORT=31094 \
	FERRY_PG_PORT=31432
# A Kubernetes control plane beside the stack (deploy/local/kube.sh), for tests/kubernetes.
KUBE_ENV := FERRY_STATE_DIR=$(CURDIR)/.ferry/kube FERRY_KUBERNETES=1 FERRY_KUBE_PORT=16443 \
	FERRY_KUBE_ETCD_PORT=12379 FERRY_KAFKA_PORT=17092 FERRY_KAFKA_CONTROLLER_PORT=17093 \
	FERRY_KAFKA_MTLS_PORT=17094 FERRY_PG_PORT=17432
SOAK_MINUTES ?= 30
# Two workers, each taking whole files (module-scoped stacks stay in one); then, alone, the
# tests that stop the Kafka or PostgreSQL the others share.
PYTEST_PARALLEL := .venv/bin/pytest -n 2 --dist loadfile -m "not cluster and not kubernetes and not exclusive"
PYTEST_EXCLUSIVE := .venv/bin/pytest -m exclusive

.PHONY: help install up down run test test-cluster test-kubernetes lint typecheck unit bench soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Install system packages, uv, the Python workspace and the Kafka jars
	@$(LOCAL)/install.sh

up: install ## Start Kafka and PostgreSQL for development (9092, 5432); FERRY_KUBERNETES=1: Kubernetes too (6443)
	@$(LOCAL)/up.sh

down: ## Stop the development Kafka and PostgreSQL
	@$(LOCAL)/down.sh

run: install ## The whole stack with a demo release flowing through it; Ctrl-C stops it
	@$(LOCAL)/run.sh

lint: install ## ruff (lint and format), mypy --strict, and every test module imports
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy shared/src services/*/src bench deploy/local/kafka_admin.py tests
	.venv/bin/pytest --collect-only -q > /dev/null

unit: install ## Unit tests only: no Kafka, no PostgreSQL
	.venv/bin/pytest shared/tests services

test: lint ## Everything: lint, types, unit, integration and end-to-end tests on a fresh stack
	@$(LOCAL)/with-stack.sh $(TEST_ENV) -- bash -c '$(PYTEST_PARALLEL) && $(PYTEST_EXCLUSIVE)'

test-cluster: lint ## A three-broker stack losing a broker mid-burst (tests/cluster)
	@$(LOCAL)/with-stack.sh $(CLUSTER_ENV) -- .venv/bin/pytest tests/cluster -m cluster

test-kubernetes: lint ## deploy-svc's kubernetes driver and the manifests on a real Kubernetes API server (tests/kubernetes)
	@$(LOCAL)/kube.sh build  # minutes the first time, said here rather than inside the stack's start
	@$(LOCAL)/with-stack.sh $(KUBE_ENV) -- .venv/bin/pytest tests/kubernetes -m kubernetes

bench: install ## Benchmarks on a fresh stack of their own; results go in docs/benchmarks.md
	@$(LOCAL)/with-stack.sh $(BENCH_ENV) -- $(PY) -m bench.run $(BENCH_ARGS)

soak: install ## Faults under load for SOAK_MINUTES (30), then a checker; see docs/reliability.md
	@$(LOCAL)/with-stack.sh $(SOAK_ENV) -- $(PY) -m bench.soak --minutes $(SOAK_MINUTES)
