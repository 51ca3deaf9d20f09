# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Source it; do not run it.
#
# Environment (all optional):
#   FERRY_STATE_DIR              pid files, logs, Kafka data   (default: <repo>/.ferry/dev)
#   FERRY_KAFKA_PORT             Kafka client listener, SASL_SSL (default: 9092)
#   FERRY_KAFKA_CONTROLLER_PORT  KRaft controller listener      (default: 9093)
#   FERRY_KAFKA_MTLS_PORT        Kafka mutual-TLS listener      (default: 9094)
#   FERRY_KAFKA_BROKERS          Kafka nodes: 1, or 3 for a cluster (default: 1)
#   FERRY_KAFKA_VERSION          Kafka jars to fetch and run    (default: 4.1.1)
#   FERRY_PG_PORT                PostgreSQL TCP port            (default: 5432)
#   FERRY_PG_DATA                PostgreSQL data dir            (default: see postgres.sh)
#   FERRY_PG_BIN                 PostgreSQL binaries            (default: newest /usr/lib/postgresql/*/bin)
#   FERRY_FRESH=1                wipe this stack's data before starting (tests)
#   FERRY_KUBERNETES=1           also a Kubernetes control plane (kube.sh)   (default: 0)
#   FERRY_KUBE_PORT              its API server's port          (default: 6443)
#   FERRY_KUBE_ETCD_PORT         its etcd's client port; the peer port is the next one (default: 2379)
#   FERRY_KUBE_NODE              the name of its one fake node  (default: ferry-node-1)
#   FERRY_PYTHON                 python with aiokafka           (default: <repo>/.venv/bin/python)
#   XDG_CACHE_HOME               jar cache lives in $XDG_CACHE_HOME/ferry (default: ~/.cache)
#
# FERRY_KAFKA_BROKERS=3: three combined broker+controller nodes (three KRaft voters) that
# survive losing one. Node N (1-3) listens on each port above plus 10*(N-1): node 1 on
# 9092/9093/9094, node 2 on 9102/9103/9104, node 3 on 9112/9113/9114. Node N keeps its data,
# logs and pid file in $FERRY_STATE_DIR/kafka/node-N (one broker: in $FERRY_STATE_DIR/kafka,
# as ever); all share the CA, certificates and users. Topics get 3 replicas and
# min.insync.replicas=2, so a write acknowledged by the cluster is on two nodes.
#
# Everything is logged to stderr so that stdout stays machine-readable (up.sh --env).

FERRY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FERRY_LOCAL="$FERRY_REPO/deploy/local"

: "${FERRY_STATE_DIR:=$FERRY_REPO/.ferry/dev}"
: "${FERRY_KAFKA_PORT:=9092}"
: "${FERRY_KAFKA_CONTROLLER_PORT:=9093}"
: "${FERRY_KAFKA_MTLS_PORT:=9094}"
: "${FERRY_KAFKA_VERSION:=4.1.1}"
: "${FERRY_KAFKA_BROKERS:=1}"
: "${FERRY_PG_PORT:=5432}"
: "${FERRY_FRESH:=0}"
: "${FERRY_KUBERNETES:=0}"
: "${FERRY_KUBE_PORT:=6443}"
: "${FERRY_KUBE_ETCD_PORT:=2379}"
: "${FERRY_KUBE_NODE:=ferry-node-1}"
: "${FERRY_PYTHON:=$FERRY_REPO/.venv/bin/python}"
export FERRY_STATE_DIR FERRY_KAFKA_PORT FERRY_KAFKA_CONTROLLER_PORT FERRY_KAFKA_MTLS_PORT FERRY_KAFKA_VERSION \
    FERRY_KAFKA_BROKERS FERRY_PG_PORT FERRY_FRESH FERRY_PYTHON FERRY_KUBERNETES FERRY_KUBE_PORT \
    FERRY_KUBE_ETCD_PORT FERRY_KUBE_NODE

[[ "$FERRY_KAFKA_BROKERS" == 1 || "$FERRY_KAFKA_BROKERS" == 3 ]] ||
    { printf '[ferry] ERROR: FERRY_KAFKA_BROKERS must be 1 or 3, not %s\n' "$FERRY_KAFKA_BROKERS" >&2; exit 1; }
