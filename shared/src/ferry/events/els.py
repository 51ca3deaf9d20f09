"""Events published by els-svc on `els.events`."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from ferry.events.base import Event


class ElsEvent(Event):
    """An event of one Early Life Support case: a release in one environment."""

    stream_prefix: ClassVar[str] = "els-case"
    case_id: UUID
    release_id: UUID
    environment: str

    def aggregate_id(self) -> str:
        return str(self.case_id)


class ElsStarted(ElsEvent):
    """Early Life Support began after a deployment."""

    type: Literal["ElsStarted"] = "ElsStarted"
    schema_version: Literal[1] = 1


class ElsExited(ElsEvent):
    """Operations accepted the hand-over; Early Life Support ended."""

    type: Literal["ElsExited"] = "ElsExited"
    schema_version: Literal[1] = 1
