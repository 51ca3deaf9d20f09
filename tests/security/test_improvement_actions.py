"""Who may move an improvement action on, and who may give it to someone else (#17).

Attacks: a reader (auditor, viewer) owning an action moving it; anyone else moving someone's
action; naming another mover in the body; another team's release manager moving or
reassigning an action of a payments release; the action's owner, or a release manager who
does not manage the release, reassigning it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from ferry.db import Database
from release_svc.config import Settings
from release_svc.main import spec
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import serving, settings
from tests.support.stored import action, store_reviewed

DUE = date(2027, 3, 1)


@dataclass
class Actions:
    infra: Infra
    api: httpx.AsyncClient
    db: Database

    async def put(self, path: str, body: dict[str, Any], subject: str, role: str) -> httpx.Response:
        """`subject` holding `role` changes the action at its current version."""
        etag = (await self.api.get(path.rsplit("/", 1)[0])).headers["ETag"]
        headers = {**self.infra.issuer.bearer(subject, role), "If-Match": etag}
        return await self.api.put(path, json=body, headers=headers)


@pytest.fixture
async def actions(infra: Infra, topic_prefix: str) -> AsyncIterator[Actions]:
    """release-svc with the payments and identity teams, read by vic, a viewer."""
    s = settings(Settings, infra, topic_prefix)
    async with serving(spec(s), headers=infra.issuer.bearer("vic", "viewer")) as api:
        ada = infra.issuer.bearer("ada", "ferry-admin")
        for team, service in (("payments", "payments-api"), ("identity", "login")):
            body = {"services": [service], "reason": f"the {team} team is formed"}
            await approved(api, infra, await api.put(f"/teams/{team}", json=body, headers=ada))
        db = Database(s.database_url, s.db_schema, "release-svc")
        yield Actions(infra, api, db)
        await db.dispose()


async def test_readers_and_strangers_may_not_move_an_action(actions: Actions) -> None:
    mine, vics, audreys = (
        action("brief the desk", "olga", DUE),
        action("read the logs", "vic", DUE),
        action("audit the trail", "audrey", DUE),
    )
    await store_reviewed(actions.db, [mine, vics, audreys], "REL-1")
    start = {"state": "in_progress"}
    for owned, owner, role in ((vics, "vic", "viewer"), (audreys, "audrey", "auditor")):
        path = f"/improvement-actions/{owned.action_id}/state"
        refused = await actions.put(path, start, owner, role)
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"

    path = f"/improvement-actions/{mine.action_id}/state"
    stranger = await actions.put(path, start, "mallory", "deployer")
    assert stranger.status_code == 403, stranger.text
    assert "olga" in stranger.json()["detail"]
    spoofed = await actions.put(path, {**start, "by": "olga"}, "mallory", "deployer")
    assert spoofed.status_code == 422, spoofed.text
    # A release manager of every team who does not manage this release is a stranger too.
    assert (await actions.put(path, start, "max", "release-manager")).status_code == 403
    assert (await actions.api.get(f"/improvement-actions/{mine.action_id}")).json()[
        "state"
    ] == "open"
    assert (await actions.put(path, start, "olga", "deployer")).status_code == 200


async def test_another_teams_release_manager_may_not_move_nor_reassign(actions: Actions) -> None:
    item = action("brief the desk", "olga", DUE)
    await store_reviewed(actions.db, [item], "REL-1", team="payments")
    path = f"/improvement-actions/{item.action_id}"
    # bob owns the release (its manager is rita), but holds his role for identity only.
    for route, body in (
        ("state", {"state": "dropped", "note": "x"}),
        ("assignment", {"owner": "bob"}),
    ):
        refused = await actions.put(f"{path}/{route}", body, "bob", "identity:release-manager")
        assert refused.status_code == 403, refused.text
        assert refused.json()["rule"] == "team-scope"
        assert refused.json()["teams"] == ["payments"]
    assert (await actions.api.get(path)).json()["owner"] == "olga"
    # The action's owner moves it whatever team she is in.
    started = await actions.put(
        f"{path}/state", {"state": "in_progress"}, "olga", "identity:tester"
    )
    assert started.status_code == 200, started.text
    reassigned = await actions.put(
        f"{path}/assignment", {"owner": "sam"}, "bob", "payments:release-manager"
    )
    assert reassigned.status_code == 200, reassigned.text


async def test_only_the_releases_manager_or_owners_reassign(actions: Actions) -> None:
    item = action("brief the desk", "olga", DUE)
    await store_reviewed(actions.db, [item], "REL-1")
    path = f"/improvement-actions/{item.action_id}/assignment"
    to_self = {"owner": "olga", "due": None}
    assert (await actions.put(path, to_self, "olga", "tester")).status_code == 403
    assert (await actions.put(path, to_self, "olga", "release-manager")).status_code == 403
    assert (await actions.put(path, to_self, "max", "release-manager")).status_code == 403
    after = (await actions.api.get(f"/improvement-actions/{item.action_id}")).json()
    assert (after["owner"], after["due"]) == ("olga", str(DUE))
    assert (await actions.put(path, to_self, "rita", "release-manager")).status_code == 200
