"""The delivery metrics, computed from what deploy-svc reported on `deploy.events`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ferry.auth import Reader
from ferry.http import problem_responses
from ferry.service import UoW
from release_svc.adapters import delivery, release_list
from release_svc.domain.delivery import (
    Durations,
    FailureRate,
    Metrics,
    Period,
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

    @classmethod
    def of(
        cls,
        metrics: Metrics,
        days: int,
        environments: list[str],
        by_risk: dict[str, FailureRate],
        unauthorised: int,
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
) -> DeliveryMetricsOut:
    """The four delivery metrics over the last `days` days, from the deployments deploy-svc
    reported: deployment frequency, lead time from plan to production (median and 90th
    percentile), change failure rate (also per risk level), and time to restore (median);
    and the unauthorised changes deploy-svc detected there."""
    period = Period.last(days, datetime.now(UTC))
    async with uow:
        environments = environment or await delivery.production_environments(uow)
        deployments = await delivery.deployments(uow, environments)
        released = sorted({d.release_id for d in deployments})
        planned = await delivery.planned_at(uow, released)
        risk_of = await release_list.risks(uow, released)
        unauthorised = await delivery.unauthorised_changes(
            uow, environments, period.start, period.end
        )
    metrics = measure(deployments, planned, period)
    by_risk = failure_rate_by_risk(deployments, risk_of, period)
    return DeliveryMetricsOut.of(metrics, days, sorted(set(environments)), by_risk, unauthorised)
