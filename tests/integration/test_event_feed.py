"""`GET /events`: Ferry's topics as Server-Sent Events, over real HTTP from real Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from ferry.devports import free_port
from ferry.events.asyncapi import document_json
from ferry.events.deploy import DeploymentStarted, WaveStarted
from ferry.service import create_app
from release_svc.config import Settings
from release_svc.main import spec as release_spec
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import (
    publish,
    read_topic,
    serving,
    settings,
    start_service,
    until_ready,
)

PLAN = {
    "name": "Payments",
    "version": "1.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-02",
}


@dataclass(frozen=True)
class Message:
    """One SSE message as a client sees it."""

    id: str
    event: str
    data: dict[str, Any]


async def messages(answer: httpx.Response) -> AsyncIterator[Message]:
    """The messages of an event stream, comments left out."""
    fields: dict[str, list[str]] = {}
    async for line in answer.aiter_lines():
        if line == "":
            if "data" in fields:
                data = json.loads("\n".join(fields["data"]))
                yield Message(fields["id"][-1], fields["event"][-1], data)
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))


class Reader:
    """A client's reading of one event stream, a few messages at a time."""

    def __init__(self, answer: httpx.Response) -> None:
        self._messages = messages(answer)

    async def take(self, count: int, timeout: float = 30) -> list[Message]:
        """The next `count` messages."""
        async with asyncio.timeout(timeout):
            return [await anext(self._messages) for _ in range(count)]


