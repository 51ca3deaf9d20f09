"""The hash chain over each stream's events: pure, the same for every store and for Kafka.

An event's `hash` is the SHA-256 (hex) of its envelope's canonical JSON: every attribute but
`hash` itself and the signature over it (`signature`, `signingkey`), keys sorted at every
depth, no whitespace, UTF-8, times in RFC 3339 (UTC as `Z`) as orjson writes them. It
covers `prevhash` (the previous event's `hash`), `streamid` and `streamversion`, so an
event edited, removed, moved or reordered breaks the chain from there on.

The canonical form must not depend on where the envelope was read back from: the event
store (JSONB, which keeps numbers as decimals) or Kafka (JSON). JSONB gives a float that
JSON writes with a positive exponent (`1e+16`: any float of 1e16 or more, all of them
integral) back as an integer, so such floats are written as that integer; and it has no
negative zero. Every other number comes back as it went in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from ferry.envelope import Envelope

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z
_UNHASHED = ("hash", "signature", "signingkey")
"""Not hashed: the hash itself, and the signature of the hash (`ferry.eventsigning`)."""
# default=str: a UUID read by asyncpg is its own class, which orjson does not know; its
# str() is the form orjson writes a uuid.UUID in.
_INTEGERS = range(-(2**63), 2**64)
"""The integers orjson reads and writes as such; others it reads as floats."""


def canonical(envelope: Envelope) -> bytes:
    """The bytes `hash` is computed over."""
    return canonical_of(dict(envelope))


def canonical_of(attributes: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an envelope's attributes (as `dict(envelope)` has them), for
    hashing an envelope before it is built."""
    body = dict(attributes)
    for unhashed in _UNHASHED:
        body.pop(unhashed, None)
    text = orjson.dumps(body, default=str, option=_OPTIONS)
    if b"e+" in text or b"-0.0" in text:  # seldom: only then is the data walked
        body["data"] = _plain(body["data"])
        text = orjson.dumps(body, default=str, option=_OPTIONS)
    return text


def digest(envelope: Envelope) -> str:
    """The hash `envelope` should carry (whatever it carries now)."""
    return hash_of(dict(envelope))


def hash_of(attributes: Mapping[str, Any]) -> str:
    """The hash of an envelope with these attributes (see `canonical_of`)."""
    return hashlib.sha256(canonical_of(attributes)).hexdigest()


def with_hash(envelope: Envelope) -> Envelope:
    """`envelope` carrying its hash: call it once its `prevhash` is set."""
    return envelope.model_copy(update={"hash": digest(envelope)})


def intact(envelope: Envelope) -> bool:
    """Whether `envelope` carries a hash and it is the one its content gives."""
    return envelope.hash is not None and envelope.hash == digest(envelope)


def _plain(value: Any) -> Any:
    if type(value) is float:
        # As JSONB gives it back (see the module's docstring), as far as orjson has
        # integers: it reads a longer one from JSONB as the same float anyway.
        if value == 0:
            return 0.0
        big = abs(value) >= 1e16 and value.is_integer() and int(value) in _INTEGERS
        return int(value) if big else value
    if type(value) is dict:
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    return value
