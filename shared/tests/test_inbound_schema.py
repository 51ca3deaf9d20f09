"""The documented schema of inbound topics matches what the consumers accept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from uuid import uuid4

import jsonschema
import pytest

from ferry.envelope import Envelope
from ferry.events import REGISTRY
from ferry.events.change import ChangeApproved
from ferry.events.schema import INBOUND, topic_schema
from ferry.eventsigning import TrustedKeys

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"

A_CHANGE_TOOLS_RECORD = {
    "specversion": "1.0",
    "id": str(uuid4()),
    "source": "https://change.example.com",
    "type": "ChangeApproved",
    "time": "2026-12-02T09:30:00Z",
    "subject": "CHG0031337",
    "actor": "cab-chair",
    "data": {
        "schema_version": 1,
        "release": "REL-2026-0042",
        "rfc": "CHG0031337",
        "decided_by": "cab-chair",
        "comment": "approved at CAB",
    },
}
SECRET = b"the change tool's secret"


def signed_as_the_schema_says(record: dict[str, object]) -> dict[str, object]:
    """`record` signed by a bridge following the recipe in the schema's `signature`."""
    covered = {k: record[k] for k in ("data", "id", "source", "subject", "type")}
    message = json.dumps(covered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    mac = hmac.new(SECRET, message.encode(), hashlib.sha256).digest()
    return {**record, "signature": base64.b64encode(mac).decode(), "signingkey": "cab-1"}


@pytest.mark.parametrize("topic", sorted(INBOUND))
def test_the_committed_schema_is_the_generated_one(topic: str) -> None:
    committed = json.loads((DOCS / f"{topic}.schema.json").read_text())
    assert committed == topic_schema(topic), (
        f"regenerate: .venv/bin/ferry schema {topic} > docs/schemas/{topic}.schema.json"
    )


def test_a_record_meeting_the_schema_is_read_as_the_decision() -> None:
    record = signed_as_the_schema_says(A_CHANGE_TOOLS_RECORD)
    jsonschema.validate(record, topic_schema("change.events"))
    envelope = Envelope.model_validate(record)
    trusted = TrustedKeys({}, {"https://change.example.com": {"cab-1": SECRET}})
    assert trusted.refusal(envelope) is None
    assert envelope.correlationid == A_CHANGE_TOOLS_RECORD["id"]
    decision = REGISTRY.parse(envelope)
    assert isinstance(decision, ChangeApproved)
    assert (decision.release, decision.decided_by) == ("REL-2026-0042", "cab-chair")


def test_a_record_missing_the_rfc_fails_the_schema() -> None:
    data = {k: v for k, v in A_CHANGE_TOOLS_RECORD["data"].items() if k != "rfc"}  # type: ignore[union-attr]
    with pytest.raises(jsonschema.ValidationError, match="rfc"):
        jsonschema.validate(
            signed_as_the_schema_says({**A_CHANGE_TOOLS_RECORD, "data": data}),
            topic_schema("change.events"),
        )


def test_an_unsigned_record_fails_the_schema() -> None:
    with pytest.raises(jsonschema.ValidationError, match="signature"):
        jsonschema.validate(A_CHANGE_TOOLS_RECORD, topic_schema("change.events"))
