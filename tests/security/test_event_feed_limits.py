"""The event feed under load and misuse: caps, replay rights, token expiry, one Kafka reader.

Attacks against release-svc on a real port (in-process, or as its own process where its
metrics and sockets are looked at), with real Kafka and PostgreSQL:
- many streams from one caller, or from everyone, to exhaust the replica (row 8);
- a viewer replaying every topic from the beginning (row 8);
- a stream kept open past its token's expiry (row 8);
- 500 viewers each costing a Kafka consumer (row 8): N streams, one consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ferry.events.deploy import DeploymentStarted
from ferry.feed import encode_cursor
from release_svc.config import Settings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import (
    eventually,
    publish,
    serving,
    settings,
    start_service,
    until_ready,
)


def started() -> DeploymentStarted:
    return DeploymentStarted(
        deployment_id=uuid.uuid4(), release_id=uuid.uuid4(), environment="production"
    )


_lines: dict[int, AsyncIterator[str]] = {}


def lines_of(answer: httpx.Response) -> AsyncIterator[str]:
    """One line reader per response: a stream's body can be iterated only once."""
    return _lines.setdefault(id(answer), answer.aiter_lines())


async def first_id(answer: httpx.Response) -> str:
    """The cursor the stream gives before any event."""
    async with asyncio.timeout(30):
        async for line in lines_of(answer):
            if line.startswith("id: "):
                return line.removeprefix("id: ")
    raise AssertionError("the stream ended without an id")


async def data_lines(answer: httpx.Response, count: int) -> list[str]:
    """The next `count` `data:` lines of a stream."""
    found: list[str] = []
    async with asyncio.timeout(30):
        async for line in lines_of(answer):
            if line.startswith("data: "):
                found.append(line)
                if len(found) == count:
                    return found
    raise AssertionError(f"the stream ended after {len(found)} of {count} events")


