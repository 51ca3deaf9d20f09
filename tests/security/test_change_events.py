"""An outside change tool's decisions on change.events count only when MACed with a key of
that tool (FERRY_CHANGE_TOOL_KEYS): an unsigned or wrongly signed `ChangeApproved` withdraws
no spare from the Definitive Hardware Store and approves no release, and each service
records it as a ForeignEventRejected; the genuine one does both."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.envelope import Envelope
from ferry.events.change import ChangeApproved
from ferry.eventsigning import change_tool_signature
from ferry.kafka import Message, Publisher
from ferry.testing import envelope_for
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.integration.test_release_lifecycle import packaged_release, validated
from tests.integration.test_spares_api import PSU, takes_as_approved
from tests.security.leaks import assert_leaked_nowhere
from tests.support import changetool
from tests.support.infra import Infra
from tests.support.services import eventually, serving, settings

RFC = "CHG0066601"


@dataclass
class Stack:
    infra: Infra
    topic: str
    dml: httpx.AsyncClient
    dml_schema: str
    release: httpx.AsyncClient
    release_settings: ReleaseSettings

    async def send(self, envelope: Envelope) -> None:
        publisher = Publisher(self.infra.kafka, "change-tool")
        try:
            await publisher.publish([Message(self.topic, envelope.subject, envelope.to_json())])
        finally:
            await publisher.close()

    async def rejections(self, schema: str) -> list[dict[str, Any]]:
        """The reasons of the ForeignEventRejected recorded in `schema` about `RFC`."""
        connection = await asyncpg.connect(
            self.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            rows = await connection.fetch(
                f"SELECT data->>'event_type', data->>'reason' FROM \"{schema}\".events "
                "WHERE type = 'ForeignEventRejected' AND data->>'subject' = $1 "
                "ORDER BY position",
                RFC,
            )
        finally:
            await connection.close()
        return [{"type": row[0], "reason": row[1]} for row in rows]


@pytest.fixture
async def stack(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Stack]:
    dml_settings = settings(DmlSettings, infra, topic_prefix, media_dir=tmp_path / "media")
    release_settings = settings(ReleaseSettings, infra, topic_prefix)
    async with AsyncExitStack() as running:
        dml = await running.enter_async_context(
            serving(dml_spec(dml_settings), headers=infra.issuer.bearer("lib", "dml-librarian"))
        )
        release = await running.enter_async_context(
            serving(
                release_spec(release_settings),
                headers=infra.issuer.bearer("rita", "release-manager"),
            )
        )
        yield Stack(
            infra,
            f"{topic_prefix}change.events",
            dml,
            dml_settings.db_schema,
            release,
            release_settings,
        )


async def test_only_a_change_tool_signed_approval_withdraws_spares_and_approves_releases(
    stack: Stack, infra: Infra, topic_prefix: str
) -> None:
    spare = await stack.dml.post("/spares", json=PSU)
    assert spare.status_code == 201, spare.text
    spare_path = spare.headers["Location"]
    built = await packaged_release(stack.release, infra, stack.release_settings)
    release_path = f"/releases/{built.json()['id']}"
    await validated(stack.release, infra, release_path, built.headers["ETag"])

    def approval() -> Envelope:
        decision = ChangeApproved(
            release=built.json()["identifier"], rfc=RFC, decided_by="cab-chair"
        )
        return envelope_for(decision, actor="cab-chair", source=changetool.CHANGE_TOOL)

    unsigned = approval()
    wrong_secret = changetool.signed(approval(), secret="not-the-change-tools-secret")
    unknown_key = changetool.signed(approval(), key_id="someone-elses")
    other_tool = changetool.signed(approval()).model_copy(update={"source": "https://evil"})
    tampered_signed = changetool.signed(approval())
    tampered = tampered_signed.model_copy(
        update={"data": {**tampered_signed.data, "decided_by": "mallory"}}
    )
    for forged in (unsigned, wrong_secret, unknown_key, other_tool, tampered):
        await stack.send(forged)
    # change.events is keyed by RFC: the genuine approval is read after every forgery.
    await stack.send(changetool.signed(approval()))

    async def release_approved() -> dict[str, Any] | None:
        body: dict[str, Any] = (await stack.release.get(release_path)).json()
        return body if body["status"] == "approved" else None

    release = await eventually(release_approved, what="the change tool's signed approval")
    assert (release["rfc"], release["approvals"]) == (RFC, ["cab-chair"])
    await eventually(
        lambda: takes_as_approved(stack.dml, spare_path, RFC), what="dml-svc to count it"
    )
    taken = await stack.dml.post(
        f"{spare_path}/withdrawals",
        json={"quantity": 1, "rfc": RFC},
        headers={"If-Match": (await stack.dml.get(spare_path)).headers["ETag"]},
    )
    assert taken.status_code == 200, taken.text

    schema = stack.release_settings.db_schema
    for refused in (await stack.rejections(stack.dml_schema), await stack.rejections(schema)):
        reasons = [r["reason"] for r in refused]
        assert [r["type"] for r in refused] == ["ChangeApproved"] * 5, refused
        assert reasons[0].startswith("unsigned"), reasons
        assert "does not verify" in reasons[1], reasons
        assert "someone-else" in reasons[2], reasons
        assert "https://evil" in reasons[3], reasons
        assert "does not verify" in reasons[4], reasons
    schemas = [stack.dml_schema, schema]
    looked_at = await assert_leaked_nowhere(infra, topic_prefix, schemas, [changetool.SECRET])
    assert looked_at > 0


async def test_an_unsigned_approval_withdraws_no_spare_and_approves_no_release(
    stack: Stack, infra: Infra
) -> None:
    spare = await stack.dml.post("/spares", json=PSU)
    spare_path = spare.headers["Location"]
    built = await packaged_release(stack.release, infra, stack.release_settings)
    release_path = f"/releases/{built.json()['id']}"
    await validated(stack.release, infra, release_path, built.headers["ETag"])
    decision = ChangeApproved(release=built.json()["identifier"], rfc=RFC, decided_by="cab-chair")
    await stack.send(envelope_for(decision, source=changetool.CHANGE_TOOL))

    async def both_refused() -> bool:
        dml = await stack.rejections(stack.dml_schema)
        release = await stack.rejections(stack.release_settings.db_schema)
        return len(dml) == len(release) == 1

    await eventually(both_refused, what="both services to record the refusal")
    assert not await takes_as_approved(stack.dml, spare_path, RFC)
    withdrawal = await stack.dml.post(
        f"{spare_path}/withdrawals",
        json={"quantity": 1, "rfc": RFC},
        headers={"If-Match": (await stack.dml.get(spare_path)).headers["ETag"]},
    )
    assert withdrawal.status_code == 422, withdrawal.text
    assert withdrawal.json()["errors"][0]["field"] == "rfc"
    assert (await stack.dml.get(spare_path)).json()["in_live"] == 0
    body = (await stack.release.get(release_path)).json()
    assert body["status"] != "approved", body
    assert body["approvals"] == [], body


def test_the_schemas_recipe_makes_the_signature_ferry_checks() -> None:
    """A bridge following the recipe in change.events.schema.json signs as Ferry verifies."""
    decision = ChangeApproved(release="REL-2026-0042", rfc=RFC, decided_by="Zoë", comment="ok")
    envelope = envelope_for(decision, source=changetool.CHANGE_TOOL)
    sent = json.loads(envelope.to_json())
    signed = {k: sent[k] for k in ("data", "id", "source", "subject", "type")}
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    secret = changetool.SECRET.encode()
    recipe = base64.b64encode(hmac.new(secret, message.encode(), hashlib.sha256).digest())
    assert recipe.decode() == change_tool_signature(secret, envelope)
