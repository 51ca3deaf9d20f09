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
    Level,
    ReadinessItem,
    ReleaseType,
    ValidationKind,
)
from ferry.events.strategy import Strategy
from release_svc.domain.policy import Policy, RiskDemand


class RiskRuleIn(BaseModel):
    """What releases of one risk level must do: their production deployments at least
    this careful (big_bang < phased < canary) and soaking at least this long after each
    wave, and these validations besides the policy's."""

    model_config = ConfigDict(extra="forbid")

    level: Level
    least_strategy: Strategy = Strategy.BIG_BANG
    min_soak_seconds: float = Field(default=0, ge=0, le=86400, allow_inf_nan=False)
    validations: list[ValidationKind] = Field(default=[], max_length=len(ValidationKind))

    @classmethod
    def of(cls, rule: RiskDemand) -> RiskRuleIn:
        return cls(
            level=rule.level,
            least_strategy=rule.least_strategy,
            min_soak_seconds=rule.min_soak_seconds,
            validations=sorted(rule.validations),
        )


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
    risk_rules: list[RiskRuleIn] = Field(default=[], max_length=len(Level))
    """At most one per risk level."""
    risk_assessment_required: bool | None = None
    """Whether approval waits for a risk assessment; absent: for all but patches."""

    @field_validator("risk_rules")
    @classmethod
    def _one_per_level(cls, rules: list[RiskRuleIn]) -> list[RiskRuleIn]:
        if len({rule.level for rule in rules}) != len(rules):
            raise ValueError("one rule per risk level")
        return rules

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
            risk_rules=tuple(
                RiskDemand(r.level, r.least_strategy, r.min_soak_seconds, frozenset(r.validations))
                for r in sorted(self.risk_rules, key=lambda r: list(Level).index(r.level))
            ),
            risk_assessment_required=(
                self.risk_assessment_required
                if self.risk_assessment_required is not None
                else release_type is not ReleaseType.PATCH
            ),
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
            risk_rules=[RiskRuleIn.of(rule) for rule in policy.risk_rules],
            risk_assessment_required=policy.risk_assessment_required,
            stream_version=version,
        )
