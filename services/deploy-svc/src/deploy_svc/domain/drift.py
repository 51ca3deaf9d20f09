"""Drift: a target running something Ferry did not deploy there. One aggregate per target,
so each change behind Ferry's back is reported once, and its end once."""

from __future__ import annotations

from dataclasses import dataclass

from ferry.events.deploy import (
    TargetEvent,
    UnauthorisedChangeCleared,
    UnauthorisedChangeDetected,
)
from ferry.eventsourced import EventSourced


@dataclass
class TargetWatch(EventSourced):
    environment: str
    target: str
    version: int = 0
    reported: str | None = None
    """What the target ran when it was last reported out of line (None: in line)."""
    out_of_line: bool = False

    def looked(self, expected: str | None, found: str | None) -> list[TargetEvent]:
        """The target runs `found` where Ferry made `expected` live last."""
        where = {"environment": self.environment, "target": self.target}
        if found == expected:
            if self.out_of_line:
                return [UnauthorisedChangeCleared(**where, version=found)]
            return []
        if self.out_of_line and self.reported == found:
            return []  # reported already
        return [UnauthorisedChangeDetected(**where, expected=expected, found=found)]

    def _evolve(self, event: TargetEvent) -> None:
        match event:
            case UnauthorisedChangeDetected():
                self.out_of_line, self.reported = True, event.found
            case UnauthorisedChangeCleared():
                self.out_of_line, self.reported = False, None
