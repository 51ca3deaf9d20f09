#!/usr/bin/env bash
# The demo `make run` shows, run with the `ferry` command line as its users would: an
# administrator proposes two teams (payments, identity) and the shared change authority
# approves them; a release planned from a YAML file goes through the hands of a librarian,
# its release manager, a tester and a change authority to the DML, then a deployer proposes
# the production environment, a change authority approves it, payments' deployer takes the
# release there (a canary first) while identity's is refused, and Early Life Support
# begins. Each step prints the command it runs.
#
# demo.sh STATE_DIR   (the FERRY_*_URL variables point the CLI at the services)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state_dir=$1
work="$state_dir/demo"
mkdir -p "$work"
ferry_bin="$FERRY_REPO/.venv/bin/ferry"

token() { "$ferry_bin" token --state-dir "$state_dir" --ttl 86400 --sub "$1" --role "$2"; }
rita=$(token rita release-manager)
lib=$(token lib dml-librarian)
tess=$(token tess tester)
carl=$(token carl change-authority)
dora=$(token dora deployer)
otto=$(token otto operations)
ada=$(token ada ferry-admin)
# pam and ivan hold no role in their tokens: their teams make them deployers.
pam=$(token pam viewer)
ivan=$(token ivan viewer)

# `as PERSON [--until WHAT] ARGS…`: `ferry ARGS…`, shown as typed, run with that person's
# token; with --until, retried quietly for up to a minute until it succeeds (another service
# must first hear of something over Kafka).
as() {
    local who=$1 what=""
    shift
    if [[ $1 == --until ]]; then
        what=$2
        shift 2
    fi
    printf '\n\033[1m%s$ ferry %s\033[0m\n' "$who" "$*" >&2
    if [[ -z $what ]]; then
        FERRY_TOKEN=${!who} "$ferry_bin" "$@"
        return
    fi
    wait_for "$what" env FERRY_TOKEN="${!who}" "$ferry_bin" "$@"
}
# `wait_for WHAT COMMAND…`: COMMAND, until it succeeds, for up to a minute.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 1 120); do
        if "$@" 2>"$work/last-error"; then return 0; fi
        sleep 0.5
    done
    cat "$work/last-error" >&2
    die "gave up waiting for $what"
}
json_field() { "$FERRY_PYTHON" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

for service in release dml deploy els; do
    url_var="FERRY_${service^^}_URL"
    wait_for "${service}-svc to be ready" curl -fsS -o /dev/null "${!url_var}/readyz"
done
say demo "all four services are ready"

# Two teams, each owning its services and environments, with a deployer each. A team is a
# governance change: ada proposes, carl (the change authority both teams share) approves.
# A stack kept from an earlier run has them already, and an unchanged team proposes nothing.
cat >"$work/payments.yaml" <<YAML
name: payments
description: Payments and its web tier
services: [payments]
environments: [production]
members:
  - {subject: pam, roles: [deployer]}
YAML
cat >"$work/identity.yaml" <<YAML
name: identity
description: Sign-in and accounts
services: [login]
environments: [identity-production]
members:
  - {subject: ivan, roles: [deployer]}
YAML
for team in payments identity; do
    proposal=$(as ada team define "$work/$team.yaml" --reason "the $team team" --json |
        json_field ".get('id', '')")
    [[ -z $proposal ]] || as carl proposals approve "$proposal"
done
as ada team list

# The service desk's audience: the plan's communication reaches its members' inboxes (the
# dashboard's viewer and otto), and its email addresses once SMTP is configured.
as rita audiences define service-desk --description "First-line support" \
    --member dashboard --member otto

# The plan: the documented example, with this run's version and a production window open now.
version="2026.12.$RANDOM"
now=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
later=$(date -u -d '+4 hours' +%Y-%m-%dT%H:%M:%S+00:00)
sed -e "s/\"2026.12.0\"/\"$version\"/g" \
    -e "s/2026-12-10T22:00:00+01:00/$now/; s/2026-12-11T02:00:00+01:00/$later/" \
    "$FERRY_REPO/docs/examples/release-plan.yaml" >"$work/plan.yaml"
release=$(as rita release plan "$work/plan.yaml" --json | json_field "['identifier']")
as rita release show "$release"

# The plan tells the service desk a week before the deployment, which starts now: it fell
# due already, and the notifier delivers it to the audience's inboxes.
told() {
    FERRY_TOKEN=$otto "$ferry_bin" notifications list --json | "$FERRY_PYTHON" -c \
        "import json, sys; sys.exit(not any('$release' in n['subject'] for n in json.load(sys.stdin)['items']))"
}
wait_for "the service desk to be told of $release" told
as otto notifications list --unread
say demo "the plan's communication reached the service desk's inboxes → NotificationSent"

head -c 262144 /dev/urandom >"$work/payments-api.tar.gz"
as lib media push "$work/payments-api.tar.gz" --version "$version" --kind software --service payments
as rita --until "release-svc to hear of the media" release package "$release" "payments-api.tar.gz@$version"
as tess release validate "$release" --kind functional --evidence https://ci.example/1
as tess release validate "$release" --kind integration --evidence https://ci.example/2
as carl release approve "$release" --rfc RFC-DEMO-1
available() {
    [[ $(FERRY_TOKEN=$rita "$ferry_bin" release show "$release" --json |
        json_field "['status']") == available ]]
}
wait_for "the DML to make the release available" available
say demo "$release is definitive in the DML, its manifest signed → ReleaseAvailable"

cat >"$work/production.yaml" <<YAML
name: production
production: true
targets:
  - {name: web-1, driver: local, settings: {path: "$state_dir/targets/web-1"}}
  - {name: web-2, driver: local, settings: {path: "$state_dir/targets/web-2"}}
YAML
# Production is governed: dora's definition is only a proposal until a change authority
# other than her approves it (the two-person rule). A stack kept from an earlier run has
# it defined already, and an unchanged definition proposes nothing.
proposal=$(as dora deploy environment "$work/production.yaml" --reason "the payments web tier" --json |
    json_field ".get('id', '')")
if [[ -n $proposal ]]; then
    as carl proposals list --state pending
    as carl proposals approve "$proposal"
    say demo "production is defined: proposed by dora, approved by carl → EnvironmentDefined"
fi
as pam --until "deploy-svc to hear the release is available" deploy plan "$release" --env production --strategy canary --soak 3 --watch
# Production is payments': identity's deployer is refused (403 naming the team).
if as ivan deploy plan "$release" --env production; then
    die "identity's deployer was let deploy to payments' production"
fi
say demo "ivan (identity) was refused production, which team payments owns"

case_id() {
    FERRY_TOKEN=$otto "$ferry_bin" els cases --release "$release" --json | json_field "[0]['id']"
}
wait_for "els-svc to open the Early Life Support case" case_id >/dev/null
as otto els cases --release "$release"
as otto els observe "$(case_id)" --metric desk_calls --value 3

auditor=$(token auditor auditor)
as auditor audit trail "$release"
# A stack kept from older runs may hold what this version reads otherwise: say so, go on.
as auditor audit verify || say demo "the audit found the problems above; the stack runs on"
