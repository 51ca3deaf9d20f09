"""The parts of a release's plan: activity dates, windows, communication timing, risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ferry.errors import InvalidTransition
from ferry.events.release import (
    Activity,
    DeploymentWindow,
    DeploymentWindowsSet,
    Level,
    Milestone,
    ReleaseDependenciesSet,
    ReleaseType,
    ScopeItem,
    ScopeKind,
    Span,
)
from ferry.freezes import FreezePeriod
from release_svc.domain.commands import (
    PlannedCommunication,
    RescheduleRelease,
    SetCommunicationPlan,
    SetDependencies,
    SetScope,
    SetWindows,
)
from release_svc.domain.plan import InvalidPlan, check_dates, risk_level
from tests.support.releases import applied, approved_by, planned, ready_to_approve


def window(environment: str, day: int, hours: int = 2) -> DeploymentWindow:
    start = datetime(2026, 12, day, 22, tzinfo=UTC)
    return DeploymentWindow(
        environment=environment, start=start, end=start + timedelta(hours=hours)
    )


def test_activities_lie_within_the_release() -> None:
    check_dates(
        date(2026, 12, 1),
        date(2026, 12, 20),
        {Activity.BUILD: Span(start=date(2026, 12, 1), end=date(2026, 12, 3))},
    )
    with pytest.raises(InvalidPlan) as refused:
        check_dates(
            date(2026, 12, 1),
            date(2026, 12, 20),
            {Activity.TEST: Span(start=date(2026, 12, 19), end=date(2026, 12, 21))},
        )
    assert refused.value.field == "activities.test"


def test_rescheduling_is_kept_as_history() -> None:
    release = planned()
    deployment = {Activity.DEPLOYMENT: Span(start=date(2026, 12, 9), end=date(2026, 12, 9))}
    move = RescheduleRelease(
        release.id, date(2026, 12, 8), date(2026, 12, 30), "supplier late", "rita", deployment
    )
    release = applied(release, release.reschedule(move))
    assert [r.reason for r in release.reschedules] == ["supplier late"]
    assert release.activities == deployment


@pytest.mark.parametrize(
    ("likelihood", "impact", "level"),
    [
        (Level.LOW, Level.LOW, Level.LOW),
        (Level.LOW, Level.HIGH, Level.MEDIUM),
        (Level.MEDIUM, Level.MEDIUM, Level.MEDIUM),
        (Level.MEDIUM, Level.HIGH, Level.HIGH),
        (Level.HIGH, Level.HIGH, Level.HIGH),
    ],
)
def test_risk_is_likelihood_by_impact(likelihood: Level, impact: Level, level: Level) -> None:
    assert risk_level(likelihood, impact) is level


def test_one_window_per_environment() -> None:
    release = planned()
    cmd = SetWindows(release.id, [window("production", 3), window("production", 4)], "rita")
    with pytest.raises(InvalidPlan) as refused:
        release.set_windows(cmd, [], {})
    assert refused.value.field == "windows.1.environment"


def test_a_window_may_not_open_before_its_dependencys_in_that_environment() -> None:
    release = planned()
    theirs = {"REL-2026-0007": [window("production", 5)]}
    early = SetWindows(release.id, [window("staging", 2), window("production", 4)], "rita")
    with pytest.raises(InvalidPlan, match="REL-2026-0007") as refused:
        release.set_windows(early, [], theirs)
    assert refused.value.field == "windows.1.start"
    [later] = release.set_windows(
        SetWindows(release.id, [window("production", 6)], "rita"), [], theirs
    )
    assert isinstance(later, DeploymentWindowsSet)


def freeze(
    environments: frozenset[str] = frozenset(), services: frozenset[str] = frozenset()
) -> FreezePeriod:
    return FreezePeriod(
        uuid4(),
        datetime(2026, 12, 20, tzinfo=UTC),
        datetime(2027, 1, 2, tzinfo=UTC),
        "year end",
        environments,
        services,
    )


def test_a_freeze_covers_by_time_environment_and_service() -> None:
    assert freeze().covers(window("production", 21), set())
    assert not freeze().covers(window("production", 10), set())
    assert not freeze(frozenset({"production"})).covers(window("staging", 21), set())
    assert freeze(services=frozenset({"payments"})).covers(window("staging", 21), {"payments"})
    assert not freeze(services=frozenset({"payments"})).covers(window("staging", 21), {"ledger"})


def test_windows_in_a_freeze_are_refused_unless_an_emergency_overrides() -> None:
    year_end = freeze()
    minor = planned()
    in_freeze = SetWindows(minor.id, [window("production", 22)], "rita")
    with pytest.raises(InvalidPlan, match="year end"):
        minor.set_windows(in_freeze, [year_end], {})
    override = SetWindows(minor.id, [window("production", 22)], "rita", "outage fix")
    with pytest.raises(InvalidPlan) as refused:
        minor.set_windows(override, [year_end], {})
    assert refused.value.field == "freeze_override"
    emergency = planned(ReleaseType.EMERGENCY)
    [decided] = emergency.set_windows(
        SetWindows(emergency.id, [window("production", 22)], "rita", "outage fix"), [year_end], {}
    )
    assert isinstance(decided, DeploymentWindowsSet)
    assert decided.overridden_freezes == [year_end.freeze_id]


def test_a_freeze_on_other_services_leaves_the_release_alone() -> None:
    release = planned()
    scope = SetScope(release.id, [ScopeItem(kind=ScopeKind.SERVICE, name="payments")], "rita")
    release = applied(release, release.set_scope(scope))
    ledger_freeze = freeze(services=frozenset({"ledger"}))
    cmd = SetWindows(release.id, [window("production", 22)], "rita")
    [decided] = release.set_windows(cmd, [ledger_freeze], {})
    assert isinstance(decided, DeploymentWindowsSet)


def test_the_scope_changes_until_approval_and_not_after() -> None:
    payments = [ScopeItem(kind=ScopeKind.SERVICE, name="payments")]
    release = ready_to_approve()
    release = applied(release, release.set_scope(SetScope(release.id, payments, "rita")))
    release = approved_by(release, "carl")
    for items in ([*payments, ScopeItem(kind=ScopeKind.SERVICE, name="ledger")], []):
        with pytest.raises(InvalidTransition, match="approved"):
            release.set_scope(SetScope(release.id, items, "rita"))


def test_communications_fall_due_relative_to_their_milestone() -> None:
    release = planned()
    release = applied(
        release,
        release.set_windows(SetWindows(release.id, [window("production", 10)], "rita"), [], {}),
    )
    week_before = PlannedCommunication(
        "service desk", "email", "Payments changes", Milestone.DEPLOYMENT_START, timedelta(days=-7)
    )
    on_start = PlannedCommunication(
        "customers", "status page", "Starting", Milestone.RELEASE_START, timedelta(0)
    )
    release = applied(
        release,
        release.set_communication_plan(
            SetCommunicationPlan(release.id, [week_before, on_start], "rita")
        ),
    )
    due = [release.due_at(entry) for entry in release.communication_plan]
    assert due == [datetime(2026, 12, 3, 22, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)]


def test_a_communication_needs_its_milestone_in_the_plan() -> None:
    release = planned()
    after_test = PlannedCommunication(
        "testers", "chat", "done", Milestone.TEST_END, timedelta(hours=1)
    )
    with pytest.raises(InvalidPlan) as refused:
        release.set_communication_plan(SetCommunicationPlan(release.id, [after_test], "rita"))
    assert refused.value.field == "entries.0.milestone"


def test_an_unchanged_entry_keeps_its_id_and_a_gone_one_is_not_announced() -> None:
    release = planned()
    entry = PlannedCommunication(
        "ops", "email", "Heads up", Milestone.RELEASE_END, timedelta(days=1)
    )
    first = applied(
        release, release.set_communication_plan(SetCommunicationPlan(release.id, [entry], "rita"))
    )
    [kept] = first.communication_plan
    assert first.set_communication_plan(SetCommunicationPlan(release.id, [entry], "rita")) == []
    due = datetime(2026, 12, 22, tzinfo=UTC)
    assert first.communication_due(kept.entry_id, due)
    assert first.communication_due("gone", due) == []


def test_a_dependency_that_deploys_later_than_this_release_is_refused() -> None:
    release = planned()
    mine = SetWindows(release.id, [window("production", 4)], "rita")
    release = applied(release, release.set_windows(mine, [], {}))
    dependency = uuid4()
    graph: dict[UUID, set[UUID]] = {dependency: set()}
    cmd = SetDependencies(release.id, frozenset({dependency}), "rita")
    later = {"REL-2026-0009": [window("production", 5)]}
    with pytest.raises(InvalidPlan, match="REL-2026-0009") as refused:
        release.set_dependencies(cmd, graph, {}, later)
    assert refused.value.field == "depends_on"
    earlier = {"REL-2026-0009": [window("production", 3)]}
    [decided] = release.set_dependencies(cmd, graph, {}, earlier)
    assert isinstance(decided, ReleaseDependenciesSet)
