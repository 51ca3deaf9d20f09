"""Decisions of an external change-management tool, arriving on `change.events`.

Ferry publishes none of these; a change tool (or its bridge) does, as CloudEvents JSON.
docs/release-svc.md and docs/schemas/ document the schema.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.events.base import Event


class ChangeDecision(Event):
    """A decision on the request for change `rfc` about one release."""

    stream_prefix: ClassVar[str] = "change"
    release: str
    """The release's id or identifier (e.g. REL-2026-0042)."""
    rfc: str
    decided_by: str
    """The change authority's subject, as the release's policy knows it."""

    def aggregate_id(self) -> str:
        return self.rfc


class ChangeApproved(ChangeDecision):
    type: Literal["ChangeApproved"] = "ChangeApproved"
    schema_version: Literal[1] = 1
    comment: str = ""


class ChangeRejected(ChangeDecision):
    type: Literal["ChangeRejected"] = "ChangeRejected"
    schema_version: Literal[1] = 1
    reason: str
