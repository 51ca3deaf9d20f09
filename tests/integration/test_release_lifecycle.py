"""A release's plan and life through release-svc's API, against real PostgreSQL and Kafka:
the other services' events arrive on their topics as those services publish them."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from ferry.events.change import ChangeApproved, ChangeRejected
from ferry.events.deploy import DeploymentCompleted
from ferry.events.dml import MediaKind, MediaStaged, ReleaseAvailable
from ferry.events.els import ElsExited, ElsStarted
from release_svc.config import Settings
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic

PLAN = {
    "name": "Payments 2026.12",
    "version": "2026.12.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-20",
    "activities": {
        "build": {"start": "2026-12-01", "end": "2026-12-02"},
        "test": {"start": "2026-12-03", "end": "2026-12-08"},
        "deployment": {"start": "2026-12-10", "end": "2026-12-10"},
        "early_life_support": {"start": "2026-12-10", "end": "2026-12-20"},
    },
}
SHA = "9f" * 32
MEDIA = {"name": "payments-api.tar.gz", "version": "2026.12.0", "sha256": SHA}


def headers(infra: Infra, subject: str, role: str, etag: str) -> dict[str, str]:
    return {**infra.issuer.bearer(subject, role), "If-Match": etag}


async def put(api: httpx.AsyncClient, path: str, etag: str, body: dict[str, Any]) -> httpx.Response:
    return await api.put(path, json=body, headers={"If-Match": etag})


LOW_RISK = {"likelihood": "low", "impact": "low", "mitigations": ["canary first"]}


async def planned_release(api: httpx.AsyncClient, **extra: Any) -> tuple[str, str]:
    created = await api.post("/releases", json={**PLAN, **extra})
    assert created.status_code == 201, created.text
    return created.json()["id"], created.headers["ETag"]


async def staged_media(
    infra: Infra, s: Settings, api: httpx.AsyncClient, release_id: str, etag: str
) -> httpx.Response:
    """Announce MEDIA as the DML does, then build the package once release-svc has seen it."""
    staged = MediaStaged(
        media_id=uuid4(),
        name=MEDIA["name"],
        version=MEDIA["version"],
        sha256=SHA,
        size=1024,
        kind=MediaKind.SOFTWARE,
    )
    await publish(infra, s.topic("dml.events"), staged)

    async def packaged() -> httpx.Response | None:
        answer = await put(api, f"/releases/{release_id}/package", etag, {"media": [MEDIA]})
        return answer if answer.status_code == 200 else None

    return await eventually(packaged, what="the package to be accepted")


async def packaged_release(
    api: httpx.AsyncClient,
    infra: Infra,
    s: Settings,
    *,
    backout: bool = True,
    **plan: Any,
) -> httpx.Response:
    """A release rita planned (with a backout plan unless not, its risk assessed low),
    packaged once release-svc knew the media."""
    release_id, etag = await planned_release(api, owners=["bob"], **plan)
    if backout:
        steps = {"trigger_conditions": ["errors"], "steps": ["roll back"]}
        etag = (await put(api, f"/releases/{release_id}/backout-plan", etag, steps)).headers["ETag"]
    etag = (await put(api, f"/releases/{release_id}/risk", etag, LOW_RISK)).headers["ETag"]
    return await staged_media(infra, s, api, release_id, etag)


async def validated(
    api: httpx.AsyncClient,
    infra: Infra,
    path: str,
    etag: str,
    kinds: tuple[str, ...] = ("functional", "integration"),
) -> str:
    """tess passes the package on `kinds` (a minor release's by default); the new ETag."""
    for kind in kinds:
        tested = await api.post(
            f"{path}/validations",
            json={"kind": kind, "outcome": "passed", "evidence": f"https://ci.example/{kind}"},
            headers=headers(infra, "tess", "tester", etag),
        )
        assert tested.status_code == 200, tested.text
        etag = tested.headers["ETag"]
    assert tested.json()["status"] == "validated"
    return str(etag)


async def test_every_part_of_the_plan_is_set_and_read_back(api: httpx.AsyncClient) -> None:
    release_id, etag = await planned_release(api)
    path = f"/releases/{release_id}"
    parts: list[tuple[str, dict[str, Any]]] = [
        (
            "scope",
            {
                "items": [
                    {"kind": "service", "name": "payments"},
                    {"kind": "training", "name": "Desk briefing"},
                ]
            },
        ),
        (
            "windows",
            {
                "windows": [
                    {
                        "environment": "production",
                        "start": "2026-12-10T22:00:00+01:00",
                        "end": "2026-12-11T02:00:00+01:00",
                    }
                ]
            },
        ),
        (
            "communication-plan",
            {
                "entries": [
                    {
                        "audience": "service desk",
                        "channel": "email",
                        "message": "Payments changes on the 10th",
                        "milestone": "deployment_start",
                        "offset": "-P7D",
                    }
                ]
            },
        ),
        (
            "risk",
            {
                "likelihood": "medium",
                "impact": "high",
                "affected_services": ["payments"],
                "mitigations": ["canary first"],
            },
        ),
        (
            "backout-plan",
            {
                "trigger_conditions": ["error rate above 2% for 10 minutes"],
                "steps": ["switch back", "tell the desk"],
            },
        ),
    ]
    for part, body in parts:
        answer = await put(api, f"{path}/{part}", etag, body)
        assert answer.status_code == 200, (part, answer.text)
        assert int(answer.headers["ETag"].strip('"')) == int(etag.strip('"')) + 1
        etag = answer.headers["ETag"]
    release = (await api.get(path)).json()
    assert [i["name"] for i in release["scope"]] == ["payments", "Desk briefing"]
    assert release["windows"][0]["start"] == "2026-12-10T22:00:00+01:00"
    [entry] = release["communication_plan"]
    assert entry["due_at"] == "2026-12-03T22:00:00+01:00"
    assert release["risk"]["risk_level"] == "high"
    steps = release["backout_plan"]["steps"]
    assert [(s["kind"], s["description"]) for s in steps] == [
        ("manual", "switch back"),
        ("manual", "tell the desk"),
    ]
    assert release["activities"]["deployment"] == {"start": "2026-12-10", "end": "2026-12-10"}


@pytest.mark.parametrize(
    ("part", "body", "field"),
    [
        (
            "windows",
            {
                "windows": [
                    {
                        "environment": "production",
                        "start": "2026-12-10T22:00:00",
                        "end": "2026-12-11T02:00:00+01:00",
                    }
                ]
            },
            "windows.0.start",
        ),
        (
            "windows",
            {
                "windows": [
                    {
                        "environment": "../prod",
                        "start": "2026-12-10T22:00:00Z",
                        "end": "2026-12-11T02:00:00Z",
                    }
                ]
            },
            "windows.0.environment",
        ),
        (
            "windows",
            {
                "windows": [
                    {
                        "environment": "prod",
                        "start": "2026-12-10T22:00:00Z",
                        "end": "2026-12-10T21:00:00Z",
                    }
                ]
            },
            "windows.0.end",
        ),
        (
            "windows",
            {
                "windows": [
                    {
                        "environment": "prod",
                        "start": "9999-12-31T20:00:00-05:00",
                        "end": "9999-12-31T23:00:00-05:00",
                    }
                ]
            },
            "windows.0.start",
        ),
        ("scope", {"items": [{"kind": "spaceship", "name": "x"}]}, "items.0.kind"),
        (
            "communication-plan",
            {
                "entries": [
                    {"audience": "a", "channel": "b", "message": "c", "milestone": "whenever"}
                ]
            },
            "entries.0.milestone",
        ),
        (
            "communication-plan",
            {
                "entries": [
                    {
                        "audience": "a",
                        "channel": "b",
                        "message": "c",
                        "milestone": "deployment_start",
                        "offset": "a week",
                    }
                ]
            },
            "entries.0.offset",
        ),
        ("risk", {"likelihood": "extreme", "impact": "low"}, "likelihood"),
        ("backout-plan", {"trigger_conditions": ["x"], "steps": []}, "steps"),
        ("package", {"media": [{**MEDIA, "sha256": "not-a-digest"}]}, "media.0.sha256"),
        ("package", {"media": [MEDIA]}, "media.0"),
    ],
)
async def test_bad_parts_get_a_problem_naming_the_field(
    api: httpx.AsyncClient, part: str, body: dict[str, Any], field: str
) -> None:
    release_id, etag = await planned_release(api)
    answer = await put(api, f"/releases/{release_id}/{part}", etag, body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e.get("field") for e in answer.json()["errors"]]
    assert (await api.get(f"/releases/{release_id}")).headers["ETag"] == etag


async def test_a_stale_if_match_is_a_conflict_and_changes_nothing(api: httpx.AsyncClient) -> None:
    release_id, etag = await planned_release(api)
    body = {"likelihood": "low", "impact": "low"}
    assert (await put(api, f"/releases/{release_id}/risk", etag, body)).status_code == 200
    stale = await put(
        api, f"/releases/{release_id}/risk", etag, {"likelihood": "high", "impact": "high"}
    )
    assert stale.status_code == 409
    assert (await api.get(f"/releases/{release_id}")).json()["risk"]["risk_level"] == "low"


async def test_from_plan_to_closed_with_the_other_services_events(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    s = release_settings
    built = await packaged_release(api, infra, s)
    release_id, path = built.json()["id"], f"/releases/{built.json()['id']}"
    assert built.json()["status"] == "package_built"
    etag = built.headers["ETag"]

    # rita built the package: she may not validate it, even holding the tester role.
    evidence = "https://ci.example/reports/1"
    own = await api.post(
        f"{path}/validations",
        json={"kind": "functional", "outcome": "passed", "evidence": evidence},
        headers=headers(infra, "rita", "tester", etag),
    )
    assert own.status_code == 403
    assert own.json()["rule"] == "builder-cannot-validate"
    etag = await validated(api, infra, path, etag)

    # A tester cannot approve; a change authority can.
    refused = await api.post(
        f"{path}/approvals", json={"rfc": "RFC-7"}, headers=headers(infra, "tess", "tester", etag)
    )
    assert refused.status_code == 403
    approved = await api.post(
        f"{path}/approvals",
        json={"rfc": "RFC-7"},
        headers=headers(infra, "carl", "change-authority", etag),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    environment, deployment = "production", uuid4()
    rid = UUID(release_id)
    await publish(
        infra, s.topic("dml.events"), ReleaseAvailable(release_id=rid, manifest="{}", signature="")
    )
    await publish(
        infra,
        s.topic("deploy.events"),
        DeploymentCompleted(deployment_id=deployment, release_id=rid, environment=environment),
    )
    await publish(
        infra,
        s.topic("els.events"),
        ElsStarted(case_id=deployment, release_id=rid, environment=environment),
    )
    await publish(
        infra,
        s.topic("els.events"),
        ElsExited(case_id=deployment, release_id=rid, environment=environment),
    )

    async def ready() -> httpx.Response | None:
        answer = await api.get(path)
        return answer if answer.json()["status"] == "ready_for_review" else None

    release = await eventually(ready, what="the release to await its review")
    assert release.json()["deployed_to"] == ["production"]
    review = {
        "objectives_met": True,
        "deployment_outcome": "deployed in the window, no rollback",
        "incidents_during_els": 1,
        "els_duration_days": 9,
        "went_well": ["canary"],
        "to_improve": ["earlier comms"],
        "actions": [{"description": "send the desk briefing two weeks ahead", "owner": "rita"}],
    }
    reviewed = await api.post(
        f"{path}/review", json=review, headers={"If-Match": release.headers["ETag"]}
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "closed"
    assert reviewed.json()["review"]["els_planned_days"] == 11

    published = await read_topic(infra.kafka, s.topic("release.events"), expect=14)
    types = [e.type for e in published if e.subject == release_id]
    for expected in (
        "ReleasePackageBuilt",
        "ReleaseValidated",
        "ApprovalGiven",
        "ReleaseApproved",
        "ReleaseMadeAvailable",
        "ReleaseDeployed",
        "ReleaseInEarlyLifeSupport",
        "ReleaseReadyForReview",
        "ReleaseReviewed",
        "ImprovementActionRaised",
    ):
        assert expected in types
    approval = next(e for e in published if e.type == "ReleaseApproved")
    assert approval.actor == "carl"


async def test_a_change_tools_decision_on_change_events_approves(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    s = release_settings
    built = await packaged_release(api, infra, s)
    path = f"/releases/{built.json()['id']}"
    await validated(api, infra, path, built.headers["ETag"])
    identifier = built.json()["identifier"]
    decision = ChangeApproved(release=identifier, rfc="CHG0031337", decided_by="cab-chair")
    await publish(infra, s.topic("change.events"), decision, actor="change-tool")

    async def approved() -> dict[str, Any] | None:
        body = (await api.get(path)).json()
        return body if body["status"] == "approved" else None

    release = await eventually(approved, what="the change tool's approval")
    assert (release["rfc"], release["approvals"]) == ("CHG0031337", ["cab-chair"])


async def test_policies_are_read_and_replaced_with_if_match(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    policies = (await api.get("/policies")).json()
    assert [p["release_type"] for p in policies] == ["major", "minor", "patch", "emergency"]
    minor = await api.get("/policies/minor")
    assert minor.headers["ETag"] == '"0"'
    body = {
        "required_validations": ["functional", "security"],
        "approvers": 2,
        "high_risk_approvers": 3,
        "reason": "two pairs of eyes on every minor release",
    }
    proposed = await put(api, "/policies/minor", '"0"', body)
    assert proposed.status_code == 202, proposed.text
    assert proposed.json()["effect"]["approvers"] == 2
    assert (await api.get("/policies/minor")).json()["approvers"] == 1, "in force unapproved"
    await approved(api, infra, proposed)
    changed = await api.get("/policies/minor")
    assert (changed.json()["approvers"], changed.headers["ETag"]) == (2, '"1"')
    assert (await put(api, "/policies/minor", '"0"', body)).status_code == 409
    bad = await put(api, "/policies/minor", '"1"', {**body, "high_risk_approvers": 1})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "high_risk_approvers"
    assert (await put(api, "/policies/minor", '"1"', body)).status_code == 200


async def approve(
    api: httpx.AsyncClient, infra: Infra, path: str, etag: str, subject: str
) -> httpx.Response:
    return await api.post(
        f"{path}/approvals",
        json={"rfc": "RFC-1"},
        headers=headers(infra, subject, "change-authority", etag),
    )


async def test_the_builder_may_not_approve_nor_the_emergency_requester(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    built = await packaged_release(api, infra, release_settings)  # rita built it
    path = f"/releases/{built.json()['id']}"
    etag = await validated(api, infra, path, built.headers["ETag"])
    own = await approve(api, infra, path, etag, "rita")
    assert own.status_code == 403
    assert own.json()["rule"] == "builder-cannot-approve"
    assert (await approve(api, infra, path, etag, "carl")).json()["status"] == "approved"

    # An emergency release rita requested, bob (an owner) packaged: rita, its planner, may
    # not approve it (by default not even after another approver; a policy without
    # planner-cannot-approve keeps her from approving it alone); carl may.
    release_id, etag = await planned_release(api, owners=["bob"], release_type="emergency")
    path = f"/releases/{release_id}"
    steps = {"trigger_conditions": ["errors"], "steps": ["roll back"]}
    etag = (await put(api, f"{path}/backout-plan", etag, steps)).headers["ETag"]
    etag = (await put(api, f"{path}/risk", etag, LOW_RISK)).headers["ETag"]
    bob = {**infra.issuer.bearer("bob", "release-manager")}
    await staged_media(infra, release_settings, api, release_id, etag)
    # rita packaged it in staged_media; bob packages again so rita is only the requester.
    current = (await api.get(path)).headers["ETag"]
    rebuilt = await api.put(
        f"{path}/package", json={"media": [MEDIA]}, headers={**bob, "If-Match": current}
    )
    assert rebuilt.json()["package"]["built_by"] == "bob"
    etag = await validated(api, infra, path, rebuilt.headers["ETag"], ("functional",))
    alone = await approve(api, infra, path, etag, "rita")
    assert alone.status_code == 403
    assert alone.json()["rule"] == "planner-cannot-approve"
    assert (await approve(api, infra, path, etag, "carl")).json()["status"] == "approved"


async def test_unmet_rules_are_named_and_a_rejection_may_be_followed_by_a_new_package(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    built = await packaged_release(api, infra, release_settings, backout=False)
    path = f"/releases/{built.json()['id']}"
    etag = await validated(api, infra, path, built.headers["ETag"])
    refused = await approve(api, infra, path, etag, "carl")
    assert refused.status_code == 422
    assert [e["rule"] for e in refused.json()["errors"]] == ["backout-plan-required"]

    rejected = await api.post(
        f"{path}/rejection",
        json={"rfc": "RFC-1", "reason": "no way back"},
        headers=headers(infra, "carl", "change-authority", etag),
    )
    assert rejected.json()["status"] == "rejected"
    again = await put(api, f"{path}/package", rejected.headers["ETag"], {"media": [MEDIA]})
    assert again.json()["status"] == "package_built"
    assert again.json()["package"]["revision"] == 2


async def test_a_change_tools_rejection_on_change_events_rejects(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    built = await packaged_release(api, infra, release_settings)
    path = f"/releases/{built.json()['id']}"
    await validated(api, infra, path, built.headers["ETag"])
    decision = ChangeRejected(
        release=built.json()["id"], rfc="CHG1", decided_by="cab-chair", reason="too risky"
    )
    await publish(infra, release_settings.topic("change.events"), decision)

    async def rejected() -> dict[str, Any] | None:
        body = (await api.get(path)).json()
        return body if body["status"] == "rejected" else None

    await eventually(rejected, what="the change tool's rejection")


async def test_freezes_refuse_windows_and_approvals_unless_an_emergency_overrides(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    window = {"environment": "production", "start": "2026-12-22T20:00:00Z"}
    windows = {"windows": [{**window, "end": "2026-12-22T22:00:00Z"}]}
    # A window set before the freeze: the approval then names the freeze.
    built = await packaged_release(api, infra, release_settings)
    path = f"/releases/{built.json()['id']}"
    etag = (await put(api, f"{path}/windows", built.headers["ETag"], windows)).headers["ETag"]
    freeze = {"start": "2026-12-20T00:00:00Z", "end": "2027-01-02T00:00:00Z", "reason": "peak"}
    assert (await api.post("/freezes", json=freeze)).status_code == 201
    etag = await validated(api, infra, path, etag)
    refused = await approve(api, infra, path, etag, "carl")
    assert refused.status_code == 422
    assert [e["rule"] for e in refused.json()["errors"]] == ["freeze"]

    # New windows in it are refused; an emergency release may override, and it is recorded.
    minor_id, minor_etag = await planned_release(api)
    inside = await put(api, f"/releases/{minor_id}/windows", minor_etag, windows)
    assert inside.status_code == 422
    assert inside.json()["errors"][0]["field"] == "windows.0"
    overriding = {**windows, "freeze_override": "payments outage"}
    not_emergency = await put(api, f"/releases/{minor_id}/windows", minor_etag, overriding)
    assert not_emergency.json()["errors"][0]["field"] == "freeze_override"
    urgent_id, urgent_etag = await planned_release(api, release_type="emergency")
    overridden = await put(api, f"/releases/{urgent_id}/windows", urgent_etag, overriding)
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["freeze_override"] == "payments outage"
