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
command -v python3.11 >/dev/null || need_apt+=(python3.11)
command -v uv >/dev/null || python3.11 -m venv --help >/dev/null 2>&1 || need_apt+=(python3.11-venv)
command -v make >/dev/null || need_apt+=(make)
# The load generator of `make bench`'s api section: compiled, so it is not the bottleneck.
command -v wrk >/dev/null || need_apt+=(wrk)
# Debian's Chromium and its WebDriver, for the dashboard's browser test (tests/browser):
# installed as root; without them, and without root, that test alone skips and says why.
if [[ $EUID -eq 0 ]]; then
    [[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
    [[ -x /usr/bin/chromedriver ]] || need_apt+=(chromium-driver)
fi

if ((${#need_apt[@]})); then
    if [[ $EUID -ne 0 ]]; then
        die "missing: ${need_apt[*]}; install them (sudo apt-get install ${need_apt[*]}) and rerun"
    fi
    say install "apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# uv, the workspace's package manager, from PyPI into a venv of its own: Debian's Python
# refuses `pip install` outside one (PEP 668).
uv_home="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/uv"
if ! command -v uv >/dev/null; then
    if [[ ! -x "$uv_home/bin/uv" ]]; then
        say install "installing uv into $uv_home"
        python3.11 -m venv "$uv_home" && "$uv_home/bin/pip" install --quiet uv ||
            die "could not install uv with pip into $uv_home"
    fi
    PATH="$uv_home/bin:$PATH"
fi

cd "$FERRY_REPO"
# --frozen: exactly the committed uv.lock, never a silent re-resolve.
uv sync --frozen --quiet --python python3.11
"$FERRY_LOCAL/kafka.sh" fetch
"$FERRY_LOCAL/helm.sh"
# The test control plane (make test-kubernetes, FERRY_KUBERNETES=1 make up), built once from
# its Go modules: asked for, since the first build takes minutes.
if ((FERRY_KUBERNETES)); then "$FERRY_LOCAL/kube.sh" build; fi
