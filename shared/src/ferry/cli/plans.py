"""A release plan file (YAML) → the requests that plan it: `POST /releases` with the file's
top-level fields, then a `PUT` for each follow-up section present, in the order below.

Dates and times stay the strings they are in the file (the API parses them, offsets and
all); a `version` that YAML reads as a number is refused, since `1.10` would become `1.1`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml

from ferry.cli.errors import CliError

FOLLOW_UPS = {
    # section: (path under /releases/{id}, the body it makes)
    "depends_on": "/dependencies",
    "scope": "/scope",
    "windows": "/windows",
    "communication_plan": "/communication-plan",
    "risk": "/risk",
    "backout_plan": "/backout-plan",
    "package": "/package",
}
"""Dependencies come first: windows are judged against those of the releases depended on.
The package comes last: its media must be in the library already."""

_LISTS = {
    "depends_on": "depends_on",
    "scope": "items",
    "windows": "windows",
    "communication_plan": "entries",
    "package": "media",
}
"""Sections written as a list, and the field of the request body that holds it."""


class PlanError(CliError):
    """The plan file cannot be read as a release plan."""


@dataclass(frozen=True)
class FollowUp:
    """One change to the newly planned release: `PUT /releases/{id}{path}` with `body`."""

    section: str
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """What a plan file asks for: the release, then its follow-ups in order."""

    release: dict[str, Any]
    follow_ups: list[FollowUp]

    def idempotency_key(self) -> str:
        """The same file planned again finds the release it planned the first time."""
        canonical = json.dumps(self.release, sort_keys=True, separators=(",", ":"))
        return "ferry-plan-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class _Loader(yaml.SafeLoader):
    """YAML without timestamps: `2026-12-01` stays a string, as the API wants it."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _numeric_versions(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            place = f"{where}.{key}" if where else str(key)
            if key == "version" and isinstance(inner, int | float) and not isinstance(inner, bool):
                found.append(place)
            found.extend(_numeric_versions(inner, place))
        return found
    if isinstance(value, list):
        return [
            f for i, inner in enumerate(value) for f in _numeric_versions(inner, f"{where}.{i}")
        ]
    return []


def parse(text: str, source: str = "the plan") -> Plan:
    """The plan `text` (YAML) describes; `source` names it in errors."""
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise PlanError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PlanError(f"{source} must be a mapping of a release's fields (name, version, …)")
    numeric = _numeric_versions(document, "")
    if numeric:
        raise PlanError(
            f'{source}: {", ".join(numeric)} read as a number; quote it, e.g. version: "1.10"'
        )
    release = {k: v for k, v in document.items() if k not in FOLLOW_UPS and k != "freeze_override"}
    follow_ups = []
    for section, path in FOLLOW_UPS.items():
        if section not in document:
            continue
        value = document[section]
        if section in _LISTS:
            if not isinstance(value, list):
                raise PlanError(f"{source}: {section} must be a list")
            body: dict[str, Any] = {_LISTS[section]: value}
        elif isinstance(value, dict):
            body = dict(value)
        else:
            raise PlanError(f"{source}: {section} must be a mapping")
        if section == "windows" and "freeze_override" in document:
            body["freeze_override"] = document["freeze_override"]
        follow_ups.append(FollowUp(section, path, body))
    if "freeze_override" in document and "windows" not in document:
        raise PlanError(f"{source}: freeze_override goes with windows")
    return Plan(release, follow_ups)


def environment(text: str, source: str = "the environment file") -> tuple[str, dict[str, Any]]:
    """The environment's name and `PUT /environments/{name}`'s body, from YAML: `name`,
    `production` (default false) and `targets`, each a `name`, a `driver` and its `settings`."""
    return _named(text, source, "the environment's name and targets")


def team(text: str, source: str = "the team file") -> tuple[str, dict[str, Any]]:
    """The team's name and `PUT /teams/{name}`'s body, from YAML: `name`, `description`,
    the `services`, `environments` and `configuration_items` it owns, and its `members`,
    each a `subject` or a `group` with its `roles`."""
    return _named(text, source, "the team's name, what it owns and its members")


def _named(text: str, source: str, holding: str) -> tuple[str, dict[str, Any]]:
    """A YAML mapping's `name`, and the rest of it: a request body."""
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise PlanError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise PlanError(f"{source} must be a mapping with {holding}")
    body = {k: v for k, v in document.items() if k != "name"}
    return document["name"], body
