"""A driver's target settings as a typed, checked model."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from deploy_svc.drivers.base import BadTargetSettings, DriverError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def _no_controls(value: object, where: str) -> None:
    """Refuse control characters anywhere in `value`: PostgreSQL cannot store a NUL in the
    event, and a newline or an escape in a path, URL or command forges what people read."""
    if isinstance(value, str):
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise BadTargetSettings(where, "control characters are not allowed")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            _no_controls(name, where or name)
            _no_controls(item, f"{where}.{name}" if where else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _no_controls(item, f"{where}.{i}")


def parse(model: type[M], settings: Mapping[str, object]) -> M:
    """`settings` as `model`, or `BadTargetSettings` naming the first setting at fault."""
    _no_controls(settings, "")
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = ".".join(str(part) for part in error["loc"]) or "settings"
        raise BadTargetSettings(setting, error["msg"].removeprefix("Value error, ")) from exc


def for_step(checked: Callable[[Mapping[str, object]], T], settings: Mapping[str, object]) -> T:
    """`checked(settings)` for a step under way: settings that no longer pass, the operator's
    limits having narrowed since the environment was defined, fail it (`DriverError`)."""
    try:
        return checked(settings)
    except BadTargetSettings as exc:
        raise DriverError(f"the target's settings are no longer allowed: {exc}") from exc
