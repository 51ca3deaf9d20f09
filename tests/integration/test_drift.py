"""Drift: a target changed behind Ferry's back is reported once, and once it is back in
line; against a real dml-svc and deploy-svc, PostgreSQL and Kafka, and real target folders."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_deployments import TARGETS, Stack, define, deploy_stack
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic


@pytest.fixture
async def stack(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with deploy_stack(infra, topic_prefix, tmp_path, drift_seconds=0.3) as found:
        yield found


def switch(root: Path, version: str) -> None:
    """Make `version` live on a local target as a person would by hand."""
    (root / "releases" / version).mkdir(parents=True, exist_ok=True)
    (root / "by-hand").symlink_to(f"releases/{version}")
    os.replace(root / "by-hand", root / "current")


async def test_a_target_changed_behind_ferrys_back_is_reported(stack: Stack) -> None:
    await define(stack)
    release_id = await stack.release("1.0.0")
    planned = await stack.plan(release_id)
    assert (await stack.finished(planned.json()["id"]))["state"] == "completed"

    async def open_changes() -> list[dict[str, Any]]:
        found = await stack.deploy.get("/unauthorised-changes", params={"open": "true"})
        assert found.status_code == 200, found.text
        changes: list[dict[str, Any]] = found.json()
        return changes

    assert await open_changes() == []
    switch(stack.root / "web-2", "0.9-hotfix")
    [change] = await eventually(open_changes, what="the change to be found")
    assert (change["environment"], change["target"]) == ("production", "web-2")
    assert (change["expected"], change["found"]) == ("1.0.0", "0.9-hotfix")

    switch(stack.root / "web-2", "1.0.0")  # put back in line

    async def cleared() -> list[dict[str, Any]] | None:
        every = (await stack.deploy.get("/unauthorised-changes")).json()
        return every if every and every[0]["cleared_at"] else None

    [closed] = await eventually(cleared, what="the change to be cleared")
    assert closed["detected_at"] == change["detected_at"]
    events = await read_topic(
        stack.infra.kafka, stack.deploy_settings.topic("deploy.events"), expect=9, settle=1
    )
    drift = [(e.type, e.data["target"]) for e in events if e.type.startswith("Unauthorised")]
    # Looked at every 0.3 s: reported once, cleared once.
    assert drift == [
        ("UnauthorisedChangeDetected", "web-2"),
        ("UnauthorisedChangeCleared", "web-2"),
    ]
    assert {stack.live(t) for t in TARGETS} == {"1.0.0"}
