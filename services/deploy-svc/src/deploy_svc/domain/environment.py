"""An environment, its class and its targets."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from deploy_svc.domain.destinations import check_apart
from ferry.errors import InvalidField
from ferry.events.deploy import EnvironmentClass, EnvironmentDefined, EnvironmentEvent, TargetSpec
from ferry.eventsourced import EventSourced

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")

SettingsCheck = Callable[[Mapping[str, object]], None]
"""A driver's check of a target's settings: raises `BadTargetSettings` naming the setting."""


@dataclass
class Environment(EventSourced):
    name: str
    version: int = 0
    environment_class: EnvironmentClass = EnvironmentClass.STAGING
    targets: list[TargetSpec] = field(default_factory=list)

    @property
    def production(self) -> bool:
        return self.environment_class is EnvironmentClass.PRODUCTION

    def governed(self, environment_class: EnvironmentClass) -> bool:
        """Whether defining it of `environment_class` needs a second person's approval:
        segregation of duties holds in production, so production's targets are not for the
        people it constrains to change alone; and a class decides what may be deployed
        where, so an existing environment changes class only so too."""
        production = EnvironmentClass.PRODUCTION
        reclassified = self.exists and environment_class is not self.environment_class
        return self.production or environment_class is production or reclassified

    def target(self, name: str) -> TargetSpec | None:
        return next((t for t in self.targets if t.name == name), None)

    def define(
        self,
        environment_class: EnvironmentClass,
        targets: Sequence[TargetSpec],
        drivers: Mapping[str, SettingsCheck],
        elsewhere: Mapping[str, tuple[bool, Sequence[TargetSpec]]] | None = None,
    ) -> list[EnvironmentDefined]:
        """Define (or redefine) the environment; `drivers`: each known driver's check;
        `elsewhere`: the other environments (production or not, and their targets), none of
        the other kind of which its targets may reach."""
        if not _NAME.fullmatch(self.name):
            raise InvalidField("name", "lower-case letters, digits, '.', '_', '-'")
        seen: set[str] = set()
        for i, target in enumerate(targets):
            if not _NAME.fullmatch(target.name):
                raise InvalidField(f"targets.{i}.name", "lower-case letters, digits, '.', '_', '-'")
            if target.name in seen:
                raise InvalidField(f"targets.{i}.name", f"{target.name} is named twice")
            seen.add(target.name)
            check = drivers.get(target.driver)
            if check is None:
                known = ", ".join(sorted(drivers))
                raise InvalidField(
                    f"targets.{i}.driver",
                    f"not a driver this deploy-svc enables (FERRY_DEPLOY_DRIVERS): {known}",
                )
            try:
                check(target.settings)
            except ValueError as exc:  # BadTargetSettings names the setting
                setting = getattr(exc, "setting", "")
                raise InvalidField(f"targets.{i}.settings.{setting}".rstrip("."), str(exc)) from exc
        others = {n: e for n, e in (elsewhere or {}).items() if n != self.name}
        production = environment_class is EnvironmentClass.PRODUCTION
        check_apart(production, targets, others)
        same = (environment_class, list(targets)) == (self.environment_class, self.targets)
        if self.exists and same:
            return []
        return [
            EnvironmentDefined(
                environment=self.name,
                production=production,
                environment_class=environment_class,
                targets=list(targets),
            )
        ]

    def _evolve(self, event: EnvironmentEvent) -> None:
        if isinstance(event, EnvironmentDefined):
            self.environment_class = EnvironmentClass.of(event.production, event.environment_class)
            self.targets = list(event.targets)
