"""The handler that accepts a deployment plan, on the in-memory event store and read
models: what it reads, what it appends and keeps, and that a refusal leaves nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from deploy_svc.domain.deployment import PlanDeployment, State
from deploy_svc.domain.facts import ReleaseFacts, Window
from deploy_svc.domain.plans import NotDeployable, SegregationOfDuties
from deploy_svc.handlers.deployments import change, deployment_stream, plan_deployment
from deploy_svc.handlers.environments import environment_stream
from deploy_svc.testing import InMemoryViews
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, Forbidden
from ferry.events.deploy import EnvironmentDefined, Strategy, TargetSpec
from ferry.grants import Acting, Grant, OutsideTeam
from ferry.manifest import SignedManifest
from ferry.testing import InMemoryUnitOfWork

START = datetime(2026, 12, 10, 22, tzinfo=UTC)
DEPENDENCY = uuid4()
RELEASE = ReleaseFacts(
    release_id=uuid4(),
    identifier="REL-2026-0001",
    version="2026.12.0",
    windows={"production": Window(START - timedelta(hours=1), START + timedelta(hours=3))},
    depends_on=frozenset({DEPENDENCY}),
    approvers=frozenset({"carl"}),
    segregation=frozenset({"approver-cannot-deploy-to-production"}),
    services=frozenset({"payments"}),
    available=SignedManifest("{}", "sig", "key"),
)
META = Meta("dora", "test")
DEPLOYERS = frozenset({"deployer", "release-manager"})
DORA = Acting(frozenset({Grant("deployer")}), DEPLOYERS)
"""dora deploys everywhere."""
PAM = Acting(frozenset({Grant("deployer", "payments")}), DEPLOYERS)
"""pam deploys for the payments team."""


async def stack() -> tuple[InMemoryUnitOfWork, InMemoryViews]:
    uow = InMemoryUnitOfWork()
    targets = [TargetSpec(name=f"web-{n}", driver="local") for n in (1, 2, 3, 4)]
    defined = EnvironmentDefined(environment="production", production=True, targets=targets)
    await uow.events.append(environment_stream("production"), 0, [defined], META)
    views = InMemoryViews(
        facts={
            RELEASE.release_id: RELEASE,
            DEPENDENCY: ReleaseFacts(DEPENDENCY, identifier="REL-2026-0000", version="1"),
        },
        deployed={(DEPENDENCY, "production")},
    )
    return uow, views


def plan(by: str = "dora", **changes: object) -> PlanDeployment:
    fields: dict[str, object] = {
        "deployment_id": uuid4(),
        "release_id": RELEASE.release_id,
        "environment": "production",
        "targets": [],
        "strategy": Strategy.PHASED,
        "sizes": [2],
        "percentages": [],
        "canary": 0,
        "soak_seconds": 0.0,
        "start": START,
        "by": by,
    }
    return PlanDeployment(**(fields | changes))  # type: ignore[arg-type]


async def test_an_accepted_plan_is_scheduled_in_waves_and_listed() -> None:
    uow, views = await stack()
    cmd = plan()
    deployment = await plan_deployment(uow, views, cmd, META, DORA)
    [scheduled] = uow.events.published[1:]
    assert scheduled.type == "DeploymentScheduled"
    assert scheduled.subject == str(cmd.deployment_id)
    assert [w.targets for w in deployment.waves] == [["web-1", "web-2"], ["web-3", "web-4"]]
    assert deployment.release_version == RELEASE.version
    assert views.held == ["production"]
    assert views.deployments[cmd.deployment_id].state is State.SCHEDULED


async def test_targets_an_active_deployment_holds_are_refused_and_nothing_is_kept() -> None:
    uow, views = await stack()
    first = await plan_deployment(uow, views, plan(targets=["web-2"]), META, DORA)
    second = plan(targets=["web-1", "web-2"])
    with pytest.raises(NotDeployable, match=f"web-2.*{first.id}|{first.id}.*web-2"):
        await plan_deployment(uow, views, second, META, DORA)
    assert await uow.events.load(deployment_stream(second.deployment_id)) == []
    assert second.deployment_id not in views.deployments


async def test_an_approver_of_the_release_may_not_deploy_it_to_production() -> None:
    uow, views = await stack()
    with pytest.raises(SegregationOfDuties, match="approver-cannot-deploy"):
        await plan_deployment(uow, views, plan(by="carl"), META, DORA)
    assert views.deployments == {}


async def test_a_dependency_not_deployed_there_is_named_in_the_refusal() -> None:
    uow, views = await stack()
    views.deployed.clear()
    with pytest.raises(NotDeployable, match="REL-2026-0000"):
        await plan_deployment(uow, views, plan(), META, DORA)


async def test_a_change_is_kept_in_the_list_and_one_at_a_stale_version_appends_nothing() -> None:
    uow, views = await stack()
    planned = await plan_deployment(uow, views, plan(), META, DORA)
    paused = await change(
        uow, views, planned.id, planned.version, META, lambda found: found.pause("dora"), DORA
    )
    assert views.deployments[planned.id].paused
    with pytest.raises(ConcurrencyError):
        await change(
            uow, views, planned.id, planned.version, META, lambda found: found.resume("dora"), DORA
        )
    assert len(await uow.events.load(deployment_stream(planned.id))) == paused.version


async def test_a_finished_deployment_holds_its_targets_no_more() -> None:
    uow, views = await stack()
    first = await plan_deployment(uow, views, plan(targets=["web-1"]), META, DORA)
    await change(uow, views, first.id, None, META, lambda f: f.abort("dora", "wrong"), DORA)
    assert views.deployments[first.id].state is not State.SCHEDULED
    await plan_deployment(uow, views, plan(targets=["web-1"]), META, DORA)


async def test_a_teams_deployer_plans_and_acts_only_where_the_team_owns_the_environment() -> None:
    uow, views = await stack()
    with pytest.raises(Forbidden, match="environment production belongs to no team"):
        await plan_deployment(uow, views, plan(by="pam"), META, PAM)
    views.owners["production"] = "identity"
    with pytest.raises(OutsideTeam, match="belongs to team identity"):
        await plan_deployment(uow, views, plan(by="pam"), META, PAM)
    planned = await plan_deployment(uow, views, plan(), META, DORA)
    with pytest.raises(OutsideTeam):
        await change(uow, views, planned.id, None, META, lambda f: f.pause("pam"), PAM)
    assert not views.deployments[planned.id].paused

    views.owners["production"] = "payments"
    await change(uow, views, planned.id, None, META, lambda f: f.pause("pam"), PAM)
    assert views.deployments[planned.id].paused
