"""The post-implementation review as the record already tells it: deployments and how they
ended, Early Life Support's incidents, escalations, duration and feedback, and the planned
dates against the actual ones. The reviewer adds the judgement (objectives met, what went
well, what to improve, actions); what they leave out is taken from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ferry.events.release import Activity
from release_svc.domain.delivery import Deployment
from release_svc.domain.release_state import ReleaseState


@dataclass(frozen=True)
class ElsCase:
    """One Early Life Support case of the release, as els-svc reported it."""

    environment: str
    started_at: datetime | None
    exited_at: datetime | None
    override_reason: str
    """Why operations took it over before normal was reached; empty when it was."""
    escalations: int
    incidents: tuple[str, ...]
    """References of the incidents linked to it (problems not counted)."""


@dataclass(frozen=True)
class Feedback:
    rating: int
    """1 (poor) to 5 (excellent)."""
    comment: str
    given_by: str


@dataclass(frozen=True)
class Record:
    """What happened to a release, as the other services reported it."""

    deployments: Sequence[Deployment] = ()
    cases: Sequence[ElsCase] = ()
    feedback: Sequence[Feedback] = ()
    production: frozenset[str] = frozenset()
    """The environments deploy-svc announced as production: "deployed" means to one of
    them, or to any environment while none is known."""


@dataclass(frozen=True)
class PlannedAndActual:
    milestone: str
    planned: date | None
    actual: date | None

    @property
    def slip_days(self) -> int | None:
        """Days late (negative: early); None until both are known."""
        if self.planned is None or self.actual is None:
            return None
        return (self.actual - self.planned).days


@dataclass(frozen=True)
class ReviewDraft:
    deployment_outcome: str
    incidents_during_els: int
    incidents: tuple[str, ...]
    els_duration_days: float | None
    els_planned_days: float | None
    els_escalations: int
    els_overrides: tuple[str, ...]
    feedback: tuple[Feedback, ...]
    deployments: tuple[Deployment, ...]
    dates: tuple[PlannedAndActual, ...]

    @property
    def satisfaction(self) -> float | None:
        """The feedback's mean rating, to one decimal; None without any."""
        if not self.feedback:
            return None
        return round(sum(f.rating for f in self.feedback) / len(self.feedback), 1)


def draft(release: ReleaseState, record: Record) -> ReviewDraft:
    deployments = tuple(sorted(record.deployments, key=_ended))
    cases = record.cases
    incidents = tuple(sorted({ref for case in cases for ref in case.incidents}))
    return ReviewDraft(
        deployment_outcome=_outcome(deployments),
        incidents_during_els=len(incidents),
        incidents=incidents,
        els_duration_days=_els_days(cases),
        els_planned_days=planned_els_days(release),
        els_escalations=sum(case.escalations for case in cases),
        els_overrides=tuple(c.override_reason for c in cases if c.override_reason),
        feedback=tuple(record.feedback),
        deployments=deployments,
        dates=_dates(release, _to_production(deployments, record.production), cases),
    )


def planned_els_days(release: ReleaseState) -> float | None:
    els = release.activities.get(Activity.EARLY_LIFE_SUPPORT)
    return float((els.end - els.start).days + 1) if els else None


def _ended(deployment: Deployment) -> datetime:
    return deployment.finished_at or datetime.max.replace(tzinfo=UTC)


def _outcome(deployments: Sequence[Deployment]) -> str:
    """One line per deployment, in the order they ended: `production: completed on …`."""
    if not deployments:
        return "no deployment was reported"
    lines = []
    for d in deployments:
        outcome = d.outcome.value.replace("_", " ") if d.outcome else "still running"
        when = f" on {d.finished_at.date()}" if d.finished_at else ""
        lines.append(f"{d.environment}: {outcome}{when}")
    return "; ".join(lines)


def _to_production(
    deployments: Sequence[Deployment], production: frozenset[str]
) -> Sequence[Deployment]:
    if not production:
        return deployments
    return [d for d in deployments if d.environment in production]


def _els_days(cases: Sequence[ElsCase]) -> float | None:
    """From the first case's start to the last one's exit, in days to one decimal; None
    while any case runs."""
    starts = [c.started_at for c in cases if c.started_at]
    exits = [c.exited_at for c in cases]
    if not starts or not exits or None in exits:
        return None
    span: timedelta = max(e for e in exits if e) - min(starts)
    return round(span.total_seconds() / 86400, 1)


def _dates(
    release: ReleaseState, deployments: Sequence[Deployment], cases: Sequence[ElsCase]
) -> tuple[PlannedAndActual, ...]:
    planned = release.activities
    deploy, els = planned.get(Activity.DEPLOYMENT), planned.get(Activity.EARLY_LIFE_SUPPORT)
    completed = [d.completed_at.date() for d in deployments if d.completed_at]
    starts = [c.started_at.date() for c in cases if c.started_at]
    exits = [c.exited_at.date() for c in cases if c.exited_at]
    running = any(c.exited_at is None for c in cases)
    return (
        PlannedAndActual("deployed", deploy.end if deploy else None, min(completed, default=None)),
        PlannedAndActual(
            "early life support started", els.start if els else None, min(starts, default=None)
        ),
        PlannedAndActual(
            "early life support ended",
            els.end if els else None,
            None if running else max(exits, default=None),
        ),
    )
