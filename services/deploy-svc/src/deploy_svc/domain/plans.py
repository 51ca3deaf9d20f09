"""Whether a deployment plan may be accepted: every rule of the issue's list, each refusal
naming its reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from deploy_svc.domain.environment import Environment
from deploy_svc.domain.facts import ReleaseFacts
from ferry.errors import Conflict, Forbidden, InvalidField
from ferry.events.strategy import Strategy
from ferry.freezes import FreezePeriod

APPROVER_RULE = "approver-cannot-deploy-to-production"
ONE_GATE_RULE = "one-gate-per-person"
LEAST_STRATEGY_RULE = "risk-least-strategy"
MIN_SOAK_RULE = "risk-min-soak"


class BelowRiskPolicy(InvalidField):
    """A production plan less careful than the release's policy asks for its risk."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(field, f"{rule}: {message}")
        self.rule = rule

    def extensions(self) -> dict[str, object]:
        return {**super().extensions(), "rule": self.rule}


class NotDeployable(Conflict):
    """The release or its environment does not allow this deployment now."""


class NotReady(NotDeployable):
    """Readiness items the release's approval named are not yet confirmed."""

    def __init__(self, identifier: str, open_items: Set[str]) -> None:
        listed = ", ".join(sorted(open_items))
        super().__init__(f"{identifier} is not ready for production: {listed} not confirmed")
        self.open = sorted(open_items)

    def extensions(self) -> dict[str, object]:
        return {"readiness": self.open}


class SegregationOfDuties(Forbidden):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule

    def extensions(self) -> dict[str, object]:
        return {"rule": self.rule}


@dataclass(frozen=True)
class Plan:
    release_id: UUID
    environment: str
    targets: Sequence[str]
    start: datetime
    by: str
    strategy: Strategy = Strategy.BIG_BANG
    soak_seconds: float = 0


def check_release(
    release: ReleaseFacts, environment: Environment, freezes: Sequence[FreezePeriod], at: datetime
) -> None:
    """The rules of the release itself at `at`, in `environment` as its class has it:
    judged when a plan is made, and again when it starts (a freeze declared since, a
    revocation, a start delayed out of the window). Development and test environments take
    the built package, in no window; staging and production what the DML made available,
    in the release's window for them."""
    name, kind = environment.name, environment.environment_class
    if release.cancelled:
        raise NotDeployable(f"{release.identifier} was cancelled")
    if release.revoked:
        raise NotDeployable(f"{release.identifier} was revoked in the DML")
    if kind.takes_staged_media:
        if release.package is None:
            raise NotDeployable(f"{release.identifier} has no package built yet")
    elif release.available is None:
        raise NotDeployable(
            f"{release.identifier} is not available in the DML yet ({name} is a {kind} "
            "environment: it takes what the DML made available)"
        )
    if kind.needs_window:
        window = (release.windows or {}).get(name)
        if window is None:
            raise InvalidField("environment", f"{release.identifier} has no window for it")
        if not window.holds(at):
            raise InvalidField(
                "scheduled_start",
                f"outside {release.identifier}'s {name} window, "
                f"{window.start.isoformat()} to {window.end.isoformat()}",
            )
    for freeze in freezes:
        if freeze.freeze_id in release.overridden_freezes:
            continue
        if freeze.holds_at(at) and freeze.applies_to(name, release.services):
            raise NotDeployable(f"{name} is frozen: {freeze.reason}")


def judge(
    plan: Plan,
    release: ReleaseFacts | None,
    environment: Environment,
    freezes: Sequence[FreezePeriod],
    deployed_dependencies: Set[UUID],
    busy: Mapping[str, UUID],
    names: Mapping[UUID, str],
) -> None:
    """Refuse the plan unless every rule holds. `busy`: target → the active deployment
    holding it; `names`: identifiers of the releases the release depends on."""
    if release is None:
        raise InvalidField("release_id", "deploy-svc has not heard of this release")
    if not environment.exists:
        raise InvalidField("environment", f"no environment {plan.environment}")
    for i, target in enumerate(plan.targets):
        if target in plan.targets[:i]:
            raise InvalidField(f"targets.{i}", f"{target} is named twice")
        if environment.target(target) is None:
            raise InvalidField(f"targets.{i}", f"{plan.environment} has no target {target}")
    check_release(release, environment, freezes, plan.start)
    if missing := release.depends_on - deployed_dependencies:
        listed = ", ".join(sorted(names.get(r, str(r)) for r in missing))
        raise NotDeployable(f"not yet deployed to {plan.environment}: {listed}")
    if held := sorted(t for t in plan.targets if t in busy):
        raise NotDeployable(f"held by deployment {busy[held[0]]}: {', '.join(held)}")
    check_production_gate(release, environment, plan.by)
    if environment.production:
        check_risk(release, plan)


def check_risk(release: ReleaseFacts, plan: Plan) -> None:
    """A production plan at least as careful as the release's policy asks for its risk."""
    risk = release.risk
    if plan.strategy.care < risk.least_strategy.care:
        raise BelowRiskPolicy(
            "strategy.kind",
            LEAST_STRATEGY_RULE,
            f"{release.identifier} is of {risk.level} risk: its policy asks for "
            f"{risk.least_strategy} or more careful in production, not {plan.strategy}",
        )
    if plan.soak_seconds < risk.min_soak_seconds:
        raise BelowRiskPolicy(
            "strategy.soak_seconds",
            MIN_SOAK_RULE,
            f"{release.identifier} is of {risk.level} risk: its policy asks for a soak of at "
            f"least {risk.min_soak_seconds:g} seconds after each wave in production",
        )


def check_production_gate(release: ReleaseFacts, environment: Environment, by: str) -> None:
    """The segregation rules of deploying `release` to a production `environment` as `by`:
    judged when a plan is made, and again when it starts (the environment may have been
    classified production since)."""
    if not environment.production:
        return
    if not release.approvers:
        # The DML may have made it available before release-svc's ReleaseApproved, which
        # names who filled which gate, reached this service: judge nothing on nothing.
        raise NotDeployable(
            f"deploy-svc has not yet heard who approved {release.identifier}; retry shortly"
        )
    if release.readiness_open:
        raise NotReady(release.identifier, release.readiness_open)
    if APPROVER_RULE in release.segregation and by in release.approvers:
        raise SegregationOfDuties(
            APPROVER_RULE, f"{by} approved {release.identifier} and so may not deploy it"
        )
    if ONE_GATE_RULE in release.segregation:
        gates = {
            "build": bool(release.built_by) and by == release.built_by,
            "validate": by in release.validated_by,
            "approve": by in release.approvers,
        }
        if filled := [gate for gate, by_them in gates.items() if by_them]:
            raise SegregationOfDuties(
                ONE_GATE_RULE,
                f"{by} filled the {' and '.join(filled)} gate of {release.identifier} "
                "and so may not deploy it to production too",
            )
