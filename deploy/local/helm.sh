#!/usr/bin/env bash
# helm, for the chart's tests (tests/k8s renders deploy/helm/ferry): built from its Go module
# at HELM_VERSION into a cache outside the checkout (a few minutes the first time), and
# linked into the workspace's .venv/bin beside kubectl.
# Usage: deploy/local/helm.sh
set -euo pipefail
shopt -s inherit_errexit
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_VERSION=v4.3.2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/helm-$HELM_VERSION"

if [[ ! -x "$cache/helm" ]]; then
    command -v go >/dev/null || die "Go not found: helm is built from its Go module (install golang)"
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    if [[ ! -x "$cache/helm" ]]; then
        say helm "building helm $HELM_VERSION into $cache (a few minutes the first time)"
        # The version helm reports; `go install` alone leaves it unset.
        (cd / && GOBIN="$cache/.build" go install -trimpath \
            -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
            "helm.sh/helm/v4/cmd/helm@$HELM_VERSION") >"$cache/build.log" 2>&1 ||
            die "could not build helm, see $cache/build.log"
        mv "$cache/.build/helm" "$cache/helm"
    fi
    exec 9>&-
fi
ln -sf "$cache/helm" "$FERRY_REPO/.venv/bin/helm"
