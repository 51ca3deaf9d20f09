"""The review's draft, as `GET /releases/{id}/review/draft` shows it."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel

from release_svc.domain.delivery import Outcome
from release_svc.domain.review_draft import ReviewDraft


class DeploymentOut(BaseModel):
    deployment_id: UUID
    environment: str
    outcome: Outcome | None
    """How it ended, the latest word winning (a completed one may be rolled back later)."""
    finished_at: datetime | None


class FeedbackOut(BaseModel):
    rating: int
    """1 (poor) to 5 (excellent)."""
    comment: str
    given_by: str


class PlannedAndActualOut(BaseModel):
    milestone: str
    planned: date | None
    actual: date | None
    slip_days: int | None
    """Days late (negative: early); null until both are known."""


class ReviewDraftOut(BaseModel):
    """What happened, for the reviewer to judge; the fields `POST /review` takes from it
    where its findings are silent are `deployment_outcome`, `incidents_during_els` and
    `els_duration_days`."""

    deployment_outcome: str
    incidents_during_els: int
    incidents: list[str]
    """The references of the incidents linked to the release's ELS cases."""
    els_duration_days: float | None
    """From the first case's start to the last one's exit; null while a case runs."""
    els_planned_days: float | None
    els_escalations: int
    els_overrides: list[str]
    """Why operations took a case over before normal was reached, for each that was."""
    feedback: list[FeedbackOut]
    satisfaction: float | None
    """The feedback's mean rating; null without feedback."""
    deployments: list[DeploymentOut]
    dates: list[PlannedAndActualOut]

    @classmethod
    def of(cls, draft: ReviewDraft) -> ReviewDraftOut:
        return cls(
            deployment_outcome=draft.deployment_outcome,
            incidents_during_els=draft.incidents_during_els,
            incidents=list(draft.incidents),
            els_duration_days=draft.els_duration_days,
            els_planned_days=draft.els_planned_days,
            els_escalations=draft.els_escalations,
            els_overrides=list(draft.els_overrides),
            feedback=[FeedbackOut(**vars(f)) for f in draft.feedback],
            satisfaction=draft.satisfaction,
            deployments=[
                DeploymentOut(
                    deployment_id=d.deployment_id,
                    environment=d.environment,
                    outcome=d.outcome,
                    finished_at=d.finished_at,
                )
                for d in draft.deployments
            ],
            dates=[
                PlannedAndActualOut(
                    milestone=d.milestone, planned=d.planned, actual=d.actual, slip_days=d.slip_days
                )
                for d in draft.dates
            ],
        )
