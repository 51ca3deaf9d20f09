"""Every FastAPI dependency of the four services' routes is a coroutine function: FastAPI
runs a plain `def` dependency in a worker thread, a thread hand-off per request for what is
a lookup (#16 found three such hops in each `POST /releases`)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ferry.characters import refuse_unsafe_characters

PACKAGES = ["release_svc.api", "deploy_svc.api", "dml_svc.api", "els_svc.api"]


def _routers() -> Iterator[tuple[str, APIRouter]]:
    """Every module-level router of the services' `api` packages, and the shared ones."""
    modules = [importlib.import_module("ferry.proposals_api")]
    for package in PACKAGES:
        found = importlib.import_module(package)
        for info in pkgutil.walk_packages(found.__path__, f"{package}."):
            modules.append(importlib.import_module(info.name))
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, APIRouter):
                yield f"{module.__name__}.{name}", value


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _runs_in_a_thread(call: Any) -> bool:
    if inspect.isclass(call):
        return False  # a model or class built from the query: no function to run
    function = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
    return not inspect.iscoroutinefunction(function)


def _sync_dependencies(routers: Iterator[tuple[str, APIRouter]]) -> list[str]:
    return sorted(
        {
            f"{where} {route.path}: {getattr(call, '__qualname__', call)}"
            for where, router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
            for call in _calls(route.dependant)
            if _runs_in_a_thread(call)
        }
    )


def test_no_dependency_runs_in_a_worker_thread() -> None:
    assert _sync_dependencies(_routers()) == []


def test_a_plain_def_dependency_is_found() -> None:
    def settings() -> str:
        return "s"

    async def uow() -> str:
        return "u"

    router = APIRouter()

    @router.get("/x")
    async def route(a: str = Depends(settings), b: str = Depends(uow)) -> None:
        return None

    assert len(_sync_dependencies(iter([("demo", router)]))) == 1


def test_the_app_wide_dependency_is_a_coroutine() -> None:
    assert inspect.iscoroutinefunction(refuse_unsafe_characters)
