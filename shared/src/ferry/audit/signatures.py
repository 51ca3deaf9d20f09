"""The signatures of stored events, for `ferry audit verify`: each event a service signed
must verify with a key that service (its `source`) is trusted with.

Unlike a consumer, which checks the types it acts on (`ferry.eventsigning.OWNERS`), the
audit checks every signed event. Events from before services signed carry no signature: they
are counted, not problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ferry.envelope import Envelope
from ferry.eventsigning import b64decode, key_id

Verdict = Literal["signed", "unsigned", "invalid"]


class Trust:
    """The keys each service (by its events' `source`) is trusted to sign with."""

    def __init__(self, setting: Mapping[str, Iterable[str]]) -> None:
        """From the `FERRY_EVENT_TRUSTED_KEYS` format: {"release-svc": ["<base64>", ...]}."""
        self._keys: dict[str, dict[str, Ed25519PublicKey]] = {}
        for service, encoded in setting.items():
            keys = self._keys.setdefault(service, {})
            for text in encoded:
                try:
                    key = Ed25519PublicKey.from_public_bytes(b64decode(text))
                except ValueError as exc:
                    raise ValueError(f"{service}: not a base64 raw Ed25519 key: {text}") from exc
                keys[key_id(key)] = key

    def check(self, event: Envelope) -> tuple[Verdict, str]:
        """Whether `event` is unsigned, validly signed by its source, or not; and why not."""
        if event.signature is None and event.signingkey is None:
            return "unsigned", ""
        if event.signature is None or event.signingkey is None or event.hash is None:
            return (
                "invalid",
                "carries half a signature (signature, signingkey and hash go together)",
            )
        key = self._keys.get(event.source, {}).get(event.signingkey)
        if key is None:
            return (
                "invalid",
                f"signed by key {event.signingkey[:16]}, not one {event.source} is trusted with",
            )
        try:
            key.verify(b64decode(event.signature), event.hash.encode())
        except (InvalidSignature, ValueError):
            return (
                "invalid",
                f"its signature does not verify with {event.source}'s key {event.signingkey[:16]}",
            )
        return "signed", ""
