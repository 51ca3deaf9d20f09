"""A tester or deployer held for a team takes only media for the team's services (#21).

Attacks: identity's tester downloading payments' staged media; a team's tester taking media
staged for no service; a team's deployer taking staged media (the state still decides);
listing the library to find another team's media.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dml_svc.config import Settings
from dml_svc.main import spec
from ferry.events.team import TeamDefined
from tests.support.infra import Infra
from tests.support.services import eventually, publish, serving, settings
from tests.support.teams import teams_known

PAYMENTS = TeamDefined(team="payments", services=["payments-api"])
IDENTITY = TeamDefined(team="identity", services=["login"])


@pytest.fixture
async def dml(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """dml-svc knowing both teams, called by lib, a librarian."""
    dml_settings = settings(Settings, infra, topic_prefix, media_dir=tmp_path / "media")
    librarian = infra.issuer.bearer("lib", "dml-librarian")
    async with serving(spec(dml_settings), headers=librarian) as client:
        await publish(infra, dml_settings.topic("release.events"), PAYMENTS, IDENTITY)

        async def both_known() -> bool:
            return await teams_known(infra, dml_settings.db_schema) >= {"payments", "identity"}

        await eventually(both_known, what="dml-svc to learn the teams")
        for name, service in (("pay.tar.gz", "payments-api"), ("tool.tar.gz", None)):
            params = {"service": service} if service else {}
            staged = await client.put(f"/media/{name}/1.0", content=b"bytes", params=params)
            assert staged.status_code == 201, staged.text
        yield client


async def test_a_teams_tester_takes_only_media_for_the_teams_services(
    dml: httpx.AsyncClient, infra: Infra
) -> None:
    pay = "/media/pay.tar.gz/1.0/content"
    ivy = infra.issuer.bearer("ivy", "identity:tester")
    refused = await dml.get(pay, headers=ivy)
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["teams"] == ["payments"]
    assert "media pay.tar.gz@1.0 belongs to team payments" in refused.json()["detail"]

    pat = infra.issuer.bearer("pat", "payments:tester")
    taken = await dml.get(pay, headers=pat)
    assert taken.status_code == 200, taken.text
    assert taken.content == b"bytes"
    # Staged media are for testers: the team's deployer is let in, and the state refuses.
    dan = await dml.get(pay, headers=infra.issuer.bearer("dan", "payments:deployer"))
    assert dan.status_code == 403, dan.text
    assert "staged media are not for your roles" in dan.json()["detail"]

    nobodys = await dml.get("/media/tool.tar.gz/1.0/content", headers=pat)
    assert nobodys.status_code == 403, nobodys.text
    assert "belongs to no team" in nobodys.json()["detail"]
    tess = infra.issuer.bearer("tess", "tester")
    assert (await dml.get("/media/tool.tar.gz/1.0/content", headers=tess)).status_code == 200


async def test_the_library_lists_a_teams_callers_their_teams_media(
    dml: httpx.AsyncClient, infra: Infra
) -> None:
    async def listed(role: str, **params: str) -> list[str]:
        answer = await dml.get("/media", params=params, headers=infra.issuer.bearer("x", role))
        assert answer.status_code == 200, answer.text
        return [m["name"] for m in answer.json()["items"]]

    assert await listed("identity:tester") == []
    assert await listed("payments:tester") == ["pay.tar.gz"]
    assert await listed("identity:tester", team="payments") == ["pay.tar.gz"]
    assert await listed("viewer") == ["pay.tar.gz", "tool.tar.gz"]
