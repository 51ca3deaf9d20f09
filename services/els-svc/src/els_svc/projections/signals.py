"""The signals operations' tools sent, whatever case they counted for: a baseline can be
computed from those of the periods before a deployment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from els_svc.domain.evaluation import Observation
from ferry.db import UnitOfWork
from ferry.events.els import MetricObserved


async def keep(uow: UnitOfWork, signal: MetricObserved) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".signals '
        "(signal_id, service, environment, metric, value, observed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (signal_id) DO NOTHING",
        signal.signal_id,
        signal.service,
        signal.environment,
        signal.metric,
        signal.value,
        signal.observed_at,
    )


async def before(
    uow: UnitOfWork,
    services: Sequence[str],
    environment: str,
    metric: str,
    since: datetime,
    until: datetime,
) -> list[Observation]:
    rows = await uow.fetch(
        f'SELECT metric, value, observed_at FROM "{uow.schema}".signals '
        "WHERE service = ANY($1::text[]) AND environment = $2 AND metric = $3 "
        "AND observed_at >= $4 AND observed_at < $5",
        list(services),
        environment,
        metric,
        since,
        until,
    )
    return [Observation(r["metric"], r["value"], r["observed_at"]) for r in rows]
