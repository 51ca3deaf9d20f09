"""The demo `make run` shows: a release planned in release-svc reaches every service.

demo.py --release URL --dml URL --deploy URL --els URL
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import httpx

from ferry.devauth import DevIssuer


def say(message: str) -> None:
    print(f"[ferry demo] {message}", file=sys.stderr)


Probe = Callable[[], Awaitable[httpx.Response | None]]


async def until(probe: Probe, what: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
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


async def demo(urls: dict[str, str], issuer: DevIssuer) -> None:
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
        token = "$(.venv/bin/ferry token --sub you --role viewer)"
        url = f"{urls['release']}/releases/{release['id']}"
        say(f'see it: curl -H "Authorization: Bearer {token}" {url}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("release", "dml", "deploy", "els"):
        parser.add_argument(f"--{name}", required=True, help=f"{name}-svc base URL")
    parser.add_argument("--state-dir", type=Path, required=True, help="the stack's state folder")
    args = parser.parse_args()
    urls = {n: getattr(args, n) for n in ("release", "dml", "deploy", "els")}
    asyncio.run(demo(urls, DevIssuer(args.state_dir / "auth")))


if __name__ == "__main__":
    main()
