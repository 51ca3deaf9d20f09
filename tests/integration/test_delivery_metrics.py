"""Delivery metrics from the deployments deploy-svc reports on `deploy.events`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from ferry.db import driver_dsn
from ferry.events import Event
from ferry.events.deploy import (
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentRolledBack,
    EnvironmentDefined,
    UnauthorisedChangeDetected,
)
from ferry.events.els import ElsIncidentLinked, ElsObservationRecorded, ElsStarted
from ferry.kafka import Message, Publisher
from ferry.testing import envelope_for
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, publish, serving, settings

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
PLAN = {"version": "1.0", "planned_start": "2026-12-01", "planned_end": "2026-12-02"}


async def publish_at(infra: Infra, topic: str, *timed: tuple[Event, datetime]) -> None:
    """Publish each event as deploy-svc would have at the time given (signed by it)."""
    publisher = Publisher(infra.kafka, "test-publisher")
    try:
        envelopes = [
            infra.as_owner(
                envelope_for(event, actor="service:deploy-svc").model_copy(update={"time": at})
            )
            for event, at in timed
        ]
        await publisher.publish([Message(topic, e.subject, e.to_json()) for e in envelopes])
    finally:
        await publisher.close()


def of(release: uuid.UUID, environment: str = "production") -> dict[str, Any]:
    return {"deployment_id": uuid.uuid4(), "release_id": release, "environment": environment}


def web(environment: str) -> dict[str, str]:
    return {"environment": environment, "target": "web-1"}


async def test_the_four_metrics_come_from_the_deployments_reported(
    infra: Infra, topic_prefix: str
) -> None:
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    manager = infra.issuer.bearer("rita", "release-manager")
    async with serving(spec, headers=infra.issuer.bearer("vic", "viewer")) as api:
        a, b, c = [
            uuid.UUID(
                (await api.post("/releases", json={**PLAN, "name": n}, headers=manager)).json()[
                    "id"
                ]
            )
            for n in ("A", "B", "C")
        ]
        for release, level in ((a, "high"), (c, "medium")):  # B is not assessed
            risk = {"likelihood": level, "impact": level}
            assessed = await api.put(
                f"/releases/{release}/risk", json=risk, headers={**manager, "If-Match": '"1"'}
            )
            assert assessed.status_code == 200, assessed.text
        now = datetime.now(UTC)
        b3 = of(b)
        await publish_at(
            infra,
            f"{topic_prefix}deploy.events",
            (EnvironmentDefined(environment="production", production=True, targets=[]), now),
            (EnvironmentDefined(environment="production-eu", production=True, targets=[]), now),
            (EnvironmentDefined(environment="staging", production=False, targets=[]), now),
            # A reaches production now, after it was planned: its lead time.
            (DeploymentCompleted(**of(a), completed_at=now), now),
            (DeploymentCompleted(**of(a, "staging"), completed_at=now - DAY), now - DAY),
            # B was first deployed long ago; a new deployment is rolled back, the next is good.
            (DeploymentCompleted(**of(b), completed_at=now - 40 * DAY), now - 40 * DAY),
            (DeploymentRolledBack(**of(b)), now - 2 * DAY),
            (DeploymentCompleted(**b3, completed_at=now - DAY), now - DAY),
            # C fails in another production environment, with nothing good there since.
            (DeploymentFailed(**of(c, "production-eu"), reason="media did not verify"), now),
            # A redelivery of B's good deployment, as a replay of the topic would bring.
            (DeploymentCompleted(**b3, completed_at=now - DAY), now - DAY),
            # Changes behind Ferry's back: one in production, one in staging.
            (UnauthorisedChangeDetected(**web("production"), expected="1", found="0"), now),
            (UnauthorisedChangeDetected(**web("staging"), expected="1", found="0"), now),
        )

        # A's Early Life Support: an incident, seven desk calls, past its planned end.
        case = {"case_id": uuid.uuid4(), "release_id": a, "environment": "production"}
        await publish(
            infra,
            f"{topic_prefix}els.events",
            ElsStarted(**case, started_at=now - DAY, planned_end=now - HOUR),
            ElsIncidentLinked(**case, reference="INC-1"),
            ElsIncidentLinked(**case, reference="PRB-1", kind="problem"),
            ElsObservationRecorded(
                **case, observation_id="d-1", metric="desk_calls", value=7, observed_at=now
            ),
            ElsObservationRecorded(
                **case, observation_id="e-1", metric="error_rate", value=3, observed_at=now
            ),
        )

        async def all_counted() -> dict[str, Any] | None:
            answer = await api.get("/delivery-metrics")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            counted = body["change_failure_rate"]["finished"] == 4
            supported = body["benefits"]["desk_calls"] == 7 and body["benefits"]["incidents"]
            return body if counted and supported and body["unauthorised_changes"] == 1 else None

        metrics = await eventually(all_counted, what="the deployments counted")
        by_risk = metrics["change_failure_rate_by_risk"]
        assert by_risk == {
            "high": {"finished": 1, "failed": 0, "rate": 0.0},
            "medium": {"finished": 1, "failed": 1, "rate": 1.0},
            "unassessed": {"finished": 2, "failed": 1, "rate": 0.5},
        }
        assert metrics["environments"] == ["production", "production-eu"]
        assert metrics["days"] == 30
        assert metrics["deployment_frequency"]["deployments"] == 2
        assert metrics["deployment_frequency"]["per_week"] == 2 * 7 / 30
        assert metrics["change_failure_rate"] == {"finished": 4, "failed": 2, "rate": 0.5}
        restore = metrics["time_to_restore"]
        assert (restore["count"], restore["median_seconds"], restore["unrestored"]) == (
            1,
            DAY.total_seconds(),
            1,
        )
        lead = metrics["lead_time"]
        assert lead["count"] == 1  # B's first production deployment was before the period
        assert 0 <= lead["median_seconds"] < 60
        assert len(metrics["by_day"]) == 31
        assert metrics["by_day"][-1] == {"day": now.date().isoformat(), "completed": 1, "failed": 1}

        # A, the one release first deployed in the period, went live after its planned end.
        late = (now.date() - date.fromisoformat(PLAN["planned_end"])).days
        assert metrics["benefits"] == {
            "releases": 1,
            "on_time": 0 if late > 0 else 1,
            "late": 1 if late > 0 else 0,
            "median_days_late": late if late > 0 else None,
            "reviewed": 0,
            "awaiting_review": 0,
            "actions": 0,
            "actions_done": 0,
            "actions_overdue": 0,
            "incidents": 1,
            "desk_calls": 7,
            "els_overruns": 1,
        }
        minor = (await api.get("/delivery-metrics", params={"release_type": "minor"})).json()
        assert minor["change_failure_rate"] == metrics["change_failure_rate"]
        assert minor["release_type"] == "minor"
        theirs = (await api.get("/delivery-metrics", params={"team": "payments"})).json()
        assert theirs["change_failure_rate"]["finished"] == 0  # none planned for payments
        assert theirs["unauthorised_changes"] == 1  # a fact of the environment, not a release

        async def staging_counted() -> dict[str, Any] | None:
            # Its events are on other partitions than production's: they may come later.
            answer = await api.get("/delivery-metrics", params={"environment": "staging"})
            body: dict[str, Any] = answer.json()
            return body if body["deployment_frequency"]["deployments"] == 1 else None

        staging = await eventually(staging_counted, what="the staging deployment counted")
        assert staging["environments"] == ["staging"]
        last_day = (await api.get("/delivery-metrics", params={"days": 1})).json()
        assert last_day["deployment_frequency"]["deployments"] == 1


async def test_deployments_release_svc_handled_before_the_metrics_existed_count(
    infra: Infra, topic_prefix: str
) -> None:
    """An upgrade: release-svc's main consumer had handled the deployment before the read
    model existed; the read model's own consumer still reads it from the topic."""
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    viewer = infra.issuer.bearer("vic", "viewer")
    before = replace(spec, projections={})
    async with serving(before, headers=viewer):
        now = datetime.now(UTC)
        await publish_at(
            infra,
            f"{topic_prefix}deploy.events",
            (EnvironmentDefined(environment="production", production=True, targets=[]), now),
            (DeploymentCompleted(**of(uuid.uuid4()), completed_at=now), now),
        )

        async def handled() -> int | None:
            conn = await asyncpg.connect(driver_dsn(infra.database_url))
            try:
                count = await conn.fetchval(
                    f'SELECT count(*) FROM "{spec.settings.db_schema}".inbox '
                    "WHERE consumer = 'release-svc'"
                )
            finally:
                await conn.close()
            return int(count) if count else None

        await eventually(handled, what="release-svc's consumer to handle the deployment")
    async with serving(spec, headers=viewer) as api:

        async def counted() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get("/delivery-metrics")).json()
            return body if body["deployment_frequency"]["deployments"] == 1 else None

        metrics = await eventually(counted, what="the earlier deployment counted")
        assert metrics["environments"] == ["production"]


