"""The Deployment aggregate: a release going to an environment, wave by wave.

`decide_next` says what the executor should do next from the events so far; each step's
outcome is recorded as an event, so after a crash the deployment resumes where it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from deploy_svc.domain.facts import Window
from ferry.errors import Conflict, Forbidden, InvalidTransition
from ferry.events.deploy import (
    BackoutStepAwaitingConfirmation,
    BackoutStepDone,
    DeploymentAborted,
    DeploymentCompleted,
    DeploymentEvent,
    DeploymentFailed,
    DeploymentPaused,
    DeploymentPausedOutsideWindow,
    DeploymentResumed,
    DeploymentRolledBack,
    DeploymentScheduled,
    DeploymentStarted,
    EnvironmentClass,
    RollbackStarted,
    Strategy,
    TargetDeployed,
    TargetFailed,
    TargetRolledBack,
    ValidationEvidence,
    Wave,
    WaveStarted,
    WaveVerified,
)
from ferry.events.deploy import DeploymentWindowOverridden as WindowOverridden
from ferry.events.release import BackoutStep, BackoutStepKind, ValidationKind
from ferry.eventsourced import EventSourced


class State(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


ACTIVE = frozenset({State.SCHEDULED, State.RUNNING, State.ROLLING_BACK})
"""States in which a deployment holds its targets."""


ROLLBACK = BackoutStep(
    kind=BackoutStepKind.ROLLBACK, description="every switched target back to its version before"
)


def with_rollback(steps: Sequence[BackoutStep]) -> list[BackoutStep]:
    """A backout plan as it is run: the driver's rollback first unless the plan places it."""
    if any(step.kind is BackoutStepKind.ROLLBACK for step in steps):
        return list(steps)
    return [ROLLBACK, *steps]


class AlreadyScheduled(Conflict):
    """A deployment with this id exists already."""


class AwaitingWindow(Conflict):
    """Paused outside its window: only a new window or a change authority's override let
    it go on."""


class OwnOverride(Forbidden):
    """Whoever asked for a deployment may not also let it run outside its window."""

    rule = "window-override-by-another"

    def extensions(self) -> dict[str, object]:
        return {"rule": self.rule}


@dataclass(frozen=True)
class PlanDeployment:
    """Plan a deployment: the command as a deployer gives it, judged by `plans.judge`."""

    deployment_id: UUID
    release_id: UUID
    environment: str
    targets: Sequence[str]
    """Empty: every target of the environment."""
    strategy: Strategy
    sizes: Sequence[int]
    percentages: Sequence[float]
    canary: int
    soak_seconds: float
    start: datetime
    by: str
    validation: ValidationKind | None = None
    """For a test environment: the kind of validation its verification records."""


@dataclass(frozen=True)
class DeploymentPlan:
    """A `PlanDeployment` accepted, its waves split and the release's facts added: what
    `Deployment.schedule` records as `DeploymentScheduled`."""

    deployment_id: UUID
    release_id: UUID
    environment: str
    release_version: str
    strategy: Strategy
    waves: Sequence[Wave]
    scheduled_start: datetime
    requested_by: str
    services: Sequence[str] = ()
    configuration_items: Sequence[str] = ()
    environment_class: EnvironmentClass = EnvironmentClass.PRODUCTION
    package_revision: int | None = None
    validates: ValidationEvidence | None = None


# What the executor is to do next.
@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class StartWave:
    wave: int


@dataclass(frozen=True)
class DeployTarget:
    wave: int
    target: str


@dataclass(frozen=True)
class VerifyWave:
    wave: int
    soak_seconds: float


@dataclass(frozen=True)
class Complete:
    pass


@dataclass(frozen=True)
class AwaitWindow:
    """Paused outside the window: go on once a window of the release holds again."""


@dataclass(frozen=True)
class RollBackTarget:
    target: str
    previous: str | None


@dataclass(frozen=True)
class FinishStep:
    """The backout's step is done (the rollback step once every target is back)."""

    step: int


@dataclass(frozen=True)
class CallWebhook:
    step: int
    webhook: str


@dataclass(frozen=True)
class AwaitConfirmation:
    step: int
    description: str


@dataclass(frozen=True)
class FinishRollback:
    pass


@dataclass(frozen=True)
class Wait:
    """Nothing to do: not yet due, paused, or finished."""


