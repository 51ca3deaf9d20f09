"""The `ferry` command line, run as users run it (a process of its own), against the four
services running as processes on the real Kafka and PostgreSQL. Every token is one
`ferry token` minted, from the development issuer the services trust."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from ferry.db import Database
from ferry.devports import free_port
from ferry.events.release import ImprovementAction
from tests.support.infra import REPO, Infra, forget_topics, prepare_topics
from tests.support.releases import Recorded, available, awaiting_review, reviewed
from tests.support.services import Process, stop_all
from tests.support.stored import store

FERRY = str(REPO / ".venv" / "bin" / "ferry")
SERVICES = {"release": "release_svc", "dml": "dml_svc", "deploy": "deploy_svc", "els": "els_svc"}
T = TypeVar("T")


@dataclass
class Stack:
    urls: dict[str, str]
    state: Path
    root: Path
    """Where the local targets live."""
    database_url: str
    release_schema: str

    def store(self, release: Recorded) -> None:
        """Store `release` as release-svc would: no command brings one to its review
        without the whole deployment and Early Life Support behind it."""

        async def stored() -> None:
            db = Database(self.database_url, self.release_schema, "release-svc")
            try:
                await store(db, release)
            finally:
                await db.dispose()

        asyncio.run(stored())

    def token(self, sub: str, *roles: str) -> str:
        args = ["token", "--sub", sub, "--state-dir", str(self.state)]
        return self.ferry(*args, *(a for r in roles for a in ("--role", r))).stdout.strip()

    def ferry(
        self, *args: str, token: str | None = None, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run `ferry args…` with the stack's URLs and `token`; with `check`, it must succeed."""
        environment = {
            **os.environ,
            **{f"FERRY_{name.upper()}_URL": url for name, url in self.urls.items()},
            "COLUMNS": "200",
            **env,
        }
        environment.pop("FERRY_TOKEN", None)
        if token:
            environment["FERRY_TOKEN"] = token
        done = subprocess.run(
            [FERRY, *args], env=environment, capture_output=True, text=True, timeout=120
        )
        if check:
            assert done.returncode == 0, f"ferry {' '.join(args)}: {done.stderr}{done.stdout}"
        return done

    def json(self, *args: str, token: str | None = None) -> Any:
        return json.loads(self.ferry(*args, "--json", token=token).stdout)


def until(probe: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)
    return found


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The four services as processes, trusting the issuer of `ferry token`'s state dir."""
    tmp = tmp_path_factory.mktemp("cli")
    state = tmp / "state"
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    asyncio.run(prepare_topics(infra, prefix))
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in SERVICES}
    run = uuid.uuid4().hex[:8]
    schema = f"cli_{{}}_{run}"
    stack = Stack(urls, state, tmp / "targets", infra.database_url, schema.format("release"))
    # The first token makes the issuer's keys, which the services are then told to trust.
    (tmp / "deploy-svc.token").write_text(stack.token("deploy-svc", "deployer", "tester"))
    env = {
        "FERRY_DATABASE_URL": infra.database_url,
        "FERRY_TOPIC_PREFIX": prefix,
        "FERRY_AUTH_ISSUER": "ferry-dev",
        "FERRY_AUTH_JWKS_FILE": str(state / "auth" / "jwks.json"),
        "FERRY_DML_MEDIA_DIR": str(tmp / "dml-media"),
        "FERRY_DML_SCRUB_INTERVAL_SECONDS": "0",
        "FERRY_DEPLOY_DML_URL": urls["dml"],
        "FERRY_DEPLOY_DML_TOKEN_FILE": str(tmp / "deploy-svc.token"),
        "FERRY_DEPLOY_WORK_DIR": str(tmp / "deploy-work"),
        "FERRY_DEPLOY_EXECUTOR_POLL_SECONDS": "0.2",
        # The operator's limits: local targets under the stack's folder, checked so.
        "FERRY_DEPLOY_DRIVERS": '["local"]',
        "FERRY_DEPLOY_LOCAL_ROOTS": json.dumps([str(tmp / "targets")]),
        "FERRY_DEPLOY_LOCAL_PROGRAMS": '["test", "false"]',
        "FERRY_ELS_EVALUATE_SECONDS": "1",
        "FERRY_COMMUNICATION_POLL_SECONDS": "0.5",
    }
    for name, url in urls.items():
        env[f"FERRY_{name.upper()}_PORT"] = url.rsplit(":", 1)[1]
        env[f"FERRY_{name.upper()}_DB_SCHEMA"] = schema.format(name)
    processes = [
        Process(
            module,
            env | infra.signing_env(f"{name}-svc") | infra.kafka_env(f"{name}-svc"),
            tmp / f"{module}.log",
        )
        for name, module in SERVICES.items()
    ]
    try:
        for name, url in urls.items():
            until(partial(_ready, url), f"{name}-svc to be ready")
        yield stack
    finally:
        stop_all(processes)
        asyncio.run(forget_topics(infra, prefix))