async def test_the_period_is_checked(infra: Infra, topic_prefix: str) -> None:
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    async with serving(spec, headers=infra.issuer.bearer("aud", "auditor")) as api:
        for days in ("0", "x", "100000"):
            answer = await api.get("/delivery-metrics", params={"days": days})
            assert answer.status_code == 422, days
            assert answer.headers["content-type"] == "application/problem+json"
        empty = (await api.get("/delivery-metrics")).json()
        assert empty["environments"] == []
        assert empty["change_failure_rate"]["rate"] is None


async def test_the_dashboard_page_and_its_files_need_no_token(
    infra: Infra, topic_prefix: str
) -> None:
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    async with serving(spec) as api:
        page = await api.get("/dashboard")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for name in ("app.js", "api.js", "sse.js", "fold.js", "charts.js", "dom.js"):
            script = await api.get(f"/dashboard/{name}")
            assert script.status_code == 200, name
            assert script.headers["content-type"].startswith("text/javascript")
        assert (await api.get("/dashboard/dashboard.css")).status_code == 200
        for missing in ("nothing.js", "..%2Fmain.py", "__init__.py"):
            answer = await api.get(f"/dashboard/{missing}")
            assert answer.status_code == 404, missing
        # The data behind it does.
        assert (await api.get("/delivery-metrics")).status_code == 401
