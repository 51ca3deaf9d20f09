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

SIGNED = {"change.events"}
"""The inbound topics whose records count only when signed (`ferry.eventsigning`)."""

_SIGNATURE = {
    "signature": {
        "type": "string",
        "description": "base64 HMAC-SHA256, with the secret Ferry's FERRY_CHANGE_TOOL_KEYS "
        "holds for this `source` under `signingkey`, of the canonical JSON of the object "
        '{"data", "id", "source", "subject", "type"} exactly as sent (keys sorted at every '
        "depth, no whitespace, UTF-8, `id` in lowercase hyphenated form), e.g. in Python: "
        "base64.b64encode(hmac.new(secret, json.dumps({...}, sort_keys=True, "
        "separators=(',', ':'), ensure_ascii=False).encode(), hashlib.sha256).digest()). "
        "A record unsigned or not verifying counts for nothing and is recorded as refused.",
    },
    "signingkey": {
        "type": "string",
        "description": "the id of the change tool's key that made `signature`, as configured",
    },
}


def _signing(topic: str) -> tuple[list[str], dict[str, Any]]:
    """The attributes `topic`'s records must carry to be signed, and their schema."""
    return (["signature", "signingkey"], _SIGNATURE) if topic in SIGNED else ([], {})


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
    signing_required, signing = _signing(topic)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"A record of {topic}",
        "description": "CloudEvents 1.0 in structured JSON mode; `data` by `type`. Optional "
        "`correlationid` ties it to a conversation (default: its own `id`); `actor` says "
        "who sent it.",
        "type": "object",
        "required": [
            *("specversion", "id", "source", "type", "time", "subject", "data"),
            *signing_required,
        ],
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
        }
        | signing,
        "oneOf": branches,
    }
