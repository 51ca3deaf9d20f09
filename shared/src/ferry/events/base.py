"""Base class of every event and the registry that turns envelopes back into typed events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ferry.envelope import Envelope


class Event(BaseModel):
    """A past-tense fact. `type` names it; `schema_version` says which shape its data has."""

    # extra="ignore": a consumer keeps working when a producer adds fields.
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str
    schema_version: int
    stream_prefix: ClassVar[str]
    """Streams of this event's aggregate are named `<stream_prefix>-<aggregate id>`."""

    def aggregate_id(self) -> str:
        """The id of the aggregate the event belongs to (the Kafka key and CloudEvents subject)."""
        raise NotImplementedError

    def stream_id(self) -> str:
        return f"{self.stream_prefix}-{self.aggregate_id()}"

    def data(self) -> dict[str, Any]:
        """The envelope's `data`: everything but the type, which the envelope carries."""
        return self.model_dump(mode="json", exclude={"type"})


class UnreadableEvent(ValueError):
    """A known event type whose data does not fit its model."""


class EventRegistry:
    """Maps CloudEvents `type` to the event model that reads its data."""

    def __init__(self, models: Iterable[type[Event]]) -> None:
        self._models: dict[str, type[Event]] = {}
        for model in models:
            name = model.model_fields["type"].default
            if name in self._models:
                raise ValueError(f"event type {name} registered twice")
            self._models[name] = model

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._models

    def parse(self, envelope: Envelope) -> Event | None:
        """The typed event in `envelope`, or None for a type this registry does not know."""
        return self.parse_data(envelope.type, envelope.data, where=str(envelope.id))

    def parse_data(self, event_type: str, data: dict[str, Any], where: str = "") -> Event | None:
        """The typed event of an envelope's `type` and `data`; None for an unknown type."""
        model = self._models.get(event_type)
        if model is None:
            return None
        try:
            # `type` is not in the data: each model's default is its own type.
            return model.model_validate(data)
        except ValidationError as exc:
            raise UnreadableEvent(f"{event_type} {where}: {exc}") from exc
