"""The soak's mixed workload, through the documented APIs with development tokens, as the
people of deploy/local/demo.sh: a librarian stages media, a release manager plans and
packages, a tester downloads and validates, a change authority approves, a deployer deploys
what the DML made available, operations observe its Early Life Support; meanwhile readers
browse the lists and follow release-svc's event feed.

Each release worker reads the release before each step and does the step its status calls
for, so a command whose answer a fault swallowed is never done twice: the next read shows it
done. Creations carry an Idempotency-Key for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import orjson

from bench.soak_record import Recorder
from bench.soak_stack import Stack

MEDIA_BYTES = 64 << 10
PAUSE = 1.0
"""Seconds between one worker's steps, and before retrying a step a fault refused."""
RELEASE_SECONDS = 240.0
"""A release not supported after this long is counted as stuck and left behind."""
ENVIRONMENT = "staging"
JSON = {"Content-Type": "application/json"}


@dataclass
class Progress:
    """How far the releases got, and what the feed readers saw."""

    reached: Counter[str] = field(default_factory=Counter)
    stuck: list[str] = field(default_factory=list)
    downloads: int = 0
    bad_downloads: int = 0
    feed_events: int = 0
    feed_duplicates: int = 0
    feed_reconnects: int = 0
    open_cases: list[str] = field(default_factory=list)