@contextlib.asynccontextmanager
async def opened(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> AsyncIterator[httpx.Response]:
    """A stream, open (its headers arrived) until the block ends."""
    async with client.stream("GET", "/events", headers=headers, params=params) as answer:
        try:
            yield answer
        finally:
            _lines.pop(id(answer), None)


async def test_streams_beyond_the_caps_are_a_429_with_retry_after(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(Settings, infra, topic_prefix, feed_max_streams=3, feed_max_streams_per_subject=2)
    vic, sam, tom = (infra.issuer.bearer(who, "viewer") for who in ("vic", "sam", "tom"))
    async with serving(release_spec(s)) as api, contextlib.AsyncExitStack() as streams:
        first = await streams.enter_async_context(opened(api, vic))
        await streams.enter_async_context(opened(api, vic))
        assert first.status_code == 200
        third = await api.get("/events", headers=vic)
        assert third.status_code == 429
        assert third.headers["content-type"] == "application/problem+json"
        assert int(third.headers["Retry-After"]) > 0
        assert "2 streams open already" in third.json()["detail"]
        # Another caller still gets one: the cap is per subject...
        async with opened(api, sam) as sams:
            assert sams.status_code == 200
            # ...until the replica is full.
            full = await api.get("/events", headers=tom)
            assert full.status_code == 429
            assert "this replica serves 3 streams" in full.json()["detail"]
            assert "Retry-After" in full.headers

        # A stream that ends frees its place, once the server has seen its client go.
        async def freed() -> bool:
            return "ferry_feed_streams 2.0" in (await api.get("/metrics")).text

        await eventually(freed, timeout=10, what="sam's stream closed")
        async with opened(api, tom) as toms:
            assert toms.status_code == 200


async def test_only_an_auditor_replays_from_the_beginning_a_cursor_is_for_everyone(
    infra: Infra, topic_prefix: str
) -> None:
    viewer, auditor = infra.issuer.bearer("vic", "viewer"), infra.issuer.bearer("ada", "auditor")
    async with serving(release_spec(settings(Settings, infra, topic_prefix))) as api:
        refused = await api.get("/events", headers=viewer, params={"from": "beginning"})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "from=beginning needs one of the roles: auditor" in refused.json()["detail"]
        async with opened(api, auditor, **{"from": "beginning"}) as replay:
            assert replay.status_code == 200
        async with opened(api, viewer) as live:
            cursor = await first_id(live)
        missed = started()
        await publish(infra, f"{topic_prefix}deploy.events", missed)
        # Resuming is a reader's right; `from` does not apply then.
        params = {"from": "beginning", "type": "DeploymentStarted"}
        headers = {**viewer, "Last-Event-ID": cursor}
        async with opened(api, headers, **params) as resumed:
            assert resumed.status_code == 200
            [line] = await data_lines(resumed, 1)
        assert str(missed.deployment_id) in line


async def test_a_hand_made_cursor_far_back_is_a_replay_for_auditors_only(
    infra: Infra, topic_prefix: str
) -> None:
    """A cursor is base64 JSON, so a viewer can write one of zero offsets: resuming from it
    would replay everything. Past the resume window it is refused as `from=beginning` is."""
    viewer, auditor = infra.issuer.bearer("vic", "viewer"), infra.issuer.bearer("ada", "auditor")
    await publish(infra, f"{topic_prefix}deploy.events", *(started() for _ in range(3)))
    forged = encode_cursor({"deploy.events": [0] * 8})
    # A window of none: any event published is further back than a reconnect may resume.
    release = settings(Settings, infra, topic_prefix, feed_resume_window=0)
    async with serving(release_spec(release)) as api:
        headers = {**viewer, "Last-Event-ID": forged}
        async with asyncio.timeout(30), opened(api, headers, type="DeploymentStarted") as refused:
            assert refused.status_code == 403
            assert refused.headers["content-type"] == "application/problem+json"
            assert "events behind" in (await refused.aread()).decode()
        beyond = encode_cursor({"deploy.events": [10**9] * 8})
        ahead = await api.get("/events", headers={**auditor, "Last-Event-ID": beyond})
        assert ahead.status_code == 400, "past the end, a partition would be read over again"
        headers = {**auditor, "Last-Event-ID": forged}
        async with opened(api, headers, type="DeploymentStarted") as replay:
            assert replay.status_code == 200
            assert len(await data_lines(replay, 3)) == 3


async def test_a_stream_ends_when_its_token_expires(infra: Infra, topic_prefix: str) -> None:
    token = infra.issuer.mint("vic", ["viewer"], ttl=4)
    expires = time.time() + 4
    async with serving(release_spec(settings(Settings, infra, topic_prefix))) as api:
        headers = {"Authorization": f"Bearer {token}"}
        async with opened(api, headers, type="DeploymentStarted") as answer:
            assert answer.status_code == 200
            lines = lines_of(answer)
            await publish(infra, f"{topic_prefix}deploy.events", started())
            async with asyncio.timeout(20):
                rest = [line async for line in lines]
    ended = time.time()
    assert any(line.startswith("data: ") for line in rest), "it streamed while valid"
    assert ": the token expired; reconnect with a new one" in rest
    assert expires - 1 <= ended <= expires + 5


def metric(text: str, name: str, labels: str = "") -> float:
    """A sample's value from a Prometheus exposition."""
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"no {name}{labels} in /metrics"
    return float(found.group(1))


def kafka_connections(pid: int, bootstrap: str) -> int:
    """TCP connections the process `pid` holds to the broker's port (from /proc)."""
    port = int(bootstrap.rsplit(":", 1)[1])
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            established = fields[3] == "01"
            count += established and remote_port == port and fields[9] in inodes
    return count


async def test_many_streams_are_served_by_one_kafka_consumer(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    viewers = 40
    service, base = start_service("release", infra, topic_prefix, tmp_path / "release-svc.log")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await until_ready(client, timeout=60)

            async def figures() -> tuple[float, float, float]:
                text = (await client.get("/metrics")).text
                return (
                    metric(text, "ferry_feed_streams"),
                    metric(text, "ferry_feed_kafka_readers", '{kind="shared"}'),
                    metric(text, "ferry_feed_kafka_readers", '{kind="catch-up"}'),
                )

            limits = httpx.Limits(max_connections=viewers + 5)
            async with (
                httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as many,
                contextlib.AsyncExitStack() as streams,
            ):
                first = await streams.enter_async_context(
                    opened(many, infra.issuer.bearer("viewer-0", "viewer"))
                )
                cursor = await first_id(first)
                with_one = kafka_connections(service.proc.pid, infra.kafka.kafka_bootstrap_servers)
                answers = [first]
                for n in range(1, viewers):
                    headers = infra.issuer.bearer(f"viewer-{n}", "viewer")
                    answers.append(await streams.enter_async_context(opened(many, headers)))
                assert all(a.status_code == 200 for a in answers)
                assert await figures() == (viewers, 1, 0)
                with_many = kafka_connections(service.proc.pid, infra.kafka.kafka_bootstrap_servers)
                assert with_many == with_one, "streams cost no Kafka connections of their own"

                # One event reaches every one of them, once.
                event = started()
                await publish(infra, f"{topic_prefix}deploy.events", event)
                got = await asyncio.gather(*(data_lines(a, 1) for a in answers))
                assert all(str(event.deployment_id) in lines[0] for lines in got)

                # A late comer resuming from before the event catches up on a reader of its
                # own, then joins the shared one and closes its own.
                resumed = await streams.enter_async_context(
                    opened(many, {**infra.issuer.bearer("late", "viewer"), "Last-Event-ID": cursor})
                )
                [line] = await data_lines(resumed, 1)
                assert str(event.deployment_id) in line

                async def joined() -> bool:
                    return await figures() == (viewers + 1, 1, 0)

                await eventually(joined, timeout=10, what="the late comer joined the shared reader")
                after = started()
                await publish(infra, f"{topic_prefix}deploy.events", after)
                [line] = await data_lines(resumed, 1)
                assert str(after.deployment_id) in line

            async def all_closed() -> bool:
                return await figures() == (0, 0, 0)

            await eventually(all_closed, timeout=10, what="the shared reader stopped")
    finally:
        service.stop()
    assert service.proc.returncode in (0, -15), service.tail()


@pytest.mark.parametrize("role", ["viewer", "release-manager"])
async def test_the_replay_roles_are_a_setting(infra: Infra, topic_prefix: str, role: str) -> None:
    s = settings(Settings, infra, topic_prefix, feed_replay_roles=["auditor", "viewer"])
    async with serving(release_spec(s)) as api:
        headers = infra.issuer.bearer("someone", role)
        if role == "viewer":
            async with opened(api, headers, **{"from": "beginning"}) as answer:
                assert answer.status_code == 200
        else:
            answer = await api.get("/events", headers=headers, params={"from": "beginning"})
            assert answer.status_code == 403
