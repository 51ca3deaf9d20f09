"""dml-svc's Definitive Hardware Store against real PostgreSQL and Kafka: spares go into live
only under an approved RFC, never more than the store holds, even when withdrawals race."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dml_svc.config import Settings
from dml_svc.main import MIGRATIONS, spec
from dml_svc.projections import approved_changes
from ferry import migrations
from ferry.db import Database
from ferry.envelope import Envelope
from ferry.events.change import ChangeApproved, ChangeRejected
from ferry.events.release import ReleaseApproved
from ferry.testing import envelope_for
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic, serving, settings, unique

PSU = {
    "model": "PowerEdge R740",
    "part_number": "PSU-750W",
    "revision": "C",
    "quantity": 2,
    "location": "DC1 cage 4",
    "replaces": ["db-1-psu", "db-2-psu"],
}


@pytest.fixture
async def dml(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """dml-svc on this test's schema and topics, called by lib, a librarian."""
    s = settings(Settings, infra, topic_prefix, media_dir=tmp_path / "media")
    async with serving(spec(s), headers=infra.issuer.bearer("lib", "dml-librarian")) as client:
        yield client


async def published(infra: Infra, topic_prefix: str, expect: int) -> list[Envelope]:
    """What dml-svc published on this test's `dml.events`."""
    return await read_topic(infra.kafka, f"{topic_prefix}dml.events", expect=expect, settle=1)


def as_(infra: Infra, subject: str, role: str, etag: str | None = None) -> dict[str, str]:
    return {**infra.issuer.bearer(subject, role), **({"If-Match": etag} if etag else {})}


