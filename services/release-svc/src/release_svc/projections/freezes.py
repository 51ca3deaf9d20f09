"""The freezes' read model: the list of freeze periods, with those in force."""

from __future__ import annotations

from ferry.db import UnitOfWork
from release_svc.adapters import freeze_periods
from release_svc.domain.freezes import Freeze


async def save(uow: UnitOfWork, freeze: Freeze) -> None:
    """Bring the freeze's row up to `freeze` as it now is."""
    await freeze_periods.save(uow, freeze)
