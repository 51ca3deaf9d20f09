"""Request bodies of the release planning router: scope, windows, communications, risk,
backout plan."""

from __future__ import annotations

from datetime import timedelta

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from ferry.events.release import (
    BackoutStep,
    BackoutStepKind,
    BackoutTrigger,
    DeploymentWindow,
    Level,
    Milestone,
    TriggerKind,
)
from ferry.fields import Line, Moment, Notes, Prose
from release_svc.api.schemas.common import Name, ScopeItemIn

MAX_OFFSET = timedelta(days=3650)
"""How far from its milestone a communication may be timed."""


class ScopeIn(BaseModel):
    """Everything the release includes (replacing the earlier scope)."""

    model_config = ConfigDict(extra="forbid")

    items: list[ScopeItemIn] = Field(max_length=500)


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Name
    start: Moment = Field(examples=["2026-12-03T22:00:00+01:00"])
    end: Moment


class WindowsIn(BaseModel):
    """Deployment windows, at most one per environment (replacing the earlier ones)."""

    model_config = ConfigDict(extra="forbid")

    windows: list[WindowIn] = Field(max_length=50)
    freeze_override: Notes = Field(
        default="", description="an emergency release's reason to deploy inside a freeze"
    )

    def to_windows(self) -> list[DeploymentWindow]:
        return [DeploymentWindow(**w.model_dump()) for w in self.windows]


class CommunicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: Line = Field(examples=["service desk"])
    channel: Line = Field(examples=["email"])
    message: Prose
    milestone: Milestone
    offset: timedelta = Field(
        default=timedelta(0),
        ge=-MAX_OFFSET,
        le=MAX_OFFSET,
        description="ISO 8601 duration from the milestone, at most 3650 days either way; "
        "negative is before, e.g. -P7D",
        examples=["-P7D"],
    )
    acknowledge: bool = Field(
        default=False, description="ask its recipients to acknowledge it, in their inboxes"
    )


class CommunicationPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[CommunicationIn] = Field(max_length=200)


class RiskIn(BaseModel):
    """Likelihood and impact; the risk level follows from them."""

    model_config = ConfigDict(extra="forbid")

    likelihood: Level
    impact: Level
    affected_services: list[Name] = Field(default=[], max_length=100)
    mitigations: list[Prose] = Field(default=[], max_length=100)


class BackoutTriggerIn(BaseModel):
    """`verification_failed`; `metric` (an Early Life Support metric's escalation, naming
    `metric`); `judgement` (someone asks for the rollback)."""

    model_config = ConfigDict(extra="forbid")

    kind: TriggerKind = TriggerKind.JUDGEMENT
    description: Notes = ""
    metric: Line | None = None


class BackoutStepIn(BaseModel):
    """`rollback` (the driver switches the targets back), `webhook` (a signed POST to one of
    deploy-svc's configured `FERRY_DEPLOY_BACKOUT_WEBHOOKS`, by name), `manual` (someone
    does it and confirms it through deploy-svc's API)."""

    model_config = ConfigDict(extra="forbid")

    kind: BackoutStepKind = BackoutStepKind.MANUAL
    description: Notes = ""
    webhook: Line | None = None


class BackoutPlanIn(BaseModel):
    """Plain text is a judgement (a trigger) or a manual step, as before plans were typed."""

    model_config = ConfigDict(extra="forbid")

    trigger_conditions: list[Prose | BackoutTriggerIn] = Field(min_length=1, max_length=50)
    steps: list[Prose | BackoutStepIn] = Field(min_length=1, max_length=100, description="in order")

    def typed(self) -> tuple[list[BackoutTrigger | str], list[BackoutStep | str]]:
        return (
            [
                t if isinstance(t, str) else BackoutTrigger(**t.model_dump())
                for t in self.trigger_conditions
            ],
            [s if isinstance(s, str) else BackoutStep(**s.model_dump()) for s in self.steps],
        )
