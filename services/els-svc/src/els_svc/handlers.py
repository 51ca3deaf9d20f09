"""els-svc's handlers: load the case, let it decide, append, keep the case list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from els_svc.adapters import cases, support
from els_svc.domain.case import ElsCase, OpenCase
from ferry.aggregate import at_version, existing, rebuild, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.events.deploy import DeploymentCompleted
from ferry.events.els import ElsEvent

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


async def change(
    uow: UnitOfWork, case_id: UUID, expected_version: int | None, meta: Meta, decide: Decision
) -> ElsCase:
    """Let the case (at `expected_version`, if given) decide; append; keep the list."""
    missing = f"no Early Life Support case {case_id}"
    if expected_version is None:
        case = await get_case(uow, case_id)
    else:
        blank = ElsCase(case_id)
        case = await at_version(
            uow.events, stream_id(case_id), blank, ElsEvent, missing, expected_version
        )
    await record(uow.events, stream_id(case_id), case, decide(case), meta)
    await cases.save(uow, case)
    return case