@pytest.fixture
async def feed(infra: Infra, topic_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc on a real port; a client that reads as an auditor (who may read
    `from=beginning`)."""
    service = release_spec(settings(Settings, infra, topic_prefix))
    async with serving(service, headers=infra.issuer.bearer("ada", "auditor")) as client:
        yield client


async def plan_release(client: httpx.AsyncClient, infra: Infra) -> dict[str, Any]:
    created = await client.post(
        "/releases", json=PLAN, headers=infra.issuer.bearer("rita", "release-manager")
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def started(release_id: uuid.UUID | str, deployment_id: uuid.UUID | None = None) -> Any:
    return DeploymentStarted(
        deployment_id=deployment_id or uuid.uuid4(),
        release_id=uuid.UUID(str(release_id)),
        environment="production",
    )


async def test_events_arrive_as_they_are_published(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    async with feed.stream("GET", "/events") as answer:
        reader = Reader(answer)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        release = await plan_release(feed, infra)
        [planned] = await reader.take(1)
        assert planned.event == "ReleasePlanned"
        assert planned.data["type"] == "ReleasePlanned"
        assert planned.data["subject"] == release["id"]
        assert planned.data["data"]["identifier"] == release["identifier"]
        await publish(infra, f"{topic_prefix}deploy.events", started(release["id"]))
        [deployment] = await reader.take(1)
        assert deployment.event == "DeploymentStarted"
        assert deployment.data["data"]["release_id"] == release["id"]
        assert planned.id != deployment.id


async def test_only_the_types_asked_for_arrive(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    release_id, deployment_id = uuid.uuid4(), uuid.uuid4()
    wave = WaveStarted(
        deployment_id=deployment_id, release_id=release_id, environment="production", wave=0
    )
    query = {"type": ["DeploymentStarted", "ReleaseCancelled"]}
    async with feed.stream("GET", "/events", params=query) as answer:
        reader = Reader(answer)
        # One deployment: one partition, so the order of reading is the order of publishing.
        wanted = started(release_id, deployment_id)
        await publish(infra, f"{topic_prefix}deploy.events", wave, wave, wanted)
        [only] = await reader.take(1)
    assert only.event == "DeploymentStarted"
    assert only.data["data"]["deployment_id"] == str(deployment_id)


@pytest.mark.parametrize("by", ["id", "identifier"])
async def test_a_releases_events_arrive_from_every_topic_and_no_others(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str, by: str
) -> None:
    ours, theirs = await plan_release(feed, infra), await plan_release(feed, infra)
    await publish(
        infra,
        f"{topic_prefix}deploy.events",
        started(theirs["id"]),
        started(ours["id"]),
        started(theirs["id"]),
    )
    query = {"release": ours[by], "from": "beginning"}
    async with feed.stream("GET", "/events", params=query) as answer:
        reader = Reader(answer)
        assert answer.status_code == 200
        # release-svc records its first deployment's start as a milestone of the release.
        found = await reader.take(3)
        late = started(ours["id"])
        await publish(infra, f"{topic_prefix}deploy.events", started(theirs["id"]), late)
        [last] = await reader.take(1)
    assert sorted(m.event for m in found) == [
        "DeploymentStarted",
        "ReleaseMilestoneReached",
        "ReleasePlanned",
    ]
    assert {m.data["subject"] for m in found if m.event == "ReleasePlanned"} == {ours["id"]}
    assert all(m.data["data"]["release_id"] == ours["id"] for m in found)
    assert last.data["data"]["deployment_id"] == str(late.deployment_id)


async def test_a_teams_caller_gets_its_teams_events_by_default(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    ada = infra.issuer.bearer("ada", "ferry-admin")
    team = {"services": ["payments-api"], "reason": "the payments team"}
    await approved(feed, infra, await feed.put("/teams/payments", json=team, headers=ada))
    older = await plan_release(feed, infra)
    scope = {"items": [{"kind": "service", "name": "payments-api"}]}
    rita = infra.issuer.bearer("rita", "release-manager")
    scoped = await feed.put(
        f"/releases/{older['id']}/scope", json=scope, headers={**rita, "If-Match": '"1"'}
    )
    assert scoped.status_code == 200, scoped.text
    pam = infra.issuer.bearer("pam", "payments:viewer")
    async with feed.stream("GET", "/events", headers=pam) as answer:
        reader = Reader(answer)
        assert answer.status_code == 200, await answer.aread()
        others = await plan_release(feed, infra)
        ours = await feed.post(
            "/releases", json=PLAN, headers=infra.issuer.bearer("paul", "payments:release-manager")
        )
        assert ours.status_code == 201, ours.text
        # Planned for the team since the stream began: learnt from its ReleasePlanned.
        [planned] = await reader.take(1)
        assert (planned.event, planned.data["subject"]) == ("ReleasePlanned", ours.json()["id"])
        await publish(
            infra,
            f"{topic_prefix}deploy.events",
            started(others["id"]),
            started(older["id"]),
            started(ours.json()["id"]),
        )
        found = await reader.take(2)
    # A release touching the team when the stream began, and one since; never the others'.
    assert {m.data["data"]["release_id"] for m in found} == {older["id"], ours.json()["id"]}


async def test_from_now_leaves_out_what_came_before(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    release = await plan_release(feed, infra)
    await read_topic(infra.kafka, f"{topic_prefix}release.events", expect=1, settle=0)
    async with feed.stream("GET", "/events", params={"release": release["id"]}) as answer:
        reader = Reader(answer)
        await publish(infra, f"{topic_prefix}deploy.events", started(release["id"]))
        [first] = await reader.take(1)
    assert first.event == "DeploymentStarted"


async def test_a_client_resumes_exactly_after_the_last_message_it_got(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    release_id = uuid.uuid4()
    # Random deployment ids: the events spread over the partitions.
    sent = [started(release_id) for _ in range(12)]
    await publish(infra, f"{topic_prefix}deploy.events", *sent)
    query = {"from": "beginning", "type": "DeploymentStarted"}
    async with feed.stream("GET", "/events", params=query) as answer:
        reader = Reader(answer)
        first = await reader.take(5)
    # The header, as a reconnecting EventSource sends it.
    headers = {"Last-Event-ID": first[-1].id}
    async with feed.stream("GET", "/events", params=query, headers=headers) as answer:
        reader = Reader(answer)
        second = await reader.take(4)
    # The query parameter, for clients that cannot set headers; `from` does not apply.
    query["last_event_id"] = second[-1].id
    async with feed.stream("GET", "/events", params=query) as answer:
        reader = Reader(answer)
        third = await reader.take(3)
        marker = started(release_id)
        await publish(infra, f"{topic_prefix}deploy.events", marker)
        [after] = await reader.take(1)
    got = [m.data["data"]["deployment_id"] for m in first + second + third]
    assert sorted(got) == sorted(str(e.deployment_id) for e in sent), "none lost, none twice"
    assert after.data["data"]["deployment_id"] == str(marker.deployment_id)


async def test_a_client_that_saw_no_event_yet_resumes_from_where_it_began(
    feed: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    """The stream gives its place before any event: a client cut off before the first one
    it wants misses nothing published while it reconnects."""
    query = {"type": "DeploymentStarted"}
    async with feed.stream("GET", "/events", params=query) as answer:
        async with asyncio.timeout(30):
            place = await anext(
                line.removeprefix("id: ")
                async for line in answer.aiter_lines()
                if line.startswith("id: ")
            )
    missed = started(uuid.uuid4())
    await publish(infra, f"{topic_prefix}deploy.events", missed)
    headers = {"Last-Event-ID": place}
    async with feed.stream("GET", "/events", params=query, headers=headers) as answer:
        [got] = await Reader(answer).take(1)
    assert got.data["data"]["deployment_id"] == str(missed.deployment_id)


async def test_an_unreadable_cursor_is_a_400_naming_where_it_came_from(
    feed: httpx.AsyncClient,
) -> None:
    from_header = await feed.get("/events", headers={"Last-Event-ID": "not-a-cursor"})
    assert from_header.status_code == 400
    assert from_header.headers["content-type"] == "application/problem+json"
    assert from_header.json()["errors"][0]["field"] == "Last-Event-ID"
    from_query = await feed.get("/events", params={"last_event_id": "e30"})  # "{}"
    assert from_query.status_code == 400
    assert "last_event_id" in from_query.json()["detail"]


async def test_an_unknown_release_is_a_404(feed: httpx.AsyncClient) -> None:
    for release in (str(uuid.uuid4()), "REL-2099-9999"):
        answer = await feed.get("/events", params={"release": release})
        assert answer.status_code == 404, release
        assert answer.headers["content-type"] == "application/problem+json"


async def test_no_token_no_feed(feed: httpx.AsyncClient) -> None:
    answer = await feed.get("/events", headers={"Authorization": ""})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def feed_consumer_tasks() -> int:
    """How many tasks of the feed's Kafka consumers run (their fetchers, metadata refreshes)."""
    count = 0
    for task in asyncio.all_tasks():
        frame = getattr(task.get_coro(), "cr_frame", None)
        owner = frame.f_locals.get("self") if frame is not None else None
        client = getattr(owner, "_client", owner)
        count += str(getattr(client, "_client_id", "")).endswith("release-svc-feed")
    return count


async def test_open_streams_end_when_the_server_shuts_down_and_leave_nothing_running(
    infra: Infra, topic_prefix: str
) -> None:
    service = release_spec(settings(Settings, infra, topic_prefix))
    config = uvicorn.Config(create_app(service), host="127.0.0.1", port=service.settings.port)
    server = uvicorn.Server(config)
    serving_task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{service.settings.port}"
    headers = infra.issuer.bearer("vic", "viewer")
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            # A client that leaves: its consumer stops with it.
            async with client.stream("GET", "/events") as answer:
                assert answer.status_code == 200
                assert feed_consumer_tasks() > 0
            for _ in range(50):
                if feed_consumer_tasks() == 0:
                    break
                await asyncio.sleep(0.1)
            assert feed_consumer_tasks() == 0, "the stream's consumer outlived its client"
            # A client still reading when the server stops: its stream ends, the server stops.
            async with client.stream("GET", "/events") as answer:
                server.should_exit = True
                async with asyncio.timeout(10):
                    assert [m async for m in messages(answer)] == []
        async with asyncio.timeout(10):
            await serving_task
        assert feed_consumer_tasks() == 0
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving_task, 10)


