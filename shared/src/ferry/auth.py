"""Who is calling: OAuth2 bearer JWTs verified against an issuer's keys, mapped to roles.

Every route but health and metrics declares the roles it allows next to its definition
(`Allow`); a table-driven test walks every route of every service against every role.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, Request

from ferry import outbound, team_table
from ferry.db import Database
from ferry.errors import Forbidden, Unauthenticated
from ferry.grants import Acting, Grant, parse_grant

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
    FERRY_ADMIN = "ferry-admin"
    """Proposes teams: what each owns and who holds which role for it."""


EVERYONE = frozenset(Role)
"""Reading: every role, the auditor and viewer included."""

ROLE_NAMES: Final = frozenset(role.value for role in Role)

TEAM_ROLES: Final = frozenset(
    {
        Role.RELEASE_MANAGER,
        Role.TESTER,
        Role.DEPLOYER,
        Role.ELS_SUPPORT,
        Role.OPERATIONS,
        Role.VIEWER,
    }
)
"""Roles that may be held for one team. The others guard what all teams share (approval,
the library, the audit, Ferry's own administration) and are held everywhere or not at all."""

ALGORITHMS = ("RS256", "ES256", "EdDSA")
"""Asymmetric only: an HS256 token signed with a public key can never verify."""


@dataclass(frozen=True)
class Principal:
    """The verified caller: the token's subject and the Ferry roles its claims map to."""

    subject: str
    roles: frozenset[Role]
    expires_at: float | None = field(default=None, compare=False)
    """The token's `exp` (seconds since the epoch): what stays open (a stream) ends then."""
    unmapped: tuple[str, ...] = field(default=(), compare=False)
    """The names in the roles claim that gave no role: said in a 403, so it is understood."""
    team_grants: frozenset[Grant] = frozenset()
    """Roles held for a team only (`payments:deployer`); `roles` are those held everywhere."""
    groups: tuple[str, ...] = field(default=(), compare=False)
    """Every name in the roles claim, mapped or not: a team may list a group as a member."""

    @property
    def grants(self) -> frozenset[Grant]:
        """Every role held: everywhere (no team) and for a team."""
        return frozenset(Grant(role) for role in self.roles) | self.team_grants

    def has_any(self, roles: Iterable[Role]) -> bool:
        """Whether the caller holds one of `roles` everywhere."""
        return not self.roles.isdisjoint(roles)

    def has_any_for_some_team(self, roles: Iterable[Role]) -> bool:
        """Whether the caller holds one of `roles`, everywhere or for at least one team."""
        wanted = set(roles)
        return self.has_any(wanted) or any(g.role in wanted for g in self.team_grants)

    def acting_as(self, *roles: Role) -> Acting:
        """The caller acting with `roles` (a route's), for a handler's team check."""
        return Acting(self.grants, frozenset(str(role) for role in roles))

    def listed_teams(self, team: str | None) -> frozenset[str] | None:
        """Whose objects a list shows: the `team` asked for; else everyone's (None) to a
        caller holding a role everywhere; else the caller's own teams'."""
        if team is not None:
            return frozenset({team})
        if self.roles:
            return None
        return frozenset(grant.team for grant in self.team_grants if grant.team)


def claimed_names(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The names in `claim`: a list, or a space-separated string (OAuth's `scope` style)."""
    raw = claims.get(claim, [])
    names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [str(name) for name in names]


def grants_of(
    claims: Mapping[str, Any], claim: str, role_map: Mapping[str, str]
) -> frozenset[Grant]:
    """The grants `claim` names: Ferry roles (`deployer`) or roles for a team
    (`payments:deployer`). With a role map it is an allow-list: only the names it maps count,
    so an IdP group that happens to be called `deployer` is no deployer. Without one (the
    development issuer) the names are grants themselves."""
    names = claimed_names(claims, claim)
    mapped = (role_map.get(name) for name in names) if role_map else iter(names)
    found = (parse_grant(name, ROLE_NAMES, TEAM_ROLES) for name in mapped if name)
    return frozenset(grant for grant in found if grant is not None)


class KeySet:
    """The issuer's public keys (JWKS) from a file or a URL: fetched again once older than
    `refresh_seconds`, so a key the issuer withdrew stops verifying, and at once (at most
    once a second) for a key id it does not know, so a new key verifies from its first use."""

    def __init__(
        self, *, url: str | None = None, file: Path | None = None, refresh_seconds: float = 300
    ) -> None:
        if (url is None) == (file is None):
            raise ValueError("give exactly one of a JWKS URL and a JWKS file")
        self._url = url
        self._file = file
        self._refresh_seconds = refresh_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        """When a fetch was last tried, successful or not."""
        self._loaded_at: float | None = None
        """When the keys in `_keys` were fetched; None before the first good fetch."""
        self._refresh = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if self._due() or kid not in self._keys:
            async with self._refresh:
                # An unknown key id is fetched for at most once a second: a flood of made-up
                # ones is no flood upstream.
                unknown = kid not in self._keys and self._since_tried() > 1
                if self._due() or unknown:
                    await self._load()
        return self._keys.get(kid)

    def _due(self) -> bool:
        """The keys are older than the refresh period, and no fetch failed just now: while
        the issuer is down, one try every 10 s (or period), not one per request."""
        loaded = self._loaded_at
        stale = loaded is None or time.monotonic() - loaded >= self._refresh_seconds
        return stale and self._since_tried() >= min(self._refresh_seconds, 10)

    def _same(self, key: jwt.PyJWK) -> jwt.PyJWK:
        """`key`, or the key of its id loaded before if that is the same key."""
        before = self._keys.get(str(key.key_id))
        same = before is not None and _public(key) is not None and _public(before) == _public(key)
        return before if same and before is not None else key

    def _since_tried(self) -> float:
        return time.monotonic() - self._fetched_at

    async def _load(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            if self._file is not None:
                document = self._file.read_bytes()
            else:
                assert self._url is not None
                async with outbound.client(timeout=5) as client:
                    answer = await client.get(self._url)
                    answer.raise_for_status()
                    document = answer.content
            keys = jwt.PyJWKSet.from_json(document.decode()).keys
        except (OSError, ValueError, httpx.HTTPError, jwt.PyJWKSetError) as exc:
            # The last good set stays: an issuer briefly unreachable must not lock everyone
            # out. A key it withdrew meanwhile stays trusted until a fetch succeeds: said loudly.
            log.error(
                "cannot load the issuer's keys from %s (keeping the %d from the last good "
                "fetch): %r",
                self._url or self._file,
                len(self._keys),
                exc,
            )
            return
        # Replaced, not merged: a key no longer published is no longer trusted. A key still
        # published as it was stays the same object: what it verified stays verified.
        self._keys = {key.key_id: self._same(key) for key in keys if key.key_id}
        self._loaded_at = self._fetched_at


def _public(key: jwt.PyJWK) -> tuple[str | None, bytes] | None:
    """What identifies a public key: its algorithm and its encoded form (None: no public
    key, which verifies nothing here)."""
    encode = getattr(key.key, "public_bytes", None)
    if encode is None:
        return None
    return key.algorithm_name, encode(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


VERIFIED_TOKENS = 4096
"""How many verified tokens a service remembers (the least recently used go first)."""


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    kid: str
    key: jwt.PyJWK
    until: float
    """Its `exp`: past it, the full check (with its leeway) decides again."""


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
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        """Tokens verified lately: a signature check costs more than all the rest of a read."""

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            # Trusted again only before its `exp` and while the key that signed it is still
            # the issuer's (a refreshed key set holds new key objects: every token is
            # checked afresh, so a withdrawn key stops verifying as it did uncached).
            if time.time() < known.until and await self._keys.key(known.kid) is known.key:
                self._verified.move_to_end(token)
                return known.principal
            del self._verified[token]
        principal, kid, key = await self._verify(token)
        assert principal.expires_at is not None  # `exp` is required
        self._verified[token] = _Verified(principal, kid, key, principal.expires_at)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str, jwt.PyJWK]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise Unauthenticated("the bearer token is not a JWT") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated(f"algorithm {header.get('alg')!r} is not accepted")
        kid = str(header.get("kid", ""))
        key = await self._keys.key(kid)
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
        grants = grants_of(claims, self._roles_claim, self._role_map)
        names = tuple(claimed_names(claims, self._roles_claim))
        principal = Principal(
            str(claims["sub"]),
            frozenset(Role(grant.role) for grant in grants if grant.team is None),
            expires_at=float(claims["exp"]),
            unmapped=() if grants else names,
            team_grants=frozenset(grant for grant in grants if grant.team is not None),
            groups=names,
        )
        return principal, kid, key


async def authenticate(request: Request) -> Principal:
    """The caller of this request, from `Authorization: Bearer <JWT>`."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(token.strip())


class Allow:
    """A route's declaration of who may call it: `caller: Annotated[Principal, Allow(...)]`.

    Only roles held everywhere count, unless the route is `scoped`: then a role held for a
    team lets the caller in too, and the handler checks the team of what it acts on
    (`ferry.grants.require`). A route not marked so stays closed to team grants.
    """

    def __init__(self, *roles: Role, scoped: bool = False) -> None:
        self.roles = frozenset(roles)
        self.scoped = scoped

    async def __call__(
        self, request: Request, caller: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        if self.scoped and not caller.has_any(self.roles):
            # Only a caller without the role everywhere needs its teams looked up.
            caller = await with_team_members(request, caller)
        return self.admit(caller)

    def admit(self, caller: Principal) -> Principal:
        """`caller`, if it holds one of the route's roles; else a 403 saying which."""
        if not caller.roles and not caller.team_grants:
            raise Forbidden(no_role(caller))
        allowed = caller.has_any_for_some_team if self.scoped else caller.has_any
        if not allowed(self.roles):
            roles = ", ".join(sorted(self.roles))
            where = " (held for every team)" if caller.team_grants and not self.scoped else ""
            raise Forbidden(f"this needs one of the roles{where}: {roles}")
        return caller


async def with_team_members(request: Request, caller: Principal) -> Principal:
    """`caller` with the roles the teams' members give them too (by subject or group), as
    the service's copy of the teams has them: asked per request, so a change approved a
    moment ago applies at once and a verified token's cache never holds one."""
    db: Database = request.app.state.db
    async with db.unit_of_work() as uow:
        listed = await team_table.member_grants(uow, caller.subject, caller.groups)
    # The teams' API takes no other roles; a table is no place to trust more than that.
    found = frozenset(grant for grant in listed if grant.role in TEAM_ROLES)
    if found <= caller.team_grants:
        return caller
    return dataclasses.replace(caller, team_grants=caller.team_grants | found)


def no_role(caller: Principal) -> str:
    """Why a caller has no role at all, for its 403."""
    if not caller.unmapped:
        return "the token names no Ferry role"
    shown = ", ".join(repr(name[:60]) for name in caller.unmapped[:5])
    more = f" and {len(caller.unmapped) - 5} more" if len(caller.unmapped) > 5 else ""
    return (
        f"no Ferry role in the token's roles or groups ({shown}{more}): where "
        "FERRY_AUTH_ROLE_MAP is set only the groups it maps count, else only Ferry's role names"
    )


def allow(*roles: Role) -> Any:
    """Declare a route's roles: `caller: Annotated[Principal, allow(Role.DEPLOYER)]`."""
    return Depends(Allow(*roles))


def allow_scoped(*roles: Role) -> Any:
    """Declare a route whose handler checks the team owning what it acts on: a role held
    for some team lets the caller in (`caller: Annotated[Principal, allow_scoped(...)]`)."""
    return Depends(Allow(*roles, scoped=True))


Reader = Annotated[Principal, allow_scoped(*EVERYONE)]
"""A caller allowed to read: any role, held everywhere or for a team."""


class Capability:
    """Base of a dependency that authenticates by a secret in the URL instead of a bearer
    token, for clients that cannot send one (a calendar app subscribing to a feed). Such a
    route declares no roles: the secret is what grants it, to what its holder may read."""