Step = (
    Start
    | StartWave
    | DeployTarget
    | VerifyWave
    | Complete
    | AwaitWindow
    | RollBackTarget
    | FinishStep
    | CallWebhook
    | AwaitConfirmation
    | FinishRollback
    | Wait
)


@dataclass
class Deployment(EventSourced):
    id: UUID
    version: int = 0
    state: State | None = None
    release_id: UUID | None = None
    environment: str = ""
    release_version: str = ""
    strategy: Strategy = Strategy.BIG_BANG
    waves: list[Wave] = field(default_factory=list)
    scheduled_start: datetime | None = None
    requested_by: str = ""
    services: list[str] = field(default_factory=list)
    configuration_items: list[str] = field(default_factory=list)
    environment_class: EnvironmentClass | None = None
    """None: scheduled before environments had classes."""
    package_revision: int | None = None
    """The built package it takes (development and test); None: what the DML made available."""
    validates: ValidationEvidence | None = None
    completed: bool = False
    started_waves: set[int] = field(default_factory=set)
    verified_waves: set[int] = field(default_factory=set)
    deployed: dict[str, str | None] = field(default_factory=dict)
    """Target → the version live there before, for each target switched."""
    failed: dict[str, str] = field(default_factory=dict)
    rolled_back: set[str] = field(default_factory=set)
    backout: list[BackoutStep] = field(default_factory=list)
    """The backout plan being followed, from `RollbackStarted`."""
    backout_done: set[int] = field(default_factory=set)
    awaiting_step: int | None = None
    """The backout step waiting for someone to confirm it."""
    paused: bool = False
    awaiting_window: bool = False
    """Paused because a wave was due after the window closed."""
    window_overridden: bool = False
    """A change authority let it run to the end whatever the window."""
    reason: str = ""

    @property
    def targets(self) -> list[str]:
        return [t for wave in self.waves for t in wave.targets]

    def schedule(self, cmd: DeploymentPlan) -> list[DeploymentEvent]:
        if self.exists:
            raise AlreadyScheduled(f"deployment {self.id} exists already")
        return [
            DeploymentScheduled(
                deployment_id=cmd.deployment_id,
                release_id=cmd.release_id,
                environment=cmd.environment,
                release_version=cmd.release_version,
                strategy=cmd.strategy,
                waves=list(cmd.waves),
                scheduled_start=cmd.scheduled_start,
                requested_by=cmd.requested_by,
                services=list(cmd.services),
                configuration_items=list(cmd.configuration_items),
                environment_class=cmd.environment_class,
                package_revision=cmd.package_revision,
                validates=cmd.validates,
            )
        ]

    # --- What to do next ----------------------------------------------------------------

    def decide_next(self, now: datetime) -> Step:
        if self.awaiting_window and self.state is State.RUNNING:
            return AwaitWindow()
        if self.paused or self.state not in ACTIVE:
            return Wait()
        if self.state is State.ROLLING_BACK:
            return self._next_backout_step()
        if self.state is State.SCHEDULED:
            assert self.scheduled_start is not None
            return Start() if now >= self.scheduled_start else Wait()
        for number, wave in enumerate(self.waves):
            if number in self.verified_waves:
                continue
            if number not in self.started_waves:
                return StartWave(number)
            for target in wave.targets:
                if target not in self.deployed:
                    return DeployTarget(number, target)
            return VerifyWave(number, wave.soak_seconds)
        return Complete()

    def _next_backout_step(self) -> Step:
        for number, step in enumerate(self.backout):
            if number in self.backout_done:
                continue
            if step.kind is BackoutStepKind.ROLLBACK:
                for target, previous in self.deployed.items():
                    if target not in self.rolled_back:
                        return RollBackTarget(target, previous)
                return FinishStep(number)
            if step.kind is BackoutStepKind.WEBHOOK:
                return CallWebhook(number, step.webhook or "")
            return AwaitConfirmation(number, step.description)
        return FinishRollback()

    # --- Decisions on outcomes ------------------------------------------------------------

    def _event(self, event_type: type[DeploymentEvent], **fields: object) -> DeploymentEvent:
        assert self.release_id is not None
        return event_type(
            deployment_id=self.id,
            release_id=self.release_id,
            environment=self.environment,
            environment_class=self.environment_class,
            **fields,
        )

    def start(self) -> list[DeploymentEvent]:
        self._check(State.SCHEDULED, "start")
        return [self._event(DeploymentStarted)]

    def start_wave(self, wave: int, window: Window | None, now: datetime) -> list[DeploymentEvent]:
        """Start the wave if the release's `window` for the environment holds `now` (or the
        window was overridden, or the environment's class needs none); else pause until it
        does."""
        windowless = self.environment_class is not None and not self.environment_class.needs_window
        if windowless or self.window_overridden or (window is not None and window.holds(now)):
            return [self._event(WaveStarted, wave=wave)]
        end = window.end if window is not None else None
        return [self._event(DeploymentPausedOutsideWindow, wave=wave, window_end=end)]

    def resume_in_window(
        self, window: Window | None, now: datetime, by: str
    ) -> list[DeploymentEvent]:
        """Go on by itself once a window of the release holds again."""
        if not self.awaiting_window or window is None or not window.holds(now):
            return []
        return [self._event(DeploymentResumed, by=by)]

    def target_deployed(
        self, wave: int, target: str, previous: str | None
    ) -> list[DeploymentEvent]:
        return [self._event(TargetDeployed, wave=wave, target=target, previous_version=previous)]

    def target_failed(
        self, wave: int, target: str, reason: str, backout: Sequence[BackoutStep]
    ) -> list[DeploymentEvent]:
        """A target failed to install or verify: the release's `backout` plan begins."""
        return [
            self._event(TargetFailed, wave=wave, target=target, reason=reason),
            self._backout(f"{target}: {reason}", "", backout),
        ]

    def _backout(self, reason: str, by: str, steps: Sequence[BackoutStep]) -> DeploymentEvent:
        return self._event(RollbackStarted, reason=reason, requested_by=by, steps=list(steps))

    def wave_verified(self, wave: int) -> list[DeploymentEvent]:
        return [self._event(WaveVerified, wave=wave)]

    def complete(self, at: datetime) -> list[DeploymentEvent]:
        return [
            self._event(
                DeploymentCompleted,
                services=self.services,
                configuration_items=self.configuration_items,
                completed_at=at,
                deployed_by=self.requested_by,
                validates=self.validates,
            )
        ]

    def fail(self, reason: str, backout: Sequence[BackoutStep]) -> list[DeploymentEvent]:
        """Failed: before any target was touched (e.g. the media did not verify), or with
        targets switched, when the `backout` plan begins."""
        if self.deployed:
            return [self._backout(reason, "", backout)]
        return [self._event(DeploymentFailed, reason=reason)]

    def target_rolled_back(self, target: str, version: str | None) -> list[DeploymentEvent]:
        return [self._event(TargetRolledBack, target=target, version=version)]

    def finish_step(self, step: int, by: str, note: str = "") -> list[DeploymentEvent]:
        kind = self.backout[step].kind
        return [self._event(BackoutStepDone, step=step, kind=kind, by=by, note=note)]

    def await_confirmation(self, step: int, reason: str = "") -> list[DeploymentEvent]:
        description = self.backout[step].description
        return [
            self._event(
                BackoutStepAwaitingConfirmation, step=step, description=description, reason=reason
            )
        ]

    def confirm_step(self, step: int, by: str, note: str) -> list[DeploymentEvent]:
        """Someone did the backout step that waits for it, and says so."""
        if self.state is not State.ROLLING_BACK or self.awaiting_step != step:
            waiting = "none" if self.awaiting_step is None else str(self.awaiting_step)
            raise InvalidTransition(
                self.id, f"waiting for backout step {waiting}", f"confirm step {step} of"
            )
        return self.finish_step(step, by, note)

    def finish_rollback(self) -> list[DeploymentEvent]:
        """Rolled back; a failed validation of the package if a target failed to install or
        verify on the way (not if someone rolled back a completed one)."""
        failed = bool(self.failed) and not self.completed
        return [self._event(DeploymentRolledBack, validates=self.validates if failed else None)]

    # --- What people ask for --------------------------------------------------------------

    def pause(self, by: str) -> list[DeploymentEvent]:
        self._check_active("pause")
        if self.paused:
            raise InvalidTransition(self.id, "paused", "pause")
        return [self._event(DeploymentPaused, by=by)]

    def resume(self, by: str) -> list[DeploymentEvent]:
        self._check_active("resume")
        if self.awaiting_step is not None:
            raise Conflict(
                f"deployment {self.id} waits for backout step {self.awaiting_step} to be "
                "confirmed (POST /deployments/{id}/backout/{step}/confirm)"
            )
        if self.awaiting_window:
            raise AwaitingWindow(
                f"deployment {self.id} waits for a new window for {self.environment}; "
                "a change authority may override it, with a reason"
            )
        if not self.paused:
            raise InvalidTransition(self.id, str(self.state), "resume")
        return [self._event(DeploymentResumed, by=by)]

    def override_window(self, by: str, reason: str) -> list[DeploymentEvent]:
        """A change authority lets it go on outside its window, to the end."""
        self._check_active("override the window of")
        if not self.awaiting_window:
            raise InvalidTransition(self.id, "not waiting for a window", "override the window of")
        if by == self.requested_by:
            raise OwnOverride(f"{by} asked for deployment {self.id}; another must override")
        return [self._event(WindowOverridden, by=by, reason=reason)]

    def abort(self, by: str, reason: str) -> list[DeploymentEvent]:
        # A backout half done would leave targets on the new version with no way back.
        if self.state is State.ROLLING_BACK:
            raise InvalidTransition(self.id, str(self.state), "abort")
        self._check_active("abort")
        return [self._event(DeploymentAborted, by=by, reason=reason)]

    def roll_back(
        self, by: str, reason: str, backout: Sequence[BackoutStep]
    ) -> list[DeploymentEvent]:
        """Follow the release's `backout` plan: its steps in order, the driver switching
        every switched target back to what it was before among them."""
        if self.state not in (State.RUNNING, State.COMPLETED):
            raise InvalidTransition(self.id, str(self.state), "roll back")
        return [self._backout(reason, by, backout)]

    def _check(self, state: State, action: str) -> None:
        if self.state is not state:
            raise InvalidTransition(self.id, str(self.state), action)

    def _check_active(self, action: str) -> None:
        if self.state not in ACTIVE:
            raise InvalidTransition(self.id, str(self.state), action)

    # --- Evolution --------------------------------------------------------------------

    def _evolve(self, event: DeploymentEvent) -> None:
        match event:
            case DeploymentScheduled():
                self.state = State.SCHEDULED
                self.release_id = event.release_id
                self.environment = event.environment
                self.release_version = event.release_version
                self.strategy = event.strategy
                self.waves = list(event.waves)
                self.scheduled_start = event.scheduled_start
                self.requested_by = event.requested_by
                self.services = list(event.services)
                self.configuration_items = list(event.configuration_items)
                self.environment_class = event.environment_class
                self.package_revision = event.package_revision
                self.validates = event.validates
            case DeploymentStarted():
                self.state = State.RUNNING
            case WaveStarted():
                self.started_waves.add(event.wave)
            case TargetDeployed():
                self.deployed[event.target] = event.previous_version
            case TargetFailed():
                self.failed[event.target] = event.reason
            case WaveVerified():
                self.verified_waves.add(event.wave)
            case DeploymentCompleted():
                self.state = State.COMPLETED
                self.completed = True
            case DeploymentFailed():
                self.state = State.FAILED
                self.reason = event.reason
            case RollbackStarted():
                self.state = State.ROLLING_BACK
                self.reason = event.reason
                self.paused = self.awaiting_window = False
                self.backout = with_rollback(event.steps)
            case BackoutStepAwaitingConfirmation():
                self.awaiting_step = event.step
                self.paused = True
            case BackoutStepDone():
                self.backout_done.add(event.step)
                if self.awaiting_step == event.step:
                    self.awaiting_step = None
                    self.paused = False
            case TargetRolledBack():
                self.rolled_back.add(event.target)
            case DeploymentRolledBack():
                self.state = State.ROLLED_BACK
            case DeploymentPaused():
                self.paused = True
            case DeploymentResumed():
                self.paused = self.awaiting_window = False
            case DeploymentPausedOutsideWindow():
                self.paused = self.awaiting_window = True
            case WindowOverridden():
                self.paused = self.awaiting_window = False
                self.window_overridden = True
            case DeploymentAborted():
                self.state = State.ABORTED
                self.reason = event.reason
