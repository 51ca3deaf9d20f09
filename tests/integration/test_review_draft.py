"""The post-implementation review drafted from what deploy-svc and els-svc reported on their
topics, and a review that leaves the record to it; against real PostgreSQL and Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from ferry.db import Database
from ferry.events.deploy import DeploymentCompleted, DeploymentFailed, EnvironmentDefined
from ferry.events.els import (
    ElsEscalated,
    ElsExited,
    ElsFeedbackGiven,
    ElsIncidentLinked,
    ElsStarted,
)
from release_svc.config import Settings
from tests.support.infra import Infra
from tests.support.releases import available
from tests.support.services import eventually, publish, read_topic
from tests.support.stored import store

STARTED = datetime(2026, 12, 10, 9, tzinfo=UTC)
EXITED = STARTED + timedelta(days=8, hours=12)


async def available_release(s: Settings) -> UUID:
    """A release rita manages, approved and available, stored as release-svc stores one."""
    db = Database(s.database_url, s.db_schema, "release-svc")
    try:
        return await store(db, available())
    finally:
        await db.dispose()


async def status_is(api: httpx.AsyncClient, path: str, status: str) -> httpx.Response:
    async def reached() -> httpx.Response | None:
        answer = await api.get(path)
        return answer if answer.json()["status"] == status else None

    return await eventually(reached, what=f"the release to be {status}")


async def test_the_review_is_drafted_from_deployments_and_early_life_support(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    s = release_settings
    release_id = await available_release(s)
    path = f"/releases/{release_id}"
    empty = await api.get(f"{path}/review/draft")
    assert empty.status_code == 200, empty.text
    assert empty.json()["deployment_outcome"] == "no deployment was reported"

    production = uuid4()
    on_deploy = s.topic("deploy.events")
    await publish(
        infra,
        on_deploy,
        EnvironmentDefined(environment="production", production=True, targets=[]),
        DeploymentFailed(
            deployment_id=uuid4(), release_id=release_id, environment="staging", reason="smoke"
        ),
        DeploymentCompleted(
            deployment_id=production,
            release_id=release_id,
            environment="production",
            completed_at=STARTED - timedelta(hours=1),
        ),
    )
    await status_is(api, path, "deployed")
    case: dict[str, Any] = {
        "case_id": uuid4(),
        "release_id": release_id,
        "environment": "production",
    }
    await publish(
        infra,
        s.topic("els.events"),
        ElsStarted(**case, deployment_id=production, started_at=STARTED),
        ElsIncidentLinked(**case, reference="INC-7"),
        ElsIncidentLinked(**case, reference="PRB-2", kind="problem"),
        ElsEscalated(
            **case, metric="desk_calls", period_start=STARTED, value=40, limit=20, contact="ops"
        ),
        ElsFeedbackGiven(**case, rating=5, comment="smooth", given_by="desk"),
        ElsFeedbackGiven(**case, rating=2, comment="late notice", given_by="ops"),
        ElsExited(**case, accepted_by="olly", exited_at=EXITED),
    )
    waiting = await status_is(api, path, "ready_for_review")

    async def drafted() -> dict[str, Any] | None:
        answer = (await api.get(f"{path}/review/draft")).json()
        complete = answer["els_duration_days"] is not None and len(answer["feedback"]) == 2
        return answer if complete and len(answer["deployments"]) == 2 else None

    draft = await eventually(drafted, what="the draft to hold the whole record")
    assert draft["deployment_outcome"].startswith("staging: failed on ")
    assert draft["deployment_outcome"].endswith("production: completed on 2026-12-10")
    assert (draft["incidents_during_els"], draft["incidents"]) == (1, ["INC-7"])
    assert (draft["els_duration_days"], draft["els_escalations"]) == (8.5, 1)
    assert draft["satisfaction"] == 3.5
    assert [f["comment"] for f in draft["feedback"]] == ["smooth", "late notice"]
    dates = {d["milestone"]: d["actual"] for d in draft["dates"]}
    assert dates == {
        "deployed": "2026-12-10",
        "early life support started": "2026-12-10",
        "early life support ended": "2026-12-18",
    }

    # The reviewer judges; the record fills the rest, but what they say wins.
    findings = {"objectives_met": True, "incidents_during_els": 2, "went_well": ["canary"]}
    reviewed = await api.post(
        f"{path}/review", json=findings, headers={"If-Match": waiting.headers["ETag"]}
    )
    assert reviewed.status_code == 200, reviewed.text
    review = reviewed.json()["review"]
    assert review["deployment_outcome"] == draft["deployment_outcome"]
    assert (review["incidents_during_els"], review["els_duration_days"]) == (2, 8.5)
    assert (review["satisfaction"], review["feedback_count"], review["els_escalations"]) == (
        3.5,
        2,
        1,
    )
    published = await read_topic(infra.kafka, s.topic("release.events"), expect=13)
    [event] = [e for e in published if e.type == "ReleaseReviewed"]
    assert (event.data["satisfaction"], event.data["feedback_count"]) == (3.5, 2)
    assert event.data["els_escalations"] == 1


async def test_a_draft_of_a_release_never_planned_is_not_found(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"/releases/{uuid4()}/review/draft")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
