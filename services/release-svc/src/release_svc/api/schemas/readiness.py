"""Bodies of the readiness routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ferry.events.release import ReadinessItem
from ferry.fields import Prose
from release_svc.domain.policy import Policy
from release_svc.domain.readiness import CONFIRMED_BY
from release_svc.domain.release import Release


class ReadinessIn(BaseModel):
    """One item confirmed ready, and what shows it (a link to the briefing's minutes, the
    training's attendance, the published documentation, the acceptance record)."""

    model_config = ConfigDict(extra="forbid")

    item: ReadinessItem
    evidence: Prose


class ReadinessItemOut(BaseModel):
    item: ReadinessItem
    needed: bool
    confirmed_by_role: str
    """The role that confirms it."""
    confirmed_by: str | None
    evidence: str | None


class ReadinessOut(BaseModel):
    items: list[ReadinessItemOut]
    open: list[ReadinessItem]
    """Needed and not yet confirmed: a production deployment waits for these."""
    version: int
    """The release's version, for `If-Match`."""

    @classmethod
    def of(cls, release: Release, policy: Policy) -> ReadinessOut:
        needed = release.readiness_needed(policy.readiness)
        items = []
        for item in ReadinessItem:
            confirmation = release.readiness.get(item)
            items.append(
                ReadinessItemOut(
                    item=item,
                    needed=item in needed,
                    confirmed_by_role=CONFIRMED_BY[item],
                    confirmed_by=confirmation.by if confirmation else None,
                    evidence=confirmation.evidence if confirmation else None,
                )
            )
        open_items = sorted(i for i in needed if i not in release.readiness)
        return cls(items=items, open=open_items, version=release.version)
