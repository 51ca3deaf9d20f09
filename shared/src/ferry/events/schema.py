"""JSON Schemas of what arrives on a topic, generated from the event models, so the
documents outside tools build against cannot drift from what the consumers accept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ferry.events.base import Event
from ferry.events.change import ChangeApproved, ChangeRejected
from ferry.events.els import MetricObserved

INBOUND: dict[str, Sequence[type[Event]]] = {
    "change.events": [ChangeApproved, ChangeRejected],
    "ops.signals": [MetricObserved],
}
"""The topics outside tools publish to, and the event types each carries."""


def _data_schema(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    schema["properties"].pop("type", None)  # the envelope carries it
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r != "type"]
    return schema


def topic_schema(topic: str) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-JSON record of `topic`, one branch per event type."""
    branches = [
        {
            "properties": {
                "type": {"const": model.model_fields["type"].default},
                "data": _data_schema(model),
            }
        }
        for model in INBOUND[topic]
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"A record of {topic}",
        "description": "CloudEvents 1.0 in structured JSON mode; `data` by `type`. Optional "
        "`correlationid` ties it to a conversation (default: its own `id`); `actor` says "
        "who sent it.",
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "subject", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid"},
            "source": {"type": "string"},
            "type": {"enum": [m.model_fields["type"].default for m in INBOUND[topic]]},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "the Kafka key: the RFC, the signal id"},
            "datacontenttype": {"const": "application/json"},
            "correlationid": {"type": "string"},
            "actor": {"type": "string"},
            "data": {"type": "object"},
        },
        "oneOf": branches,
    }
