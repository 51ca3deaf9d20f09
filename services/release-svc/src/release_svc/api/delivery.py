"""The delivery metrics, computed from what deploy-svc reported on `deploy.events`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ferry.auth import Reader
from ferry.events.release import ReleaseType
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.http import problem_responses
from ferry.service import UoW
from release_svc.adapters import delivery, els_record, release_list
from release_svc.domain.delivery import (
    Benefits,
    Durations,
    FailureRate,
    Metrics,
    Period,
    benefits,
    failure_rate_by_risk,
    measure,
)

router = APIRouter(tags=["metrics"])


class FrequencyOut(BaseModel):
    deployments: int
    """Deployments that completed in the period."""
    per_day: float
    per_week: float


class DurationsOut(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, durations: Durations) -> DurationsOut:
        return cls(
            count=durations.count,
            median_seconds=durations.median_seconds,
            p90_seconds=durations.p90_seconds,
        )


class FailureRateOut(BaseModel):
    finished: int
    """Deployments that ended in the period, however they ended."""
    failed: int
    """Of those, the ones that failed, were aborted or were rolled back."""
    rate: float | None
    """failed ÷ finished; null when none finished."""


class RestoreOut(DurationsOut):
    unrestored: int
    """Failures with no completed deployment in their environment since."""


class DayOut(BaseModel):
    day: date
    completed: int
    failed: int


class BenefitsOut(BaseModel):
    """For the releases whose first completed deployment to these environments fell in the
    period: their dates against plan, reviews and improvement actions."""

    releases: int
    on_time: int
    late: int
    """First completed deployment after the planned end."""
    median_days_late: float | None
    reviewed: int
    awaiting_review: int
    actions: int
    """Improvement actions their reviews raised."""
    actions_done: int
    actions_overdue: int
    incidents: int
    """Incidents linked to their Early Life Support cases."""
    desk_calls: float
    """Desk calls observed during their Early Life Support (`desk_calls` signals)."""
    els_overruns: int
    """Those whose support ran past its first planned end."""


class DeliveryMetricsOut(BaseModel):
    """Deployment frequency, lead time, change failure rate and time to restore."""

    start: datetime
    end: datetime
    days: int
    environments: list[str]
    deployment_frequency: FrequencyOut
    lead_time: DurationsOut
    """From a release's plan to its first completed deployment in these environments, for
    the releases whose first one completed in the period."""
    change_failure_rate: FailureRateOut
    time_to_restore: RestoreOut
    """From a failed or rolled-back deployment to the next completed one in its
    environment."""
    by_day: list[DayOut]
    """Deployments that ended each day (UTC) of the period, by outcome."""
    change_failure_rate_by_risk: dict[str, FailureRateOut]
    """The change failure rate per the risk level the releases were assessed at (`low`,
    `medium`, `high`, `unassessed`)."""
    unauthorised_changes: int
    """Changes behind Ferry's back deploy-svc detected in these environments in the period."""
    benefits: BenefitsOut
    team: str | None
    release_type: str | None
    """The releases measured: a team's (planned for it), a type; null: all."""

    @classmethod
    def of(
        cls,
        metrics: Metrics,
        days: int,
        environments: list[str],
        by_risk: dict[str, FailureRate],
        unauthorised: int,
        gained: Benefits,
        team: str | None,
        release_type: str | None,
    ) -> DeliveryMetricsOut:
        restore = metrics.time_to_restore
        return cls(
            start=metrics.period.start,
            end=metrics.period.end,
            days=days,
            environments=environments,
            deployment_frequency=FrequencyOut(
                deployments=metrics.deployments,
                per_day=metrics.per_day,
                per_week=metrics.per_week,
            ),
            lead_time=DurationsOut.of(metrics.lead_time),
            change_failure_rate=FailureRateOut(
                finished=metrics.finished, failed=metrics.failed, rate=metrics.change_failure_rate
            ),
            time_to_restore=RestoreOut(
                count=restore.count,
                median_seconds=restore.median_seconds,
                p90_seconds=restore.p90_seconds,
                unrestored=metrics.unrestored,
            ),
            by_day=[
                DayOut(day=d.day, completed=d.completed, failed=d.failed) for d in metrics.days
            ],
            change_failure_rate_by_risk={
                level: FailureRateOut(finished=r.finished, failed=r.failed, rate=r.rate)
                for level, r in by_risk.items()
            },
            unauthorised_changes=unauthorised,
            benefits=BenefitsOut(**dataclasses.asdict(gained)),
            team=team,
            release_type=release_type,
        )


@router.get(
    "/delivery-metrics",
    response_model=DeliveryMetricsOut,
    responses=problem_responses(
        {
            401: "No valid bearer token",
            403: "The caller has no Ferry role",
            422: "Invalid parameter; `errors` names each",
        }
    ),
)
async def delivery_metrics(
    uow: UoW,
    _: Reader,
    days: Annotated[
        int, Query(ge=1, le=3660, description="the period: this many days to now")
    ] = 30,
    environment: Annotated[
        list[str] | None,
        Query(
            description="environments to measure (repeatable); by default those deploy-svc "
            "marks production",
        ),
    ] = None,
    team: Annotated[
        str | None, Query(pattern=TEAM_NAME_PATTERN, description="only its releases")
    ] = None,
    release_type: Annotated[ReleaseType | None, Query(description="only these")] = None,
) -> DeliveryMetricsOut:
    """The four delivery metrics over the last `days` days, from the deployments deploy-svc
    reported: deployment frequency, lead time from plan to production (median and 90th
    percentile), change failure rate (also per risk level), and time to restore (median);
    and the unauthorised changes deploy-svc detected there."""
    period = Period.last(days, datetime.now(UTC))
    async with uow:
        environments = environment or await delivery.production_environments(uow)
        deployments = await delivery.deployments(uow, environments)
        releases = await release_list.measured(uow, sorted({d.release_id for d in deployments}))
        if team is not None or release_type is not None:
            releases = {
                r: m
                for r, m in releases.items()
                if team in (None, m.team) and release_type in (None, m.release_type)
            }
            deployments = [d for d in deployments if d.release_id in releases]
        planned = await delivery.planned_at(uow, sorted(releases))
        support = await els_record.measures(uow, sorted(releases), period.end)
        releases = {r: dataclasses.replace(m, support=support[r]) for r, m in releases.items()}
        unauthorised = await delivery.unauthorised_changes(
            uow, environments, period.start, period.end
        )
    metrics = measure(deployments, planned, period)
    risk_of = {r: m.risk for r, m in releases.items()}
    by_risk = failure_rate_by_risk(deployments, risk_of, period)
    gained = benefits(deployments, releases, period)
    type_name = str(release_type) if release_type else None
    return DeliveryMetricsOut.of(
        metrics, days, sorted(set(environments)), by_risk, unauthorised, gained, team, type_name
    )
