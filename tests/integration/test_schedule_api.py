"""Freezes, the deployment schedule with its conflicts, and its calendar feed, through
release-svc's API against real PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from release_svc.config import Settings
from release_svc.main import spec
from tests.support.calendars import parse
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import serving, settings

PLAN = {
    "name": "Payments",
    "version": "2027.3.0",
    "planned_start": "2027-03-01",
    "planned_end": "2027-03-31",
}
FREEZE = {
    "start": "2027-03-10T00:00:00+01:00",
    "end": "2027-03-12T00:00:00+01:00",
    "reason": "quarter close",
    "environments": ["production"],
    "services": [],
}


def at(day: int, hour: int = 22) -> str:
    return f"2027-03-{day:02}T{hour:02}:00:00Z"


@pytest.fixture
async def api(infra: Infra, topic_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc in a schema of its own, called by rita, a release manager."""
    release_svc = spec(settings(Settings, infra, topic_prefix))
    async with serving(release_svc, headers=infra.issuer.bearer("rita", "release-manager")) as api:
        yield api


class Plans:
    """Releases planned through the API, each change at the version last read."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api

    async def plan(
        self,
        name: str = "Payments",
        services: tuple[str, ...] = ("payments",),
        windows: dict[str, tuple[str, str]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        created = await self.api.post("/releases", json={**PLAN, "name": name, **extra})
        assert created.status_code == 201, created.text
        release: dict[str, Any] = created.json()
        items = [{"kind": "service", "name": s} for s in services]
        await self.change(release, "scope", {"items": items})
        if windows:
            await self.windows(release, windows)
        return release

    async def windows(self, release: dict[str, Any], windows: dict[str, tuple[str, str]]) -> None:
        body = [{"environment": e, "start": s, "end": end} for e, (s, end) in windows.items()]
        await self.change(release, "windows", {"windows": body})

    async def change(self, release: dict[str, Any], part: str, body: dict[str, Any]) -> None:
        path = f"/releases/{release['id']}"
        etag = (await self.api.get(path)).headers["ETag"]
        answer = await self.api.put(f"{path}/{part}", json=body, headers={"If-Match": etag})
        assert answer.status_code == 200, answer.text

    async def cancel(self, release: dict[str, Any]) -> None:
        path = f"/releases/{release['id']}"
        etag = (await self.api.get(path)).headers["ETag"]
        answer = await self.api.post(
            f"{path}/cancel", json={"reason": "dropped"}, headers={"If-Match": etag}
        )
        assert answer.status_code == 200, answer.text


async def schedule(api: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    """Every entry of the schedule, following `next` page by page."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await api.get(
            "/schedule", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        entries += page.json()["items"]
        if (cursor := page.json()["next"]) is None:
            return entries


# --- Freezes ----------------------------------------------------------------------------


