"""Verified tokens are remembered, so a caller's signature is checked once, not on every
request (#16), without letting a token outlive its `exp` or its issuer's key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ferry import auth
from ferry.auth import KeySet, TokenVerifier
from ferry.devauth import AUDIENCE, ISSUER, DevIssuer
from ferry.errors import Unauthenticated


class Counting(TokenVerifier):
    """A verifier that counts its full checks (signature and claims)."""

    checks = 0

    async def _verify(self, token: str) -> Any:
        self.checks += 1
        return await super()._verify(token)


def verifier(jwks: Path) -> Counting:
    return Counting(KeySet(file=jwks, refresh_seconds=0), issuer=ISSUER, audience=AUDIENCE)


async def test_a_token_is_checked_once_while_it_is_valid(tmp_path: Path) -> None:
    issuer = DevIssuer(tmp_path)
    check = verifier(issuer.jwks_file)
    token = issuer.mint("rita", ["viewer"])
    first, again = await check.verify(token), await check.verify(token)
    assert first == again
    assert first.subject == "rita"
    assert check.checks == 1
    await check.verify(issuer.mint("rita", ["viewer"], jti="another"))
    assert check.checks == 2


async def test_past_its_exp_a_token_is_checked_again(tmp_path: Path) -> None:
    issuer = DevIssuer(tmp_path)
    check = verifier(issuer.jwks_file)
    token = issuer.mint("rita", ["viewer"], ttl=1)
    await check.verify(token)
    await asyncio.sleep(1.1)
    await check.verify(token)  # within the leeway: still let in, but by a full check
    assert check.checks == 2


async def test_a_remembered_token_whose_key_is_withdrawn_is_refused(tmp_path: Path) -> None:
    stolen, current = DevIssuer(tmp_path / "stolen"), DevIssuer(tmp_path / "current")
    jwks = tmp_path / "jwks.json"
    keys = [json.loads(i.jwks_file.read_text())["keys"] for i in (stolen, current)]
    jwks.write_text(json.dumps({"keys": keys[0] + keys[1]}))
    check = verifier(jwks)
    token = stolen.mint("mallory", ["viewer"])
    await check.verify(token)
    jwks.write_text(json.dumps({"keys": keys[1]}))
    with pytest.raises(Unauthenticated, match="not signed by a key of the configured issuer"):
        await check.verify(token)


async def test_the_least_recently_used_are_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "VERIFIED_TOKENS", 2)
    issuer = DevIssuer(tmp_path)
    check = verifier(issuer.jwks_file)
    tokens = [issuer.mint(name, ["viewer"]) for name in ("a", "b", "c")]
    for token in tokens:
        await check.verify(token)
    await check.verify(tokens[2])
    await check.verify(tokens[0])  # forgotten: checked again
    assert check.checks == 4
