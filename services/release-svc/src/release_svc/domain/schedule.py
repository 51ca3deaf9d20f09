"""The deployment schedule's conflicts: what a release manager must resolve before a window
comes. Pure: the caller gathers the entries and freezes that could be involved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from ferry.events.release import DeploymentWindow, Level
from ferry.freezes import FreezePeriod
from release_svc.domain.lifecycle import Status

WITHDRAWN = frozenset({Status.CANCELLED})
"""Releases whose windows will never be used: they constrain nothing."""

FINISHED = frozenset({Status.CANCELLED, Status.CLOSED})


class ConflictKind(StrEnum):
    OVERLAP = "overlap"
    """Two releases changing a service deploy to one environment at the same time."""
    FREEZE = "freeze"
    """A window lies in a freeze in force that the release has not overridden."""
    DEPENDENCY_ORDER = "dependency_order"
    """A release deploys to an environment before a release it depends on does."""


@dataclass(frozen=True)
class Entry:
    """One release's window in one environment, with what conflicts are judged on."""

    release_id: UUID
    identifier: str
    window: DeploymentWindow
    status: Status
    services: frozenset[str] = frozenset()
    depends_on: frozenset[UUID] = frozenset()
    overridden_freezes: frozenset[UUID] = frozenset()
    deployed: bool = False
    """Whether the release has been deployed to this window's environment already."""

    @property
    def key(self) -> tuple[UUID, str]:
        return self.release_id, self.window.environment

    @property
    def pending(self) -> bool:
        """Whether the window is still to be used; a used or dropped one conflicts no more."""
        return self.status not in FINISHED and not self.deployed

    def overlaps(self, other: Entry) -> bool:
        mine, theirs = self.window, other.window
        return (
            mine.environment == theirs.environment
            and mine.start < theirs.end
            and theirs.start < mine.end
        )


@dataclass(frozen=True)
class Conflict:
    """A clash in the schedule; `releases` names every release involved by identifier."""

    kind: ConflictKind
    releases: tuple[str, ...]
    detail: str
    freeze_id: UUID | None = None


@dataclass(frozen=True)
class Scheduled:
    """A window as the schedule shows it: the entry, its name and owners, its conflicts,
    the teams it touches."""

    entry: Entry
    name: str
    owners: tuple[str, ...]
    conflicts: tuple[Conflict, ...] = ()
    teams: tuple[str, ...] = ()
    """The teams the release touches."""
    readiness_open: tuple[str, ...] = ()
    """What its approval said must be ready before production, not yet confirmed."""
    risk: Level | None = None
    """The release's assessed risk; None until assessed."""


def conflicts_of(
    entry: Entry, others: Iterable[Entry], freezes: Iterable[FreezePeriod]
) -> list[Conflict]:
    """Every conflict `entry` takes part in, among `others` and the freezes in force.

    A conflict between two releases reads the same from each side still to deploy, so the
    schedule shows it on each."""
    if not entry.pending:
        return []
    found = [_frozen(entry, f) for f in freezes if _in_freeze(entry, f)]
    for other in others:
        if other.key == entry.key:
            continue
        if other.pending and _clash(entry, other):
            found.append(_overlap(entry, other))
        if _out_of_order(entry, other):
            found.append(_order(entry, other))
        elif _out_of_order(other, entry):
            found.append(_order(other, entry))
    return found


def _in_freeze(entry: Entry, freeze: FreezePeriod) -> bool:
    return freeze.freeze_id not in entry.overridden_freezes and freeze.covers(
        entry.window, entry.services
    )


def _clash(a: Entry, b: Entry) -> bool:
    return a.release_id != b.release_id and a.overlaps(b) and bool(a.services & b.services)


def _out_of_order(dependent: Entry, dependency: Entry) -> bool:
    return (
        dependency.release_id in dependent.depends_on
        and dependent.pending
        and dependency.status not in WITHDRAWN
        and dependent.window.environment == dependency.window.environment
        and dependent.window.start < dependency.window.start
    )


def _frozen(entry: Entry, freeze: FreezePeriod) -> Conflict:
    return Conflict(
        ConflictKind.FREEZE,
        (entry.identifier,),
        f"the {entry.window.environment} window falls in {freeze.describe()}",
        freeze.freeze_id,
    )


def _overlap(a: Entry, b: Entry) -> Conflict:
    first, second = sorted((a, b), key=lambda e: e.identifier)
    shared = ", ".join(sorted(a.services & b.services))
    return Conflict(
        ConflictKind.OVERLAP,
        (first.identifier, second.identifier),
        f"{first.identifier} and {second.identifier} both change {shared} in "
        f"{a.window.environment} at the same time",
    )


def _order(dependent: Entry, dependency: Entry) -> Conflict:
    environment = dependent.window.environment
    return Conflict(
        ConflictKind.DEPENDENCY_ORDER,
        (dependent.identifier, dependency.identifier),
        f"{dependent.identifier} deploys to {environment} from {dependent.window.start}, "
        f"before {dependency.identifier}, which it depends on, from {dependency.window.start}",
    )