async def test_the_asyncapi_document_is_served_to_anyone_beside_the_openapi_one(
    feed: httpx.AsyncClient,
) -> None:
    answer = await feed.get("/asyncapi.json", headers={"Authorization": ""})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == document_json()
    assert (await feed.get("/openapi.json")).status_code == 200


async def test_without_kafka_the_feed_answers_503_to_retry(infra: Infra, topic_prefix: str) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    service = release_spec(
        settings(
            Settings, infra, topic_prefix, kafka_bootstrap_servers=nowhere, shutdown_drain_seconds=0
        )
    )
    async with serving(service, headers=infra.issuer.bearer("vic", "viewer")) as client:
        answer = await client.get("/events")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"


async def test_an_unfiltered_feed_streams_while_postgresql_is_away(
    infra: Infra, topic_prefix: str
) -> None:
    nowhere = f"postgresql+asyncpg://ferry:ferry@127.0.0.1:{free_port()}/ferry"
    service = release_spec(
        settings(Settings, infra, topic_prefix, database_url=nowhere, migrate_on_start=False)
    )
    async with (
        serving(service, headers=infra.issuer.bearer("vic", "viewer")) as client,
        client.stream("GET", "/events") as answer,
    ):
        assert answer.status_code == 200
        reader = Reader(answer)
        release_id = uuid.uuid4()
        await publish(infra, f"{topic_prefix}deploy.events", started(release_id))
        [deployment] = await reader.take(1)
    assert deployment.data["data"]["release_id"] == str(release_id)


async def test_sigterm_ends_open_streams_and_the_service_stops_at_once(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    service, base = start_service("release", infra, topic_prefix, tmp_path / "release-svc.log")
    headers = infra.issuer.bearer("vic", "viewer")
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            await until_ready(client, timeout=60)
            async with client.stream("GET", "/events") as answer:
                assert answer.status_code == 200
                started_at = time.monotonic()
                service.proc.send_signal(signal.SIGTERM)
                async with asyncio.timeout(10):
                    assert [m async for m in messages(answer)] == []
        exit_code = await asyncio.to_thread(service.proc.wait, 10)
        assert time.monotonic() - started_at < 5, "not held up by the open stream"
    finally:
        service.stop()
    assert exit_code in (0, -signal.SIGTERM), service.tail()
    assert "Application shutdown complete" in service.tail()
