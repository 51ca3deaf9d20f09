"""Command handlers of Early Life Support cases: load the case, let it decide, append,
keep the case list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from els_svc.domain import evaluation
from els_svc.domain.case import ElsCase, OpenCase
from els_svc.projections import cases, signals, support
from ferry import team_table
from ferry.aggregate import at_version, existing, rebuild, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.errors import InvalidField
from ferry.events.deploy import DeploymentCompleted
from ferry.events.els import Aggregate, Criterion, ElsEvent, Period
from ferry.grants import Acting
from ferry.teams import Owned

Decision = Callable[[ElsCase], Sequence[ElsEvent]]
DEFAULT_SUPPORT = timedelta(days=14)
"""Early Life Support's planned length when the release's plan gives none."""


def stream_id(case_id: UUID) -> str:
    return f"{ElsEvent.stream_prefix}-{case_id}"


def case_of(deployment_id: UUID) -> UUID:
    """One case per deployment, so a redelivered `DeploymentCompleted` meets its case."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ferry:els-case:{deployment_id}")


async def get_case(uow: UnitOfWork, case_id: UUID) -> ElsCase:
    missing = f"no Early Life Support case {case_id}"
    return await existing(uow.events, stream_id(case_id), ElsCase(case_id), ElsEvent, missing)


async def open_case(uow: UnitOfWork, event: DeploymentCompleted, meta: Meta) -> ElsCase:
    """Open the case of a completed deployment (`ElsStarted`), with whom to escalate to and
    the planned end from the release's plan; opening it again decides nothing."""
    case_id = case_of(event.deployment_id)
    case = await rebuild(uow.events, stream_id(case_id), ElsCase(case_id), ElsEvent)
    if case.exists:
        return case
    started = event.completed_at or datetime.now(UTC)
    # The release's plan arrived long before (on release.events); a case opened without
    # it escalates to no one until agreed otherwise, and lasts the default.
    contact, els_end = await support.of(uow, event.release_id)
    planned_end = (
        datetime.combine(els_end + timedelta(days=1), time(), UTC)
        if els_end and els_end >= started.date()
        else started + DEFAULT_SUPPORT
    )
    cmd = OpenCase(
        case_id,
        event.release_id,
        event.environment,
        event.deployment_id,
        started,
        planned_end,
        contact,
        event.services,
    )
    await record(uow.events, stream_id(case_id), case, case.open(cmd), meta)
    await cases.save(uow, case)
    return case


async def with_baselines(
    uow: UnitOfWork, case: ElsCase, proposed: Sequence[Mapping[str, Any]]
) -> list[Criterion]:
    """The proposed criteria, each without a `baseline` given one computed from the signals
    of the periods before the deployment."""
    assert case.started_at is not None
    criteria = []
    for i, fields in enumerate(proposed):
        if fields.get("baseline") is None:
            period, aggregate = Period(fields["period"]), Aggregate(fields["aggregate"])
            since, until = evaluation.baseline_window(period, case.started_at)
            seen = await signals.before(
                uow, case.services, case.environment, fields["metric"], since, until
            )
            computed = evaluation.computed_baseline(
                fields["metric"], aggregate, period, seen, case.started_at
            )
            if computed is None:
                raise InvalidField(
                    f"criteria.{i}.baseline",
                    f"nothing observed of {fields['metric']} before the deployment to compute "
                    "it from: give one",
                )
            fields = {**fields, "baseline": computed}
        criteria.append(Criterion(**fields))
    return criteria


async def change(
    uow: UnitOfWork,
    case_id: UUID,
    expected_version: int | None,
    meta: Meta,
    decide: Decision,
    acting: Acting | None,
) -> ElsCase:
    """Let the case (at `expected_version`, if given) decide, if `acting` may act for a
    team owning its environment or one of its services (None: no team to check, for
    feedback anyone gives and the service's own work); append; keep the list."""
    missing = f"no Early Life Support case {case_id}"
    if expected_version is None:
        case = await get_case(uow, case_id)
    else:
        blank = ElsCase(case_id)
        case = await at_version(
            uow.events, stream_id(case_id), blank, ElsEvent, missing, expected_version
        )
    if acting is not None:
        acting.on(await owners(uow, case), f"the Early Life Support case of {case.environment}")
    await record(uow.events, stream_id(case_id), case, decide(case), meta)
    await cases.save(uow, case)
    return case


async def owners(uow: UnitOfWork, case: ElsCase) -> frozenset[str]:
    """The teams owning the case's environment or one of its services."""
    environment = await team_table.owners(uow, Owned.ENVIRONMENT, [case.environment])
    return environment | await team_table.owners(uow, Owned.SERVICE, case.services)
