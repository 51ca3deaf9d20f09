#!/usr/bin/env bash
# Install what Ferry needs on a fresh Debian machine, then the Python workspace.
# Idempotent and quick when everything is there. Installs system packages only as root;
# otherwise says what is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
command -v python3.11 >/dev/null || need_apt+=(python3.11 python3.11-venv)

if ((${#need_apt[@]})); then
    if [[ $EUID -ne 0 ]]; then
        die "missing: ${need_apt[*]}; install them (sudo apt-get install ${need_apt[*]}) and rerun"
    fi
    say install "apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v uv >/dev/null; then
    say install "installing uv (the workspace's package manager)"
    python3.11 -m pip install --quiet --disable-pip-version-check uv ||
        die "could not install uv with pip"
fi

cd "$FERRY_REPO"
# --frozen: exactly the committed uv.lock, never a silent re-resolve.
uv sync --frozen --quiet --python python3.11
"$FERRY_LOCAL/kafka.sh" fetch
