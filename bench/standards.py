"""Ferry's hand-written CloudEvents envelope against the CloudEvents SDK (#15), in one run:
the same sealed, signed envelope serialised and parsed by each, and which malformed events
each refuses. Ferry does not depend on the SDK; put it beside the venv to run this:

    pip install --target /tmp/cesdk --no-deps cloudevents==2.2.0 deprecation
    PYTHONPATH=/tmp/cesdk .venv/bin/python -m bench.standards
"""

from __future__ import annotations

import functools
import importlib
import re
import secrets
import timeit
from collections.abc import Callable
from types import ModuleType
from typing import Any
from uuid import uuid4

import orjson

from ferry.envelope import Envelope, Meta
from ferry.eventsigning import EventSigner, generate_pem
from ferry.eventstore import seal
from ferry.testing import release_planned

NUMBER = 5_000
EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")
"""CloudEvents 1.0.2: an attribute name is lowercase letters and digits, at most 20."""

Parse = Callable[[bytes], object]


def _sdk() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    try:
        return (
            importlib.import_module("cloudevents.core.v1.event"),
            importlib.import_module("cloudevents.core.formats.json"),
            importlib.import_module("cloudevents.v1.pydantic.v2"),
            importlib.import_module("cloudevents.v1.conversion"),
        )
    except ImportError as exc:
        raise SystemExit(
            f"the CloudEvents SDK (2.x) is not importable ({exc}).\n\n{__doc__}"
        ) from None


def sample() -> Envelope:
    """An envelope as release-svc's outbox sends one: chained, signed, traced."""
    trace = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    meta = Meta("rita", str(uuid4()), str(uuid4()), ("release-manager",), trace)
    event = release_planned(description="Quarterly payments release")
    signer = EventSigner.from_pem(generate_pem())
    [envelope] = seal("release-svc", event.stream_id(), 3, [event], meta, "ab" * 32, signer)
    return envelope


def per_call(work: Callable[[], object]) -> float:
    """Microseconds per call: the best of five rounds, so noise only ever slows a side."""
    return min(timeit.repeat(work, number=NUMBER, repeat=5)) / NUMBER * 1e6


def _refuses(parse: Parse, raw: bytes) -> bool:
    try:
        parse(raw)
    except Exception:  # each library raises its own kinds: any of them is a refusal
        return True
    return False


MALFORMED: dict[str, Callable[[dict[str, Any]], None]] = {
    "no id": lambda e: e.pop("id"),
    "id not a UUID": lambda e: e.update(id="A234-1234"),
    "empty source": lambda e: e.update(source=""),
    "empty type": lambda e: e.update(type=""),
    "specversion 0.3": lambda e: e.update(specversion="0.3"),
    "specversion 2.0": lambda e: e.update(specversion="2.0"),
    "no time": lambda e: e.pop("time"),
    "time not a date": lambda e: e.update(time="yesterday"),
    "time without offset": lambda e: e.update(time="2026-12-01T10:00:00"),
    "no subject": lambda e: e.pop("subject"),
    "no data": lambda e: e.pop("data"),
    "data not JSON content": lambda e: e.update(datacontenttype="text/xml"),
    "streamversion not a number": lambda e: e.update(streamversion="three"),
    "extension name 'Actor-Id'": lambda e: e.update({"Actor-Id": "x"}),
    "extension name of 21 chars": lambda e: e.update({"a" * 21: "x"}),
}


def main() -> None:
    core, fmt, legacy, conversion = _sdk()
    envelope = sample()
    raw = envelope.to_json()
    assert all(EXTENSION_NAME.fullmatch(name) for name in Envelope.model_fields)
    attributes = {
        k: v for k, v in envelope.model_dump(exclude={"data"}).items() if v is not None
    } | {"id": str(envelope.id)}
    json_format = fmt.JSONFormat()
    core_event = core.CloudEvent(dict(attributes), envelope.data)
    legacy_event = legacy.CloudEvent(dict(attributes), envelope.data)
    sides: dict[str, tuple[Callable[[], bytes], Parse]] = {
        "Ferry Envelope": (envelope.to_json, Envelope.from_json),
        "SDK 2.x core JSONFormat": (
            lambda: bytes(json_format.write(core_event)),
            lambda b: json_format.read(None, b),
        ),
        "SDK v1 pydantic.v2": (
            lambda: bytes(conversion.to_json(legacy_event)),
            legacy.from_json,
        ),
    }
    for name, (write, parse) in sides.items():
        # Each side writes the same event and reads Ferry's bytes: what travels on a topic.
        assert Envelope.from_json(write()) == envelope, name
        parse(raw)
    print(f"one envelope, {len(raw)} bytes; µs per call, best of 5 x {NUMBER:,}")
    ours: tuple[float, float] | None = None  # Ferry's side, timed first
    for name, (write, parse) in sides.items():
        took = (per_call(write), per_call(functools.partial(parse, raw)))
        ours = ours or took
        ratios = f"{took[0] / ours[0]:.1f}x / {took[1] / ours[1]:.1f}x Ferry's"
        print(f"  {name:<24} serialise {took[0]:6.1f}  parse {took[1]:6.1f}  ({ratios})")
    print("\nrefuses a malformed event?  " + "  |  ".join(sides))
    for case, spoil in MALFORMED.items():
        event = orjson.loads(raw)
        spoil(event)
        bad = orjson.dumps(event)
        verdicts = ("refuses" if _refuses(parse, bad) else "ACCEPTS" for _, parse in sides.values())
        print(f"  {case:<28}" + "  ".join(f"{v:<24}" for v in verdicts))


if __name__ == "__main__":
    main()
