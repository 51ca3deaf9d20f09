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
from ferry.events.release import ValidationKind
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
            for target, previous in self.deployed.items():
                if target not in self.rolled_back:
                    return RollBackTarget(target, previous)
            return FinishRollback()
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

    # --- Decisions on outcomes ------------------------------------------------------------

    def _event(self, kind: type[DeploymentEvent], **fields: object) -> DeploymentEvent:
        assert self.release_id is not None
        return kind(
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

    def target_failed(self, wave: int, target: str, reason: str) -> list[DeploymentEvent]:
        """A target failed to install or verify: the backout begins."""
        return [
            self._event(TargetFailed, wave=wave, target=target, reason=reason),
            self._event(RollbackStarted, reason=f"{target}: {reason}"),
        ]

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

    def fail(self, reason: str) -> list[DeploymentEvent]:
        """Failed before any target was touched (e.g. the media did not verify)."""
        if self.deployed:
            return [self._event(RollbackStarted, reason=reason)]
        return [self._event(DeploymentFailed, reason=reason)]

    def target_rolled_back(self, target: str, version: str | None) -> list[DeploymentEvent]:
        return [self._event(TargetRolledBack, target=target, version=version)]

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

    def roll_back(self, by: str, reason: str) -> list[DeploymentEvent]:
        """Follow the backout: every switched target back to what it was before."""
        if self.state not in (State.RUNNING, State.COMPLETED):
            raise InvalidTransition(self.id, str(self.state), "roll back")
        return [self._event(RollbackStarted, reason=reason, requested_by=by)]

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