class Workload:
    """The workers; `run` until `stop` is set."""

    def __init__(self, stack: Stack, rec: Recorder, releases: int, workers: int) -> None:
        self.stack = stack
        self.rec = rec
        self.workers = workers
        self.stop = asyncio.Event()
        self.progress = Progress()
        self.limit = releases
        self.rita = stack.token("rita", "release-manager")
        self.lib = stack.token("lib", "dml-librarian")
        self.tess = stack.token("tess", "tester")
        self.carl = stack.token("carl", "change-authority")
        self.dora = stack.token("dora", "deployer")
        self.otto = stack.token("otto", "operations")
        self.vera = stack.token("vera", "viewer")

    async def setup(self) -> None:
        """The staging environment the releases go to: a target per worker (two
        deployments never hold the same target), not production, so no proposal."""
        targets = [
            {
                "name": f"web-{w}",
                "driver": "local",
                "settings": {"path": str(self.stack.work / "targets" / f"web-{w}")},
            }
            for w in range(self.workers)
        ]
        body = {"production": False, "targets": targets, "reason": "the soak's staging"}
        answer = await self._until_ok(
            "deploy", "PUT", "/environments/{name}", f"/environments/{ENVIRONMENT}", self.dora, body
        )
        self.rec.acked("deploy", "PUT /environments/{name}", ENVIRONMENT, answer)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for w in range(self.workers):
                tasks.create_task(self._releases(w))
            tasks.create_task(self._observer())
            tasks.create_task(self._browser())
            for i in range(2):
                tasks.create_task(self._feed_reader(i))

    # --- helpers ------------------------------------------------------------------------

    async def _sleep(self, seconds: float = PAUSE) -> None:
        """A pause, cut short by the end of the soak: then `_Stopped`, so that no loop
        waiting for another service goes on asking it without a pause."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        if self.stop.is_set():
            raise _Stopped

    async def _until_ok(
        self,
        service: str,
        method: str,
        route: str,
        path: str,
        headers: dict[str, str],
        body: object = None,
        **options: Any,
    ) -> httpx.Response:
        """The request, repeated while it finds no service or is refused for a while (503);
        any other answer is returned."""
        while True:
            if body is not None:
                options["json"] = body
            answer = await self.rec.send(service, method, route, path, headers, **options)
            if answer is not None and answer.status_code != 503:
                return answer
            await self._sleep()

    # --- releases -----------------------------------------------------------------------

    async def _releases(self, worker: int) -> None:
        n = 0
        while not self.stop.is_set() and (self.limit <= 0 or n < self.limit):
            n += 1
            started = time.monotonic()
            try:
                async with asyncio.timeout(RELEASE_SECONDS):
                    await self._one_release(worker, n)
            except _Stopped:
                return
            except _Unexpected as exc:
                self.rec.failures.append(f"workload, worker {worker}: {exc}")
            except TimeoutError:
                self.progress.stuck.append(f"worker {worker} release {n}")
            finally:
                self.progress.reached["seconds"] += int(time.monotonic() - started)

    async def _one_release(self, worker: int, n: int) -> None:
        name, version = f"soak-w{worker}-{n}-{uuid4().hex[:6]}.tar.gz", "1.0.0"
        content = os.urandom(MEDIA_BYTES)
        staged = await self._until_ok(
            "dml",
            "PUT",
            "/media/{name}/{version}",
            f"/media/{name}/{version}",
            {**self.lib, "Content-Type": "application/gzip"},
            content=content,
        )
        if staged.status_code not in (200, 201):
            raise _Unexpected(f"PUT /media: {staged.status_code} {staged.text[:200]}")
        self.rec.acked("dml", "PUT /media/{name}/{version}", f"media:{name}/{version}", staged)
        media = {"name": name, "version": version, "sha256": staged.json()["sha256"]}
        today = datetime.now(UTC).date()
        plan = {
            "name": f"Soak {worker}.{n}",
            "version": f"{worker}.{n}.0",
            "planned_start": str(today),
            "planned_end": str(today + timedelta(days=30)),
        }
        key = {"Idempotency-Key": uuid4().hex}
        created = await self._until_ok(
            "release", "POST", "/releases", "/releases", {**self.rita, **key}, plan
        )
        if created.status_code != 201:
            raise _Unexpected(f"POST /releases: {created.status_code} {created.text[:200]}")
        release_id = created.json()["id"]
        self.rec.acked("release", "POST /releases", release_id, created)
        self.progress.reached["planned"] += 1
        await self._through_life(worker, release_id, media, content)

    async def _through_life(
        self, worker: int, release_id: str, media: dict[str, str], content: bytes
    ) -> None:
        path = f"/releases/{release_id}"
        downloaded = False
        while True:
            await self._sleep(0.2)
            read = await self._until_ok("release", "GET", "/releases/{id}", path, self.rita)
            release = read.json()
            status, etag = release["status"], read.headers["ETag"]
            if status == "planned":
                step = _planning_step(release, media)
                if step is None:
                    continue
                part, body = step
                await self._change(
                    "release",
                    "PUT",
                    f"/releases/{{id}}/{part}",
                    f"{path}/{part}",
                    self.rita,
                    body,
                    release_id,
                    etag,
                )
            elif status == "package_built":
                if not downloaded:
                    downloaded = await self._download(media, content)
                    continue
                done = {v["kind"] for v in release["validations"]}
                kind = "functional" if "functional" not in done else "integration"
                evidence = {"kind": kind, "outcome": "passed", "evidence": "https://ci.example/s"}
                await self._change(
                    "release",
                    "POST",
                    "/releases/{id}/validations",
                    f"{path}/validations",
                    self.tess,
                    evidence,
                    release_id,
                    etag,
                )
            elif status == "validated":
                await self._change(
                    "release",
                    "POST",
                    "/releases/{id}/approvals",
                    f"{path}/approvals",
                    self.carl,
                    {"rfc": "RFC-SOAK"},
                    release_id,
                    etag,
                )
            elif status == "approved":
                await self._sleep()  # the DML makes it available, over Kafka
            elif status == "available":
                self.progress.reached["available"] += 1
                await self._deploy(worker, release_id)
                self.progress.reached["deployment planned"] += 1
                await self._support(release_id)
                return
            else:
                raise _Unexpected(f"release {release_id} is {status}")

    async def _change(
        self,
        service: str,
        method: str,
        route: str,
        path: str,
        who: dict[str, str],
        body: object,
        stream: str,
        etag: str,
    ) -> None:
        """A change at the version read; a 409 or 422 means it was done meanwhile (an
        answer lost to a fault) or must wait for another service: the caller reads again."""
        answer = await self._until_ok(service, method, route, path, {**who, "If-Match": etag}, body)
        if answer.is_success:
            self.rec.acked(service, f"{method} {route}", stream, answer)
        elif answer.status_code in (409, 422):
            await self._sleep()
        else:
            raise _Unexpected(f"{method} {path}: {answer.status_code} {answer.text[:300]}")

    async def _download(self, media: dict[str, str], content: bytes) -> bool:
        route = "/media/{name}/{version}/content"
        path = f"/media/{media['name']}/{media['version']}/content"
        got = await self._until_ok("dml", "GET", route, path, self.tess)
        if got.status_code != 200:
            return False
        self.progress.downloads += 1
        if hashlib.sha256(got.content).digest() != hashlib.sha256(content).digest():
            self.progress.bad_downloads += 1
        return True

    async def _deploy(self, worker: int, release_id: str) -> None:
        body = {"release_id": release_id, "environment": ENVIRONMENT, "targets": [f"web-{worker}"]}
        key = {"Idempotency-Key": uuid4().hex}
        while True:
            answer = await self._until_ok(
                "deploy", "POST", "/deployments", "/deployments", {**self.dora, **key}, body
            )
            if answer.status_code == 201:
                self.rec.acked("deploy", "POST /deployments", answer.json()["id"], answer)
                return
            if answer.status_code not in (409, 422):  # deploy-svc has not heard yet
                raise _Unexpected(f"POST /deployments: {answer.status_code} {answer.text[:300]}")
            await self._sleep()

    async def _support(self, release_id: str) -> None:
        """Wait for the Early Life Support case, then observe it once."""
        while True:
            found = await self._until_ok(
                "els", "GET", "/cases", f"/cases?release_id={release_id}", self.otto
            )
            if found.status_code == 200 and found.json():
                case_id = found.json()[0]["id"]
                self.progress.reached["supported"] += 1
                self.progress.open_cases.append(case_id)
                await self._observe(case_id)
                return
            await self._sleep()

    async def _observe(self, case_id: str) -> None:
        observation = {
            "observation_id": uuid4().hex,
            "metric": "error_rate",
            "value": 0.25,
            "observed_at": datetime.now(UTC).isoformat(),
        }
        route = "/cases/{id}/observations"
        answer = await self._until_ok(
            "els", "POST", route, f"/cases/{case_id}/observations", self.otto, observation
        )
        if answer.is_success:
            self.rec.acked("els", f"POST {route}", case_id, answer)
        elif answer.status_code != 409:  # 409: the case ended meanwhile
            raise _Unexpected(f"POST {route}: {answer.status_code} {answer.text[:300]}")

    # --- the others ---------------------------------------------------------------------

    async def _observer(self) -> None:
        """Observations on the open cases, one every few seconds."""
        i = 0
        with contextlib.suppress(_Stopped):
            while not self.stop.is_set():
                await self._sleep(3)
                cases = self.progress.open_cases[-10:]
                if not cases:
                    continue
                try:
                    await self._observe(cases[i % len(cases)])
                except _Unexpected as exc:
                    self.rec.failures.append(f"workload, observer: {exc}")
                i += 1

    async def _browser(self) -> None:
        """The lists people look at, one a second."""
        pages = [
            ("release", "/releases?limit=50"),
            ("release", "/schedule"),
            ("dml", "/media?limit=50"),
            ("deploy", "/deployments"),
            ("els", "/cases"),
        ]
        i = 0
        with contextlib.suppress(_Stopped):
            while not self.stop.is_set():
                service, path = pages[i % len(pages)]
                i += 1
                await self._until_ok(service, "GET", path.split("?")[0], path, self.vera)
                await self._sleep()

    async def _feed_reader(self, i: int) -> None:
        """release-svc's `GET /events`, followed as a dashboard does: after a cut, resumed
        from the last `id` (Last-Event-ID); an event seen twice is counted."""
        seen: set[str] = set()
        # Kept as each `id` arrives: a stream cut mid-way resumes after its last message.
        cursor: dict[str, str] = {}
        url = self.stack.url("release") + "/events"
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=5)) as http:
            with contextlib.suppress(_Stopped):
                while True:
                    headers = self.stack.token(f"feed-{i}", "viewer")
                    if "last" in cursor:
                        headers["Last-Event-ID"] = cursor["last"]
                    try:
                        async with http.stream("GET", url, headers=headers) as answer:
                            status = str(answer.status_code)
                            self.rec.counts[("release", "GET", "/events", status)] += 1
                            if status == "503" and "Retry-After" not in answer.headers:
                                self.rec.failures.append("GET /events: 503 without Retry-After")
                            if answer.status_code == 200:
                                await self._read_feed(answer, seen, cursor)
                    except httpx.TransportError:
                        excused = self.rec.down("release")
                        kind = "stream cut (down)" if excused else "stream cut"
                        self.rec.counts[("release", "GET", "/events", kind)] += 1
                    self.progress.feed_reconnects += 1
                    await self._sleep()

    async def _read_feed(
        self, answer: httpx.Response, seen: set[str], cursor: dict[str, str]
    ) -> None:
        async for line in answer.aiter_lines():
            if self.stop.is_set():
                break
            if line.startswith("id:"):
                cursor["last"] = line[3:].strip()
            elif line.startswith("data:"):
                event_id = orjson.loads(line[5:]).get("id")
                if event_id is not None:
                    if event_id in seen:
                        self.progress.feed_duplicates += 1
                    seen.add(event_id)
                    self.progress.feed_events += 1


def _planning_step(
    release: dict[str, Any], media: dict[str, str]
) -> tuple[str, dict[str, Any]] | None:
    """The next part of the plan a planned release lacks, the package last."""
    now = datetime.now(UTC)
    if not release["scope"]:
        return "scope", {"items": [{"kind": "service", "name": "payments"}]}
    if not release["windows"]:
        window = {
            "environment": ENVIRONMENT,
            "start": (now - timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(hours=12)).isoformat(),
        }
        return "windows", {"windows": [window]}
    if release["backout_plan"] is None:
        return "backout-plan", {"trigger_conditions": ["errors"], "steps": ["switch back"]}
    if release["risk"] is None:
        return "risk", {"likelihood": "low", "impact": "low"}
    return "package", {"media": [media]}


class _Stopped(Exception):
    """The soak is over; the worker leaves what it was doing."""


class _Unexpected(Exception):
    """An answer the workload cannot go on from."""
