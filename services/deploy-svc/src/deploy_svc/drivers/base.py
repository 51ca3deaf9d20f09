"""What every driver implements, and what it is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID


class DriverError(Exception):
    """The driver could not install, verify or roll back; the message says why, briefly.

    The message becomes an event's `reason`, kept for ever: an exit code, an HTTP status, a
    setting's name, never a command's output or a remote answer's body (those go into
    `Job.log`, the deployment log, redacted)."""


class BadTargetSettings(ValueError):
    """A target's settings this driver cannot use, naming the setting."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


@dataclass(frozen=True)
class Artifacts:
    """A release's media, fetched from the DML and verified (digests and the manifest's
    signature) before any driver sees them."""

    release_id: UUID
    version: str
    """The release's version: what a target's folder or image tag is named after."""
    media: Mapping[str, Path]
    """Media name → a local file holding exactly its bytes."""


@dataclass(frozen=True)
class Job:
    """One target's part of one deployment."""

    deployment_id: UUID
    target: str
    settings: Mapping[str, object]
    artifacts: Artifacts
    log: list[str] = field(default_factory=list, compare=False)
    """What the step has to say at length (a command's output, a remote answer's body): the
    executor keeps it, redacted, in the deployment log, never in an event."""


class Driver(Protocol):
    """Install, verify and roll back on one target. Every step must be safe to repeat: after
    a crash the deployment resumes, and a step may run again."""

    name: str

    def check(self, settings: Mapping[str, object]) -> None:
        """Refuse settings this driver cannot use, or the operator's limits do not allow
        (`BadTargetSettings`), when an environment is defined. Each step checks again: the
        limits may have narrowed since."""
        ...

    async def install(self, job: Job) -> str | None:
        """Make `job.artifacts` live on the target; the version live before (None: none)."""
        ...

    async def verify(self, job: Job) -> None:
        """Check the target works with the new version (`DriverError` if not)."""
        ...

    async def roll_back(self, job: Job, previous: str | None) -> None:
        """Make `previous` live again on the target (None: take the release off)."""
        ...

    async def live(self, settings: Mapping[str, object]) -> str | None:
        """The version live on the target now, as the target itself says (None: none), for
        drift checks; `DriverError` if it cannot be told."""
        ...
