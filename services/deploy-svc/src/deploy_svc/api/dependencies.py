"""What deploy-svc's routes depend on beyond the database: the drivers (whose checks judge an
environment's targets) and the settings, which `main.spec` puts on `app.state` (`provide`)
and each route takes as a typed dependency (an app's `dependency_overrides` can replace
either)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from deploy_svc.config import Settings
from deploy_svc.drivers.base import Driver


def provide(settings: Settings, drivers: Mapping[str, Driver]) -> dict[str, object]:
    """`ServiceSpec.state`: what the dependencies below read, by the names they read."""
    return {"deploy_settings": settings, "deploy_drivers": drivers}


async def drivers(request: Request) -> Mapping[str, Driver]:
    """The drivers the operator enabled, by name."""
    found: Mapping[str, Driver] = request.app.state.deploy_drivers
    return found


async def settings(request: Request) -> Settings:
    """deploy-svc's settings."""
    found: Settings = request.app.state.deploy_settings
    return found


Drivers = Annotated[Mapping[str, Driver], Depends(drivers)]
DeploySettings = Annotated[Settings, Depends(settings)]
