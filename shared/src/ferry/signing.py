"""HMAC signatures of messages to and from outside automation (webhooks), both ways.

A message is signed as `X-Ferry-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared
secret of `<X-Ferry-Timestamp>.<body>`: the timestamp (Unix seconds) is signed with the body
so that a captured message cannot be replayed later under a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE = "X-Ferry-Signature"
TIMESTAMP = "X-Ferry-Timestamp"
MAX_AGE_SECONDS = 300
"""A message older (or further ahead, for clock skew) than this is refused."""


class BadSignature(Exception):
    """A message whose signature or timestamp does not verify; the message says which."""


def _digest(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers that sign `body` at `now` (default: the current time)."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP: timestamp, SIGNATURE: f"sha256={_digest(secret, timestamp, body)}"}


def verify(
    secret: bytes, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> None:
    """Raise `BadSignature` unless `headers` sign `body` with `secret`, recently enough."""
    timestamp, signature = headers.get(TIMESTAMP, ""), headers.get(SIGNATURE, "")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise BadSignature(f"{TIMESTAMP} must be Unix seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        raise BadSignature(f"{TIMESTAMP} is more than {MAX_AGE_SECONDS} seconds off")
    expected = f"sha256={_digest(secret, timestamp, body)}"
    # Constant-time: how much of a guess matched must not show in the time taken.
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadSignature(f"{SIGNATURE} does not match the body")
