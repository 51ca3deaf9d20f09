"""The audit chain's hash: the same bytes whichever way an envelope comes back."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from ferry.audit.chain import canonical, digest, intact
from ferry.envelope import Envelope, Meta
from ferry.events.release import ReleasePlanned
from ferry.eventstore import PostgresEventStore, _metadata, envelope_from_row, seal
from ferry.known_streams import StreamHeads
from ferry.testing import InMemoryEventStore, release_planned

AWKWARD: dict[str, Any] = {
    "ratio": 0.1,
    "whole": 2.0,
    "big": 1e16,
    "tiny": 1.5e-7,
    "huge": 1e300,
    "negative zero": -0.0,
    "small negative": -0.05,
    "just below": 9007199254740993.0,
    "name": 'Zahlungsverkehr \u2013 Ünïcødé 支付 🚀 "quoted" \\ back\nslash',
    "nested": {"z": [1, 2.5, {"b": None, "a": True}], "a": {"é": "x"}},
    "empty": {},
    "list": [],
}


def jsonb(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as PostgreSQL's JSONB gives it back: numbers kept as decimals, so `1e16`
    comes back as the integer 10000000000000000 and `-0.0` as `0.0` (as JSONB prints them)."""
    text = orjson.dumps(data).decode()
    text = text.replace("1e+16", "10000000000000000").replace("1.5e-7", "0.00000015")
    kept: dict[str, Any] = orjson.loads(re.sub(r"-0\.0(?![0-9])", "0.0", text))
    return kept


def row_of(envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": envelope.id,
        "stream_version": envelope.streamversion,
        "type": envelope.type,
        "data": jsonb(envelope.data),
        "metadata": orjson.loads(_metadata(envelope)),
    }


def sealed(data: dict[str, Any], *, prevhash: str | None = None, **meta: Any) -> Envelope:
    event = release_planned()
    [envelope] = seal("release-svc", "release-x", 4, [event], Meta("rita", "c-1"), prevhash)
    envelope = envelope.model_copy(update={"data": data, **meta})
    return envelope.model_copy(update={"hash": digest(envelope)})


@pytest.mark.parametrize(
    "time",
    [
        datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC),  # microsecond 0: isoformat omits it
        datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 26, 12, 0, 0, 500, tzinfo=UTC),
    ],
)
def test_the_hash_survives_the_store_and_kafka(time: datetime) -> None:
    envelope = sealed(AWKWARD, prevhash="ab" * 32, time=time)
    from_store = envelope_from_row(row_of(envelope))
    from_kafka = Envelope.from_json(envelope.to_json())
    from_kafka_via_store = Envelope.from_json(from_store.to_json())

    for copy in (from_store, from_kafka, from_kafka_via_store):
        assert canonical(copy) == canonical(envelope)
        assert copy.hash == envelope.hash
        assert intact(copy)


def test_the_canonical_form_is_sorted_compact_utf8_without_the_hash() -> None:
    envelope = sealed({"b": 1, "a": "é"})
    text = canonical(envelope).decode()
    assert '"hash"' not in text
    assert ", " not in text
    assert ": " not in text
    assert '"data":{"a":"é","b":1}' in text
    assert text.index('"actor"') < text.index('"data"') < text.index('"streamversion"')


def test_the_hash_covers_every_attribute_but_itself() -> None:
    envelope = sealed({"rfc": "RFC-7"})
    changes: dict[str, Any] = {
        "data": {"rfc": "RFC-8"},
        "prevhash": "00" * 32,
        "streamid": "release-y",
        "streamversion": 6,
        "actor": "mallory",
        "correlationid": "c-2",
        "time": datetime(2020, 1, 1, tzinfo=UTC),
    }
    for field, value in changes.items():
        assert not intact(envelope.model_copy(update={field: value})), field


def test_an_event_without_a_hash_is_not_intact() -> None:
    assert not intact(sealed({}).model_copy(update={"hash": None}))


def test_old_records_without_the_chain_still_parse() -> None:
    envelope = sealed({"a": 1})
    old = orjson.loads(envelope.to_json())
    for field in ("streamid", "prevhash", "hash"):
        del old[field]
    parsed = Envelope.model_validate(old)
    assert (parsed.streamid, parsed.prevhash, parsed.hash) == (None, None, None)

    row = row_of(envelope)
    for field in ("streamid", "prevhash", "hash"):
        del row["metadata"][field]
    assert envelope_from_row(row).hash is None


def test_seal_chains_a_batch_after_the_head() -> None:
    events = [release_planned(), release_planned(), release_planned()]
    batch = seal("release-svc", "release-x", 2, events, Meta("rita", "c-1"), "cd" * 32)
    assert [e.streamversion for e in batch] == [3, 4, 5]
    assert [e.prevhash for e in batch] == ["cd" * 32, batch[0].hash, batch[1].hash]
    assert all(e.streamid == "release-x" and intact(e) for e in batch)


def test_an_event_with_no_correlation_id_is_sealed_as_its_envelope_reads() -> None:
    [event] = seal("release-svc", "release-x", 0, [release_planned()], Meta("rita", ""))
    assert event.correlationid == str(event.id)
    assert intact(event)


class _Deferring:
    """A unit of work that only takes deferred writes: an append to a new stream needs no
    more of it."""

    def defer(self, write: Any) -> None:
        pass


async def test_a_rolled_back_append_is_not_shared_as_a_head() -> None:
    heads = StreamHeads()
    store = PostgresEventStore(_Deferring(), "s", "release-svc", heads)  # type: ignore[arg-type]
    [event] = await store.append("release-x", 0, [release_planned()], Meta("rita", "c-1"))
    store.rolled_back()
    store.committed()  # a later commit in the same unit of work (as consumers do)
    assert heads.hash_at("release-x", 1) is None
    [event] = await store.append("release-x", 0, [release_planned()], Meta("rita", "c-1"))
    store.committed()
    assert heads.hash_at("release-x", 1) == (event.hash,)


async def test_the_in_memory_store_chains_like_the_real_one() -> None:
    store = InMemoryEventStore()
    meta = Meta("rita", "c-1")
    first = await store.append("release-x", 0, [release_planned()], meta)
    second = await store.append("release-x", 1, [release_planned(), release_planned()], meta)
    stream = await store.load("release-x")
    assert stream == first + second
    assert [e.prevhash for e in stream] == [None, stream[0].hash, stream[1].hash]
    assert all(intact(e) for e in stream)
    assert isinstance(ReleasePlanned.model_validate(stream[0].data), ReleasePlanned)
