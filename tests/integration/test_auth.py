"""Authentication and authorisation of every route of every service, against real tokens."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from els_svc.config import Settings as ElsSettings
from els_svc.main import spec as els_spec
from ferry.auth import Allow, Capability, Role
from ferry.devauth import AUDIENCE, ISSUER, DevIssuer
from ferry.service import ConfigurationError, ServiceSpec, create_app
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import serving, settings

PUBLIC = {"/healthz", "/readyz", "/metrics"}
SERVICES: dict[str, tuple[Callable[..., ServiceSpec], type[Any]]] = {
    "release-svc": (release_spec, ReleaseSettings),
    "dml-svc": (dml_spec, DmlSettings),
    "deploy-svc": (deploy_spec, DeploySettings),
    "els-svc": (els_spec, ElsSettings),
}


def declared_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles an `Allow` anywhere in the route's dependencies lets in, or None."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Allow):
            return dependency.call.roles
        if (found := declared_roles(dependency)) is not None:
            return found
    return None


def by_capability(dependant: Dependant) -> bool:
    """Whether a route authenticates by a secret in its URL instead of a bearer token."""
    return any(isinstance(d.call, Capability) or by_capability(d) for d in dependant.dependencies)


def path_and_methods(route: RouteContext) -> tuple[str, set[str]]:
    """An API route's path and methods, which only routes of other kinds lack."""
    assert route.path is not None, route
    assert route.methods is not None, route
    return route.path, route.methods


def capability_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    return [
        path_and_methods(route)
        for route in iter_route_contexts(app.routes)
        if getattr(route, "dependant", None) is not None and by_capability(route.dependant)
    ]


def guarded_routes(app: FastAPI) -> list[tuple[str, set[str], frozenset[Role]]]:
    """Every API route of the app but the public ones, with the roles it declares."""
    routes = []
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is None or route.path in PUBLIC:
            continue  # the docs pages, and health and metrics, which anyone may read
        if by_capability(route.dependant):
            continue  # a secret in the URL grants it; tested below
        path, methods = path_and_methods(route)
        roles = declared_roles(route.dependant)
        assert roles is not None, f"{methods} {path} declares no allowed roles"
        routes.append((path, methods, roles))
    return routes


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def answer_to(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """The status and headers of a request; its body is left unread, so that an endless
    stream (`GET /events`) ends here too."""
    async with client.stream(method, path, json={}, headers=headers) as answer:
        return answer


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_lets_in_exactly_the_roles_it_declares(
    service: str, infra: Infra, topic_prefix: str
) -> None:
    make_spec, settings_cls = SERVICES[service]
    spec = make_spec(settings(settings_cls, infra, topic_prefix))
    routes = guarded_routes(create_app(spec))
    assert routes, f"{service} has no guarded routes to check"
    async with serving(spec) as client:
        for template, methods, allowed in routes:
            for method in methods:
                path = concrete(template)
                anonymous = await answer_to(client, method, path)
                assert anonymous.status_code == 401, (method, template)
                assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
                for role in Role:
                    answer = await answer_to(
                        client,
                        method,
                        path,
                        headers={**infra.issuer.bearer(f"user-{role}", role), "If-Match": '"1"'},
                    )
                    if role in allowed:
                        assert answer.status_code not in (401, 403), (method, template, role)
                    else:
                        assert answer.status_code == 403, (method, template, role)
                        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("service", SERVICES)
async def test_a_route_granted_by_a_url_secret_refuses_any_other_secret_whatever_the_token(
    service: str, infra: Infra, topic_prefix: str
) -> None:
    make_spec, settings_cls = SERVICES[service]
    spec = make_spec(settings(settings_cls, infra, topic_prefix))
    async with serving(spec) as client:
        for template, methods in capability_routes(create_app(spec)):
            path = re.sub(r"\{[^}]+\}", "x" * 43, template)
            for method in methods:
                for headers in ({}, infra.issuer.bearer("root", *Role)):
                    answer = await client.request(method, path, headers=headers)
                    assert answer.status_code == 404, (method, template)


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "mallory",
        "roles": ["release-manager"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }


def forged_tokens(issuer: DevIssuer, tmp: Path) -> dict[str, str]:
    """A token for each way a bearer token must be refused."""
    good = issuer.mint("mallory", ["release-manager"])
    head, _body, signature = good.split(".")
    tampered_body = b64(json.dumps(claims(sub="root", roles=["auditor"])))
    public_jwk = json.loads(issuer.jwks_file.read_text())["keys"][0]
    hs_header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}))
    hs_body = b64(json.dumps(claims()))
    hs_signature = hmac.new(
        json.dumps(public_jwk).encode(), f"{hs_header}.{hs_body}".encode(), hashlib.sha256
    ).digest()
    stranger = DevIssuer(tmp / "stranger")
    now = int(time.time())
    return {
        # PyJWT wants None as the key for "none", though its annotation leaves None out.
        "alg none": jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]
        "HS256 with the public key": f"{hs_header}.{hs_body}.{b64(hs_signature)}",
        "expired": issuer.mint("mallory", ["release-manager"], exp=now - 3600, iat=now - 7200),
        "not yet valid": issuer.mint("mallory", ["release-manager"], nbf=now + 3600),
        "wrong issuer": issuer.mint("mallory", ["release-manager"], iss="https://evil.example"),
        "wrong audience": issuer.mint("mallory", ["release-manager"], aud="someone-else"),
        "tampered": f"{head}.{tampered_body}.{signature}",
        "another issuer's key": stranger.mint("mallory", ["release-manager"]),
        "no subject": jwt.encode(
            {k: v for k, v in claims().items() if k != "sub"},
            issuer._key,
            algorithm="EdDSA",
            headers={"kid": issuer.kid},
        ),
        "not a JWT": "hello",
    }


