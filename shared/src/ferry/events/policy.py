"""Release policies and freeze periods: published by release-svc on `release.events`."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime

from ferry.events.base import Event
from ferry.events.release import ReadinessItem, ReleaseType, RiskRule, ValidationKind


class SegregationRule(StrEnum):
    """Segregation-of-duties rules a policy may enforce."""

    BUILDER_CANNOT_VALIDATE = "builder-cannot-validate"
    BUILDER_CANNOT_APPROVE = "builder-cannot-approve"
    APPROVER_CANNOT_DEPLOY_TO_PRODUCTION = "approver-cannot-deploy-to-production"
    EMERGENCY_REQUESTER_CANNOT_APPROVE_ALONE = "emergency-requester-cannot-approve-alone"
    TESTER_CANNOT_APPROVE = "tester-cannot-approve"
    PLANNER_CANNOT_APPROVE = "planner-cannot-approve"
    ONE_GATE_PER_PERSON = "one-gate-per-person"
    """Of a package's gates (build, validate, approve, deploy to production) one person
    fills at most one, whatever roles they hold."""


class ReleasePolicySet(Event):
    """The rules releases of one type follow (replacing the earlier policy)."""

    stream_prefix: ClassVar[str] = "release-policy"
    type: Literal["ReleasePolicySet"] = "ReleasePolicySet"
    schema_version: Literal[1] = 1
    release_type: ReleaseType
    required_validations: list[ValidationKind]
    approvers: int
    """Distinct approvers needed."""
    high_risk_approvers: int
    """Distinct approvers needed when the risk assessment says high (a CAB)."""
    backout_plan_required: bool
    segregation: list[SegregationRule]
    review_required: bool
    """Whether the release closes only through a post-implementation review."""
    readiness: list[ReadinessItem] = []
    """What must be confirmed ready before a production deployment."""
    risk_rules: list[RiskRule] = []
    """Per risk level, what its production deployments and validations must be."""
    risk_assessment_required: bool | None = None
    """Whether approval waits for a risk assessment; None (before it was set): for every
    release type but patches."""

    def aggregate_id(self) -> str:
        return str(self.release_type)


class FreezeEvent(Event):
    """An event of one freeze (blackout) period."""

    stream_prefix: ClassVar[str] = "freeze"
    freeze_id: UUID

    def aggregate_id(self) -> str:
        return str(self.freeze_id)


class FreezePeriodDeclared(FreezeEvent):
    """No release may be deployed in scope between `start` and `end`."""

    type: Literal["FreezePeriodDeclared"] = "FreezePeriodDeclared"
    schema_version: Literal[1] = 1
    start: AwareDatetime
    end: AwareDatetime
    reason: str
    environments: list[str]
    """Empty: every environment."""
    services: list[str]
    """Empty: every service."""


class FreezePeriodLifted(FreezeEvent):
    """A freeze period no longer applies."""

    type: Literal["FreezePeriodLifted"] = "FreezePeriodLifted"
    schema_version: Literal[1] = 1
    reason: str
