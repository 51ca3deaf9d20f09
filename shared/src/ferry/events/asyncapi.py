"""An AsyncAPI 3.0 document of Ferry's topics, generated from the event models: which event
types travel on which topic, each as the CloudEvents envelope with `type` fixed and `data`
the event's schema, so the document cannot drift from what the services send and accept.

Regenerate the committed copy with `python -m ferry.events.asyncapi > docs/asyncapi.json`.

Hand-written, not a library (#15): asyncapi-python generates code from a document, not one;
pydantic-asyncapi 0.3.2 is AsyncAPI's object model only (it accepts this document but types a
message's Kafka binding, our `key`, as None); FastStream 0.7.8 documents what its own broker
declares: one message per publisher, and a correlation id in a header Ferry does not send.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ferry.envelope import Envelope
from ferry.events import (
    REGISTRY,
    deploy,
    dml,
    els,
    governance,
    notify,
    policy,
    release,
    team,
    trust,
)
from ferry.events.base import Event
from ferry.events.schema import INBOUND

PUBLISHERS: dict[str, tuple[str, Sequence[ModuleType]]] = {
    "release.events": ("release-svc", (release, policy, governance, team, notify, trust)),
    "dml.events": ("dml-svc", (dml, trust)),
    "deploy.events": ("deploy-svc", (deploy, governance, trust)),
    "els.events": ("els-svc", (els, trust)),
}
"""Each topic Ferry publishes: the service publishing it and the modules of its events."""

_SCHEMAS = "#/components/schemas/{model}"


def event_type(model: type[Event]) -> str:
    """The CloudEvents `type` of an event model."""
    name = model.model_fields["type"].default
    assert isinstance(name, str), model
    return name


def published(topic: str) -> list[type[Event]]:
    """The event types on `topic`, one of Ferry's own, in the order their modules define them."""
    inbound = {model for models in INBOUND.values() for model in models}
    return [
        model
        for module in PUBLISHERS[topic][1]
        for model in vars(module).values()
        if inspect.isclass(model)
        and issubclass(model, Event)
        and model.__module__ == module.__name__
        and isinstance(model.model_fields["type"].default, str)
        and event_type(model) in REGISTRY
        and model not in inbound
    ]


def _channel_id(topic: str) -> str:
    first, _, rest = topic.partition(".")
    return first + rest.title().replace(".", "")  # release.events → releaseEvents


def _summary(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic: Ferry's own and the inbound ones."""
    topics: dict[str, list[type[Event]]] = {t: published(t) for t in PUBLISHERS}
    topics.update((t, list(models)) for t, models in INBOUND.items())
    every = [model for models in topics.values() for model in models]
    refs, definitions = models_json_schema(
        [(Envelope, "validation"), *((model, "validation") for model in every)],
        ref_template=_SCHEMAS,
    )
    schemas: dict[str, Any] = definitions.get("$defs", {})
    for model in every:
        _drop_type(schemas[_name(refs[(model, "validation")])])
    envelope = refs[(Envelope, "validation")]
    messages = {
        event_type(model): _message(model, envelope, refs[(model, "validation")]) for model in every
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, models in topics.items():
        channel = _channel_id(topic)
        inbound = topic in INBOUND
        names = [event_type(model) for model in models]
        channels[channel] = {
            "address": topic,
            "title": topic,
            "description": (
                "Inbound: outside tools publish here and Ferry's services consume it."
                if inbound
                else f"Published by {PUBLISHERS[topic][0]} through its transactional outbox."
            )
            + " Keyed by the aggregate's id (the CloudEvents `subject`), so each aggregate's "
            "events keep their order. The Kafka name carries FERRY_TOPIC_PREFIX, if set.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
            "bindings": {"kafka": {"topic": topic, "bindingVersion": "0.5.0"}},
        }
        operation = f"receive{channel[0].upper()}{channel[1:]}" if inbound else channel
        operations[operation] = {
            "action": "receive" if inbound else "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": (f"Ferry reads {topic}" if inbound else f"{PUBLISHERS[topic][0]} publishes"),
            "messages": [{"$ref": f"#/channels/{channel}/messages/{n}"} for n in names],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Ferry events",
            "version": "1",
            "description": "Every topic of Ferry's Kafka: CloudEvents 1.0 in structured JSON "
            "mode, `data` by `type`. Generated from the event models "
            "(`python -m ferry.events.asyncapi`); consumers ignore unknown types and fields.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "Ferry's brokers (FERRY_KAFKA_BOOTSTRAP_SERVERS)",
                "variables": {"bootstrap": {"default": "localhost:9092"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _drop_type(schema: dict[str, Any]) -> None:
    # `data` carries everything but the type, which the envelope carries.
    schema.get("properties", {}).pop("type", None)
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r != "type"]


def _message(model: type[Event], envelope: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    name = event_type(model)
    return {
        "name": name,
        "title": name,
        "summary": _summary(model) or name,
        "contentType": "application/json",
        "payload": {
            "allOf": [
                envelope,
                {
                    "type": "object",
                    "properties": {"type": {"const": name}, "data": data},
                    "required": ["type", "data"],
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "the aggregate's id (`subject`)"},
                "bindingVersion": "0.5.0",
            }
        },
    }


@functools.cache
def document_json() -> bytes:
    """The document as JSON, as `GET /asyncapi.json` serves it and docs/asyncapi.json holds it."""
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(document_json())