@pytest.fixture
async def release_api(infra: Infra, topic_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(release_spec(settings(ReleaseSettings, infra, topic_prefix))) as client:
        yield client


async def test_every_kind_of_bad_token_is_a_401(
    release_api: httpx.AsyncClient, infra: Infra, tmp_path: Path
) -> None:
    path = f"/releases/{uuid.uuid4()}"
    for why, token in forged_tokens(infra.issuer, tmp_path).items():
        answer = await release_api.get(path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, why
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), why
        assert answer.headers["content-type"] == "application/problem+json", why
    valid = await release_api.get(path, headers=infra.issuer.bearer("rita", "viewer"))
    assert valid.status_code == 404  # through the gate: the release just does not exist


PLAN = {
    "name": "Payments",
    "version": "1.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-02",
}


async def test_only_the_release_manager_who_planned_it_may_change_its_plan(
    release_api: httpx.AsyncClient, infra: Infra
) -> None:
    created = await release_api.post(
        "/releases", json=PLAN, headers=infra.issuer.bearer("rita", "release-manager")
    )
    assert created.json()["release_manager"] == "rita"
    move = {"planned_start": "2026-12-03", "planned_end": "2026-12-04", "reason": "late"}
    path = f"{created.headers['Location']}/schedule"
    refused = await release_api.put(
        path,
        json=move,
        headers={**infra.issuer.bearer("bob", "release-manager"), "If-Match": '"1"'},
    )
    assert refused.status_code == 403
    assert "only the release's manager, rita" in refused.json()["detail"]
    allowed = await release_api.put(
        path,
        json=move,
        headers={**infra.issuer.bearer("rita", "release-manager"), "If-Match": '"1"'},
    )
    assert allowed.status_code == 200


async def test_an_organisations_groups_map_onto_ferry_roles(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(
        ReleaseSettings,
        infra,
        topic_prefix,
        auth_roles_claim="groups",
        auth_role_map={"CN=Release Managers": "release-manager"},
    )
    token = infra.issuer.mint("rita", [], groups=["CN=Release Managers", "CN=Staff"])
    async with serving(release_spec(s), headers={"Authorization": f"Bearer {token}"}) as api:
        assert (await api.post("/releases", json=PLAN)).status_code == 201
    # With a map, only the groups it names count: one that happens to bear a role's name
    # is no role.
    unmapped = infra.issuer.mint("sam", [], groups=["CN=Staff", "release-manager"])
    async with serving(release_spec(s), headers={"Authorization": f"Bearer {unmapped}"}) as api:
        refused = await api.post("/releases", json=PLAN)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "FERRY_AUTH_ROLE_MAP" in refused.json()["detail"]


def test_a_service_without_a_trusted_issuer_refuses_to_start(infra: Infra) -> None:
    bare = ReleaseSettings(database_url=infra.database_url, port=1)
    with pytest.raises(ConfigurationError, match="FERRY_AUTH_ISSUER"):
        create_app(release_spec(bare))


@pytest.fixture
def jwks_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server publishing a JWKS document, as an IdP's `jwks_uri` does."""
    document = tmp_path / "jwks.json"
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", document
    finally:
        server.shutdown()
        server.server_close()


async def test_keys_come_from_the_issuers_jwks_url_and_follow_a_rotation(
    infra: Infra, topic_prefix: str, tmp_path: Path, jwks_server: tuple[str, Path]
) -> None:
    url, document = jwks_server
    old, new = DevIssuer(tmp_path / "old"), DevIssuer(tmp_path / "new")
    document.write_text(old.jwks_file.read_text())
    s = settings(ReleaseSettings, infra, topic_prefix, auth_jwks_url=url, auth_jwks_file=None)
    path = f"/releases/{uuid.uuid4()}"
    async with serving(release_spec(s)) as api:
        assert (await api.get(path, headers=old.bearer("rita", "viewer"))).status_code == 404
        assert (await api.get(path, headers=new.bearer("rita", "viewer"))).status_code == 401
        # The IdP rotates: it publishes the new key beside the old one.
        keys = json.loads(old.jwks_file.read_text())["keys"]
        keys += json.loads(new.jwks_file.read_text())["keys"]
        document.write_text(json.dumps({"keys": keys}))
        await asyncio.sleep(1.1)  # refetches are at most one a second
        assert (await api.get(path, headers=new.bearer("rita", "viewer"))).status_code == 404
        assert (await api.get(path, headers=old.bearer("rita", "viewer"))).status_code == 404


async def test_a_releases_owners_may_change_its_plan_too(
    release_api: httpx.AsyncClient, infra: Infra
) -> None:
    plan = {**PLAN, "owners": ["olga"], "escalation_contact": "payments-oncall"}
    created = await release_api.post(
        "/releases", json=plan, headers=infra.issuer.bearer("rita", "release-manager")
    )
    assert (created.json()["owners"], created.json()["escalation_contact"]) == (
        ["olga"],
        "payments-oncall",
    )
    move = {"planned_start": "2026-12-03", "planned_end": "2026-12-04", "reason": "late"}
    as_olga = {**infra.issuer.bearer("olga", "release-manager"), "If-Match": '"1"'}
    moved = await release_api.put(
        f"{created.headers['Location']}/schedule", json=move, headers=as_olga
    )
    assert moved.status_code == 200
