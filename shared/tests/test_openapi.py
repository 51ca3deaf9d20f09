"""The OpenAPI document completed from the routes' dependencies (`ferry.openapi`)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from ferry import characters, http, openapi
from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.http import ExpectedVersion

router = APIRouter(prefix="/things")


class ThingIn(BaseModel):
    name: str


@router.get("")
async def list_things(_: Reader, name: str | None = None) -> list[str]:
    return []


@router.post("", status_code=201)
async def create_thing(body: ThingIn, _: Reader) -> str:
    return body.name


@router.post("/{thing_id}", responses=http.problem_responses({404: "No such thing"}))
async def change_thing(thing_id: str, body: ThingIn, _: Reader, version: ExpectedVersion) -> int:
    return version


def app() -> FastAPI:
    application = FastAPI(dependencies=[Depends(characters.refuse_unsafe_characters)])
    http.install(application, "test-svc")
    openapi.install(application)

    @application.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @application.get("/feeds/{secret}")
    async def public_feed(
        secret: str, uow: Annotated[UnitOfWork, Depends(http.unit_of_work)]
    ) -> str:
        return secret

    application.include_router(router)
    return application


def operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["paths"][path][method]
    return found


def test_operations_behind_authenticate_need_the_bearer_token_and_public_ones_do_not() -> None:
    doc = app().openapi()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    listed = operation(doc, "get", "/things")
    assert listed["security"] == [{"bearer": []}]
    assert {"401", "403", "422", "503"} <= set(listed["responses"])
    assert listed["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert "security" not in operation(doc, "get", "/healthz")


def test_a_route_that_reaches_the_database_may_answer_503_with_or_without_a_token() -> None:
    doc = app().openapi()
    public = operation(doc, "get", "/feeds/{secret}")
    assert "security" not in public
    assert public["responses"]["503"]["headers"]["Retry-After"]
    assert "503" not in operation(doc, "get", "/healthz")["responses"]


def test_if_match_is_required_with_its_pattern_where_the_route_reads_it() -> None:
    changed = operation(app().openapi(), "post", "/things/{thing_id}")
    (if_match,) = [p for p in changed["parameters"] if p["name"] == "if-match"]
    assert if_match["required"] is True
    assert if_match["schema"]["pattern"] == http.ETAG_PATTERN
    assert {"400", "404", "409", "422", "428"} <= set(changed["responses"])
    assert changed["responses"]["404"]["description"] == "No such thing"


def test_every_problem_is_the_one_problem_schema_and_parameters_refuse_control_characters() -> None:
    doc = app().openapi()
    assert doc["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]
    for item in doc["paths"].values():
        for op in item.values():
            for status, response in op["responses"].items():
                if status[0] in "45":
                    schema = response["content"][http.PROBLEM]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}, status
                    assert list(response["content"]) == [http.PROBLEM]
    (name,) = operation(doc, "get", "/things")["parameters"]
    branches = name["schema"]["anyOf"]
    assert branches[0]["pattern"] == openapi.NO_CONTROL_CHARACTERS


async def test_a_405_names_every_method_of_the_path_in_allow() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.delete("/things")
    assert answer.status_code == 405
    assert answer.headers["content-type"] == http.PROBLEM
    # Two routes on one path: Starlette named the first one's methods only.
    assert answer.headers["allow"] == "GET, POST"
