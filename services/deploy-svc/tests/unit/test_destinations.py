"""A destination belongs to production environments or to the others, never both."""

from __future__ import annotations

import pytest

from deploy_svc.domain.destinations import Destination, check_apart, destinations
from deploy_svc.domain.environment import Environment
from ferry.errors import InvalidField
from ferry.events.deploy import EnvironmentClass, TargetSpec


def local(path: str) -> TargetSpec:
    return TargetSpec(name="web", driver="local", settings={"path": path})


def kubernetes(namespace: str, deployment: str) -> TargetSpec:
    settings = {"namespace": namespace, "deployment": deployment}
    return TargetSpec(name="web", driver="kubernetes", settings=settings)


def webhook(url: str) -> TargetSpec:
    return TargetSpec(name="web", driver="webhook", settings={"url": url, "secret": "s"})


PRODUCTION = {"production": (True, [local("/srv/web"), kubernetes("shop", "api")])}


@pytest.mark.parametrize(
    "target",
    [
        local("/srv/web"),
        local("/srv/web/releases"),  # inside production's folder
        local("/srv"),  # around it
        local("/srv/./web"),
        local("/srv/stage/../web"),
        kubernetes("shop", "api"),
    ],
)
def test_a_non_production_target_may_not_reach_productions_destinations(
    target: TargetSpec,
) -> None:
    with pytest.raises(InvalidField, match="production environment") as refused:
        check_apart(False, [local("/srv/stage"), target], PRODUCTION)
    assert refused.value.extensions()["errors"][0]["field"] == "targets.1.settings"


def test_nor_production_those_of_other_environments() -> None:
    staging = {"staging": (False, [webhook("https://ci.example/hooks/stage")])}
    with pytest.raises(InvalidField, match="non-production"):
        check_apart(True, [webhook("HTTPS://CI.example/hooks/stage")], staging)
    check_apart(True, [webhook("https://ci.example/hooks/live")], staging)


def test_places_apart_are_fine() -> None:
    check_apart(False, [local("/srv/webshop"), kubernetes("shop", "api-staging")], PRODUCTION)
    check_apart(True, [local("/srv/web")], PRODUCTION)  # production with production: its own


def test_an_environment_is_judged_against_the_others_not_itself() -> None:
    staging = Environment("staging")
    events = staging.define(
        EnvironmentClass.PRODUCTION,
        [local("/srv/stage")],
        {"local": lambda _: None},
        {"staging": (False, [local("/srv/stage")])},
    )
    assert events[0].production


def test_what_each_driver_reaches() -> None:
    assert destinations(local("/srv/web/")) == [Destination("folder", "/srv/web")]
    assert destinations(kubernetes("shop", "api")) == [Destination("deployment", "shop/api")]
    assert destinations(webhook("https://CI.example:8443/x?y=1")) == [
        Destination("url", "https://ci.example:8443/x")
    ]