async def register(dml: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    created = await dml.post("/spares", json={**PSU, **changes})
    assert created.status_code == 201, created.text
    return created


async def takes_as_approved(dml: httpx.AsyncClient, path: str, rfc: str) -> bool:
    """Whether dml-svc takes `rfc` as approved, asked without taking anything: a withdrawal of
    more units than the spare at `path` holds is refused for the RFC (422) unless it is
    approved, and then for the stock (409)."""
    etag = (await dml.get(path)).headers["ETag"]
    probe = await dml.post(
        f"{path}/withdrawals",
        json={"quantity": 1_000_000, "rfc": rfc},
        headers={"If-Match": etag},
    )
    assert probe.status_code in (409, 422), probe.text
    return probe.status_code == 409


async def approve(
    dml: httpx.AsyncClient, infra: Infra, topic_prefix: str, rfc: str, path: str
) -> None:
    """Publish the change tool's approval of `rfc`; return once dml-svc knows it."""
    decision = ChangeApproved(release="REL-2026-0001", rfc=rfc, decided_by="cab-chair")
    await publish(infra, f"{topic_prefix}change.events", decision, actor="change-tool")
    await eventually(
        lambda: takes_as_approved(dml, path, rfc), what=f"dml-svc to learn that {rfc} is approved"
    )


async def test_a_spare_is_registered_once_per_key_read_and_listed(
    dml: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    key = {"Idempotency-Key": "psu-delivery-42"}
    first = await dml.post("/spares", json=PSU, headers=key)
    again = await dml.post("/spares", json=PSU, headers=key)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    spare = await dml.get(first.headers["Location"])
    assert spare.headers["ETag"] == '"1"'
    body = spare.json()
    described = ("model", "part_number", "revision", "location", "replaces")
    assert {k: body[k] for k in described} == {k: PSU[k] for k in described}
    assert (body["in_store"], body["in_live"], body["out_of_date"]) == (2, 0, False)
    await register(dml, model="ProLiant DL380", replaces=["web-1-disk"], part_number="SSD-960")
    await register(dml, model="ProLiant DL380", replaces=["web-2-disk"], part_number="SSD-1920")

    first_page = (await dml.get("/spares", params={"limit": 2})).json()
    rest = (await dml.get("/spares", params={"limit": 2, "cursor": first_page["next"]})).json()
    assert [s["part_number"] for s in first_page["items"] + rest["items"]] == [
        "PSU-750W",
        "SSD-1920",
        "SSD-960",
    ]
    assert rest["next"] is None
    for_ci = (await dml.get("/spares", params={"configuration_item": "db-2-psu"})).json()
    assert [s["spare_id"] for s in for_ci["items"]] == [first.json()["spare_id"]]
    events = await published(infra, topic_prefix, 3)
    assert [e.type for e in events] == ["SpareRegistered"] * 3
    assert events[0].actor == "lib"


async def test_withdrawals_need_an_approved_rfc_and_come_back_by_return_or_replacement(
    dml: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    path = (await register(dml, quantity=3)).headers["Location"]
    refused = await dml.post(
        f"{path}/withdrawals", json={"quantity": 1, "rfc": "CHG-1"}, headers={"If-Match": '"1"'}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "rfc"

    await approve(dml, infra, topic_prefix, "CHG-1", path)
    taken = await dml.post(
        f"{path}/withdrawals",
        json={"quantity": 2, "rfc": "CHG-1"},
        headers=as_(infra, "dora", "deployer", '"1"'),
    )
    assert taken.status_code == 200, taken.text
    assert (taken.json()["in_store"], taken.json()["in_live"]) == (1, 2)
    assert taken.json()["withdrawals"] == [
        {"withdrawal": 1, "rfc": "CHG-1", "withdrawn_by": "dora", "outstanding": 2}
    ]
    returned = await dml.post(
        f"{path}/returns", json={"withdrawal": 1}, headers={"If-Match": taken.headers["ETag"]}
    )
    assert returned.json()["in_store"] == 2, returned.text
    replaced = await dml.post(
        f"{path}/replacements",
        json={"withdrawal": 1, "quantity": 1},
        headers={"If-Match": returned.headers["ETag"]},
    )
    assert (replaced.json()["in_store"], replaced.json()["withdrawals"]) == (3, [])

    rejection = ChangeRejected(release="REL-2026-0001", rfc="CHG-1", decided_by="cab", reason="x")
    await publish(infra, f"{topic_prefix}change.events", rejection, actor="change-tool")

    async def unapproved() -> bool:
        return not await takes_as_approved(dml, path, "CHG-1")

    await eventually(unapproved, what="the change tool's rejection to unapprove CHG-1")
    events = await published(infra, topic_prefix, 4)
    assert [e.type for e in events] == [
        "SpareRegistered",
        "SpareWithdrawn",
        "SpareReturned",
        "SpareReplaced",
    ]
    assert (events[1].actor, events[1].data["rfc"]) == ("dora", "CHG-1")


async def test_concurrent_withdrawals_of_the_last_unit_let_exactly_one_win(
    dml: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    path = (await register(dml, quantity=1)).headers["Location"]
    await approve(dml, infra, topic_prefix, "CHG-2", path)
    body = {"quantity": 1, "rfc": "CHG-2"}
    racing = [
        dml.post(f"{path}/withdrawals", json=body, headers=as_(infra, f"d{n}", "deployer", '"1"'))
        for n in range(6)
    ]
    answers = await asyncio.gather(*racing)
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    conflicts = [a.json()["title"] for a in answers if a.status_code == 409]
    assert conflicts == ["Version conflict"] * 5
    spare = (await dml.get(path)).json()
    assert (spare["in_store"], spare["in_live"], len(spare["withdrawals"])) == (0, 1, 1)
    current = (await dml.get(path)).headers["ETag"]
    empty = await dml.post(f"{path}/withdrawals", json=body, headers={"If-Match": current})
    assert empty.status_code == 409  # the store is empty: nothing below zero
    assert "0 unit(s) in store" in empty.json()["detail"]


async def test_withdrawers_retrying_on_409_take_exactly_what_the_store_holds(
    dml: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    path = (await register(dml, quantity=3)).headers["Location"]
    await approve(dml, infra, topic_prefix, "CHG-3", path)

    async def take_until_empty(who: str) -> int:
        taken = 0
        while True:
            etag = (await dml.get(path)).headers["ETag"]
            answer = await dml.post(
                f"{path}/withdrawals",
                json={"rfc": "CHG-3"},
                headers=as_(infra, who, "deployer", etag),
            )
            if answer.status_code == 200:
                taken += 1
            elif answer.json()["title"] != "Version conflict":
                assert answer.status_code == 409, answer.text
                return taken  # the store is empty

    takes = await asyncio.gather(*(take_until_empty(f"d{n}") for n in range(5)))
    assert sum(takes) == 3
    spare = (await dml.get(path)).json()
    assert (spare["in_store"], spare["in_live"]) == (0, 3)
    assert [w["withdrawal"] for w in spare["withdrawals"]] == [1, 2, 3]


async def test_a_newer_live_revision_flags_the_older_spares_of_its_item(
    dml: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    older = (await register(dml, revision="B")).json()["spare_id"]
    await register(dml, revision="D")
    await register(dml, revision="A", replaces=["web-1-psu"])
    ops = as_(infra, "otto", "operations")
    live = "/spares/live-revisions/db-1-psu"
    changed = await dml.put(live, json={"revision": "C"}, headers=ops)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"configuration_item": "db-1-psu", "revision": "C", "flagged": [older]}
    assert (await dml.put(live, json={"revision": "C"}, headers=ops)).json()["flagged"] == []
    known = (await dml.get(live)).json()
    assert (known["revision"], known["set_by"]) == ("C", "otto")

    flagged = (await dml.get(f"/spares/{older}")).json()
    assert (flagged["out_of_date"], flagged["out_of_date_for"]) == (True, {"db-1-psu": "C"})
    listed = (await dml.get("/spares", params={"out_of_date": "true"})).json()["items"]
    assert [s["spare_id"] for s in listed] == [older]
    late = await register(dml, revision="A2")  # behind live already as it arrives
    assert (late.json()["out_of_date"], late.headers["ETag"]) == (True, '"2"')
    events = await published(infra, topic_prefix, 6)
    flags = [e for e in events if e.type == "SpareRevisionOutOfDate"]
    # Each spare's events keep their order; different spares' may interleave (partitions).
    by_revision = {f.data["revision"]: f for f in flags}
    assert sorted(by_revision) == ["A2", "B"]
    assert {f.data["live_revision"] for f in flags} == {"C"}
    assert (by_revision["B"].actor, by_revision["A2"].actor) == ("otto", "lib")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"revision": "C/1"}, "revision"),
        ({"replaces": []}, "replaces"),
        ({"replaces": ["db 1"]}, "replaces.0"),
        ({"model": "PSU\x01"}, "model"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_spares_are_refused_naming_the_field(
    dml: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    answer = await dml.post("/spares", json={**PSU, **body})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.json()["errors"]]


async def test_bad_changes_are_refused_with_a_problem(dml: httpx.AsyncClient) -> None:
    path = (await register(dml)).headers["Location"]
    at_1 = {"If-Match": '"1"'}
    no_if_match = await dml.post(f"{path}/withdrawals", json={"rfc": "CHG-9"})
    assert no_if_match.status_code == 428
    zero = await dml.post(f"{path}/withdrawals", json={"rfc": "CHG-9", "quantity": 0}, headers=at_1)
    assert zero.json()["errors"][0]["field"] == "quantity"
    nothing_out = await dml.post(f"{path}/returns", json={"withdrawal": 1}, headers=at_1)
    assert (nothing_out.status_code, nothing_out.json()["errors"][0]["field"]) == (
        422,
        "withdrawal",
    )
    stale = await dml.post(f"{path}/returns", json={"withdrawal": 1}, headers={"If-Match": '"7"'})
    assert stale.status_code == 409
    assert (await dml.get(f"/spares/{uuid.uuid4()}")).status_code == 404
    assert (await dml.get("/spares", params={"cursor": "nonsense"})).status_code == 400
    assert (await dml.get("/spares/live-revisions/db-1-psu")).status_code == 404
    bad_ci = await dml.put("/spares/live-revisions/db;1", json={"revision": "C"})
    assert bad_ci.status_code == 422


async def test_the_change_tools_rejection_outweighs_a_late_release_approval(
    infra: Infra,
) -> None:
    schema = unique("dhs")
    await asyncio.to_thread(migrations.upgrade, infra.database_url, schema, MIGRATIONS)
    db = Database(infra.database_url, schema, source="test")
    try:
        approval = ReleaseApproved(
            release_id=uuid.uuid4(), rfc="CHG-4", approvers=["carl"], package_revision=1, media=[]
        )
        async with db.unit_of_work() as uow:
            await approved_changes.remember_release_approval(uow, approval)
            await uow.commit()
            assert await approved_changes.approved(uow, "CHG-4") == {"CHG-4"}
        rejection = ChangeRejected(release="x", rfc="CHG-4", decided_by="cab", reason="risk")
        async with db.unit_of_work() as uow:
            await approved_changes.on_change_rejected(rejection, envelope_for(rejection), uow)
            await approved_changes.remember_release_approval(uow, approval)  # arrives late
            await uow.commit()
            assert await approved_changes.approved(uow, "CHG-4") == frozenset()
    finally:
        async with db.unit_of_work() as uow:
            await uow.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await uow.commit()
        await db.dispose()
