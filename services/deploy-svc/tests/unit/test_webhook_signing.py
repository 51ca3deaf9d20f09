"""The webhook driver's signatures, and the settings it accepts."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr

from deploy_svc.drivers.base import BadTargetSettings
from deploy_svc.drivers.webhook import WebhookDriver
from ferry import signing
from ferry.db import Database

SECRET = b"s3cret"
BODY = b'{"outcome": "succeeded"}'
NOW = 1_800_000_000.0


def test_a_signed_body_verifies() -> None:
    headers = signing.sign(SECRET, BODY, now=NOW)
    signing.verify(SECRET, BODY, headers, now=NOW + 10)


def test_the_signature_is_the_hmac_of_timestamp_and_body() -> None:
    headers = signing.sign(SECRET, BODY, now=NOW)
    expected = hmac.new(SECRET, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert headers == {"X-Ferry-Timestamp": "1800000000", "X-Ferry-Signature": f"sha256={expected}"}


@pytest.mark.parametrize(
    ("secret", "body"),
    [(b"other", BODY), (SECRET, b'{"outcome": "failed"}'), (SECRET, BODY + b" ")],
)
def test_another_secret_or_body_does_not_verify(secret: bytes, body: bytes) -> None:
    headers = signing.sign(SECRET, BODY, now=NOW)
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify(secret, body, headers, now=NOW)


def test_a_replay_under_a_fresh_timestamp_does_not_verify() -> None:
    headers = signing.sign(SECRET, BODY, now=NOW)
    replayed = {**headers, "X-Ferry-Timestamp": str(int(NOW) + 400)}
    with pytest.raises(signing.BadSignature, match="does not match"):
        signing.verify(SECRET, BODY, replayed, now=NOW + 400)


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_message_over_five_minutes_off_is_refused(age: int) -> None:
    headers = signing.sign(SECRET, BODY, now=NOW)
    with pytest.raises(signing.BadSignature, match="more than 300 seconds off"):
        signing.verify(SECRET, BODY, headers, now=NOW + age)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Ferry-Timestamp": "1800000000"},
        {"X-Ferry-Timestamp": "yesterday", "X-Ferry-Signature": "sha256=00"},
        {"X-Ferry-Timestamp": "-5", "X-Ferry-Signature": "sha256=00"},
        {"X-Ferry-Timestamp": "1800000000", "X-Ferry-Signature": "sha256=é"},
    ],
)
def test_missing_or_malformed_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(signing.BadSignature):
        signing.verify(SECRET, BODY, headers, now=NOW)


def driver() -> WebhookDriver:
    # Never connected: checking settings needs no database.
    db = Database("postgresql://nowhere.invalid/x", "deploy", "test")
    return WebhookDriver(
        db, {"argo": SecretStr("x")}, "http://127.0.0.1:8003", url_prefixes=("https://ci.example/",)
    )


def test_settings_naming_a_known_secret_are_accepted() -> None:
    driver().check({"url": "https://ci.example/hooks/ferry", "secret": "argo"})


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"secret": "argo"}, "url"),
        ({"url": "https://ci.example/h"}, "secret"),
        ({"url": "https://ci.example/h", "secret": "jenkins"}, "secret"),
        ({"url": "file:///etc/passwd", "secret": "argo"}, "url"),
        (
            {"url": "https://ci.example/h", "secret": "argo", "timeout_seconds": -1},
            "timeout_seconds",
        ),
        ({"url": "https://ci.example/h", "secret": "argo", "status_url": "x"}, "status_url"),
    ],
)
def test_check_names_the_setting_at_fault(settings: dict[str, object], setting: str) -> None:
    with pytest.raises(BadTargetSettings) as refused:
        driver().check(settings)
    assert refused.value.setting == setting
