"""Teams in release-svc: proposed by a ferry-admin, in force once a change authority
approves, each service, environment and configuration item owned by one team at most."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from release_svc.config import Settings
from release_svc.main import spec
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import read_topic, serving

PAYMENTS = {
    "description": "Payments and the card vault",
    "services": ["payments-api", "card-vault"],
    "environments": ["prod-payments"],
    "configuration_items": ["ci-payments-db"],
    "members": [
        {"subject": "pam", "roles": ["release-manager", "deployer"]},
        {"group": "CN=Payments Testers", "roles": ["tester"]},
    ],
    "reason": "the payments team is formed",
}


@pytest.fixture
async def admin(release_settings: Settings, infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc, called by ada, a ferry-admin."""
    ada = infra.issuer.bearer("ada", "ferry-admin")
    async with serving(spec(release_settings), headers=ada) as client:
        yield client


async def test_a_team_is_in_force_once_a_change_authority_approves_it(
    admin: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    proposed = await admin.put("/teams/payments", json=PAYMENTS)
    assert proposed.status_code == 202, proposed.text
    assert (await admin.get("/teams/payments")).status_code == 404
    assert (await admin.get("/teams")).json() == []

    await approved(admin, infra, proposed)
    team = await admin.get("/teams/payments")
    assert team.status_code == 200, team.text
    assert team.headers["ETag"] == '"1"'
    body = team.json()
    assert body["services"] == ["card-vault", "payments-api"]
    assert body["members"][1] == {
        "subject": None,
        "group": "CN=Payments Testers",
        "roles": ["tester"],
    }
    assert [t["name"] for t in (await admin.get("/teams")).json()] == ["payments"]

    events = await read_topic(
        infra.kafka, release_settings.topic("release.events"), expect=3, timeout=30
    )
    assert [e.type for e in events if e.subject == "payments"] == ["TeamDefined"]

    # The same again: nothing to propose.
    same = await admin.put("/teams/payments", json=PAYMENTS, headers={"If-Match": '"1"'})
    assert same.status_code == 200, same.text


async def test_what_one_team_owns_no_other_may_own(admin: httpx.AsyncClient, infra: Infra) -> None:
    await approved(admin, infra, await admin.put("/teams/payments", json=PAYMENTS))
    identity = {"services": ["login", "payments-api"], "reason": "identity takes payments-api"}
    refused = await admin.put("/teams/identity", json=identity)
    assert refused.status_code == 409, refused.text
    assert "payments-api (services) belong to team payments" in refused.json()["detail"]

    # Proposed while free, approved after another team took it: refused at approval.
    first = await admin.put("/teams/identity", json={"services": ["sso"], "reason": "r"})
    second = await admin.put("/teams/platform", json={"services": ["sso"], "reason": "r"})
    await approved(admin, infra, first)
    late = await admin.post(
        f"{second.headers['Location']}/approve",
        headers={
            **infra.issuer.bearer("carl", "change-authority"),
            "If-Match": second.headers["ETag"],
        },
    )
    assert late.status_code == 409, late.text
    assert (await admin.get("/teams/platform")).status_code == 404


async def test_changing_a_team_needs_the_version_read(
    admin: httpx.AsyncClient, infra: Infra
) -> None:
    await approved(admin, infra, await admin.put("/teams/payments", json=PAYMENTS))
    changed = {**PAYMENTS, "environments": []}
    assert (await admin.put("/teams/payments", json=changed)).status_code == 428
    stale = await admin.put("/teams/payments", json=changed, headers={"If-Match": '"0"'})
    assert stale.status_code == 409, stale.text
    fresh = await admin.put("/teams/payments", json=changed, headers={"If-Match": '"1"'})
    await approved(admin, infra, fresh)
    assert (await admin.get("/teams/payments")).json()["environments"] == []


@pytest.mark.parametrize(
    ("member", "field"),
    [
        ({"subject": "pam", "group": "g", "roles": ["tester"]}, "members.0"),
        ({"roles": ["tester"]}, "members.0"),
        ({"subject": "pam", "roles": ["change-authority"]}, "members.0"),
        ({"subject": "pam", "roles": []}, "members.0.roles"),
    ],
)
async def test_a_member_is_a_subject_or_a_group_with_roles_a_team_can_hold(
    admin: httpx.AsyncClient, member: dict[str, object], field: str
) -> None:
    answer = await admin.put("/teams/payments", json={"members": [member], "reason": "r"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"].startswith(field), answer.json()


async def test_only_a_ferry_admin_proposes_a_team(admin: httpx.AsyncClient, infra: Infra) -> None:
    for role in ("release-manager", "change-authority", "payments:release-manager"):
        answer = await admin.put(
            "/teams/payments", json=PAYMENTS, headers=infra.issuer.bearer("eve", role)
        )
        assert answer.status_code == 403, (role, answer.text)
    bad_name = await admin.put("/teams/Payments", json=PAYMENTS)
    assert bad_name.status_code == 422, bad_name.text


async def test_the_release_list_and_schedule_show_and_filter_by_the_teams_a_release_touches(
    admin: httpx.AsyncClient, infra: Infra
) -> None:
    identity = {"services": ["login"], "reason": "the identity team is formed"}
    await approved(admin, infra, await admin.put("/teams/payments", json=PAYMENTS))
    await approved(admin, infra, await admin.put("/teams/identity", json=identity))
    pam = infra.issuer.bearer("pam", "payments:release-manager")
    rita = infra.issuer.bearer("rita", "release-manager")
    plan = {"name": "Checkout", "version": "1", "planned_start": "2027-01-04"}
    ours = await admin.post("/releases", json={**plan, "planned_end": "2027-01-05"}, headers=pam)
    shared = await admin.post("/releases", json={**plan, "planned_end": "2027-01-06"}, headers=rita)
    both = [{"kind": "service", "name": "login"}, {"kind": "service", "name": "card-vault"}]
    window = {"environment": "production", "start": "2027-01-04T20:00:00Z"}
    for created, headers in ((ours, pam), (shared, rita)):
        path = created.headers["Location"]
        etag = created.headers["ETag"]
        if created is shared:
            scoped = await admin.put(
                f"{path}/scope", json={"items": both}, headers={**headers, "If-Match": etag}
            )
            etag = scoped.headers["ETag"]
        windows = {"windows": [{**window, "end": "2027-01-04T22:00:00Z"}]}
        placed = await admin.put(
            f"{path}/windows", json=windows, headers={**headers, "If-Match": etag}
        )
        assert placed.status_code == 200, placed.text

    async def listed(headers: dict[str, str], **params: str) -> dict[str, list[str]]:
        answer = await admin.get("/releases", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return {r["release_id"]: r["teams"] for r in answer.json()["items"]}

    ours_id, shared_id = ours.json()["id"], shared.json()["id"]
    everything = {ours_id: ["payments"], shared_id: ["identity", "payments"]}
    assert await listed(rita) == everything
    # A team's caller sees its teams' releases unless it names another team.
    assert await listed(pam) == everything
    ivan = infra.issuer.bearer("ivan", "identity:viewer")
    assert await listed(ivan) == {shared_id: ["identity", "payments"]}
    assert await listed(ivan, team="payments") == everything
    assert await listed(rita, team="identity") == {shared_id: ["identity", "payments"]}

    schedule = await admin.get("/schedule", params={"team": "identity"})
    assert schedule.status_code == 200, schedule.text
    assert [(w["release_id"], w["teams"]) for w in schedule.json()["items"]] == [
        (shared_id, ["identity", "payments"])
    ]
