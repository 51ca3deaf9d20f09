"""The sha256 a client declares for its upload, from `Repr-Digest` (RFC 9530) or the older
`Digest` (RFC 3230) header."""

from __future__ import annotations

import base64
import binascii
import re

from dml_svc.domain.media import InvalidMedia

_REPR = re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):\s*(?:,|$)")
_LEGACY = re.compile(r"(?:^|,)\s*sha-256=([A-Za-z0-9+/=]+)\s*(?:,|$)", re.IGNORECASE)


def _hex(header: str, encoded: str) -> str:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise InvalidMedia(header, "sha-256 is not valid base64") from exc
    if len(raw) != 32:
        raise InvalidMedia(header, "sha-256 must be 32 bytes")
    return raw.hex()


def declared_sha256(repr_digest: str | None, digest: str | None) -> str | None:
    """The declared sha256 in hex, or None when the client declared none. A header naming
    only other algorithms is refused: the library cannot check it."""
    if repr_digest is not None:
        if (found := _REPR.search(repr_digest)) is None:
            raise InvalidMedia("Repr-Digest", "give sha-256=:<base64>:")
        return _hex("Repr-Digest", found.group(1))
    if digest is not None:
        if (found := _LEGACY.search(digest)) is None:
            raise InvalidMedia("Digest", "give sha-256=<base64>")
        return _hex("Digest", found.group(1))
    return None


def repr_digest(sha256: str) -> str:
    """The `Repr-Digest` header value of a hex sha256."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"
