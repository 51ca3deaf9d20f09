"""release-svc and deployments by environment class: a test deployment's verification is
recorded as the validation its plan named; only production moves the release's lifecycle.
deploy-svc's side is published on its topic as it would; real PostgreSQL and Kafka."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from ferry.events.deploy import (
    DeploymentCompleted,
    DeploymentRolledBack,
    EnvironmentClass,
    ValidationEvidence,
)
from ferry.events.dml import ReleaseAvailable
from ferry.events.release import ValidationKind
from release_svc.config import Settings
from tests.integration.test_release_lifecycle import headers, packaged_release, validated
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic


def evidence(kind: ValidationKind, revision: int = 1) -> ValidationEvidence:
    return ValidationEvidence(kind=kind, package_revision=revision, tester="tess")


async def test_test_deployments_record_the_validations_their_plans_named(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    s = release_settings
    built = await packaged_release(api, infra, s)
    release_id, path = UUID(built.json()["id"]), f"/releases/{built.json()['id']}"
    test = {"release_id": release_id, "environment": "qa", "environment_class": "test"}
    await publish(
        infra,
        s.topic("deploy.events"),
        DeploymentCompleted(
            deployment_id=uuid4(), **test, validates=evidence(ValidationKind.FUNCTIONAL)
        ),
        # Validating an earlier package: not this one's.
        DeploymentRolledBack(
            deployment_id=uuid4(), **test, validates=evidence(ValidationKind.INTEGRATION, 0)
        ),
        DeploymentRolledBack(
            deployment_id=uuid4(), **test, validates=evidence(ValidationKind.INTEGRATION)
        ),
    )

    async def judged() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(path)).json()
        return body if body["status"] == "validation_failed" else None

    release = await eventually(judged, what="both validations recorded")
    assert release["deployed_to"] == []  # a test deployment moves no lifecycle
    published = await read_topic(infra.kafka, s.topic("release.events"), expect=6)
    results = [e for e in published if e.type == "ValidationResultRecorded"]
    # Three deployments, on their own partitions: their reports come in any order.
    assert sorted((e.data["kind"], e.data["outcome"], e.data["tester"]) for e in results) == [
        ("functional", "passed", "tess"),
        ("integration", "failed", "tess"),
    ]
    assert all(e.data["evidence"].startswith("deployment ") for e in results)
    assert all(e.data["evidence"].endswith(" to qa") for e in results)


async def test_only_a_production_deployment_moves_the_release(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    s = release_settings
    built = await packaged_release(api, infra, s)
    release_id, path = UUID(built.json()["id"]), f"/releases/{built.json()['id']}"
    etag = await validated(api, infra, path, built.headers["ETag"])
    approval = await api.post(
        f"{path}/approvals",
        json={"rfc": "RFC-8"},
        headers=headers(infra, "carl", "change-authority", etag),
    )
    assert approval.status_code == 200, approval.text
    await publish(
        infra,
        s.topic("dml.events"),
        ReleaseAvailable(release_id=release_id, manifest="{}", signature=""),
    )

    async def status(expected: str) -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(path)).json()
        return body if body["status"] == expected else None

    await eventually(lambda: status("available"), what="the release available")
    on_deploy = s.topic("deploy.events")
    for environment, kind in (("stage", EnvironmentClass.STAGING), ("qa", EnvironmentClass.TEST)):
        await publish(
            infra,
            on_deploy,
            DeploymentCompleted(
                deployment_id=uuid4(),
                release_id=release_id,
                environment=environment,
                environment_class=kind,
            ),
        )
    await publish(
        infra,
        on_deploy,
        DeploymentCompleted(
            deployment_id=uuid4(),
            release_id=release_id,
            environment="production",
            environment_class=EnvironmentClass.PRODUCTION,
        ),
    )
    deployed = await eventually(lambda: status("deployed"), what="production to count")
    assert deployed["deployed_to"] == ["production"]
