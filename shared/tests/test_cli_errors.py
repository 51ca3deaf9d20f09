"""What `ferry` tells its user when a service refuses a request."""

from __future__ import annotations

import base64
import hashlib

import httpx
import jwt

from ferry.cli.client import explain, problem_of, version_of
from ferry.cli.dev import INBOUND_TOPICS
from ferry.cli.media import repr_digest
from ferry.events.schema import INBOUND


def token(sub: str, *roles: str) -> str:
    return jwt.encode({"sub": sub, "roles": list(roles)}, "a-secret-long-enough-for-hs256-keys")


def test_401_without_a_token_says_how_to_give_one() -> None:
    message = explain("release", 401, {"detail": "missing bearer token"}, None)
    assert "release-svc needs a bearer token and none was given" in message
    assert "FERRY_TOKEN" in message


def test_401_with_a_token_suspects_it_expired() -> None:
    message = explain("dml", 401, {"detail": "Signature has expired"}, token("rita"))
    assert message.startswith("dml-svc did not accept the token (Signature has expired)")
    assert "expired" in message


def test_403_names_the_rule_and_who_the_token_is_for() -> None:
    problem = {
        "title": "Forbidden",
        "detail": "builder-cannot-validate: the release's builder cannot validate it",
        "rule": "builder-cannot-validate",
    }
    message = explain("release", 403, problem, token("rita", "release-manager", "tester"))
    assert message == (
        "release-svc forbids this (rule builder-cannot-validate): "
        "builder-cannot-validate: the release's builder cannot validate it; "
        "your token is for rita with the roles: release-manager, tester"
    )


def test_422_lists_each_field_and_rule() -> None:
    problem = {
        "title": "Invalid request",
        "detail": "invalid fields: planned_end, windows.0.start",
        "errors": [
            {"field": "planned_end", "message": "must not be before planned_start"},
            {"field": "windows.0.start", "message": "needs its UTC offset"},
            {"rule": "backout-plan-required", "message": "no backout plan"},
        ],
    }
    assert explain("release", 422, problem, None).splitlines() == [
        "release-svc refused it (422 Invalid request): invalid fields: planned_end, "
        "windows.0.start",
        "  - planned_end: must not be before planned_start",
        "  - windows.0.start: needs its UTC offset",
        "  - backout-plan-required: no backout plan",
    ]


def test_409_and_503_say_what_happened() -> None:
    stale = {"title": "Version conflict", "detail": "stream release-1 is no longer at version 2"}
    assert explain("release", 409, stale, None) == (
        "release-svc refused it (409 Version conflict): stream release-1 is no longer at version 2"
    )
    down = {"title": "Service unavailable", "detail": "the database cannot be reached"}
    assert explain("deploy", 503, down, None).endswith("retry shortly")


def test_a_body_that_is_not_a_problem_becomes_the_detail() -> None:
    response = httpx.Response(502, text="<html>Bad Gateway</html>")
    assert problem_of(response) == {
        "title": "Bad Gateway",
        "status": 502,
        "detail": "<html>Bad Gateway</html>",
    }


def test_the_version_comes_from_the_etag() -> None:
    assert version_of(httpx.Response(200, headers={"ETag": '"7"'})) == "7"
    assert version_of(httpx.Response(200, headers={"ETag": 'W/"12"'})) == "12"


def test_the_declared_digest_is_the_header_the_dml_reads() -> None:
    sha256 = hashlib.sha256(b"bytes").hexdigest()
    expected = base64.b64encode(hashlib.sha256(b"bytes").digest()).decode()
    assert repr_digest(sha256) == f"sha-256=:{expected}:"


def test_the_schema_command_knows_every_inbound_topic() -> None:
    assert set(INBOUND_TOPICS) == set(INBOUND)
