"""Bad input found by fuzzing: control characters in parameters, NULs in bodies, values the
database cannot hold, a client that leaves mid-upload. Each is a 4xx naming what was wrong,
never a 500, and nothing is written."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from els_svc.config import Settings as ElsSettings
from els_svc.main import spec as els_spec
from ferry.auth import Role
from ferry.service import ServiceSpec, UoW, create_app
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.security.leaks import stored_events
from tests.support.infra import Infra
from tests.support.services import eventually, serving, settings

SERVICES: dict[str, tuple[Callable[..., ServiceSpec], type[Any]]] = {
    "release-svc": (release_spec, ReleaseSettings),
    "dml-svc": (dml_spec, DmlSettings),
    "deploy-svc": (deploy_spec, DeploySettings),
    "els-svc": (els_spec, ElsSettings),
}
CONTROLS = ["\x00", "\x01", "\x1b", "\n", "\x7f", "\x85"]
"""NUL, which PostgreSQL cannot store; a C0 control; ESC, which starts terminal escapes; a
newline, which forges log lines; DEL; and NEL, a C1 control some readers take for a newline."""
PROBLEM = "application/problem+json"


def spec_of(service: str, infra: Infra, topic_prefix: str, tmp_path: Path) -> ServiceSpec:
    make_spec, settings_cls = SERVICES[service]
    extras: dict[str, dict[str, Any]] = {
        "dml-svc": {"media_dir": tmp_path / "media"},
        # The local driver, within limits, so that a well-formed environment is defined.
        "deploy-svc": {"drivers": ["local"], "local_roots": [tmp_path], "local_programs": ["test"]},
    }
    extra = extras.get(service, {})
    return make_spec(settings(settings_cls, infra, topic_prefix, **extra))


def operations(spec: ServiceSpec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every operation of the service's OpenAPI document: method, path template, operation."""
    document = create_app(spec).openapi()
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method.upper(), template, operation


def fill(template: str, bad: str | None = None, value: str = "") -> str:
    """The template with a plausible value in every path parameter, and `value` in `bad`."""
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1 : end].split(":")[0]
        path = (
            path[:start]
            + (quote(value, safe="") if name == bad else str(uuid.uuid4()))
            + path[end + 1 :]
        )
    return path


def names(body: Any) -> set[str]:
    """The fields a problem names in `errors`."""
    return {error["field"] for error in (body or {}).get("errors", [])}


async def ask(
    client: httpx.AsyncClient, method: str, url: str, content: bytes | None = None
) -> tuple[int, str, Any]:
    """Status, content type and (problem) body; a body that streams on is left unread."""
    headers = {"If-Match": '"1"', "Content-Type": "application/json"}
    async with client.stream(method, url, headers=headers, content=content) as answer:
        kind = answer.headers.get("content-type", "")
        if kind.startswith(("text/event-stream", "application/x-ndjson")):
            return answer.status_code, kind, None
        await answer.aread()
        body = answer.json() if kind in (PROBLEM, "application/json") and answer.content else None
        return answer.status_code, kind, body