def _ready(url: str) -> bool | None:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200 or None
    except httpx.TransportError:
        return None


def plan_file(folder: Path, version: str, *, name: str = "Payments", **extra: str) -> Path:
    """A plan file: a minor release of the payments service, with windows around now."""
    now = datetime.now(UTC).replace(microsecond=0)
    today = date.today()
    file = folder / f"plan-{version}.yaml"
    windows = "\n".join(
        f"  - environment: {env}\n"
        f"    start: {(now - timedelta(hours=1)).isoformat()}\n"
        f"    end: {(now + timedelta(hours=3)).isoformat()}"
        for env in ("production", "staging")
    )
    lines = [
        f"name: {name}",
        f'version: "{version}"',
        "release_type: minor",
        f"planned_start: {today}",
        f"planned_end: {today + timedelta(days=14)}",
        "escalation_contact: payments-oncall",
        "scope:",
        "  - {kind: service, name: payments}",
        "windows:",
        windows,
        "risk: {likelihood: low, impact: medium, mitigations: [canary first]}",
        "backout_plan:",
        "  trigger_conditions: [error rate above 2%]",
        "  steps: [{kind: rollback, description: switch the current link back}, tell the desk]",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    file.write_text("\n".join(lines) + "\n")
    return file


def define_environments(stack: Stack, token: str, folder: Path) -> None:
    """production: two local targets; staging: one whose verification always fails. Each
    file is applied twice: defining, then changing (the second needs the first's version).
    Production's changes are proposals, which a change authority approves."""
    environments = {
        "production": {"name": "web", "verify": ["test", "-f", "payments-api.tar.gz"]},
        "staging": {"name": "stage", "verify": ["false"]},
    }
    cora = stack.token("cora", "change-authority")

    def define(file: Path) -> Any:
        answer = stack.json("deploy", "environment", str(file), "--reason", "web", token=token)
        if "kind" not in answer:
            return answer
        assert answer["state"] == "pending"
        approved = stack.json("proposals", "approve", answer["id"], token=cora)
        assert approved["state"] == "approved"
        shown = stack.json("proposals", "show", answer["id"], token=token)
        assert shown["decided_by"] == "cora"
        return shown["effect"]

    for environment, spec in environments.items():
        count = 2 if environment == "production" else 1
        targets = [
            {
                "name": f"{spec['name']}-{i}",
                "driver": "local",
                "settings": {
                    "path": str(stack.root / f"{spec['name']}-{i}"),
                    "verify_command": spec["verify"],
                },
            }
            for i in range(1, count + 1)
        ]
        document = {"name": environment, "production": environment == "production"}
        file = folder / f"{environment}.yaml"
        file.write_text(yaml.safe_dump({**document, "targets": targets[:1]}))
        first = define(file)
        assert [t["name"] for t in first["targets"]] == [targets[0]["name"]]
        file.write_text(yaml.safe_dump({**document, "targets": targets}))
        defined = define(file)
        assert defined["production"] is (environment == "production")
        assert [t["name"] for t in defined["targets"]] == [t["name"] for t in targets]


@pytest.mark.timeout(240)
def test_a_release_from_its_plan_file_to_production_and_early_life_support(
    stack: Stack, tmp_path: Path
) -> None:
    rita = stack.token("rita", "release-manager")
    lib = stack.token("lib", "dml-librarian")
    tess = stack.token("tess", "tester")
    carl = stack.token("carl", "change-authority")
    dora = stack.token("dora", "deployer")
    elsa = stack.token("elsa", "els-support")
    version = f"2026.12.{uuid.uuid4().hex[:6]}"

    planned = stack.json("release", "plan", str(plan_file(tmp_path, version)), token=rita)
    assert planned["status"] == "planned"
    assert [w["environment"] for w in planned["windows"]] == ["production", "staging"]
    assert planned["scope"][0]["name"] == "payments"
    steps = [(s["kind"], s["description"]) for s in planned["backout_plan"]["steps"]]
    assert steps == [("rollback", "switch the current link back"), ("manual", "tell the desk")]
    identifier = planned["identifier"]
    shown = stack.json("release", "show", identifier, token=rita)
    assert (shown["id"], shown["risk"]["risk_level"]) == (
        planned["id"],
        planned["risk"]["risk_level"],
    )
    people = stack.ferry("release", "show", identifier, token=tess).stdout
    assert identifier in people
    assert "payments" in people

    media = tmp_path / "payments-api.tar.gz"
    media.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    pushed = stack.json("media", "push", str(media), "--version", version, token=lib)
    assert (pushed["size"], pushed["state"], pushed["created"]) == (
        media.stat().st_size,
        "staged",
        True,
    )
    again = stack.json("media", "push", str(media), "--version", version, token=lib)
    assert again["created"] is False

    # release-svc learns of the media from dml.events: package once it has.
    def packaged() -> dict[str, Any] | None:
        done = stack.ferry(
            "release",
            "package",
            identifier,
            f"payments-api.tar.gz@{version}",
            "--json",
            token=rita,
            check=False,
        )
        return json.loads(done.stdout) if done.returncode == 0 else None

    built = until(packaged, "release-svc to learn of the media")
    assert built["package"]["media"][0]["sha256"] == pushed["sha256"]

    # Approval before validation: the state refuses it, and the CLI says so.
    early = stack.ferry("release", "approve", identifier, "--rfc", "RFC-9", token=carl, check=False)
    assert early.returncode == 1
    assert "release-svc refused it (409" in early.stderr
    for kind in ("functional", "integration"):
        validated = stack.json(
            "release",
            "validate",
            identifier,
            "--kind",
            kind,
            "--evidence",
            f"https://ci.example/{kind}",
            token=tess,
        )
    assert validated["status"] == "validated"
    approved = stack.json("release", "approve", identifier, "--rfc", "RFC-9", token=carl)
    assert approved["status"] == "approved"

    def available() -> bool | None:
        status = stack.json("release", "show", identifier, token=rita)["status"]
        return status == "available" or None

    until(available, "the DML to make the release available")

    define_environments(stack, dora, tmp_path)

    def deployed() -> subprocess.CompletedProcess[str] | None:
        done = stack.ferry(
            "deploy",
            "plan",
            identifier,
            "--env",
            "production",
            "--strategy",
            "canary",
            "--watch",
            "--interval",
            "0.3",
            "--json",
            token=dora,
            check=False,
        )
        said = done.stderr + done.stdout
        waiting = done.returncode == 1 and ("not available" in said or "not heard" in said)
        return None if waiting else done

    done = until(deployed, "deploy-svc to learn the release is available")
    assert done.returncode == 0, done.stderr
    deployment = json.loads(done.stdout)
    assert deployment["state"] == "completed"
    assert [w["targets"] for w in deployment["waves"]] == [["web-1"], ["web-2"]]
    assert (stack.root / "web-2" / "current").resolve().name == version
    watched = stack.ferry("deploy", "watch", deployment["id"], token=dora)
    assert "completed" in watched.stdout
    assert "web-2" in watched.stdout

    # A target that fails its verification: rolled back, and `watch` exits 1.
    staging = stack.ferry("deploy", "plan", identifier, "--env", "staging", "--json", token=dora)
    failed = stack.ferry(
        "deploy",
        "watch",
        json.loads(staging.stdout)["id"],
        "--json",
        "--interval",
        "0.3",
        token=dora,
        check=False,
    )
    # The targets are back; the plan's manual step waits for someone, and `watch` says so.
    assert failed.returncode == 1
    waiting = json.loads(failed.stdout)
    assert (waiting["state"], waiting["awaiting_step"]) == ("rolling_back", 1)
    shown = stack.ferry("deploy", "show", waiting["id"], token=dora).stdout
    assert "waiting for backout step 1: tell the desk" in shown
    confirmed = stack.json(
        "deploy", "confirm", waiting["id"], "1", "--note", "desk told at 22:40", token=dora
    )
    assert confirmed["backout_done"] == [0, 1]
    ended = stack.ferry("deploy", "watch", waiting["id"], "--json", token=dora, check=False)
    assert json.loads(ended.stdout)["state"] == "rolled_back"
    assert stack.json("deploy", "drift", "--open", token=dora) == []

    def case() -> list[dict[str, Any]] | None:
        found = stack.json("els", "cases", "--release", identifier, token=elsa)
        return [c for c in found if c["environment"] == "production"] or None

    [opened] = until(case, "els-svc to open a case")
    observed = stack.json(
        "els", "observe", opened["id"], "--metric", "desk_calls", "--value", "3", token=elsa
    )
    assert observed["id"] == opened["id"]
    assert stack.ferry("els", "cases", token=elsa).stdout.count(opened["id"][:8]) == 1

    calendar = tmp_path / "schedule.ics"
    written = stack.json("schedule", "ics", "-o", str(calendar), token=rita)
    text = calendar.read_text()
    assert written["events"] == text.count("BEGIN:VEVENT") >= 2
    assert text.startswith("BEGIN:VCALENDAR")
    assert identifier in text
    assert stack.ferry("schedule", "ics", token=rita).stdout.startswith("BEGIN:VCALENDAR")


def test_list_follows_the_pages(stack: Stack, tmp_path: Path) -> None:
    rita = stack.token("rita", "release-manager")
    name = f"List {uuid.uuid4().hex[:8]}"
    for n in range(3):
        stack.ferry("release", "plan", str(plan_file(tmp_path, f"1.{n}.0", name=name)), token=rita)
    first = stack.json("release", "list", "--name", name, "--limit", "2", token=rita)
    assert len(first["items"]) == 2
    assert first["next"]
    every = stack.json("release", "list", "--name", name, "--limit", "2", "--all", token=rita)
    assert sorted(r["version"] for r in every["items"]) == ["1.0.0", "1.1.0", "1.2.0"]
    assert every["next"] is None
    shown = stack.ferry("release", "list", "--name", name, token=rita).stdout
    assert shown.count(name) == 3


def test_the_documented_plan_file_plans_a_release_once(stack: Stack) -> None:
    rita = stack.token("rita", "release-manager")
    example = str(REPO / "docs" / "examples" / "release-plan.yaml")
    first = stack.json("release", "plan", example, token=rita)
    assert (first["status"], first["risk"]["likelihood"]) == ("planned", "low")
    assert len(first["communication_plan"]) == 1
    # Planned again (say, after a section was refused): the same release, not a second one.
    second = stack.json("release", "plan", example, token=rita)
    assert second["id"] == first["id"]


def test_refusals_are_explained(stack: Stack, tmp_path: Path) -> None:
    rita = stack.token("rita", "release-manager", "tester")
    tess = stack.token("tess", "tester")
    planned = stack.json("release", "plan", str(plan_file(tmp_path, "4.0.0")), token=rita)

    forbidden = stack.ferry(
        "release", "approve", planned["identifier"], "--rfc", "RFC-1", token=tess, check=False
    )
    assert forbidden.returncode == 1
    assert "release-svc forbids this" in forbidden.stderr
    assert "change-authority" in forbidden.stderr
    assert "your token is for tess with the roles: tester" in forbidden.stderr

    nobody = stack.ferry("release", "show", planned["identifier"], check=False)
    assert nobody.returncode == 1
    assert "needs a bearer token and none was given" in nobody.stderr

    stale = stack.ferry(
        "release",
        "validate",
        planned["identifier"],
        "--kind",
        "functional",
        "--evidence",
        "https://ci.example/1",
        "--if-match",
        "1",
        "--json",
        token=rita,
        check=False,
    )
    assert stale.returncode == 1
    error = json.loads(stale.stderr)
    assert error["status"] == 409
    assert error["service"] == "release-svc"

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: Broken\nversion: '1.0'\nplanned_start: 2026-12-10\nplanned_end: 2026-12-01\n"
    )
    invalid = stack.ferry("release", "plan", str(broken), token=rita, check=False)
    assert invalid.returncode == 1
    assert "release-svc refused it (422" in invalid.stderr
    assert "  - planned_end: " in invalid.stderr

    numeric = tmp_path / "numeric.yaml"
    numeric.write_text(
        "name: N\nversion: 1.10\nplanned_start: 2026-12-01\nplanned_end: 2026-12-02\n"
    )
    misread = stack.ferry("release", "plan", str(numeric), token=rita, check=False)
    assert misread.returncode == 1
    assert 'quote it, e.g. version: "1.10"' in misread.stderr

    usage = stack.ferry("release", "approve", planned["identifier"], token=rita, check=False)
    assert usage.returncode == 2
    assert "--rfc" in usage.stderr