async def test_a_freeze_is_declared_read_listed_and_lifted_once(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    carl = infra.issuer.bearer("carl", "change-authority")
    declared = await api.post("/freezes", json=FREEZE, headers=carl)
    assert declared.status_code == 201, declared.text
    assert declared.headers["ETag"] == '"1"'
    location = declared.headers["Location"]
    freeze = declared.json()
    assert (freeze["start"], freeze["environments"], freeze["lifted"]) == (
        "2027-03-09T23:00:00Z",
        ["production"],
        False,
    )
    fetched = await api.get(location)
    assert (fetched.json(), fetched.headers["ETag"]) == (freeze, '"1"')
    listed = (await api.get("/freezes")).json()
    assert [f["id"] for f in listed["items"]] == [freeze["id"]]

    lift = {"reason": "close done early"}
    assert (await api.post(f"{location}/lift", json=lift)).status_code == 428
    stale = await api.post(f"{location}/lift", json=lift, headers={"If-Match": '"7"'})
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    proposed = await api.post(f"{location}/lift", json=lift, headers={"If-Match": '"1"'})
    assert not (await api.get(location)).json()["lifted"], "lifted before its approval"
    await approved(api, infra, proposed)
    lifted = await api.get(location)
    assert (lifted.json()["lifted"], lifted.headers["ETag"]) == (True, '"2"')
    again = await api.post(f"{location}/lift", json=lift, headers={"If-Match": '"2"'})
    assert again.status_code == 409
    assert (await api.get("/freezes")).json()["items"] == []
    shown = (await api.get("/freezes", params={"include_lifted": "true"})).json()["items"]
    assert [(f["id"], f["lift_reason"]) for f in shown] == [(freeze["id"], "close done early")]
    missing = await api.get("/freezes/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_only_release_managers_and_change_authorities_declare_freezes(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    refused = await api.post("/freezes", json=FREEZE, headers=infra.issuer.bearer("vic", "viewer"))
    assert refused.status_code == 403
    assert (await api.post("/freezes", json=FREEZE)).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2027-03-10T00:00:00"}, "start"),
        ({"end": "2027-03-12"}, "end"),
        ({"end": "2027-03-09T00:00:00Z"}, "end"),
        ({"end": "9999-12-31T23:00:00-05:00"}, "end"),
        ({"reason": "  "}, "reason"),
        ({"environments": ["prod uction"]}, "environments.0"),
        ({"services": "payments"}, "services"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_a_bad_freeze_gets_a_422_naming_the_field(
    api: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    answer = await api.post("/freezes", json={**FREEZE, **change})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in answer.json()["detail"]


async def test_one_idempotency_key_declares_one_freeze(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "quarter-close-2027-1"}
    first = await api.post("/freezes", json=FREEZE, headers=headers)
    again = await api.post("/freezes", json=FREEZE, headers=headers)
    assert first.status_code == again.status_code == 201
    assert (first.content, first.headers["Location"]) == (again.content, again.headers["Location"])
    assert [f["id"] for f in (await api.get("/freezes")).json()["items"]] == [first.json()["id"]]
    other = await api.post("/freezes", json={**FREEZE, "reason": "other"}, headers=headers)
    assert other.status_code == 422


async def test_the_freeze_list_filters_by_time_environment_and_service_and_pages(
    api: httpx.AsyncClient,
) -> None:
    bodies = [
        {**FREEZE, "start": at(d, 0), "end": at(d + 1, 0), "reason": f"freeze {d}"}
        for d in (1, 5, 9, 13)
    ]
    bodies.append({**FREEZE, "start": at(2, 0), "end": at(3, 0), "environments": ["staging"]})
    bodies.append({**FREEZE, "start": at(2, 0), "end": at(3, 0), "environments": []})
    bodies.append({**FREEZE, "start": at(2, 0), "end": at(3, 0), "services": ["ledger"]})
    for body in bodies:
        assert (await api.post("/freezes", json=body)).status_code == 201

    async def reasons(**params: str) -> list[str]:
        answer = await api.get("/freezes", params=params)
        assert answer.status_code == 200, answer.text
        return [f["reason"] for f in answer.json()["items"]]

    assert await reasons(**{"from": at(4, 12), "to": at(10, 0)}) == ["freeze 5", "freeze 9"]
    assert len(await reasons(environment="staging")) == 2  # its own, and the one of all
    assert len(await reasons(service="payments")) == 6  # all but the ledger freeze
    first = (await api.get("/freezes", params={"limit": "4"})).json()
    second = (await api.get("/freezes", params={"limit": "4", "cursor": first["next"]})).json()
    assert second["next"] is None
    starts = [f["start"] for f in first["items"] + second["items"]]
    assert (len(starts), starts) == (7, sorted(starts))
    assert (await api.get("/freezes", params={"cursor": "bogus"})).status_code == 400
    naive = await api.get("/freezes", params={"from": "2027-03-01T00:00:00"})
    assert naive.status_code == 422
    assert "from" in naive.json()["detail"]


# --- The schedule -----------------------------------------------------------------------


async def test_the_schedule_filters_and_pages_windows_in_the_order_they_open(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    plans = Plans(api)
    for day in (7, 3, 5):
        await plans.plan(
            f"Payments {day}",
            services=(f"svc-{day}",),
            windows={
                "production": (at(day, 20), at(day, 23)),
                "staging": (at(day - 2), at(day - 1)),
            },
        )
    olga = await plans.plan(
        "Ledger",
        services=("ledger",),
        windows={"production": (at(20), at(21))},
        owners=["olga"],
    )
    dropped = await plans.plan("Dropped", services=("old",), windows={"staging": (at(25), at(26))})
    await plans.cancel(dropped)

    everything = await schedule(api, limit="2")
    assert len(everything) == 8
    assert [e["start"] for e in everything] == sorted(e["start"] for e in everything)
    production = await schedule(api, environment="production")
    assert [e["name"] for e in production] == ["Payments 3", "Payments 5", "Payments 7", "Ledger"]
    in_range = await schedule(api, **{"from": at(3, 23), "to": at(6, 0)})
    assert [(e["name"], e["environment"]) for e in in_range] == [
        ("Payments 5", "staging"),
        ("Payments 5", "production"),
        ("Payments 7", "staging"),
    ]
    [ledger] = await schedule(api, service="ledger")
    assert (ledger["identifier"], ledger["owners"]) == (olga["identifier"], ["olga", "rita"])
    assert [e["name"] for e in await schedule(api, owner="olga")] == ["Ledger"]
    assert len(await schedule(api, owner="rita")) == 8
    [cancelled] = await schedule(api, status="cancelled")
    assert (cancelled["name"], cancelled["conflicts"]) == ("Dropped", [])

    assert (await api.get("/schedule", params={"cursor": "bogus"})).status_code == 400
    for bad, field in (("status", "sleeping"), ("limit", "0"), ("from", "yesterday")):
        answer = await api.get("/schedule", params={bad: field})
        assert answer.status_code == 422
        assert bad in answer.json()["detail"]
    viewer = await api.get("/schedule", headers=infra.issuer.bearer("vic", "viewer"))
    assert viewer.status_code == 200


async def test_each_kind_of_conflict_is_flagged_on_the_releases_involved(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    plans = Plans(api)
    # Two releases changing payments in production at overlapping times.
    first = await plans.plan("First", windows={"production": (at(3, 20), at(3, 23))})
    second = await plans.plan("Second", windows={"production": (at(3, 22), at(4, 1))})
    # A release that depends on one whose window comes later (set in that order, as the
    # dependency's window, set last, is not checked against its dependents).
    dependency = await plans.plan("Dependency", services=("ledger",))
    dependent = await plans.plan("Dependent", services=("fees",))
    await plans.change(dependent, "dependencies", {"depends_on": [dependency["id"]]})
    await plans.windows(dependent, {"staging": (at(14), at(15))})
    await plans.windows(dependency, {"staging": (at(16), at(17))})
    # A window that a freeze declared afterwards covers.
    frozen = await plans.plan(
        "Frozen", services=("search",), windows={"production": (at(10), at(11))}
    )
    freeze = (await api.post("/freezes", json=FREEZE)).json()

    conflicts = {e["name"]: e["conflicts"] for e in await schedule(api)}
    [overlap] = conflicts["First"]
    assert conflicts["Second"] == [overlap]
    assert overlap["kind"] == "overlap"
    assert overlap["releases"] == sorted([first["identifier"], second["identifier"]])
    [order] = conflicts["Dependent"]
    assert conflicts["Dependency"] == [order]
    assert (order["kind"], order["releases"]) == (
        "dependency_order",
        [dependent["identifier"], dependency["identifier"]],
    )
    [frozen_conflict] = conflicts["Frozen"]
    assert (frozen_conflict["kind"], frozen_conflict["freeze_id"]) == ("freeze", freeze["id"])
    assert frozen_conflict["releases"] == [frozen["identifier"]]
    assert "quarter close" in frozen_conflict["detail"]

    # The conflicts of a page's windows count windows outside the page and its filters.
    window = {"from": at(4, 0), "to": at(5, 0), "environment": "production"}
    [only_second] = await schedule(api, **window)
    assert only_second["name"] == "Second"
    assert only_second["conflicts"] == [overlap]

    # Lifting the freeze, and cancelling one of the overlapping releases, clear theirs.
    lift = {"reason": "close moved"}
    path = f"/freezes/{freeze['id']}/lift"
    await approved(api, infra, await api.post(path, json=lift, headers={"If-Match": '"1"'}))
    await plans.cancel(first)
    conflicts = {e["name"]: e["conflicts"] for e in await schedule(api)}
    assert (conflicts["Frozen"], conflicts["Second"], conflicts["First"]) == ([], [], [])


# --- The calendar feed ------------------------------------------------------------------


async def test_the_calendar_feed_has_an_event_per_window_and_freeze_in_force(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    plans = Plans(api)
    name = "Payments; fees, and a rather long name that cannot fit one line of a calendar"
    release = await plans.plan(
        name, windows={"production": (at(3), at(4)), "staging": (at(1), at(2))}
    )
    await plans.plan("Ledger", services=("ledger",), windows={"production": (at(20), at(21))})
    in_force = (await api.post("/freezes", json=FREEZE)).json()
    lifted = await api.post("/freezes", json={**FREEZE, "reason": "lifted"})
    lift = {"reason": "not needed"}
    lift_path = f"{lifted.headers['Location']}/lift"
    await approved(api, infra, await api.post(lift_path, json=lift, headers={"If-Match": '"1"'}))

    feed = await api.get("/schedule.ics", headers=infra.issuer.bearer("vic", "viewer"))
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert b"\r\n " in feed.content  # the long summary is folded
    calendar = parse(feed.content)  # checks CRLF and 75-octet lines too
    assert (calendar.name, calendar.properties["VERSION"]) == ("VCALENDAR", "2.0")
    events = {e.properties["UID"]: e for e in calendar.components}
    assert len(events) == 4  # three windows and the freeze in force; not the lifted one
    production = next(
        e for uid, e in events.items() if uid.startswith(f"{release['id']}.production")
    )
    assert production.text("SUMMARY") == f"{release['identifier']} {name} in production"
    assert "Payments\\; fees\\, and" in production.properties["SUMMARY"]
    assert (production.properties["DTSTART"], production.properties["DTEND"]) == (
        "20270303T220000Z",
        "20270304T220000Z",
    )
    assert production.properties["STATUS"] == "TENTATIVE"
    assert "Services: payments" in production.text("DESCRIPTION")
    [freeze] = [e for e in events.values() if e.properties.get("CATEGORIES") == "FREEZE"]
    assert freeze.properties["UID"] == f"freeze-{in_force['id']}@release-svc.ferry"
    assert freeze.properties["DTSTART"] == "20270309T230000Z"

    # The same filters as the schedule; the UIDs stay as they were.
    narrowed = parse(
        (await api.get("/schedule.ics", params={"service": "ledger", "to": at(15)})).content
    )
    assert [e.properties["CATEGORIES"] for e in narrowed.components] == ["FREEZE"]
    staging = parse((await api.get("/schedule.ics", params={"environment": "staging"})).content)
    [window] = staging.components
    assert window.properties["UID"] in events
    assert (await api.get("/schedule.ics", params={"status": "nope"})).status_code == 422