@pytest.mark.parametrize("service", SERVICES)
async def test_a_control_character_in_any_query_or_path_parameter_is_a_422_naming_it(
    service: str, infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    spec = spec_of(service, infra, topic_prefix, tmp_path)
    wrong: list[str] = []
    tried = 0
    async with serving(spec, headers=infra.issuer.bearer("root", *Role)) as client:
        for method, template, operation in operations(spec):
            for parameter in operation.get("parameters", []):
                where, name = parameter["in"], parameter["name"]
                if where not in ("path", "query"):
                    continue
                for control in CONTROLS:
                    value = f"a{control}b"
                    if where == "path":
                        url = fill(template, name, value)
                    else:
                        url = f"{fill(template)}?{quote(name)}={quote(value, safe='')}"
                    status, kind, body = await ask(client, method, url)
                    tried += 1
                    if status != 422 or kind != PROBLEM or f"{where}.{name}" not in names(body):
                        wrong.append(f"{method} {url}: {status} {body}")
    assert tried, f"{service} has no parameters to try"
    assert not wrong, "\n".join(wrong)


ODD_VALUES = [
    "9" * 40,
    "-" + "9" * 40,
    "-1",
    "0",
    "1e400",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "\ufffd",
    "x" * 5000,
    "'; --",
    "%",
    "..",
]
"""What fuzzing sends besides control characters: numbers and times at and past the ends of
what PostgreSQL holds, long and odd text."""


@pytest.mark.parametrize("service", SERVICES)
async def test_no_odd_value_in_any_parameter_is_a_500(
    service: str, infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    spec = spec_of(service, infra, topic_prefix, tmp_path)
    wrong: list[str] = []
    async with serving(spec, headers=infra.issuer.bearer("root", *Role)) as client:
        for method, template, operation in operations(spec):
            for parameter in operation.get("parameters", []):
                where, name = parameter["in"], parameter["name"]
                if where not in ("path", "query"):
                    continue
                for value in ODD_VALUES:
                    if where == "path":
                        url = fill(template, name, value)
                    else:
                        url = f"{fill(template)}?{quote(name)}={quote(value, safe='')}"
                    status, kind, body = await ask(client, method, url)
                    if status >= 500:
                        wrong.append(f"{method} {url[:120]}: {status} {body}")
                    if kind.startswith("text/event-stream"):
                        break  # the feed took it as a filter; each feed takes a second to open
    assert not wrong, "\n".join(wrong)


BODIES: dict[str, Any] = {
    "probe": {"probe": "a\u0000b"},
    "list.1": {"list": ["fine", "a\ud800b"]},
    "deep.k\\x00ey": {"deep": {"k\u0000ey": "fine"}},
    "deep.nul": {"deep": {"prose": "a tab\t and a newline\n are fine", "nul": "\u0000"}},
}
"""Bodies by the one field each problem must name: a NUL, which PostgreSQL stores in neither
text nor JSONB, or an unpaired surrogate, which is not UTF-8, in a value or a key."""


@pytest.mark.parametrize("service", SERVICES)
async def test_a_nul_anywhere_in_any_json_body_is_a_422_naming_its_path(
    service: str, infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    spec = spec_of(service, infra, topic_prefix, tmp_path)
    wrong: list[str] = []
    tried = 0
    async with serving(spec, headers=infra.issuer.bearer("root", *Role)) as client:
        for method, template, operation in operations(spec):
            if "application/json" not in operation.get("requestBody", {}).get("content", {}):
                continue
            if template.startswith("/webhooks/"):
                continue  # it answers 404 before reading its body where no result is awaited
            for field, body in BODIES.items():
                # json.dumps escapes them (\\u0000, \\ud800) as any client would.
                content = json.dumps(body).encode()
                status, kind, problem = await ask(client, method, fill(template), content)
                tried += 1
                if status != 422 or kind != PROBLEM or names(problem) != {f"{field}"}:
                    wrong.append(f"{method} {template} {field}: {status} {problem}")
    assert tried, f"{service} has no JSON bodies to try"
    assert not wrong, "\n".join(wrong)


async def test_a_nul_in_an_environments_name_or_target_settings_is_a_422_and_nothing_is_written(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    spec = spec_of("deploy-svc", infra, topic_prefix, tmp_path)

    def environment(**settings: object) -> dict[str, Any]:
        target = {"name": "web-1", "driver": "local", "settings": settings}
        return {"production": False, "targets": [target]}

    fine = {"path": str(tmp_path / "web-1")}
    attempts = {
        "path.name": ("/environments/stag%00ing", environment(**fine)),
        "targets.0.settings.path": (
            "/environments/staging",
            environment(path=str(tmp_path / "we\u0000b-1")),
        ),
        "targets.0.settings.verify_command.2": (
            "/environments/staging",
            environment(**fine, verify_command=["test", "-f", "\u0000"]),
        ),
        "targets.0.settings.pa\\x00th": (
            "/environments/staging",
            environment(**{"pa\u0000th": "/srv"}),
        ),
    }
    async with serving(spec, headers=infra.issuer.bearer("dora", "deployer")) as deploy:
        for field, (path, body) in attempts.items():
            answer = await deploy.put(path, json=body)
            assert answer.status_code == 422, (field, answer.text)
            assert answer.headers["content-type"] == PROBLEM
            assert names(answer.json()) == {field}, answer.text
        assert (await deploy.get("/environments")).json() == []
        assert await stored_events(infra, spec.settings.db_schema) == []
        # The same environment without the NUL is defined: what was refused was only that.
        defined = await deploy.put("/environments/staging", json=environment(**fine))
        assert defined.status_code == 200, defined.text
    assert len(await stored_events(infra, spec.settings.db_schema)) == 1


async def test_a_time_the_database_cannot_hold_is_refused_naming_it(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    spec = spec_of("deploy-svc", infra, topic_prefix, tmp_path)
    # A valid ISO time, but in UTC a day before year 1, which the driver cannot send.
    async with serving(spec, headers=infra.issuer.bearer("rita", "viewer")) as deploy:
        answer = await deploy.get("/deployments", params={"before": "0001-01-01T00:00:00+14:00"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["query.before"]


async def test_a_value_the_database_cannot_hold_is_a_422_that_quotes_no_sql(
    infra: Infra, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What validation lets through and PostgreSQL refuses (asyncpg's DataError family): a
    route of the service's own shape sends the real database a text it cannot read as a
    number, as a column of the wrong type would."""
    probe = APIRouter()

    @probe.get("/probe")
    async def read_a_number(uow: UoW, text: str = "x") -> int:
        async with uow:
            return int(await uow.fetchval("SELECT $1::text::int", text))

    spec = replace(release_spec(settings(ReleaseSettings, infra, topic_prefix)), routers=[probe])
    async with serving(spec) as service:
        assert (await service.get("/probe", params={"text": "7"})).json() == 7
        answer = await service.get("/probe", params={"text": "seven"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert (problem["title"], problem["sqlstate"]) == ("Unprocessable value", "22P02")
    for sql in ("SELECT", "$1", "integer", "seven"):
        assert sql not in answer.text, sql
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_client_that_hangs_up_mid_upload_is_a_warning_and_leaves_no_file(
    infra: Infra, topic_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = spec_of("dml-svc", infra, topic_prefix, tmp_path)
    incoming = tmp_path / "media"
    token = infra.issuer.bearer("lib", "dml-librarian")["Authorization"]
    caplog.set_level(logging.INFO)
    async with serving(spec) as dml:
        _, writer = await asyncio.open_connection("127.0.0.1", spec.settings.port)
        writer.write(
            b"PUT /media/payments/1.0 HTTP/1.1\r\nHost: dml\r\n"
            + f"Authorization: {token}\r\n".encode()
            + b"Content-Type: application/gzip\r\nContent-Length: 10000000\r\n\r\n"
            + b"x" * 100_000
        )
        await writer.drain()

        async def half_written() -> list[Path]:
            return [p for p in incoming.rglob("incoming/*") if p.is_file()]

        await eventually(half_written, timeout=10, what="the upload to begin")
        writer.close()  # with 9.9 MB still to come
        await writer.wait_closed()

        async def warned() -> bool:
            return any("client disconnected mid-upload" in r.getMessage() for r in caplog.records)

        await eventually(warned, timeout=10, what="the warning")
        assert await half_written() == []
        listed = await dml.get("/media", headers={"Authorization": token})
        assert listed.json()["items"] == []
    assert await stored_events(infra, spec.settings.db_schema) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


async def test_uploaded_bytes_are_opaque_even_when_they_are_json_with_nuls(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    spec = spec_of("dml-svc", infra, topic_prefix, tmp_path)
    content = json.dumps({"config": "a\u0000b"}).encode() * 1000
    async with serving(spec, headers=infra.issuer.bearer("lib", "dml-librarian")) as dml:
        answer = await dml.put(
            "/media/config/1.0",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["size"] == len(content)