def test_a_push_whose_declared_digest_does_not_match_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    lib = stack.token("lib", "dml-librarian")
    media = tmp_path / "tool.bin"
    media.write_bytes(b"the bytes\n" * 1000)
    declared = "0" * 64
    refused = stack.ferry(
        "media",
        "push",
        str(media),
        "--version",
        "1.0",
        "--sha256",
        declared,
        token=lib,
        check=False,
    )
    assert refused.returncode == 1
    assert "dml-svc refused it (422" in refused.stderr
    assert f"not the declared {declared}: nothing was stored" in refused.stderr
    missing = stack.ferry(
        "media",
        "push",
        str(media),
        "--version",
        "1.0",
        "--json",
        "--sha256",
        declared,
        token=lib,
        check=False,
    )
    assert json.loads(missing.stderr)["status"] == 422
    with httpx.Client(headers={"Authorization": f"Bearer {lib}"}) as http:
        assert http.get(f"{stack.urls['dml']}/media/tool.bin/1.0").status_code == 404


def test_a_service_that_does_not_answer_is_named(stack: Stack) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    token = stack.token("rita", "release-manager")
    down = stack.ferry("release", "list", token=token, check=False, FERRY_RELEASE_URL=nowhere)
    assert down.returncode == 1
    assert f"release-svc at {nowhere} is not answering" in down.stderr
    as_json = stack.ferry(
        "release", "list", "--json", token=token, check=False, FERRY_RELEASE_URL=nowhere
    )
    assert (as_json.stdout, json.loads(as_json.stderr)["service"]) == ("", "release-svc")