# Replicas per topic and how many must have a write before it is acknowledged.
if ((FERRY_KAFKA_BROKERS == 3)); then FERRY_KAFKA_REPLICAS=3 FERRY_KAFKA_MIN_ISR=2; else FERRY_KAFKA_REPLICAS=1 FERRY_KAFKA_MIN_ISR=1; fi

# kafka_nodes: the node ids, 1..FERRY_KAFKA_BROKERS.
kafka_nodes() { seq 1 "$FERRY_KAFKA_BROKERS"; }
# kafka_port NODE PORT: node NODE's port for the listener that is on PORT at node 1.
kafka_port() { echo $(($2 + 10 * ($1 - 1))); }
# kafka_servers PORT: every node's address for the listener that is on PORT at node 1.
kafka_servers() {
    local n servers=()
    for n in $(kafka_nodes); do servers+=("127.0.0.1:$(kafka_port "$n" "$1")"); done
    (IFS=,; echo "${servers[*]}")
}

FERRY_KAFKA_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/kafka-$FERRY_KAFKA_VERSION"

# The broker's certificate authority and the Ferry users' passwords: made on first use, kept
# when FERRY_FRESH=1 wipes the broker's data.
FERRY_KAFKA_TLS="$FERRY_STATE_DIR/kafka/tls"
FERRY_KAFKA_USERS="$FERRY_STATE_DIR/kafka/users"

# kafka_admin ARGS...: deploy/local/kafka_admin.py as the broker's administrator (a super
# user), over mutual TLS: it works before any SCRAM user exists.
kafka_admin() {
    FERRY_KAFKA_BOOTSTRAP_SERVERS="$(kafka_servers "$FERRY_KAFKA_MTLS_PORT")" \
        FERRY_KAFKA_SECURITY_PROTOCOL=SSL \
        FERRY_KAFKA_CA_FILE="$FERRY_KAFKA_TLS/ca.crt" \
        FERRY_KAFKA_CERT_FILE="$FERRY_KAFKA_TLS/ferry-admin.crt" \
        FERRY_KAFKA_KEY_FILE="$FERRY_KAFKA_TLS/ferry-admin.key" \
        "$FERRY_PYTHON" "$FERRY_LOCAL/kafka_admin.py" "$@"
}

# make_state_dir: create FERRY_STATE_DIR; the default <repo>/.ferry ignores itself in git
# (like uv's .venv) so runtime state never shows up in `git status`.
make_state_dir() {
    mkdir -p "$FERRY_STATE_DIR"
    if [[ "$FERRY_STATE_DIR" == "$FERRY_REPO/.ferry"/* && ! -f "$FERRY_REPO/.ferry/.gitignore" ]]; then
        echo '*' >"$FERRY_REPO/.ferry/.gitignore"
    fi
}

# say COMPONENT MESSAGE... / die MESSAGE...
say() { local who="$1"; shift; printf '[ferry %s] %s\n' "$who" "$*" >&2; }
die() { printf '[ferry] ERROR: %s\n' "$*" >&2; exit 1; }

# port_in_use PORT: true if anything listens on PORT (any address). `ss` sees sockets
# that are bound but not accepting yet (a Kafka 4 broker opens its port only once unfenced).
port_in_use() {
    if command -v ss >/dev/null; then
        [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# port_answers PORT: true if 127.0.0.1:PORT accepts a TCP connection right now.
port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_for SECONDS COMMAND...: poll COMMAND every 0.5 s until it succeeds; false on timeout.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# run_as_pg COMMAND...: PostgreSQL refuses to run as root, so drop to `postgres` when root.
run_as_pg() {
    # cd /: the caller's cwd may be unreadable for postgres (e.g. under /root).
    if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

require_python() {
    [[ -x "$FERRY_PYTHON" ]] ||
        die "Python not found at $FERRY_PYTHON: run 'uv sync' at the repo root or set FERRY_PYTHON to a python with aiokafka"
}
