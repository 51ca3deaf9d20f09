"""Release policies: what each type of release must pass before it may be approved."""

from __future__ import annotations

from dataclasses import dataclass, field

from ferry.errors import Forbidden, InvalidField, InvalidTransition, Unprocessable
from ferry.events.policy import ReleasePolicySet, SegregationRule
from ferry.events.release import Level, ReadinessItem, ReleaseType, ValidationKind
from ferry.eventsourced import EventSourced

ALL_SEGREGATION = frozenset(SegregationRule)


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
        )


_F, _I, _U = ValidationKind.FUNCTIONAL, ValidationKind.INTEGRATION, ValidationKind.USER_ACCEPTANCE
DEFAULTS = {
    ReleaseType.MAJOR: Policy(ReleaseType.MAJOR, frozenset({_F, _I, _U})),
    ReleaseType.MINOR: Policy(ReleaseType.MINOR, frozenset({_F, _I})),
    ReleaseType.PATCH: Policy(ReleaseType.PATCH, frozenset({_F})),
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
            )
        ]

    def _evolve(self, event: ReleasePolicySet) -> None:
        self.policy = Policy.of(event)
