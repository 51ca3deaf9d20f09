"""Redaction of text bound for the deployment log: known secret values and what looks like
a credential are replaced by `[redacted]`.

Pure: the caller says which values are secret (the service's own: its database password,
webhook secrets, its token for dml-svc). The shapes caught besides are those a command's
output or a remote answer most often carries: JWTs, `Bearer ...`, passwords in URLs,
`password=...`-style assignments, and long hex or base64 runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "[redacted]"
SHORTEST_SECRET = 4
"""Shorter values are not redacted wherever they occur: they would mask ordinary words."""

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")
_ASSIGNED = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|credentials?|private[_-]?key)"
    r"[A-Za-z0-9_-]*[\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;]+)"
)
_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")


def _looks_random(run: str) -> bool:
    # Mixed case and digits: a key or token, not a path's or a word's letters.
    return (
        any(c.isdigit() for c in run)
        and any(c.islower() for c in run)
        and any(c.isupper() for c in run)
    )


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every value of `secrets` (and its URL-encoded form) and every
    credential-shaped string replaced by `[redacted]`."""
    # Longest first: a secret containing another is masked whole.
    for secret in sorted({s for s in secrets if len(s) >= SHORTEST_SECRET}, key=len, reverse=True):
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, MASK)
    text = _JWT.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m[1]}{MASK}@", text)
    text = _ASSIGNED.sub(lambda m: f"{m[1]}{MASK}", text)
    text = _HEX.sub(MASK, text)
    return _BASE64.sub(lambda m: MASK if _looks_random(m[0]) else m[0], text)


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters but newlines and tabs: PostgreSQL stores no NUL,
    and a terminal showing the log should not take escapes from it."""
    return _CONTROLS.sub("\N{REPLACEMENT CHARACTER}", text)


def brief(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """A reason for an event: redacted of `secrets` and credential shapes, one line, at most
    `limit` chars."""
    one_line = " ".join(redact(text, secrets).split())
    one_line = _CONTROLS.sub("", one_line)
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