def test_token_and_schema(stack: Stack, tmp_path: Path) -> None:
    minted = stack.json(
        "token", "--sub", "ann", "--role", "viewer", "--state-dir", str(stack.state)
    )
    assert (minted["sub"], minted["roles"]) == ("ann", ["viewer"])
    listed = stack.ferry("release", "list", "--limit", "1", token=minted["token"])
    assert listed.returncode == 0
    unknown = stack.ferry("token", "--sub", "ann", "--role", "admin", check=False)
    assert unknown.returncode == 2
    assert "admin" in unknown.stderr
    schema = json.loads(stack.ferry("schema", "ops.signals").stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    file = tmp_path / "token"
    file.write_text(minted["token"] + "\n")
    by_file = stack.ferry(
        "release", "list", "--limit", "1", check=False, FERRY_TOKEN_FILE=str(file)
    )
    assert by_file.returncode == 0, by_file.stderr


def test_a_team_is_defined_from_its_file_and_listed(stack: Stack, tmp_path: Path) -> None:
    ada = stack.token("ada", "ferry-admin")
    cora = stack.token("cora", "change-authority")
    document = {
        "name": "identity",
        "description": "Sign-in and accounts",
        "services": ["login"],
        "environments": ["identity-prod"],
        "members": [{"group": "CN=Identity Leads", "roles": ["release-manager"]}],
    }
    file = tmp_path / "identity.yaml"
    file.write_text(yaml.safe_dump(document))
    proposed = stack.json("team", "define", str(file), "--reason", "formed", token=ada)
    assert (proposed["kind"], proposed["state"]) == ("team", "pending")
    stack.json("proposals", "approve", proposed["id"], token=cora)
    unchanged = stack.json("team", "define", str(file), "--reason", "again", token=ada)
    assert unchanged["services"] == ["login"]

    shown = stack.ferry("team", "show", "identity", token=ada).stdout
    assert "group CN=Identity Leads (release-manager)" in shown
    listed = stack.ferry("team", "list", token=ada).stdout
    assert "identity" in listed
    assert "identity-prod" in listed
    refused = stack.ferry("team", "define", str(file), "--reason", "x", token=cora, check=False)
    assert refused.returncode != 0
    assert "ferry-admin" in refused.stderr


def test_an_improvement_action_is_listed_moved_on_and_reassigned(stack: Stack) -> None:
    past = date.today() - timedelta(days=2)
    item = ImprovementAction(
        action_id=uuid.uuid4(), description="brief the desk earlier", owner="olga", due=past
    )
    stack.store(reviewed([item], "REL-1999-0001"))
    action_id = str(item.action_id)
    olga, rita = stack.token("olga", "tester"), stack.token("rita", "release-manager")

    [mine] = stack.json("actions", "list", "--mine", token=olga)["items"]
    assert (mine["action_id"], mine["overdue"]) == (action_id, True)
    listed = stack.ferry("actions", "list", "--overdue", "--release", "REL-1999-0001", token=rita)
    assert "brief the desk earlier" in listed.stdout
    assert "overdue" in listed.stdout
    assert stack.json("actions", "start", action_id, token=olga)["state"] == "in_progress"

    refused = stack.ferry(
        "actions", "done", action_id, token=stack.token("mal", "tester"), check=False
    )
    assert refused.returncode != 0
    assert "olga" in refused.stderr
    moved = stack.json(
        "actions", "assign", action_id, "--owner", "sam", "--due", "2099-01-31", token=rita
    )
    assert (moved["owner"], moved["due"], moved["overdue"]) == ("sam", "2099-01-31", False)
    sam = stack.token("sam", "deployer")
    finished = stack.json("actions", "done", action_id, "--note", "a week ahead now", token=sam)
    assert (finished["state"], finished["note"]) == ("done", "a week ahead now")
    shown = stack.ferry("actions", "show", action_id, token=sam).stdout
    assert "a week ahead now" in shown
    again = stack.ferry("actions", "reopen", action_id, token=sam, check=False)
    assert again.returncode != 0
    assert "done" in again.stderr
    assert stack.json("actions", "list", "--state", "done", "--mine", token=sam)["items"] == [
        finished
    ]


def test_a_review_is_drafted_and_conducted_raising_actions(stack: Stack) -> None:
    stack.store(awaiting_review("REL-1999-0002"))
    rita = stack.token("rita", "release-manager")
    draft = stack.json("release", "review-draft", "REL-1999-0002", token=rita)
    assert (draft["deployment_outcome"], draft["feedback"]) == ("no deployment was reported", [])
    shown = stack.ferry("release", "review-draft", "REL-1999-0002", token=rita).stdout
    assert "early life support ended" in shown

    bad = stack.ferry(
        "release",
        "review",
        "REL-1999-0002",
        "--objectives-met",
        "--action",
        "@olga",
        token=rita,
        check=False,
    )
    assert bad.returncode != 0
    assert "TEXT@OWNER" in bad.stderr
    closed = stack.json(
        "release",
        "review",
        "REL-1999-0002",
        "--objectives-missed",
        "--went-well",
        "canary",
        "--to-improve",
        "earlier comms",
        "--action",
        "brief the desk@olga@2099-01-31",
        "--incidents",
        "1",
        token=rita,
    )
    assert closed["status"] == "closed"
    review = closed["review"]
    assert (review["objectives_met"], review["incidents_during_els"]) == (False, 1)
    assert review["deployment_outcome"] == "no deployment was reported"
    [raised] = stack.json("actions", "list", "--release", "REL-1999-0002", token=rita)["items"]
    assert (raised["description"], raised["owner"], raised["due"]) == (
        "brief the desk",
        "olga",
        "2099-01-31",
    )


def test_readiness_is_shown_and_confirmed_by_its_role(stack: Stack) -> None:
    stack.store(available("REL-1999-0003"))
    rita, olly = stack.token("rita", "release-manager"), stack.token("olly", "operations")
    desk = ["--item", "service_desk_briefed", "--evidence", "https://wiki/desk"]
    refused = stack.ferry("release", "ready", "REL-1999-0003", *desk, token=rita, check=False)
    assert refused.returncode != 0
    assert "confirmed by operations" in refused.stderr
    confirmed = stack.json("release", "ready", "REL-1999-0003", *desk, token=olly)
    [item] = [i for i in confirmed["items"] if i["item"] == "service_desk_briefed"]
    assert (item["confirmed_by"], item["evidence"]) == ("olly", "https://wiki/desk")
    shown = stack.ferry("release", "readiness", "REL-1999-0003", token=rita).stdout
    assert "https://wiki/desk" in shown
    assert "open: none" in shown


def test_an_audience_is_defined_told_and_followed(stack: Stack, tmp_path: Path) -> None:
    rita = stack.token("rita", "release-manager")
    defined = stack.json(
        "audiences",
        "define",
        "service-desk",
        "--member",
        "sam",
        "--email",
        "desk@example.com",
        token=rita,
    )
    assert (defined["members"], defined["emails"]) == (["sam"], ["desk@example.com"])
    again = stack.json("audiences", "define", "service-desk", "--member", "sue", token=rita)
    assert (again["members"], again["version"]) == (["sue"], 2)
    assert "service-desk" in stack.ferry("audiences", "list", token=rita).stdout
    refused = stack.ferry(
        "audiences", "define", "ops", "--webhook", "nowhere", token=rita, check=False
    )
    assert refused.returncode != 0
    assert "no webhook nowhere is configured" in refused.stderr

    sam = stack.token("sam", "viewer")
    assert stack.json("notifications", "list", "--unread", token=sam) == {"items": [], "next": None}
    missing = stack.ferry("notifications", "read", str(uuid.uuid4()), token=sam, check=False)
    assert missing.returncode != 0
    assert "inbox" in missing.stderr

    # A communication already due reaches sue's inbox; her manager follows its delivery.
    entry = (
        "[{audience: service desk, channel: inbox, message: Payments goes live,"
        " milestone: release_start, offset: -P7D}]"
    )
    plan = plan_file(tmp_path, "7.0.0", communication_plan=entry)
    planned = stack.json("release", "plan", str(plan), token=rita)

    def delivered() -> Any:
        page = stack.json("release", "notifications", planned["identifier"], token=rita)
        return page if page["items"] and page["items"][0]["state"] == "sent" else None

    page = until(delivered, "the communication delivered")
    [item] = page["items"]
    assert (item["recipient"], item["channel"], item["attempts"]) == ("sue", "inbox", 1)
    sue = stack.token("sue", "viewer")
    [told] = stack.json("notifications", "list", token=sue)["items"]
    stack.ferry("notifications", "read", told["notification_id"], token=sue)
    shown = stack.ferry("release", "notifications", planned["identifier"], token=rita).stdout
    assert "sue" in shown
    assert "read" in shown
    assert "Payments goes live" in shown
