"""Readiness before go-live through release-svc's API: a policy asking for items, each
confirmed by its role with evidence, and what approval hands on to deploy-svc; against real
PostgreSQL and Kafka."""

from __future__ import annotations

from typing import Any

import httpx

from release_svc.config import Settings
from tests.integration.test_release_lifecycle import PLAN, packaged_release, validated
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import read_topic


async def ask_for(api: httpx.AsyncClient, infra: Infra, *items: str) -> None:
    """Minor releases must have `items` confirmed before production (approved proposal)."""
    body = {
        "required_validations": ["functional", "integration"],
        "approvers": 1,
        "high_risk_approvers": 2,
        "readiness": list(items),
        "reason": "the desk and operations ready before go-live",
    }
    await approved(
        api, infra, await api.put("/policies/minor", json=body, headers={"If-Match": '"0"'})
    )


def by(infra: Infra, subject: str, role: str, etag: str) -> dict[str, str]:
    return {**infra.issuer.bearer(subject, role), "If-Match": etag}


async def test_each_item_is_confirmed_by_its_role_and_approval_hands_on_what_is_needed(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    await ask_for(api, infra, "service_desk_briefed", "operations_acceptance")
    assert (await api.get("/policies/minor")).json()["readiness"] == [
        "operations_acceptance",
        "service_desk_briefed",
    ]
    built = await packaged_release(api, infra, release_settings)
    path = f"/releases/{built.json()['id']}/readiness"
    before = await api.get(path)
    assert before.status_code == 200, before.text
    assert before.json()["open"] == ["operations_acceptance", "service_desk_briefed"]
    needed = {i["item"]: (i["needed"], i["confirmed_by_role"]) for i in before.json()["items"]}
    assert needed["service_desk_briefed"] == (True, "operations")
    assert needed["documentation_published"] == (False, "release-manager")

    desk: dict[str, Any] = {"item": "service_desk_briefed", "evidence": "https://wiki/desk-brief"}
    refused = await api.post(path, json=desk, headers={"If-Match": before.headers["ETag"]})
    assert refused.status_code == 403, refused.text
    assert refused.json()["rule"] == "readiness-confirmer"
    unknown = await api.post(
        path,
        json={**desk, "item": "coffee"},
        headers=by(infra, "olly", "operations", before.headers["ETag"]),
    )
    assert unknown.status_code == 422
    assert "item" in unknown.text
    confirmed = await api.post(
        path, json=desk, headers=by(infra, "olly", "operations", before.headers["ETag"])
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["open"] == ["operations_acceptance"]
    [item] = [i for i in confirmed.json()["items"] if i["item"] == "service_desk_briefed"]
    assert (item["confirmed_by"], item["evidence"]) == ("olly", "https://wiki/desk-brief")
    assert confirmed.headers["ETag"] == f'"{confirmed.json()["version"]}"'

    etag = await validated(api, infra, f"/releases/{built.json()['id']}", confirmed.headers["ETag"])
    approval = await api.post(
        f"/releases/{built.json()['id']}/approvals",
        json={"rfc": "RFC-9"},
        headers=by(infra, "carl", "change-authority", etag),
    )
    assert approval.status_code == 200, approval.text
    published = await read_topic(infra.kafka, release_settings.topic("release.events"), expect=10)
    [approved_event] = [e for e in published if e.type == "ReleaseApproved"]
    assert approved_event.data["readiness"] == ["operations_acceptance", "service_desk_briefed"]
    [confirmation] = [e for e in published if e.type == "ReadinessConfirmed"]
    assert (confirmation.actor, confirmation.data["item"]) == ("olly", "service_desk_briefed")

    # The schedule shows, from approval on, what production still waits for.
    window = {
        "environment": "production",
        "start": "2026-12-10T20:00:00Z",
        "end": "2026-12-10T23:00:00Z",
    }
    windows = await api.put(
        f"/releases/{built.json()['id']}/windows",
        json={"windows": [window]},
        headers={"If-Match": approval.headers["ETag"]},
    )
    assert windows.status_code == 200, windows.text
    [row] = (await api.get("/schedule", params={"from": "2026-12-01T00:00:00Z"})).json()["items"]
    assert row["readiness_open"] == ["operations_acceptance"]
    ops = {"item": "operations_acceptance", "evidence": "https://itsm/acceptance/7"}
    accepted = await api.post(
        path, json=ops, headers=by(infra, "olly", "operations", windows.headers["ETag"])
    )
    assert accepted.json()["open"] == []
    [row] = (await api.get("/schedule", params={"from": "2026-12-01T00:00:00Z"})).json()["items"]
    assert row["readiness_open"] == []


async def test_training_in_the_scope_needs_its_delivery_confirmed(api: httpx.AsyncClient) -> None:
    created = await api.post("/releases", json=PLAN)
    path = f"/releases/{created.json()['id']}"
    training = {"items": [{"kind": "training", "name": "desk course"}]}
    scoped = await api.put(
        f"{path}/scope", json=training, headers={"If-Match": created.headers["ETag"]}
    )
    assert scoped.status_code == 200, scoped.text
    readiness = (await api.get(f"{path}/readiness")).json()
    assert readiness["open"] == ["training_delivered"]
    delivered = await api.post(
        f"{path}/readiness",
        json={"item": "training_delivered", "evidence": "attendance sheet"},
        headers={"If-Match": scoped.headers["ETag"]},
    )
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["open"] == []
