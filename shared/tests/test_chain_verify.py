"""Verifying chains, without a database or a broker: the checks `ferry audit verify` runs
on each stream, whether read from a store or a topic."""

from __future__ import annotations

from ferry.audit.chain import intact, with_hash
from ferry.audit.topics import Record, Topic
from ferry.audit.verify import Report, check_stream, check_topic
from ferry.envelope import Envelope, Meta
from ferry.eventstore import seal
from ferry.testing import release_planned

STREAM = "release-x"


def stream(length: int, legacy: int = 0) -> list[Envelope]:
    """A stream of `length` events, the first `legacy` of them from before the chain."""
    old = [
        e.model_copy(update={"streamid": None, "prevhash": None, "hash": None})
        for e in seal("s", STREAM, 0, [release_planned()] * legacy, Meta("a", "c"))
    ]
    chained = seal("s", STREAM, legacy, [release_planned()] * (length - legacy), Meta("a", "c"))
    return old + chained


def topic(*events: Envelope) -> Topic:
    return Topic("release.events", records=[Record(0, n, e) for n, e in enumerate(events)])


def test_an_intact_stream_has_no_problem() -> None:
    assert check_stream("store", "release", STREAM, stream(4)) == (0, None)


def test_the_chain_starts_after_the_events_from_before_it() -> None:
    assert check_stream("store", "release", STREAM, stream(5, legacy=2)) == (2, None)


def test_an_event_stripped_of_its_hash_breaks_the_chain() -> None:
    events = stream(4)
    events[2] = events[2].model_copy(update={"hash": None})
    _, problem = check_stream("store", "release", STREAM, events)
    assert problem is not None
    assert (problem.version, problem.kind) == (3, "edited")


def test_an_event_replaced_with_a_fitting_hash_breaks_the_next_link() -> None:
    events = stream(4)
    events[1] = with_hash(events[1].model_copy(update={"data": {"name": "Forged"}}))
    assert intact(events[1])
    _, problem = check_stream("store", "release", STREAM, events)
    assert problem is not None
    assert (problem.version, problem.kind) == (2, "edited")
    assert "version 3 was not chained after it" in problem.detail


def test_an_event_published_twice_is_a_duplicate_counted_once() -> None:
    events = stream(3)
    report = Report()
    check_topic(topic(*events, events[1]), report)
    [problem] = report.problems
    assert (problem.kind, problem.version) == ("duplicate", 2)
    assert f"event {events[1].id} published again (partition 0 offset 3)" in problem.detail
    assert (report.checked[0].events, report.checked[0].streams) == (3, 1)


def test_on_a_topic_the_chain_may_start_after_events_published_without_a_stream() -> None:
    report = Report()
    check_topic(topic(*stream(5, legacy=2)), report)
    assert report.problems == []
    assert (report.checked[0].events, report.checked[0].unchained) == (5, 2)


def test_a_topic_missing_a_chained_event_is_broken() -> None:
    events = stream(4)
    report = Report()
    check_topic(topic(events[0], events[1], events[3]), report)
    assert [(p.stream, p.version, p.kind) for p in report.problems] == [(STREAM, 3, "missing")]
