"""Release policies: what each type of release must pass before it may be approved."""

from __future__ import annotations

from dataclasses import dataclass, field

from ferry.errors import Forbidden, InvalidField, InvalidTransition, Unprocessable
from ferry.events.policy import ReleasePolicySet, SegregationRule
from ferry.events.release import Level, ReadinessItem, ReleaseType, RiskRule, ValidationKind
from ferry.events.strategy import Strategy
from ferry.eventsourced import EventSourced

ALL_SEGREGATION = frozenset(SegregationRule)


@dataclass(frozen=True)
class RiskDemand:
    """What a policy asks of releases of one risk level: the least careful strategy and
    the shortest soak of their production deployments, and validations besides the
    policy's own."""

    level: Level
    least_strategy: Strategy = Strategy.BIG_BANG
    min_soak_seconds: float = 0
    validations: frozenset[ValidationKind] = frozenset()

    def as_rule(self) -> RiskRule:
        return RiskRule(
            level=self.level,
            least_strategy=self.least_strategy,
            min_soak_seconds=self.min_soak_seconds,
            validations=sorted(self.validations),
        )

    @classmethod
    def of(cls, rule: RiskRule) -> RiskDemand:
        return cls(
            rule.level, rule.least_strategy, rule.min_soak_seconds, frozenset(rule.validations)
        )


@dataclass(frozen=True)
class Policy:
    """The rules releases of one type follow."""

    release_type: ReleaseType
    required_validations: frozenset[ValidationKind]
    approvers: int = 1
    high_risk_approvers: int = 2
    backout_plan_required: bool = True
    segregation: frozenset[SegregationRule] = ALL_SEGREGATION
    review_required: bool = True
    readiness: frozenset[ReadinessItem] = frozenset()
    """What must be confirmed ready before a production deployment."""
    risk_rules: tuple[RiskDemand, ...] = ()
    """At most one per risk level, in the levels' order."""
    risk_assessment_required: bool = True
    """Whether approval waits for the release's risk to be assessed."""

    def rule_for(self, risk: Level | None) -> RiskDemand | None:
        return next((rule for rule in self.risk_rules if rule.level is risk), None)

    def validations_for(self, risk: Level | None) -> frozenset[ValidationKind]:
        """The validations a release of `risk` must pass: the policy's, and its level's."""
        rule = self.rule_for(risk)
        return self.required_validations | (rule.validations if rule else frozenset())

    def approvers_needed(self, risk: Level | None) -> int:
        return self.high_risk_approvers if risk is Level.HIGH else self.approvers

    def enforces(self, rule: SegregationRule) -> bool:
        return rule in self.segregation

    @classmethod
    def of(cls, event: ReleasePolicySet) -> Policy:
        return cls(
            release_type=event.release_type,
            required_validations=frozenset(event.required_validations),
            approvers=event.approvers,
            high_risk_approvers=event.high_risk_approvers,
            backout_plan_required=event.backout_plan_required,
            segregation=frozenset(event.segregation),
            review_required=event.review_required,
            readiness=frozenset(event.readiness),
            risk_rules=tuple(RiskDemand.of(rule) for rule in event.risk_rules),
            risk_assessment_required=(
                event.risk_assessment_required
                if event.risk_assessment_required is not None
                else event.release_type is not ReleaseType.PATCH
            ),
        )


_F, _I, _U = ValidationKind.FUNCTIONAL, ValidationKind.INTEGRATION, ValidationKind.USER_ACCEPTANCE
DEFAULTS = {
    ReleaseType.MAJOR: Policy(ReleaseType.MAJOR, frozenset({_F, _I, _U})),
    ReleaseType.MINOR: Policy(ReleaseType.MINOR, frozenset({_F, _I})),
    ReleaseType.PATCH: Policy(ReleaseType.PATCH, frozenset({_F}), risk_assessment_required=False),
    # The emergency path: one approver whatever the risk, and a review afterwards.
    ReleaseType.EMERGENCY: Policy(ReleaseType.EMERGENCY, frozenset({_F}), high_risk_approvers=1),
}
"""Policies in force until a release manager sets one."""


class SegregationOfDuties(Forbidden):
    """A segregation-of-duties rule of the release's policy forbids this."""

    def __init__(self, rule: SegregationRule, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule

    def extensions(self) -> dict[str, object]:
        return {"rule": str(self.rule)}


class RulesUnmet(Unprocessable):
    """The release does not yet meet every rule its policy sets for this step."""

    def __init__(self, unmet: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{rule}: {message}" for rule, message in unmet))
        self.unmet = unmet

    def extensions(self) -> dict[str, object]:
        return {"errors": [{"rule": rule, "message": message} for rule, message in self.unmet]}


@dataclass
class ReleasePolicy(EventSourced):
    """The policy aggregate of one release type; until first set, the default is in force."""

    release_type: ReleaseType
    version: int = 0
    policy: Policy = field(init=False)

    def __post_init__(self) -> None:
        self.policy = DEFAULTS[self.release_type]

    def set(self, policy: Policy) -> list[ReleasePolicySet]:
        if policy.release_type is not self.release_type:
            raise InvalidTransition(self.release_type, str(self.release_type), "set the policy of")
        if policy.approvers < 1 or policy.high_risk_approvers < policy.approvers:
            raise InvalidField("high_risk_approvers", "must be at least approvers, at least 1")
        if not policy.required_validations:
            raise InvalidField("required_validations", "name at least one kind")
        levels = [rule.level for rule in policy.risk_rules]
        if len(set(levels)) != len(levels):
            raise InvalidField("risk_rules", "one rule per risk level")
        if policy.release_type is ReleaseType.EMERGENCY and not policy.review_required:
            # What makes the short emergency path acceptable is the look back afterwards.
            raise InvalidField("review_required", "an emergency release is always reviewed")
        if policy == self.policy and self.version:
            return []
        return [
            ReleasePolicySet(
                release_type=policy.release_type,
                required_validations=sorted(policy.required_validations),
                approvers=policy.approvers,
                high_risk_approvers=policy.high_risk_approvers,
                backout_plan_required=policy.backout_plan_required,
                segregation=sorted(policy.segregation),
                review_required=policy.review_required,
                readiness=sorted(policy.readiness),
                risk_rules=[rule.as_rule() for rule in policy.risk_rules],
                risk_assessment_required=policy.risk_assessment_required,
            )
        ]

    def _evolve(self, event: ReleasePolicySet) -> None:
        self.policy = Policy.of(event)
