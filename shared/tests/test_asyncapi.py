"""The AsyncAPI document: generated from the event models, committed up to date, well formed,
and describing the records the services really send."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest

from ferry.events import REGISTRY
from ferry.events.asyncapi import document, document_json
from ferry.events.change import ChangeApproved
from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.testing import envelope_for, release_planned

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
NAME = re.compile(r"^[A-Za-z0-9.\-_]+$")


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOC.read_bytes() == document_json(), (
        "regenerate: .venv/bin/python -m ferry.events.asyncapi > docs/asyncapi.json"
    )


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """What a local `$ref` (`#/a/b`) points at; KeyError if nothing."""
    assert ref.startswith("#/"), ref
    found: Any = doc
    for part in ref[2:].split("/"):
        found = found[unquote(part).replace("~1", "/").replace("~0", "~")]
    return found


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        here = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return here + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_the_document_has_the_shape_asyncapi_3_requires() -> None:
    doc = document()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    for server in doc["servers"].values():
        assert server["host"]
        assert server["protocol"] == "kafka"
    for name, channel in doc["channels"].items():
        assert NAME.match(name), name
        assert isinstance(channel["address"], str), name
        for key, message in channel["messages"].items():
            assert resolve(doc, message["$ref"])["name"] == key
    for name, operation in doc["operations"].items():
        assert NAME.match(name), name
        assert operation["action"] in {"send", "receive"}, name
        channel = operation["channel"]["$ref"]
        assert channel.startswith("#/channels/"), name
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages are those of its own channel.
            assert message["$ref"].startswith(f"{channel}/messages/"), name
    for name, message in doc["components"]["messages"].items():
        assert NAME.match(name), name
        jsonschema.Draft202012Validator.check_schema(message["payload"])
    for name, schema in doc["components"]["schemas"].items():
        assert NAME.match(name), name
        jsonschema.Draft202012Validator.check_schema(schema)
    unresolved = [ref for ref in refs(doc) if not _resolves(doc, ref)]
    assert unresolved == []


def _resolves(doc: dict[str, Any], ref: str) -> bool:
    try:
        resolve(doc, ref)
    except (KeyError, TypeError):
        return False
    return True


def test_every_topic_is_there_and_every_event_type_on_exactly_one() -> None:
    """Except governance proposals (each service that governs something publishes its own)
    and refusals of unsigned decisions (each service records its own)."""
    doc = document()
    channels = {c["address"]: c for c in doc["channels"].values()}
    assert set(channels) == set(SERVICE_TOPICS) | set(INBOUND_TOPICS)
    on = Counter(t for c in channels.values() for t in c["messages"])
    assert set(on) == set(doc["components"]["messages"])
    governance = {
        "GovernanceChangeProposed",
        "GovernanceChangeApproved",
        "GovernanceChangeRejected",
    }
    assert {t for t, count in on.items() if count != 1} == governance | {"ForeignEventRejected"}
    for topic in ("release.events", "deploy.events"):
        assert governance <= set(channels[topic]["messages"])
    for topic in SERVICE_TOPICS:
        assert "ForeignEventRejected" in channels[topic]["messages"]
    assert all(name in REGISTRY for name in on)
    assert "ReleasePlanned" in channels["release.events"]["messages"]
    assert "ReleasePolicySet" in channels["release.events"]["messages"]
    assert "DeploymentCompleted" in channels["deploy.events"]["messages"]
    assert "MetricObserved" in channels["ops.signals"]["messages"]
    assert "MetricObserved" not in channels["els.events"]["messages"]
    actions = {
        resolve(doc, op["channel"]["$ref"])["address"]: op["action"]
        for op in doc["operations"].values()
    }
    assert actions == {t: "send" for t in SERVICE_TOPICS} | {t: "receive" for t in INBOUND_TOPICS}


def payload(doc: dict[str, Any], event_type: str) -> dict[str, Any]:
    """A JSON Schema of one message's payload, its references resolving in the document."""
    return {**doc, "$ref": f"#/components/messages/{event_type}/payload"}


@pytest.mark.parametrize(
    "event", [release_planned(), ChangeApproved(release="REL-2026-0001", rfc="C1", decided_by="x")]
)
def test_a_record_as_sent_meets_its_message_schema(event: Any) -> None:
    doc = document()
    record = json.loads(envelope_for(event).to_json())
    jsonschema.validate(record, payload(doc, record["type"]))


def test_a_record_of_another_type_or_with_data_missing_does_not() -> None:
    doc = document()
    record = json.loads(envelope_for(release_planned()).to_json())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, payload(doc, "ReleaseCancelled"))
    del record["data"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, payload(doc, "ReleasePlanned"))
