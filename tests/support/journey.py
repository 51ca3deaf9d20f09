"""A release's way to production through the four services' APIs, for end-to-end tests:
media staged in the DML, the release planned, packaged, validated and approved, and a
production environment of local targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import eventually


async def status_is(client: httpx.AsyncClient, path: str, status: str) -> httpx.Response | None:
    found = await client.get(path)
    return found if found.json()["status"] == status else None


async def available_release(
    client: httpx.AsyncClient,
    stack: dict[str, str],
    infra: Infra,
    plan: dict[str, Any],
    parts: dict[str, dict[str, Any]],
) -> str:
    """Stage the release's media, plan it (`plan`, then each of `parts` by its path under the
    release, e.g. "scope"; a low risk unless `parts` assess it), package, validate and
    approve it, and wait until the DML has made it available; the release's URL. `client`
    acts as the release manager."""
    release, dml = stack["release"], stack["dml"]
    name = f"{plan['name'].lower().replace(' ', '-')}.tar.gz"
    staged = await client.put(
        f"{dml}/media/{name}/{plan['version']}",
        content=f"{name} {plan['version']}\n".encode() * 1024,
        headers={**infra.issuer.bearer("lib", "dml-librarian"), "Content-Type": "application/gzip"},
    )
    assert staged.status_code == 201, staged.text
    media = {k: staged.json()[k] for k in ("name", "version", "sha256")}
    created = await client.post(f"{release}/releases", json=plan)
    assert created.status_code == 201, created.text
    path, etag = f"{release}/releases/{created.json()['id']}", created.headers["ETag"]
    low = {"likelihood": "low", "impact": "low", "mitigations": ["canary first"]}
    for part, body in {"risk": low, **parts}.items():
        answer = await client.put(f"{path}/{part}", json=body, headers={"If-Match": etag})
        assert answer.status_code == 200, answer.text
        etag = answer.headers["ETag"]

    async def packaged() -> httpx.Response | None:
        answer = await client.put(
            f"{path}/package", json={"media": [media]}, headers={"If-Match": etag}
        )
        return answer if answer.status_code == 200 else None

    etag = (await eventually(packaged, what="the media to be known")).headers["ETag"]
    tester = infra.issuer.bearer("tess", "tester")
    for kind in ("functional", "integration"):
        evidence = {"kind": kind, "outcome": "passed", "evidence": "https://ci.example/r"}
        answer = await client.post(
            f"{path}/validations", json=evidence, headers={**tester, "If-Match": etag}
        )
        assert answer.status_code == 200, answer.text
        etag = answer.headers["ETag"]
    cab = infra.issuer.bearer("carl", "change-authority")
    answer = await client.post(
        f"{path}/approvals", json={"rfc": "RFC-3"}, headers={**cab, "If-Match": etag}
    )
    assert answer.status_code == 200, answer.text
    await eventually(lambda: status_is(client, path, "available"), what="availability")
    return path


async def production_of_local_targets(
    client: httpx.AsyncClient, deploy: str, infra: Infra, *targets: dict[str, Any]
) -> None:
    """Define (deployer) and approve (change authority) deploy-svc's production
    environment of `targets`."""
    defined = await client.put(
        f"{deploy}/environments/production",
        json={"production": True, "targets": list(targets), "reason": "first web server"},
        headers=infra.issuer.bearer("dora", "deployer"),
    )
    await approved(client, infra, defined)


def local_target(name: str, folder: Path, **settings: Any) -> dict[str, Any]:
    return {"name": name, "driver": "local", "settings": {"path": str(folder / name), **settings}}
