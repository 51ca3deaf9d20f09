"""Conflicts in the deployment schedule: overlaps, freezes, dependency order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from ferry.events.release import DeploymentWindow
from ferry.freezes import FreezePeriod
from release_svc.domain.lifecycle import Status
from release_svc.domain.schedule import ConflictKind, Entry, conflicts_of

DAY = datetime(2026, 12, 3, 22, tzinfo=UTC)


def entry(
    identifier: str,
    start: datetime = DAY,
    *,
    hours: int = 2,
    environment: str = "production",
    services: set[str] | None = None,
    depends_on: set[UUID] | None = None,
    status: Status = Status.PLANNED,
    overridden: set[UUID] | None = None,
    deployed: bool = False,
) -> Entry:
    return Entry(
        release_id=uuid4(),
        identifier=identifier,
        window=DeploymentWindow(
            environment=environment, start=start, end=start + timedelta(hours=hours)
        ),
        status=status,
        services=frozenset({"payments"} if services is None else services),
        depends_on=frozenset(depends_on or ()),
        overridden_freezes=frozenset(overridden or ()),
        deployed=deployed,
    )


def freeze(services: set[str] | None = None) -> FreezePeriod:
    return FreezePeriod(
        uuid4(),
        DAY - timedelta(days=1),
        DAY + timedelta(days=1),
        "peak",
        frozenset(),
        frozenset(services or ()),
    )


def test_overlapping_windows_changing_one_service_in_one_environment_clash_both_ways() -> None:
    a = entry("REL-2026-0001", services={"payments", "ledger"})
    b = entry("REL-2026-0002", DAY + timedelta(hours=1), services={"ledger"})
    [seen_from_a] = conflicts_of(a, [a, b], [])
    [seen_from_b] = conflicts_of(b, [a, b], [])
    assert seen_from_a == seen_from_b
    assert seen_from_a.kind is ConflictKind.OVERLAP
    assert seen_from_a.releases == ("REL-2026-0001", "REL-2026-0002")
    assert "ledger" in seen_from_a.detail


def test_no_clash_without_a_shared_service_another_environment_or_back_to_back() -> None:
    a = entry("REL-2026-0001")
    others = [
        entry("REL-2026-0002", services={"ledger"}),
        entry("REL-2026-0003", environment="staging"),
        entry("REL-2026-0004", DAY + timedelta(hours=2)),  # opens as a closes
        entry("REL-2026-0005", services=set()),
    ]
    assert conflicts_of(a, [a, *others], []) == []


def test_cancelled_closed_and_deployed_windows_clash_no_more() -> None:
    a = entry("REL-2026-0001")
    gone = [
        entry("REL-2026-0002", status=Status.CANCELLED),
        entry("REL-2026-0003", status=Status.CLOSED),
        entry("REL-2026-0004", status=Status.DEPLOYED, deployed=True),
    ]
    assert conflicts_of(a, [a, *gone], []) == []
    assert all(conflicts_of(g, [a, *gone], [freeze()]) == [] for g in gone)


def test_a_window_in_a_freeze_in_force_is_flagged_unless_overridden() -> None:
    peak = freeze()
    [flagged] = conflicts_of(entry("REL-2026-0001"), [], [peak])
    assert (flagged.kind, flagged.freeze_id, flagged.releases) == (
        ConflictKind.FREEZE,
        peak.freeze_id,
        ("REL-2026-0001",),
    )
    assert "peak" in flagged.detail
    assert conflicts_of(entry("REL-2026-0002", overridden={peak.freeze_id}), [], [peak]) == []
    assert conflicts_of(entry("REL-2026-0003"), [], [freeze({"ledger"})]) == []


def test_a_release_deploying_before_its_dependency_in_one_environment_is_flagged() -> None:
    dependency = entry("REL-2026-0001", services={"ledger"})
    early = entry(
        "REL-2026-0002",
        DAY - timedelta(hours=4),
        services=set(),
        depends_on={dependency.release_id},
    )
    [seen_from_dependent] = conflicts_of(early, [dependency, early], [])
    [seen_from_dependency] = conflicts_of(dependency, [dependency, early], [])
    assert seen_from_dependent == seen_from_dependency
    assert seen_from_dependent.kind is ConflictKind.DEPENDENCY_ORDER
    assert seen_from_dependent.releases == ("REL-2026-0002", "REL-2026-0001")


def test_dependency_order_is_judged_per_environment_and_ignores_a_cancelled_dependency() -> None:
    staging = entry("REL-2026-0001", environment="staging")
    cancelled = entry("REL-2026-0002", status=Status.CANCELLED)
    later = entry(
        "REL-2026-0003",
        DAY - timedelta(days=1),
        services=set(),
        depends_on={staging.release_id, cancelled.release_id},
    )
    assert conflicts_of(later, [staging, cancelled, later], []) == []
    production = entry("REL-2026-0004", services={"ledger"})
    after = entry("REL-2026-0005", DAY + timedelta(hours=3), depends_on={production.release_id})
    assert conflicts_of(after, [production, after], []) == []
