"""Freeze periods: what they cover, and their life from declared to lifted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, InvalidTransition, NotFound
from ferry.events.policy import FreezePeriodLifted
from ferry.events.release import DeploymentWindow
from ferry.freezes import FreezePeriod
from ferry.testing import InMemoryUnitOfWork
from release_svc.domain.freezes import Freeze, FreezeAlreadyDeclared, covering
from release_svc.domain.plan import InvalidPlan
from release_svc.handlers import freezes as freeze_handlers

META = Meta(actor="carl", correlation_id="c-1")
START = datetime(2026, 12, 20, tzinfo=UTC)
END = datetime(2027, 1, 2, tzinfo=UTC)


def period(environments: set[str] | None = None, services: set[str] | None = None) -> FreezePeriod:
    return FreezePeriod(
        uuid4(), START, END, "year end", frozenset(environments or ()), frozenset(services or ())
    )


def window(start: datetime, hours: float = 2, environment: str = "production") -> DeploymentWindow:
    return DeploymentWindow(
        environment=environment, start=start, end=start + timedelta(hours=hours)
    )


def test_a_window_touching_the_freeze_only_at_its_edges_is_not_covered() -> None:
    year_end = period()
    assert not year_end.covers(window(START - timedelta(hours=2)), set())  # ends as it begins
    assert not year_end.covers(window(END), set())  # begins as it ends
    assert year_end.covers(window(START - timedelta(hours=1)), set())  # reaches into it
    assert year_end.covers(window(START - timedelta(days=1), hours=24 * 30), set())  # spans it


def test_times_in_other_offsets_compare_as_the_same_moments() -> None:
    berlin = timezone(timedelta(hours=1))
    # 00:30 in Berlin on the 20th is 23:30 UTC on the 19th: before the freeze.
    assert not period().covers(window(datetime(2026, 12, 20, 0, 0, tzinfo=berlin), 0.5), set())
    assert period().covers(window(datetime(2026, 12, 20, 1, 30, tzinfo=berlin), 1), set())


def test_a_freeze_of_some_services_leaves_a_release_without_them_alone() -> None:
    payments = period(services={"payments"})
    assert payments.covers(window(START), {"payments", "ledger"})
    assert not payments.covers(window(START), {"ledger"})
    assert not payments.covers(window(START), set())  # a release that names no service
    assert period().covers(window(START), set())  # …but a freeze of every service covers it


def test_covering_picks_the_freezes_of_the_windows_environment() -> None:
    production, staging, everywhere = (
        period({"production"}),
        period({"staging"}),
        period(),
    )
    found = covering([production, staging, everywhere], window(START), {"payments"})
    assert found == [production, everywhere]


def test_a_freeze_must_end_after_it_starts_and_is_declared_once() -> None:
    backwards = FreezePeriod(uuid4(), END, START, "oops")
    with pytest.raises(InvalidPlan) as refused:
        Freeze(backwards.freeze_id).declare(backwards)
    assert refused.value.field == "end"
    year_end = period()
    freeze = Freeze(year_end.freeze_id)
    for event in freeze.declare(year_end):
        freeze.apply(event)
    assert (freeze.period, freeze.version) == (year_end, 1)
    with pytest.raises(FreezeAlreadyDeclared):
        freeze.declare(year_end)


async def test_declared_then_a_lift_proposed_at_the_version_read() -> None:
    uow = InMemoryUnitOfWork()
    year_end = period({"production"}, {"payments"})
    declared = await freeze_handlers.declare_freeze(year_end, uow, META)
    assert (declared.version, declared.lifted) == (1, False)
    with pytest.raises(ConcurrencyError):
        await freeze_handlers.lift_change(declared.id, "peak over", 7, uow)
    change = await freeze_handlers.lift_change(declared.id, "peak over", 1, uow)
    assert (change.subject, change.subject_version) == (f"freeze-{declared.id}", 1)
    assert change.effect == FreezePeriodLifted(freeze_id=declared.id, reason="peak over")
    # What approving the proposal records (`ferry.proposals.approve`).
    await uow.events.append(change.subject, change.subject_version, [change.effect], META)
    with pytest.raises(InvalidTransition):
        await freeze_handlers.lift_change(declared.id, "again", 2, uow)
    reloaded = await freeze_handlers.get_freeze(uow, declared.id)
    assert (reloaded.period, reloaded.lifted, reloaded.lift_reason) == (year_end, True, "peak over")
    assert [e.type for e in uow.events.published] == ["FreezePeriodDeclared", "FreezePeriodLifted"]
    assert uow.events.published[0].subject == str(year_end.freeze_id)


async def test_an_unknown_freeze_is_not_found() -> None:
    with pytest.raises(NotFound):
        await freeze_handlers.lift_change(uuid4(), "x", 1, InMemoryUnitOfWork())
