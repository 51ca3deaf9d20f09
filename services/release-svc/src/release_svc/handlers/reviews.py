"""What a release's review is drafted from: the read models other services' events keep."""

from __future__ import annotations

from uuid import UUID

from ferry.db import UnitOfWork
from release_svc.adapters import delivery, els_record
from release_svc.domain.review_draft import Record


async def record_of(uow: UnitOfWork, release_id: UUID) -> Record:
    """The release's deployments and Early Life Support, as deploy-svc and els-svc told."""
    return Record(
        deployments=await delivery.deployments_of(uow, release_id),
        cases=await els_record.cases_of(uow, release_id),
        feedback=await els_record.feedback_of(uow, release_id),
        production=frozenset(await delivery.production_environments(uow)),
    )
