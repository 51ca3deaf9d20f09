"""Communication plan entries announced as they fall due (`CommunicationDue`): once, at the
plan's time as it now is, never for a cancelled release; against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import httpx
import pytest

from ferry.aggregate import record
from ferry.db import Database
from ferry.envelope import Meta
from release_svc.config import Settings
from release_svc.domain.commands import RescheduleRelease
from release_svc.handlers import releases as handlers
from release_svc.jobs.communications import announce_due
from release_svc.main import spec
from release_svc.projections import releases as projections
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic, serving, settings

TODAY = datetime.now(UTC).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def entry(message: str, offset: str) -> dict[str, str]:
    """Tell the service desk `message` by email, `offset` from the release's start."""
    return {
        "audience": "service desk",
        "channel": "email",
        "message": message,
        "milestone": "release_start",
        "offset": offset,
    }


@pytest.fixture
async def api(release_settings: Settings, infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc without its communications job, called by rita: tests run the passes."""
    quiet = dataclasses.replace(spec(release_settings), jobs={})
    async with serving(quiet, headers=infra.issuer.bearer("rita", "release-manager")) as client:
        yield client


@pytest.fixture
async def replicas(release_settings: Settings) -> AsyncIterator[tuple[Database, Database]]:
    """release-svc's database as two replicas see it, each over a pool of its own."""
    s = release_settings
    pair = (
        Database(s.database_url, s.db_schema, "release-svc"),
        Database(s.database_url, s.db_schema, "release-svc"),
    )
    yield pair
    for db in pair:
        await db.dispose()


async def planned_release(
    api: httpx.AsyncClient, start: date, entries: list[dict[str, str]]
) -> str:
    """A release starting on `start` with this communication plan; its id."""
    plan = {"name": "Payments", "version": "1.0", "planned_start": str(start)}
    created = await api.post("/releases", json={**plan, "planned_end": str(start + timedelta(3))})
    assert created.status_code == 201, created.text
    answer = await api.put(
        f"{created.headers['Location']}/communication-plan",
        json={"entries": entries},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert answer.status_code == 200, answer.text
    return str(created.json()["id"])


async def change(api: httpx.AsyncClient, release_id: str, path: str, body: object) -> None:
    """Change the release at its current version, as a client that reads it first would."""
    current = await api.get(f"/releases/{release_id}")
    headers = {"If-Match": current.headers["ETag"]}
    if path.endswith("/cancel"):
        answer = await api.post(f"/releases/{release_id}{path}", json=body, headers=headers)
    else:
        answer = await api.put(f"/releases/{release_id}{path}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


async def reschedule(api: httpx.AsyncClient, release_id: str, start: date) -> None:
    move = {"planned_start": str(start), "planned_end": str(start + timedelta(3)), "reason": "x"}
    await change(api, release_id, "/schedule", move)


async def announced(api: httpx.AsyncClient, release_id: str) -> list[datetime]:
    """The due times the release's `CommunicationDue` events announced, in order."""
    history = await api.get(f"/releases/{release_id}/history")
    assert history.status_code == 200, history.text
    return [
        datetime.fromisoformat(e["data"]["due_at"])
        for e in history.json()["items"]
        if e["type"] == "CommunicationDue"
    ]


async def test_a_past_due_entry_is_announced_once_even_by_two_replicas_at_once(
    api: httpx.AsyncClient,
    replicas: tuple[Database, Database],
    release_settings: Settings,
    infra: Infra,
) -> None:
    release_id = await planned_release(
        api, days(3), [entry("Payments changes next week", "-P7D"), entry("Tomorrow", "-P1D")]
    )
    now = datetime.now(UTC)
    counts = await asyncio.gather(*(announce_due(db, now) for db in replicas))
    assert sorted(counts) == [0, 1]
    assert await announce_due(replicas[0], now) == 0
    s = release_settings
    events = await read_topic(infra.kafka, s.topic("release.events"), expect=3)
    [due] = [e for e in events if e.type == "CommunicationDue"]
    assert due.subject == release_id
    assert due.data["entry"]["message"] == "Payments changes next week"
    assert datetime.fromisoformat(due.data["due_at"]) == midnight(days(-4))
    assert (due.actor, due.actorroles, due.source) == ("service:release-svc", None, "release-svc")


async def test_an_entry_is_announced_when_its_time_comes_not_before(
    api: httpx.AsyncClient, replicas: tuple[Database, Database]
) -> None:
    release_id = await planned_release(api, days(3), [entry("Tomorrow", "-P1D")])
    due = midnight(days(2))
    assert await announce_due(replicas[0], datetime.now(UTC)) == 0
    assert await announce_due(replicas[0], due - timedelta(seconds=1)) == 0
    assert await announce_due(replicas[0], due) == 1
    assert await announced(api, release_id) == [due]


async def test_a_rescheduled_release_moves_the_due_time(
    api: httpx.AsyncClient, replicas: tuple[Database, Database]
) -> None:
    release_id = await planned_release(api, days(10), [entry("Next week", "-P7D")])
    await reschedule(api, release_id, days(20))
    db, new_due = replicas[0], midnight(days(13))
    assert await announce_due(db, midnight(days(3))) == 0  # when it was due before the move
    assert await announce_due(db, new_due - timedelta(seconds=1)) == 0
    assert await announce_due(db, new_due) == 1
    assert await announced(api, release_id) == [new_due]


async def test_an_announced_entry_is_announced_again_only_if_moved_past_the_announcement(
    api: httpx.AsyncClient, replicas: tuple[Database, Database]
) -> None:
    release_id = await planned_release(api, days(10), [entry("Next week", "-P7D")])
    db = replicas[0]
    assert await announce_due(db, midnight(days(3)) + timedelta(hours=1)) == 1
    await reschedule(api, release_id, days(12))  # due on day 5: after the announcement
    assert await announce_due(db, midnight(days(5))) == 1
    await reschedule(api, release_id, days(11))  # due on day 4: before the last announcement
    assert await announce_due(db, midnight(days(30))) == 0
    assert await announced(api, release_id) == [midnight(days(3)), midnight(days(5))]


async def test_a_cancelled_release_announces_nothing_more_and_keeps_what_it_announced(
    api: httpx.AsyncClient,
    replicas: tuple[Database, Database],
    release_settings: Settings,
    infra: Infra,
) -> None:
    release_id = await planned_release(
        api, days(3), [entry("Said", "-P7D"), entry("Dropped from the plan", "-P1D")]
    )
    db = replicas[0]
    assert await announce_due(db, datetime.now(UTC)) == 1
    await change(api, release_id, "/communication-plan", {"entries": [entry("Later", "-P2D")]})
    await change(api, release_id, "/cancel", {"reason": "supplier pulled out"})
    assert await announce_due(db, midnight(days(30))) == 0
    assert await announced(api, release_id) == [midnight(days(-4))]
    async with db.unit_of_work() as uow:
        rows = await uow.fetch(
            f'SELECT due_at, announced_due_at FROM "{release_settings.db_schema}".communications '
            "WHERE release_id = $1",
            UUID(release_id),
        )
    # Only the announced entry stays, as the record of it, with nothing more to announce.
    assert [tuple(row) for row in rows] == [(None, midnight(days(-4)))]


async def test_an_announcement_yields_to_a_change_under_way_and_follows_it(
    api: httpx.AsyncClient, replicas: tuple[Database, Database]
) -> None:
    release_id = await planned_release(api, days(3), [entry("Next week", "-P7D")])
    db, other = replicas
    async with other.unit_of_work() as uow:
        release = await handlers.load_release(uow, UUID(release_id))
        new = release.reschedule(RescheduleRelease(release.id, days(4), days(6), "x", by="rita"))
        await record(uow.events, handlers.stream_id(release.id), release, new, Meta("rita", "c"))
        await uow.fetchval("SELECT 1")  # writes the deferred append: the change is under way
        # The pass waits for the change's event only briefly, not until a deadlock.
        assert await announce_due(db, datetime.now(UTC)) == 0
        await projections.save(uow, release)
        await uow.commit()
    assert await announce_due(db, datetime.now(UTC)) == 1
    assert await announced(api, release_id) == [midnight(days(-3))]


async def test_the_service_announces_by_itself_every_poll(infra: Infra, topic_prefix: str) -> None:
    s = settings(Settings, infra, topic_prefix, communication_poll_seconds=0.2)
    async with serving(spec(s), headers=infra.issuer.bearer("rita", "release-manager")) as api:
        await planned_release(api, days(3), [entry("Next week", "-P7D")])
        events = await read_topic(infra.kafka, s.topic("release.events"), expect=3)
        assert (await api.get("/readyz")).json()["checks"]["workers"] == "ok"
    assert [e.type for e in events] == [
        "ReleasePlanned",
        "CommunicationPlanSet",
        "CommunicationDue",
    ]


async def test_a_services_own_job_that_ends_makes_it_unready(release_settings: Settings) -> None:
    async def doomed(_: Database) -> None:
        raise RuntimeError("a bug")

    doomed_spec = dataclasses.replace(spec(release_settings), jobs={"doomed": doomed})
    async with serving(doomed_spec) as api:

        async def unready() -> httpx.Response | None:
            answer = await api.get("/readyz")
            return answer if answer.status_code == 503 else None

        answer = await eventually(unready, what="/readyz to report the ended job")
    assert answer.json()["checks"]["workers"] == "ended: doomed"
