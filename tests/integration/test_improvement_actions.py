"""Improvement actions after a review: listed across releases, moved on by their owners until
done or dropped, reassigned by the release's manager; against real PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ferry.db import Database
from ferry.events.release import ImprovementAction
from release_svc.config import Settings
from release_svc.projections import releases as projections
from tests.support.infra import Infra
from tests.support.services import read_topic
from tests.support.stored import action, store_reviewed

TODAY = datetime.now(UTC).date()
PAST, LATER = TODAY - timedelta(days=3), TODAY + timedelta(days=30)


@pytest.fixture
async def db(release_settings: Settings, api: httpx.AsyncClient) -> AsyncIterator[Database]:
    """release-svc's database, migrated by the service."""
    database = Database(release_settings.database_url, release_settings.db_schema, "release-svc")
    yield database
    await database.dispose()


async def olgas_overdue_action(
    api: httpx.AsyncClient, db: Database, *others: ImprovementAction
) -> tuple[str, str]:
    """A reviewed release with olga's action "brief the desk", overdue, and `others`: the
    action's path and ETag."""
    item = action("brief the desk", "olga", PAST)
    await store_reviewed(db, [item, *others], "REL-1")
    path = f"/improvement-actions/{item.action_id}"
    return path, (await api.get(path)).headers["ETag"]


def as_(infra: Infra, subject: str, role: str, etag: str | None = None) -> dict[str, str]:
    return {**infra.issuer.bearer(subject, role), **({"If-Match": etag} if etag else {})}


async def listed(api: httpx.AsyncClient, **query: Any) -> list[str]:
    answer = await api.get("/improvement-actions", params=query)
    assert answer.status_code == 200, answer.text
    return [item["description"] for item in answer.json()["items"]]


async def test_actions_are_listed_across_releases_and_filtered(
    api: httpx.AsyncClient, db: Database
) -> None:
    first = await store_reviewed(
        db, [action("brief the desk", "olga", PAST), action("undated", "sam", None)], "REL-1"
    )
    await store_reviewed(db, [action("automate smoke", "sam", LATER)], "REL-2")

    # Soonest due first, undated last.
    assert await listed(api) == ["brief the desk", "automate smoke", "undated"]
    assert await listed(api, owner="sam") == ["automate smoke", "undated"]
    assert await listed(api, overdue="true") == ["brief the desk"]
    assert await listed(api, release_id=str(first)) == ["brief the desk", "undated"]
    assert await listed(api, state="done") == []
    page = await api.get("/improvement-actions", params={"limit": 2})
    rest = await api.get("/improvement-actions", params={"limit": 2, "cursor": page.json()["next"]})
    assert [item["description"] for item in rest.json()["items"]] == ["undated"]
    assert rest.json()["next"] is None

    item = page.json()["items"][0]
    assert item["release_identifier"] == "REL-1"
    assert (item["owner"], item["due"], item["state"], item["overdue"]) == (
        "olga",
        str(PAST),
        "open",
        True,
    )
    one = await api.get(f"/improvement-actions/{item['action_id']}")
    assert one.json() == item
    assert one.headers["ETag"] == f'"{item["version"]}"'


async def test_its_owner_takes_an_action_from_open_to_done(
    api: httpx.AsyncClient, db: Database, infra: Infra, release_settings: Settings
) -> None:
    path, etag = await olgas_overdue_action(api, db)
    release_id = (await api.get(path)).json()["release_id"]

    # olga is a tester of no team of the release's: owning the action is enough.
    started = await api.put(
        f"{path}/state", json={"state": "in_progress"}, headers=as_(infra, "olga", "tester", etag)
    )
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "in_progress"
    done = await api.put(
        f"{path}/state",
        json={"state": "done", "note": "the briefing goes out two weeks ahead"},
        headers=as_(infra, "olga", "tester", started.headers["ETag"]),
    )
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["overdue"]) == ("done", False)
    assert (await api.get(path)).json() == done.json()
    assert await listed(api, state="done") == ["brief the desk"]
    assert await listed(api, overdue="true") == []

    published = await read_topic(infra.kafka, release_settings.topic("release.events"), expect=16)
    moves = [e for e in published if e.type == "ImprovementActionProgressed"]
    assert [(e.subject, e.actor) for e in moves] == [(release_id, "olga")] * 2
    assert [e.data["state"] for e in moves] == ["in_progress", "done"]


async def test_bad_moves_are_refused_and_change_nothing(
    api: httpx.AsyncClient, db: Database, infra: Infra
) -> None:
    path, etag = await olgas_overdue_action(api, db)

    no_reason = await api.put(
        f"{path}/state", json={"state": "dropped"}, headers=as_(infra, "olga", "tester", etag)
    )
    assert no_reason.status_code == 422
    assert no_reason.headers["content-type"] == "application/problem+json"
    assert "note" in no_reason.text
    not_started = await api.put(
        f"{path}/state", json={"state": "open"}, headers=as_(infra, "olga", "tester", etag)
    )
    assert not_started.status_code == 409

    dropped = await api.put(
        f"{path}/state",
        json={"state": "dropped", "note": "the desk moved to the new portal"},
        headers=as_(infra, "olga", "tester", etag),
    )
    assert dropped.status_code == 200, dropped.text
    stale = await api.put(
        f"{path}/state", json={"state": "open"}, headers=as_(infra, "olga", "tester", etag)
    )
    assert stale.status_code == 409
    final = await api.put(
        f"{path}/state",
        json={"state": "open"},
        headers=as_(infra, "olga", "tester", dropped.headers["ETag"]),
    )
    assert final.status_code == 409
    assert "dropped" in final.json()["detail"]
    after = (await api.get(path)).json()
    assert (after["state"], after["note"]) == ("dropped", "the desk moved to the new portal")


async def test_the_release_manager_reassigns_an_action(
    api: httpx.AsyncClient, db: Database, infra: Infra
) -> None:
    path, etag = await olgas_overdue_action(api, db)

    moved = await api.put(
        f"{path}/assignment",
        json={"owner": "sam", "due": str(LATER)},
        headers={"If-Match": etag},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["owner"], moved.json()["due"], moved.json()["overdue"]) == (
        "sam",
        str(LATER),
        False,
    )
    assert await listed(api, owner="sam") == ["brief the desk"]
    assert await listed(api, owner="olga") == []
    # olga no longer owns it.
    refused = await api.put(
        f"{path}/state",
        json={"state": "in_progress"},
        headers=as_(infra, "olga", "tester", moved.headers["ETag"]),
    )
    assert refused.status_code == 403


async def test_a_rebuild_keeps_each_action_where_it_is(
    api: httpx.AsyncClient, db: Database, infra: Infra
) -> None:
    path, etag = await olgas_overdue_action(api, db, action("undated", "sam", None))
    started = await api.put(
        f"{path}/state", json={"state": "in_progress"}, headers=as_(infra, "olga", "tester", etag)
    )
    assert started.status_code == 200, started.text
    before = (await api.get("/improvement-actions")).json()

    async with db.unit_of_work() as uow:
        assert await projections.rebuild(uow) == 1
        await uow.commit()
    assert (await api.get("/improvement-actions")).json() == before
