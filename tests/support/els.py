"""Early Life Support cases for tests: one opened as in life, by a release planned and then
deployed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from els_svc.config import Settings
from ferry.events.deploy import DeploymentCompleted
from ferry.events.release import Activity, Span
from ferry.testing import release_planned
from tests.support.infra import Infra
from tests.support.services import eventually, publish

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def opened_case(infra: Infra, s: Settings, els: httpx.AsyncClient) -> dict[str, Any]:
    """A release planned with an escalation contact and ELS dates, then deployed."""
    release_id, deployment_id = uuid4(), uuid4()
    today = START.date()
    plan = release_planned(
        release_id=release_id,
        planned_start=today,
        planned_end=today + timedelta(days=10),
        escalation_contact="payments-oncall",
        activities={Activity.EARLY_LIFE_SUPPORT: Span(start=today, end=today + timedelta(days=6))},
    )
    await publish(infra, s.topic("release.events"), plan)

    async def known() -> bool:  # the plan comes days before the deployment, in life
        return (await els.get(f"/catalog/releases/{release_id}")).status_code == 200

    await eventually(known, what="els-svc to learn of the release")
    completed = DeploymentCompleted(
        deployment_id=deployment_id,
        release_id=release_id,
        environment="production",
        services=["payments"],
        completed_at=START,
        deployed_by="dora",
    )
    await publish(infra, s.topic("deploy.events"), completed)

    async def case() -> dict[str, Any] | None:
        found = (await els.get("/cases", params={"release_id": str(release_id)})).json()
        return found[0] if found else None

    return await eventually(case, what="the case to open")
