"""A driver's target settings as a typed, checked model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from deploy_svc.drivers.base import BadTargetSettings, DriverError

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], settings: Mapping[str, object]) -> M:
    """`settings` as `model`, or `BadTargetSettings` naming the first setting at fault."""
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = ".".join(str(part) for part in error["loc"]) or "settings"
        raise BadTargetSettings(setting, error["msg"].removeprefix("Value error, ")) from exc


def for_step(model: type[M], settings: Mapping[str, object]) -> M:
    """`parse` for a step under way: settings that no longer pass fail it (`DriverError`)."""
    try:
        return parse(model, settings)
    except BadTargetSettings as exc:
        raise DriverError(f"the target's settings: {exc}") from exc
