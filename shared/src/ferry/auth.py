"""Who is calling: OAuth2 bearer JWTs verified against an issuer's keys, mapped to roles.

Every route but health and metrics declares the roles it allows next to its definition
(`Allow`); a table-driven test walks every route of every service against every role.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request

from ferry.errors import Forbidden, Unauthenticated

log = logging.getLogger(__name__)


class Role(StrEnum):
    """Ferry's roles; an organisation's IdP groups map onto them (`FERRY_AUTH_ROLE_MAP`)."""

    RELEASE_MANAGER = "release-manager"
    CHANGE_AUTHORITY = "change-authority"
    TESTER = "tester"
    DML_LIBRARIAN = "dml-librarian"
    DEPLOYER = "deployer"
    ELS_SUPPORT = "els-support"
    OPERATIONS = "operations"
    AUDITOR = "auditor"
    VIEWER = "viewer"


EVERYONE = frozenset(Role)
"""Reading: every role, the auditor and viewer included."""

ALGORITHMS = ("RS256", "ES256", "EdDSA")
"""Asymmetric only: an HS256 token signed with a public key can never verify."""


@dataclass(frozen=True)
class Principal:
    """The verified caller: the token's subject and the Ferry roles its claims map to."""

    subject: str
    roles: frozenset[Role]

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)


def roles_of(claims: Mapping[str, Any], claim: str, role_map: Mapping[str, str]) -> frozenset[Role]:
    """The Ferry roles named by `claim` (a list or a space-separated string), mapped first."""
    raw = claims.get(claim, [])
    names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    known = {role.value for role in Role}
    mapped = (role_map.get(str(name), str(name)) for name in names)
    return frozenset(Role(name) for name in mapped if name in known)


class KeySet:
    """The issuer's public keys (JWKS) from a file or a URL, refetched on an unknown key id."""

    def __init__(self, *, url: str | None = None, file: Path | None = None) -> None:
        if (url is None) == (file is None):
            raise ValueError("give exactly one of a JWKS URL and a JWKS file")
        self._url = url
        self._file = file
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._refresh = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys:
            async with self._refresh:
                # At most one refetch a second: a flood of made-up key ids is no flood upstream.
                if kid not in self._keys and time.monotonic() - self._fetched_at > 1:
                    await self._load()
        return self._keys.get(kid)

    async def _load(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            if self._file is not None:
                document = self._file.read_bytes()
            else:
                assert self._url is not None
                async with httpx.AsyncClient(timeout=5) as client:
                    answer = await client.get(self._url)
                    answer.raise_for_status()
                    document = answer.content
            keys = jwt.PyJWKSet.from_json(document.decode()).keys
        except (OSError, httpx.HTTPError, jwt.PyJWKSetError) as exc:
            log.error("cannot load the issuer's keys from %s: %r", self._url or self._file, exc)
            return
        self._keys = {key.key_id: key for key in keys if key.key_id}


class TokenVerifier:
    """Checks signature, `iss`, `aud`, `exp`/`nbf` and algorithm, then maps roles."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        roles_claim: str = "roles",
        role_map: Mapping[str, str] | None = None,
        leeway: float = 30,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._roles_claim = roles_claim
        self._role_map = dict(role_map or {})
        self._leeway = leeway

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise Unauthenticated("the bearer token is not a JWT") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated(f"algorithm {header.get('alg')!r} is not accepted")
        key = await self._keys.key(str(header.get("kid", "")))
        if key is None:
            raise Unauthenticated("the token was not signed by a key of the configured issuer")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the bearer token is not valid: {exc}") from exc
        return Principal(str(claims["sub"]), roles_of(claims, self._roles_claim, self._role_map))


async def authenticate(request: Request) -> Principal:
    """The caller of this request, from `Authorization: Bearer <JWT>`."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(token.strip())


class Allow:
    """A route's declaration of who may call it: `caller: Annotated[Principal, Allow(...)]`."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, caller: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not caller.has_any(self.roles):
            allowed = ", ".join(sorted(self.roles))
            raise Forbidden(f"this needs one of the roles: {allowed}")
        return caller


def allow(*roles: Role) -> Any:
    """Declare a route's roles: `caller: Annotated[Principal, allow(Role.DEPLOYER)]`."""
    return Depends(Allow(*roles))


Reader = Annotated[Principal, allow(*EVERYONE)]
"""A caller allowed to read: any role."""


class Capability:
    """Base of a dependency that authenticates by a secret in the URL instead of a bearer
    token, for clients that cannot send one (a calendar app subscribing to a feed). Such a
    route declares no roles: the secret is what grants it, to what its holder may read."""
