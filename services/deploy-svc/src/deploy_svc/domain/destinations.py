"""Where a target deploys to, so that production's destinations stay production's.

The production classification is governed (two people), and segregation of duties and
production freezes hold there; were another environment free to name production's own
folder, Deployment or automation URL, deploying "to staging" would reach live around all
of them. So a destination belongs to production environments or to others, never both.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ferry.errors import InvalidField
from ferry.events.deploy import TargetSpec


@dataclass(frozen=True)
class Destination:
    """One place a target reaches: a folder (which contains what is below it), or a thing
    named exactly (a URL, a Deployment)."""

    kind: str
    where: str

    def overlaps(self, other: Destination) -> bool:
        if self.kind != other.kind:
            return False
        if self.kind == "folder":
            mine, theirs = PurePosixPath(self.where), PurePosixPath(other.where)
            return mine == theirs or mine in theirs.parents or theirs in mine.parents
        return self.where == other.where

    def __str__(self) -> str:
        return f"{self.kind} {self.where}"


def _url(value: object) -> str:
    parts = urlsplit(str(value))
    # Scheme and host are case-insensitive: the same place however it is spelled.
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}"


def destinations(target: TargetSpec) -> list[Destination]:
    """The places `target` deploys to or calls, by its driver's settings."""
    settings = target.settings
    found: list[Destination] = []
    if target.driver == "local" and isinstance(settings.get("path"), str):
        # Normalised as the kernel would walk it: `/srv/x/../web` is `/srv/web`.
        found.append(Destination("folder", posixpath.normpath(str(settings["path"]))))
    if target.driver == "kubernetes":
        where = f"{settings.get('namespace')}/{settings.get('deployment')}"
        found.append(Destination("deployment", where))
    # Where a webhook sends the work (a `verify_url` is only looked at, never acted upon).
    for key in ("url", "status_url"):
        if isinstance(settings.get(key), str):
            found.append(Destination("url", _url(settings[key])))
    return found


def check_apart(
    production: bool,
    targets: Sequence[TargetSpec],
    elsewhere: Mapping[str, tuple[bool, Sequence[TargetSpec]]],
) -> None:
    """Refuse `targets` of a (non-)production environment reaching where a target of an
    environment of the other kind does; `elsewhere`: the other environments, by name, with
    whether each is production and its targets."""
    opposite = {name: specs for name, (kind, specs) in elsewhere.items() if kind != production}
    if (clash := shared_with(targets, opposite)) is not None:
        i, where, name = clash
        other = "a non-production" if production else "a production"
        raise InvalidField(
            f"targets.{i}.settings",
            f"{where} is where {name} deploys, {other} environment: a destination belongs to "
            "production environments or to the others, never both",
        )


def shared_with(
    targets: Iterable[TargetSpec], others: Mapping[str, Iterable[TargetSpec]]
) -> tuple[int, Destination, str] | None:
    """The first of `targets` (its index and destination) reaching where a target of one of
    `others` (environments by name) reaches, with that environment's name; None if none."""
    theirs = [(name, d) for name, specs in others.items() for t in specs for d in destinations(t)]
    for i, target in enumerate(targets):
        for mine in destinations(target):
            for name, other in theirs:
                if mine.overlaps(other):
                    return i, mine, name
    return None
