"""Planning a release: the decisions on its plan, made until it is first deployed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import TypeVar
from uuid import UUID

from ferry.errors import Conflict
from ferry.events.release import (
    ACTUAL_MILESTONES,
    BackoutPlanSet,
    BackoutStep,
    BackoutStepKind,
    BackoutTrigger,
    CommunicationEntry,
    CommunicationPlanSet,
    DeploymentWindow,
    DeploymentWindowsSet,
    ReleaseCancelled,
    ReleaseDependenciesSet,
    ReleaseEvent,
    ReleasePlanned,
    ReleaseRescheduled,
    ReleaseScopeSet,
    ReleaseType,
    RiskAssessed,
    TriggerKind,
)
from ferry.freezes import FreezePeriod
from release_svc.domain import lifecycle, plan
from release_svc.domain.commands import (
    AssessRisk,
    CancelRelease,
    PlanRelease,
    RescheduleRelease,
    SetBackoutPlan,
    SetCommunicationPlan,
    SetDependencies,
    SetScope,
    SetWindows,
)
from release_svc.domain.dependencies import find_cycle
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.release_state import ReleaseState


class AlreadyPlanned(Conflict):
    """A release with this id exists already."""


class DependencyCycle(InvalidPlan):
    """The dependencies would close a cycle."""


def _before_dependency(
    window: DeploymentWindow, dependency_windows: Mapping[str, Sequence[DeploymentWindow]]
) -> str | None:
    """Why `window` opens too early for a release it depends on, or None if it does not."""
    for dependency, theirs in dependency_windows.items():
        for their in theirs:
            if their.environment == window.environment and window.start < their.start:
                return (
                    f"{dependency}, which this release depends on, deploys to "
                    f"{window.environment} only from {their.start}"
                )
    return None


class ReleasePlanning(ReleaseState):
    """The decisions on a release's plan: dates, dependencies, scope, windows,
    communications, risk, backout plan; and calling it off."""

    def plan(self, cmd: PlanRelease) -> list[ReleaseEvent]:
        if self.exists:
            raise AlreadyPlanned(f"release {self.id} is already planned")
        plan.check_dates(cmd.planned_start, cmd.planned_end, cmd.activities)
        return [
            ReleasePlanned(
                release_id=cmd.release_id,
                name=cmd.name,
                version=cmd.version,
                planned_start=cmd.planned_start,
                planned_end=cmd.planned_end,
                release_manager=cmd.release_manager,
                identifier=cmd.identifier,
                release_type=cmd.release_type,
                description=cmd.description,
                owners=sorted(cmd.owners),
                escalation_contact=cmd.escalation_contact,
                activities=dict(cmd.activities),
                team=cmd.team,
            )
        ]

    def reschedule(self, cmd: RescheduleRelease) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "reschedule")
        plan.check_dates(cmd.planned_start, cmd.planned_end, cmd.activities)
        new = (cmd.planned_start, cmd.planned_end, dict(cmd.activities))
        if new == (self.planned_start, self.planned_end, self.activities):
            return []
        return [
            ReleaseRescheduled(
                release_id=self.id,
                planned_start=cmd.planned_start,
                planned_end=cmd.planned_end,
                reason=cmd.reason,
                activities=dict(cmd.activities),
            )
        ]

    def set_dependencies(
        self,
        cmd: SetDependencies,
        graph: Mapping[UUID, Set[UUID]],
        names: Mapping[UUID, str],
        dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
    ) -> list[ReleaseEvent]:
        """`graph`: every other known release's dependencies; `names`: their identifiers;
        `dependency_windows`: the windows of the releases in `cmd`, by identifier."""
        self._check_plan_changeable(cmd.by, "change the dependencies of")
        if unknown := sorted(str(r) for r in cmd.depends_on - graph.keys() - {self.id}):
            raise InvalidPlan("depends_on", f"no such releases: {', '.join(unknown)}")
        if (cycle := find_cycle(self.id, cmd.depends_on, graph)) is not None:
            named = " → ".join(names.get(r, str(r)) for r in cycle)
            raise DependencyCycle("depends_on", f"would close the cycle {named}")
        for window in self.windows:
            if (early := _before_dependency(window, dependency_windows)) is not None:
                raise InvalidPlan("depends_on", f"this release's window is too early: {early}")
        if cmd.depends_on == self.depends_on:
            return []
        return [ReleaseDependenciesSet(release_id=self.id, depends_on=sorted(cmd.depends_on))]

    def set_scope(self, cmd: SetScope) -> list[ReleaseEvent]:
        """Until approval, like the package: the approval, the teams' agreements and the
        freezes a deployment is held to all read the scope, so a scope changed after it
        would let a release reach services nobody agreed to, or slip out of a freeze."""
        self._check_state("change the scope of", lifecycle.PACKAGE_MAY_CHANGE)
        self._check_manager(cmd.by)
        if tuple(cmd.items) == self.scope:
            return []
        return [ReleaseScopeSet(release_id=self.id, items=list(cmd.items))]

    def set_windows(
        self,
        cmd: SetWindows,
        freezes: Sequence[FreezePeriod],
        dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
    ) -> list[ReleaseEvent]:
        """`dependency_windows`: per release it depends on (by identifier), its windows."""
        self._check_plan_changeable(cmd.by, "change the deployment windows of")
        seen: set[str] = set()
        for i, window in enumerate(cmd.windows):
            if window.end <= window.start:
                raise InvalidPlan(f"windows.{i}.end", "must be after start")
            if window.environment in seen:
                raise InvalidPlan(f"windows.{i}.environment", "one window per environment")
            seen.add(window.environment)
            if (early := _before_dependency(window, dependency_windows)) is not None:
                raise InvalidPlan(f"windows.{i}.start", early)
        frozen = self._frozen_windows(cmd.windows, freezes)
        overridden: set[UUID] = set()
        if frozen and not cmd.freeze_override:
            i, freeze = frozen[0]
            raise InvalidPlan(
                f"windows.{i}",
                f"falls in {freeze.describe()}; an emergency release may give a freeze_override",
            )
        if cmd.freeze_override:
            if self.release_type is not ReleaseType.EMERGENCY:
                raise InvalidPlan("freeze_override", "only an emergency release may override")
            overridden = {freeze.freeze_id for _, freeze in frozen}
        if tuple(cmd.windows) == self.windows and overridden == self.overridden_freezes:
            return []
        return [
            DeploymentWindowsSet(
                release_id=self.id,
                windows=list(cmd.windows),
                freeze_override=cmd.freeze_override if overridden else "",
                overridden_freezes=sorted(overridden),
            )
        ]

    def set_communication_plan(self, cmd: SetCommunicationPlan) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "change the communication plan of")
        entries: list[CommunicationEntry] = []
        for i, planned in enumerate(cmd.entries):
            entry = CommunicationEntry(
                entry_id=plan.entry_id(
                    planned.audience,
                    planned.channel,
                    planned.message,
                    planned.milestone,
                    planned.offset,
                    planned.acknowledge,
                ),
                audience=planned.audience,
                channel=planned.channel,
                message=planned.message,
                milestone=planned.milestone,
                offset=planned.offset,
                acknowledge=planned.acknowledge,
            )
            if entry.entry_id in {e.entry_id for e in entries}:
                raise InvalidPlan(f"entries.{i}", "repeats an earlier entry")
            if entry.milestone not in ACTUAL_MILESTONES and self.due_at(entry) is None:
                raise InvalidPlan(
                    f"entries.{i}.milestone", f"the plan has no dates for {planned.milestone}"
                )
            entries.append(entry)
        if tuple(entries) == self.communication_plan:
            return []
        return [CommunicationPlanSet(release_id=self.id, entries=entries)]

    def assess_risk(self, cmd: AssessRisk) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "assess the risk of")
        return [
            RiskAssessed(
                release_id=self.id,
                likelihood=cmd.likelihood,
                impact=cmd.impact,
                risk_level=plan.risk_level(cmd.likelihood, cmd.impact),
                affected_services=list(cmd.affected_services),
                mitigations=list(cmd.mitigations),
            )
        ]

    def set_backout_plan(self, cmd: SetBackoutPlan) -> list[ReleaseEvent]:
        """Replace the backout plan: typed steps deploy-svc runs (a rollback by the driver,
        a webhook, a manual step someone confirms) and triggers it watches for (a failed
        verification, an Early Life Support metric's escalation, a judgement)."""
        self._check_plan_changeable(cmd.by, "change the backout plan of")
        if not cmd.steps:
            raise InvalidPlan("steps", "a backout plan needs at least one step")
        triggers = [_typed(BackoutTrigger, t) for t in cmd.trigger_conditions]
        steps = [_typed(BackoutStep, s) for s in cmd.steps]
        for i, trigger in enumerate(triggers):
            if (trigger.kind is TriggerKind.METRIC) != bool(trigger.metric):
                raise InvalidPlan(
                    f"trigger_conditions.{i}.metric", "a metric trigger names its metric, alone"
                )
        for i, step in enumerate(steps):
            if (step.kind is BackoutStepKind.WEBHOOK) != bool(step.webhook):
                raise InvalidPlan(f"steps.{i}.webhook", "a webhook step names its webhook, alone")
            if step.kind is BackoutStepKind.MANUAL and not step.description.strip():
                raise InvalidPlan(f"steps.{i}.description", "a manual step says what to do")
        if sum(step.kind is BackoutStepKind.ROLLBACK for step in steps) > 1:
            raise InvalidPlan("steps", "the driver's rollback is one step")
        return [BackoutPlanSet(release_id=self.id, trigger_conditions=triggers, steps=steps)]

    def cancel(self, cmd: CancelRelease) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "cancel")
        return [ReleaseCancelled(release_id=self.id, reason=cmd.reason)]


_Item = TypeVar("_Item", BackoutTrigger, BackoutStep)


def _typed(kind: type[_Item], item: _Item | str) -> _Item:
    """Plain text, as plans were written before they were typed: a judgement (a trigger)
    or a manual step."""
    return kind(description=item) if isinstance(item, str) else item
