"""The demo `make run` shows: a release planned in release-svc reaches every service, then
goes from plan to available in the DML through the hands of a librarian, its release
manager, a tester and a change authority.

demo.py --release URL --dml URL --deploy URL --els URL
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time as clock
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ferry.devauth import DevIssuer


def say(message: str) -> None:
    print(f"[ferry demo] {message}", file=sys.stderr)


Probe = Callable[[], Awaitable[httpx.Response | None]]


async def until(probe: Probe, what: str) -> httpx.Response:
    deadline = clock.monotonic() + 60
    while clock.monotonic() < deadline:
        try:
            found = await probe()
        except httpx.TransportError:
            found = None
        if found is not None:
            return found
        await asyncio.sleep(0.2)
    raise SystemExit(f"[ferry demo] gave up waiting for {what}")


def ok(http: httpx.AsyncClient, url: str) -> Probe:
    """A probe that answers the response to GET `url` once it is a 200."""

    async def probe() -> httpx.Response | None:
        answer = await http.get(url)
        return answer if answer.status_code == 200 else None

    return probe


async def demo(urls: dict[str, str], issuer: DevIssuer, state_dir: Path) -> None:
    rita = issuer.bearer("rita", "release-manager")
    async with httpx.AsyncClient(timeout=10, headers=rita) as http:
        for name, url in urls.items():
            await until(ok(http, f"{url}/readyz"), f"{name}-svc to be ready")
        say("all four services are ready")

        start = date.today() + timedelta(days=7)
        plan = {
            "name": "Payments 2026.12",
            "version": f"2026.12.{uuid.uuid4().hex[:4]}",
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(days=4)).isoformat(),
        }
        created = await http.post(
            f"{urls['release']}/releases", json=plan, headers={"X-Correlation-ID": "demo"}
        )
        created.raise_for_status()
        release = created.json()
        name = f"{release['name']} {release['version']}"
        say(f"rita (release-manager) planned {name} → ReleasePlanned")

        entry = await until(
            ok(http, f"{urls['dml']}/library/releases/{release['id']}"),
            "the DML entry",
        )
        say(f"dml-svc opened its library entry ({entry.json()['state']}) → LibraryEntryOpened")
        await until(
            ok(http, f"{urls['deploy']}/catalog/releases/{release['id']}"),
            "deploy-svc",
        )
        await until(
            ok(http, f"{urls['els']}/catalog/releases/{release['id']}"),
            "els-svc",
        )
        say("deploy-svc and els-svc know the release from the event topics")
        await to_available(http, urls, issuer, release)
        await to_production(http, urls, issuer, release, state_dir)
        token = "$(.venv/bin/ferry token --sub you --role viewer)"
        url = f"{urls['release']}/releases/{release['id']}"
        say(f'see it: curl -H "Authorization: Bearer {token}" {url}')
        say(f'and its history: curl -H "Authorization: Bearer {token}" {url}/history')


async def to_available(
    http: httpx.AsyncClient, urls: dict[str, str], issuer: DevIssuer, release: dict[str, Any]
) -> None:
    """The worked example of docs/release-svc.md, run."""
    librarian = issuer.bearer("lib", "dml-librarian")
    tester = issuer.bearer("tess", "tester")
    cab = issuer.bearer("carl", "change-authority")
    content = f"payments-api {release['version']}\n".encode() * 1024
    media_path = f"{urls['dml']}/media/payments-api.tar.gz/{release['version']}"
    staged = await http.put(
        media_path, content=content, headers={**librarian, "Content-Type": "application/gzip"}
    )
    staged.raise_for_status()
    media = {k: staged.json()[k] for k in ("name", "version", "sha256")}
    say(f"lib (dml-librarian) staged {media['name']}@{media['version']} → MediaStaged")

    url = f"{urls['release']}/releases/{release['id']}"
    # The window opens now, so that the demo can deploy at once.
    window_start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    etag = await change(
        http,
        f"{url}/windows",
        "1",
        {
            "windows": [
                {
                    "environment": "production",
                    "start": window_start.isoformat(),
                    "end": (window_start + timedelta(hours=4)).isoformat(),
                }
            ]
        },
    )
    backout = {"trigger_conditions": ["error rate above 2%"], "steps": ["switch back"]}
    etag = await change(http, f"{url}/backout-plan", etag, backout)
    say("rita set a production window and a backout plan")

    async def packaged() -> httpx.Response | None:
        answer = await http.put(
            f"{url}/package", json={"media": [media]}, headers={"If-Match": f'"{etag}"'}
        )
        return answer if answer.status_code == 200 else None

    etag = (await until(packaged, "release-svc to learn of the media")).headers["ETag"].strip('"')
    say("rita packaged the release → ReleasePackageBuilt")
    for kind in ("functional", "integration"):
        etag = await change(
            http,
            f"{url}/validations",
            etag,
            {"kind": kind, "outcome": "passed", "evidence": f"https://ci.example/{kind}"},
            tester,
        )
    say("tess (tester) passed it → ReleaseValidated")
    await change(http, f"{url}/approvals", etag, {"rfc": "RFC-DEMO-1"}, cab)
    say("carl (change-authority) approved it → ReleaseApproved")

    async def available() -> httpx.Response | None:
        answer = await http.get(url)
        return answer if answer.json()["status"] == "available" else None

    await until(available, "the DML to make the release available")
    entry = (await http.get(f"{urls['dml']}/library/releases/{release['id']}")).json()
    key = (await http.get(f"{urls['dml']}/library/signing-key")).json()["key_id"]
    say(f"dml-svc made it definitive, manifest signed by key {key[:12]}… → ReleaseAvailable")
    say(f"manifest: {entry['available']['manifest']}")


async def to_production(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    issuer: DevIssuer,
    release: dict[str, Any],
    state_dir: Path,
) -> None:
    """The worked example of docs/deploy-svc.md, run: two local targets, a canary first."""
    dora = issuer.bearer("dora", "deployer")
    folders = {name: (state_dir / "targets" / name).resolve() for name in ("web-1", "web-2")}
    targets = [
        {"name": name, "driver": "local", "settings": {"path": str(folder)}}
        for name, folder in folders.items()
    ]
    environment = f"{urls['deploy']}/environments/production"
    current = await http.get(environment, headers=dora)
    match = {"If-Match": current.headers["ETag"]} if current.status_code == 200 else {}
    defined = await http.put(
        environment, json={"production": True, "targets": targets}, headers={**dora, **match}
    )
    if defined.status_code != 200:
        raise SystemExit(f"[ferry demo] defining production: {defined.text}")
    plan = {
        "release_id": release["id"],
        "environment": "production",
        "strategy": {"kind": "canary", "canary": 1},
    }

    async def planned() -> httpx.Response | None:
        answer = await http.post(f"{urls['deploy']}/deployments", json=plan, headers=dora)
        return answer if answer.status_code == 201 else None

    deployment = (await until(planned, "deploy-svc to accept the plan")).json()
    say("dora (deployer) planned a canary deployment to production → DeploymentScheduled")

    async def finished() -> httpx.Response | None:
        answer = await http.get(f"{urls['deploy']}/deployments/{deployment['id']}", headers=dora)
        done = answer.json()["state"] in ("completed", "failed", "rolled_back")
        return answer if done else None

    outcome = (await until(finished, "the deployment to finish")).json()
    if outcome["state"] != "completed":
        raise SystemExit(
            f"[ferry demo] the deployment ended {outcome['state']}: {outcome['reason']}"
        )
    for name, folder in folders.items():
        say(f"{name}: {folder / 'current'} → {(folder / 'current').resolve().name}")
    say("deploy-svc deployed it, web-1 first, then web-2 → DeploymentCompleted")


async def change(
    http: httpx.AsyncClient,
    url: str,
    etag: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> str:
    """PUT (or POST, for the lifecycle's actions) at version `etag`; the new version."""
    method = "PUT" if url.rsplit("/", 1)[-1] in ("windows", "backout-plan", "package") else "POST"
    answer = await http.request(
        method, url, json=body, headers={**(headers or {}), "If-Match": f'"{etag}"'}
    )
    if answer.status_code != 200:
        raise SystemExit(
            f"[ferry demo] {method} {url} answered {answer.status_code}: {answer.text}"
        )
    return str(answer.headers["ETag"]).strip('"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("release", "dml", "deploy", "els"):
        parser.add_argument(f"--{name}", required=True, help=f"{name}-svc base URL")
    parser.add_argument("--state-dir", type=Path, required=True, help="the stack's state folder")
    args = parser.parse_args()
    urls = {n: getattr(args, n) for n in ("release", "dml", "deploy", "els")}
    asyncio.run(demo(urls, DevIssuer(args.state_dir / "auth"), args.state_dir))


if __name__ == "__main__":
    main()
