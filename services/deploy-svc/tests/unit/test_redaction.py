"""Redaction of what goes into the deployment log: known secrets and credential shapes."""

from __future__ import annotations

import pytest

from deploy_svc.domain.redaction import MASK, brief, printable, redact

JWT = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImFiYyJ9."
    "eyJzdWIiOiJkZXBsb3ktc3ZjIiwicm9sZXMiOlsiZGVwbG95ZXIiXX0."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmU"
)


def test_known_secrets_are_masked_wherever_they_are_and_url_encoded() -> None:
    text = "secret=s3cr3t/value! then s3cr3t%2Fvalue%21 and again s3cr3t/value!"
    out = redact(text, ["s3cr3t/value!"])
    assert "s3cr3t" not in out
    assert out.count(MASK) == 3


def test_a_secret_containing_another_is_masked_whole() -> None:
    assert redact("abcdefgh", ["abcd", "abcdefgh"]) == MASK


def test_short_and_empty_values_are_not_taken_for_secrets() -> None:
    assert redact("the cat sat", ["", "cat"]) == "the cat sat"


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        (f"token {JWT}", JWT),
        ("Authorization: Bearer abcdefghijk123", "abcdefghijk123"),
        ("FERRY_DATABASE_URL=postgresql+asyncpg://ferry:hunter22@db:5432/ferry", "hunter22"),
        ('FERRY_DEPLOY_WEBHOOK_SECRETS={"argo":"x9y8z7"}', "x9y8z7"),
        ("PGPASSWORD=pa55word", "pa55word"),
        ('"api_key": "k-123-456"', "k-123-456"),
        ("key 0123456789abcdef0123456789abcdef01", "0123456789abcdef0123456789abcdef01"),
        ("aws AKIAxY9fK2LmNpQr7StUvWxYz01AbCdEfGh", "AKIAxY9fK2LmNpQr7StUvWxYz01AbCdEfGh"),
    ],
)
def test_credential_shapes_are_masked(text: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out, out
    assert MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "/usr/local/lib/python3.11/site-packages/deploy_svc/drivers/local.py line 12",
        "test -f payments-api.tar.gz exited with 1",
        "FERRY_RELEASE_VERSION=1.0.0",
        "HOME=/srv/targets/web-1/releases/1.0.0",
    ],
)
def test_ordinary_output_is_kept(text: str) -> None:
    assert redact(text) == text


def test_printable_replaces_controls_but_keeps_lines_and_tabs() -> None:
    assert printable("a\x00b\x1b[31mc\td\ne") == "a\ufffdb\ufffd[31mc\td\ne"


def test_brief_is_one_short_redacted_line() -> None:
    reason = brief(f"sh exited with 1:\nBearer {JWT}\x00" + "x" * 1000, limit=60)
    assert "\n" not in reason
    assert "\x00" not in reason
    assert JWT not in reason
    assert len(reason) <= 60
    assert reason.startswith("sh exited with 1:")
