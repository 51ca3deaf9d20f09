"""Request and response bodies of the policies router."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from ferry.events.policy import SegregationRule
from ferry.events.release import (
    ReadinessItem,
    ReleaseType,
    ValidationKind,
)
from release_svc.domain.policy import Policy


class PolicyRules(BaseModel):
    """The rules releases of one type follow."""

    model_config = ConfigDict(extra="forbid")

    required_validations: list[ValidationKind] = Field(min_length=1, max_length=len(ValidationKind))
    approvers: int = Field(ge=1, le=20)
    high_risk_approvers: int = Field(ge=1, le=20)
    backout_plan_required: bool = True
    segregation: list[SegregationRule] = Field(default=list(SegregationRule))
    review_required: bool = True
    readiness: list[ReadinessItem] = Field(default=[], max_length=len(ReadinessItem))
    """What must be confirmed ready before a production deployment."""

    @field_validator("high_risk_approvers")
    @classmethod
    def _at_least_approvers(cls, value: int, info: ValidationInfo) -> int:
        approvers = info.data.get("approvers")
        if approvers is not None and value < approvers:
            raise ValueError("must be at least approvers")
        return value

    def to_policy(self, release_type: ReleaseType) -> Policy:
        return Policy(
            release_type=release_type,
            required_validations=frozenset(self.required_validations),
            approvers=self.approvers,
            high_risk_approvers=self.high_risk_approvers,
            backout_plan_required=self.backout_plan_required,
            segregation=frozenset(self.segregation),
            review_required=self.review_required,
            readiness=frozenset(self.readiness),
        )


class PolicyIn(PolicyRules):
    """A policy proposed: its rules, and why they should change."""

    reason: str = Field(min_length=1, max_length=2000)
    """Shown to the change authorities who decide on the proposal."""


class PolicyOut(PolicyRules):
    release_type: ReleaseType
    stream_version: int
    """0 while the default is in force."""

    @classmethod
    def of(cls, policy: Policy, version: int) -> PolicyOut:
        return cls(
            release_type=policy.release_type,
            required_validations=sorted(policy.required_validations),
            approvers=policy.approvers,
            high_risk_approvers=policy.high_risk_approvers,
            backout_plan_required=policy.backout_plan_required,
            segregation=sorted(policy.segregation),
            review_required=policy.review_required,
            readiness=sorted(policy.readiness),
            stream_version=version,
        )
