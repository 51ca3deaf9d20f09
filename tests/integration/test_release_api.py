"""release-svc's API against real PostgreSQL and Kafka: errors, ETags, 409s, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from ferry import migrations
from ferry.db import Database
from ferry.devports import free_port
from release_svc.api.schemas.releases import ReleaseSummary
from release_svc.config import Settings
from release_svc.main import spec
from release_svc.projections import releases as projections
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import read_topic, serving, settings

PLAN = {
    "name": "Payments 2026.12",
    "version": "2026.12.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-05",
}


async def count_events(s: Settings, event_type: str) -> int:
    db = Database(s.database_url, s.db_schema, "probe")
    try:
        async with db.unit_of_work() as uow:
            sql = f'SELECT count(*) FROM "{s.db_schema}".events WHERE type = $1'
            return int(await uow.fetchval(sql, event_type))
    finally:
        await db.dispose()


async def test_planning_a_release_answers_201_with_location_and_etag(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post("/releases", json=PLAN)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    fetched = await api.get(created.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert fetched.json()["status"] == "planned"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**PLAN, "planned_start": "tomorrow"}, 422, "planned_start"),
        ({k: v for k, v in PLAN.items() if k != "name"}, 422, "name"),
        ({**PLAN, "version": "1.0/../../etc"}, 422, "version"),
        ({**PLAN, "planned_end": "2026-11-01"}, 422, "planned_end"),
        ({**PLAN, "colour": "blue"}, 422, "colour"),
        ({**PLAN, "name": "nul\u0000byte"}, 422, "name"),
        ({**PLAN, "name": "   "}, 422, "name"),
        ({**PLAN, "planned_end": 20261205}, 422, "planned_end"),
    ],
)
async def test_bad_fields_get_a_problem_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, str], status: int, field: str
) -> None:
    answer = await api.post("/releases", json=body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in answer.json()["detail"]


async def test_a_body_that_is_not_an_object_is_a_422_problem(api: httpx.AsyncClient) -> None:
    body: object
    for body in ([], "text", None):
        answer = await api.post("/releases", json=body)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"


async def test_an_unknown_route_and_method_are_problems_too(api: httpx.AsyncClient) -> None:
    assert (await api.get("/nowhere")).headers["content-type"] == "application/problem+json"
    wrong = await api.delete("/releases")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_malformed_json_is_a_400_problem(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/releases", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["title"] == "Malformed JSON"


async def test_unknown_and_malformed_release_ids(api: httpx.AsyncClient) -> None:
    missing = await api.get("/releases/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    malformed = await api.get("/releases/not-a-uuid")
    assert malformed.status_code == 422
    assert "release_ref" in malformed.json()["detail"]


async def test_two_concurrent_changes_at_one_version_one_wins_one_gets_409(
    api: httpx.AsyncClient,
) -> None:
    location = (await api.post("/releases", json=PLAN)).headers["Location"]
    moves = [
        {"planned_start": f"2026-12-{d:02}", "planned_end": "2026-12-20", "reason": f"move {d}"}
        for d in (2, 3)
    ]
    answers = await asyncio.gather(
        *(api.put(f"{location}/schedule", json=m, headers={"If-Match": '"1"'}) for m in moves)
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    winner = next(a for a in answers if a.status_code == 200)
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.headers["content-type"] == "application/problem+json"
    current = await api.get(location)
    assert current.headers["ETag"] == '"2"'
    assert current.json()["planned_start"] == winner.json()["planned_start"]


async def test_a_change_needs_if_match_and_a_current_one(api: httpx.AsyncClient) -> None:
    location = (await api.post("/releases", json=PLAN)).headers["Location"]
    move = {"planned_start": "2026-12-02", "planned_end": "2026-12-20", "reason": "late"}
    assert (await api.put(f"{location}/schedule", json=move)).status_code == 428
    for malformed in ("v1", '"' + "9" * 5000 + '"'):
        bad = await api.put(f"{location}/schedule", json=move, headers={"If-Match": malformed})
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
    stale = await api.put(f"{location}/schedule", json=move, headers={"If-Match": '"7"'})
    assert stale.status_code == 409


async def test_one_idempotency_key_one_release_same_reply(
    api: httpx.AsyncClient, release_settings: Settings
) -> None:
    headers = {"Idempotency-Key": "create-payments-1"}
    first = await api.post("/releases", json=PLAN, headers=headers)
    again = await api.post("/releases", json=PLAN, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert first.headers["Location"] == again.headers["Location"]
    assert await count_events(release_settings, "ReleasePlanned") == 1


async def test_concurrent_retries_with_one_key_create_one_release(
    api: httpx.AsyncClient, release_settings: Settings
) -> None:
    headers = {"Idempotency-Key": "create-payments-2"}
    answers = await asyncio.gather(
        *(api.post("/releases", json=PLAN, headers=headers) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert await count_events(release_settings, "ReleasePlanned") == 1


async def test_a_key_reused_for_another_request_is_refused(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-payments-3"}
    assert (await api.post("/releases", json=PLAN, headers=headers)).status_code == 201
    other = await api.post("/releases", json={**PLAN, "name": "Other"}, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


async def test_the_correlation_id_travels_from_the_request_into_the_event(
    api: httpx.AsyncClient, release_settings: Settings, infra: Infra
) -> None:
    created = await api.post("/releases", json=PLAN, headers={"X-Correlation-ID": "ticket-4711"})
    assert created.headers["X-Correlation-ID"] == "ticket-4711"
    [event] = await read_topic(
        infra.kafka,
        release_settings.topic("release.events"),
        expect=1,
        settle=0.5,
    )
    assert event.type == "ReleasePlanned"
    assert event.correlationid == "ticket-4711"
    assert event.subject == created.json()["id"]
    assert event.source == "release-svc"
    assert (event.actor, event.actorroles) == ("rita", "release-manager")


async def test_health_readiness_metrics_and_openapi(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    await api.post("/releases", json=PLAN)
    exposition = (await api.get("/metrics")).text
    assert 'ferry_events_appended_total{service="release-svc",type="ReleasePlanned"}' in exposition
    assert 'method="POST",route="/releases",service="release-svc",status="201"' in exposition
    assert "/releases/{release_id}/schedule" in (await api.get("/openapi.json")).json()["paths"]


async def test_readiness_reports_pending_migrations(
    api: httpx.AsyncClient, release_settings: Settings
) -> None:
    db = Database(release_settings.database_url, release_settings.db_schema, "probe")
    try:
        async with db.unit_of_work() as uow:
            await uow.execute(f'DELETE FROM "{release_settings.db_schema}".alembic_version')
            await uow.commit()
    finally:
        await db.dispose()
    answer = await api.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["migrations"].startswith("schema at None, this code needs ")


async def test_readiness_accepts_a_later_schema_that_still_serves_this_code(
    api: httpx.AsyncClient, release_settings: Settings
) -> None:
    """The next release's migration has run (a rollout, or a rollback after it): this code
    stays ready while the schema says it serves it, and only then."""
    schema = release_settings.db_schema
    head = migrations.head(spec(release_settings).migrations)
    db = Database(release_settings.database_url, schema, "probe")

    async def migrated_to(revision: str, serves_code_from: str) -> None:
        async with db.unit_of_work() as uow:
            await uow.execute(f'UPDATE "{schema}".alembic_version SET version_num = $1', revision)
            await uow.execute(
                f'INSERT INTO "{schema}".schema_compatibility VALUES ($1, $2) '
                "ON CONFLICT (revision) DO UPDATE SET serves_code_from = $2",
                revision,
                serves_code_from,
            )
            await uow.commit()

    try:
        await migrated_to("9001", serves_code_from=str(head))  # an expand migration
        assert (await api.get("/readyz")).status_code == 200
        await migrated_to("9001", serves_code_from="9001")  # a contract migration
        answer = await api.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["migrations"] == f"schema at 9001, this code needs {head}"
        await migrated_to("9002", serves_code_from="0001")  # serves every code since the first
        assert (await api.get("/readyz")).status_code == 200
        # Two expand migrations in one release, each naming the one before it.
        await migrated_to("9001", serves_code_from=str(head))
        await migrated_to("9003", serves_code_from="9001")
        assert (await api.get("/readyz")).status_code == 200
        # A migrate Job of this release (a rollback) leaves a schema ahead that serves it...
        url, migrations_path = release_settings.database_url, spec(release_settings).migrations
        await asyncio.to_thread(migrations.upgrade, url, schema, migrations_path)
        async with db.unit_of_work() as uow:
            assert await migrations.applied(uow) == "9003"
        # ...and refuses one past a contract migration, naming both revisions.
        await migrated_to("9004", serves_code_from="9004")
        await migrated_to("9003", serves_code_from="9004")
        with pytest.raises(migrations.SchemaAhead, match=f"9003.*newest here: {head}"):
            await asyncio.to_thread(migrations.upgrade, url, schema, migrations_path)
        assert (await api.get("/readyz")).status_code == 503
    finally:
        await db.dispose()


async def test_a_database_outage_is_a_503_to_retry_not_a_500(
    infra: Infra, topic_prefix: str
) -> None:
    nowhere = f"postgresql+asyncpg://ferry:ferry@127.0.0.1:{free_port()}/ferry"
    s = settings(Settings, infra, topic_prefix, database_url=nowhere, migrate_on_start=False)
    async with serving(spec(s), headers=infra.issuer.bearer("rita", "release-manager")) as api:
        answer = await api.post("/releases", json=PLAN)
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["Retry-After"] == "1"
        assert (await api.get("/readyz")).status_code == 503


async def test_the_release_list_filters_and_pages_in_planned_order(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    plans = [
        {
            "name": f"Payments {n}",
            "version": f"1.{n}",
            "planned_start": f"2027-01-{n:02}",
            "planned_end": f"2027-01-{n + 2:02}",
        }
        for n in range(1, 8)
    ]
    for plan in reversed(plans):
        assert (await api.post("/releases", json=plan)).status_code == 201
    other = infra.issuer.bearer("otto", "release-manager")
    lone = {**PLAN, "name": "Ledger", "planned_start": "2027-01-04", "planned_end": "2027-01-05"}
    assert (await api.post("/releases", json=lone, headers=other)).status_code == 201

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"release_manager": "rita", "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/releases", params=params)).json()
        seen += [item["name"] for item in page["items"]]
        if (cursor := page["next"]) is None:
            break
    assert seen == [p["name"] for p in plans]

    window = await api.get(
        "/releases", params={"planned_from": "2027-01-05", "planned_to": "2027-01-05"}
    )
    items = window.json()["items"]
    assert sorted(i["name"] for i in items) == ["Ledger", "Payments 3", "Payments 4", "Payments 5"]
    starts = [i["planned_start"] for i in items]
    assert starts == sorted(starts)
    named = await api.get("/releases", params={"name": "ledg"})
    assert [i["release_manager"] for i in named.json()["items"]] == ["otto"]
    assert (await api.get("/releases", params={"cursor": "bogus"})).status_code == 400
    assert (await api.get("/releases", params={"limit": "0"})).status_code == 422


async def test_a_listed_release_is_exactly_a_summary_of_the_release(api: httpx.AsyncClient) -> None:
    plan = {**PLAN, "name": "Summarised"}
    created = (await api.post("/releases", json=plan)).json()
    answer = await api.get("/releases", params={"name": "Summarised"})
    assert answer.headers["content-type"] == "application/json"
    [item] = [i for i in answer.json()["items"] if i["release_id"] == created["id"]]
    # The list's JSON is PostgreSQL's: the same fields and values the model would write.
    assert item == ReleaseSummary.model_validate(item).model_dump(mode="json")
    assert item == {
        "release_id": created["id"],
        "identifier": created["identifier"],
        "release_type": created["release_type"],
        "name": "Summarised",
        "version": PLAN["version"],
        "status": created["status"],
        "planned_start": PLAN["planned_start"],
        "planned_end": PLAN["planned_end"],
        "release_manager": "rita",
        "stream_version": 1,
        "team": None,
        "services": [],
        "teams": [],
    }


async def test_the_read_models_follow_changes_and_rebuild_from_events(
    api: httpx.AsyncClient, release_settings: Settings, infra: Infra
) -> None:
    created = await api.post("/releases", json=PLAN)
    move = {"planned_start": "2026-12-20", "planned_end": "2026-12-24", "reason": "freeze"}
    path = f"{created.headers['Location']}/schedule"
    assert (await api.put(path, json=move, headers={"If-Match": '"1"'})).status_code == 200
    window = {"environment": "production", "start": "2026-12-21T22:00:00Z"}
    windows = {"windows": [{**window, "end": "2026-12-21T23:00:00Z"}]}
    put_windows = f"{created.headers['Location']}/windows"
    assert (await api.put(put_windows, json=windows, headers={"If-Match": '"2"'})).is_success
    freeze = {"start": "2026-12-24T00:00:00Z", "end": "2026-12-27T00:00:00Z", "reason": "holidays"}
    assert (await api.post("/freezes", json=freeze)).status_code == 201
    policy = {
        "required_validations": ["functional"],
        "approvers": 1,
        "high_risk_approvers": 2,
        "reason": "fewer tests for minor releases",
    }
    await approved(
        api, infra, await api.put("/policies/minor", json=policy, headers={"If-Match": '"0"'})
    )
    reads = ("/releases", "/schedule", "/freezes")
    before = [(await api.get(read)).json() for read in reads]
    assert before[0]["items"][0]["planned_start"] == "2026-12-20"

    db = Database(release_settings.database_url, release_settings.db_schema, "probe")
    schema = release_settings.db_schema
    try:
        async with db.unit_of_work() as uow:
            for table in ("release_list", "deployment_windows", "freeze_periods"):
                await uow.execute(f'DELETE FROM "{schema}".{table}')
            assert await projections.rebuild(uow) == 1
            await uow.commit()
    finally:
        await db.dispose()
    assert [(await api.get(read)).json() for read in reads] == before


async def test_releases_are_numbered_per_year_and_found_by_their_identifier(
    api: httpx.AsyncClient,
) -> None:
    answers = await asyncio.gather(*(api.post("/releases", json=PLAN) for _ in range(4)))
    year = datetime.now(UTC).year
    identifiers = sorted(a.json()["identifier"] for a in answers)
    assert identifiers == [f"REL-{year}-{n:04d}" for n in range(1, 5)]  # no gap, no repeat
    first = next(a for a in answers if a.json()["identifier"] == identifiers[0])
    by_identifier = await api.get(f"/releases/{identifiers[0].lower()}")
    assert by_identifier.json() == first.json()
    assert (await api.get(f"/releases/REL-{year}-9999")).status_code == 404
    listed = (await api.get("/releases")).json()["items"]
    assert sorted(i["identifier"] for i in listed) == identifiers


async def test_a_cancelled_release_is_listed_as_such_and_refuses_changes(
    api: httpx.AsyncClient,
) -> None:
    location = (await api.post("/releases", json=PLAN)).headers["Location"]
    no_etag = await api.post(f"{location}/cancel", json={"reason": "budget cut"})
    assert no_etag.status_code == 428
    cancelled = await api.post(
        f"{location}/cancel", json={"reason": "budget cut"}, headers={"If-Match": '"1"'}
    )
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.headers["ETag"]) == ("cancelled", '"2"')
    again = await api.post(f"{location}/cancel", json={"reason": "x"}, headers={"If-Match": '"2"'})
    assert again.status_code == 409
    assert "cancelled" in again.json()["detail"]
    listed = (await api.get("/releases", params={"status": "cancelled"})).json()["items"]
    assert [i["release_id"] for i in listed] == [cancelled.json()["id"]]


async def test_a_plan_carries_its_type_and_description_and_the_list_filters_by_type(
    api: httpx.AsyncClient,
) -> None:
    emergency = {**PLAN, "release_type": "emergency", "description": "CVE fix\\nfor payments"}
    created = await api.post("/releases", json=emergency)
    assert created.status_code == 201, created.text
    assert (created.json()["release_type"], created.json()["description"]) == (
        "emergency",
        "CVE fix\\nfor payments",
    )
    plain = (await api.post("/releases", json=PLAN)).json()
    assert (plain["release_type"], plain["description"]) == ("minor", "")
    listed = (await api.get("/releases", params={"release_type": "emergency"})).json()["items"]
    assert [i["release_id"] for i in listed] == [created.json()["id"]]
    wrong = await api.post("/releases", json={**PLAN, "release_type": "huge"})
    assert wrong.status_code == 422
    assert "release_type" in wrong.json()["detail"]


async def test_dependencies_refuse_unknown_releases_and_name_a_cycle(
    api: httpx.AsyncClient,
) -> None:
    a, b, c = [(await api.post("/releases", json=PLAN)).json() for _ in range(3)]

    async def depend(release: dict[str, object], on: list[str], version: int) -> httpx.Response:
        return await api.put(
            f"/releases/{release['id']}/dependencies",
            json={"depends_on": on},
            headers={"If-Match": f'"{version}"'},
        )

    assert (await depend(a, [b["id"]], 1)).status_code == 200
    assert (await depend(b, [c["id"]], 1)).status_code == 200
    closing = await depend(c, [a["id"]], 1)
    assert closing.status_code == 422
    detail = closing.json()["detail"]
    assert "depends_on" in detail
    assert f"{c['identifier']} → {a['identifier']} → {b['identifier']} → {c['identifier']}" in (
        detail
    )
    unknown = await depend(c, ["00000000-0000-0000-0000-000000000000"], 1)
    assert unknown.status_code == 422
    shown = (await api.get(f"/releases/{a['id']}")).json()
    assert shown["depends_on"] == [b["id"]]


async def test_two_changes_that_together_close_a_cycle_cannot_both_succeed(
    api: httpx.AsyncClient,
) -> None:
    a, b = [(await api.post("/releases", json=PLAN)).json() for _ in range(2)]
    answers = await asyncio.gather(
        api.put(
            f"/releases/{a['id']}/dependencies",
            json={"depends_on": [b["id"]]},
            headers={"If-Match": '"1"'},
        ),
        api.put(
            f"/releases/{b['id']}/dependencies",
            json={"depends_on": [a["id"]]},
            headers={"If-Match": '"1"'},
        ),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 422]
