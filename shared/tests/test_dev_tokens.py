"""`ferry token` mints what the services' verifier accepts, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.__main__ import main
from ferry.auth import KeySet, Principal, Role, TokenVerifier
from ferry.devauth import AUDIENCE, ISSUER
from ferry.errors import Unauthenticated


def verifier(state: Path, audience: str = AUDIENCE) -> TokenVerifier:
    return TokenVerifier(
        KeySet(file=state / "auth" / "jwks.json"), issuer=ISSUER, audience=audience
    )


async def test_a_minted_token_verifies_with_its_subject_and_roles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            "token",
            "--sub",
            "alice",
            "--role",
            "tester",
            "--role",
            "viewer",
            "--state-dir",
            str(tmp_path),
        ]
    )
    token = capsys.readouterr().out.strip()
    assert await verifier(tmp_path).verify(token) == Principal(
        "alice", frozenset({Role.TESTER, Role.VIEWER})
    )
    with pytest.raises(Unauthenticated, match=r"(?i)audience"):
        await verifier(tmp_path, audience="elsewhere").verify(token)


def test_unknown_roles_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["token", "--sub", "alice", "--role", "admin", "--state-dir", str(tmp_path)])


async def test_the_key_pair_is_kept_between_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["token", "--sub", "a", "--state-dir", str(tmp_path)])
    first = capsys.readouterr().out.strip()
    main(["token", "--sub", "b", "--state-dir", str(tmp_path)])
    capsys.readouterr()
    # Minting again reused the keys: the first token still verifies.
    assert (await verifier(tmp_path).verify(first)).subject == "a"
    assert oct((tmp_path / "auth" / "issuer-ed25519.pem").stat().st_mode)[-3:] == "600"
