"""A dependency's outage is two log lines and a metric, not a line per failed retry."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from ferry.outages import KafkaClientLogs, Outage

# What aiokafka wrote, per client, with the broker killed under a consumer and a producer
# (measured on the local stack: 1,233 such lines in 20 s from the two).
FLOOD = [
    (
        "aiokafka",
        logging.ERROR,
        "Unable connect to node with id 1: [Errno 111] Connect call failed",
    ),
    ("aiokafka", logging.ERROR, "Unable to update metadata from [1]"),
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Group Coordinator Request failed: NodeNotReadyError: Attempt to send a request to node",
    ),
    (
        "aiokafka.consumer.fetcher",
        logging.ERROR,
        "Failed fetch messages from 1: NodeNotReadyError: Attempt to send a request to node",
    ),
]


class Lines(logging.Handler):
    """What the service's log handler writes: with the filter `ferry.logs` installs."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.outage = Outage("kafka-under-test")
        self.addFilter(KafkaClientLogs(self.outage))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def down(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("ferry_dependency_down", {"dependency": dependency})


@pytest.fixture
def written() -> Iterator[Lines]:
    lines = Lines()
    root, aiokafka = logging.getLogger(), logging.getLogger("aiokafka")
    level = aiokafka.level
    aiokafka.setLevel(logging.INFO)
    root.addHandler(lines)
    yield lines
    root.removeHandler(lines)
    aiokafka.setLevel(level)


def test_a_kafka_outage_is_one_warning_however_many_retries_fail(written: Lines) -> None:
    for _ in range(300):
        for name, level, message in FLOOD:
            logging.getLogger(name).log(level, message)
    [started] = written.records
    assert started.levelno == logging.WARNING
    assert started.name == "ferry.outages"
    assert "Unable connect to node with id 1" in started.getMessage()
    assert down("kafka-under-test") == 1
    written.outage.recovered()
    [_, ended] = written.records
    assert "back after" in ended.getMessage()
    assert "1199 further failures" in ended.getMessage()
    assert down("kafka-under-test") == 0
    written.outage.recovered()  # nothing more to say
    assert len(written.records) == 2


def test_aiokafka_below_error_and_other_loggers_pass_untouched(written: Lines) -> None:
    logging.getLogger("aiokafka.consumer.group_coordinator").warning("rebalancing")
    logging.getLogger("ferry.kafka").error("a record that is no CloudEvent")
    assert [r.getMessage() for r in written.records] == [
        "rebalancing",
        "a record that is no CloudEvent",
    ]


def test_a_second_outage_is_logged_again() -> None:
    outage = Outage("postgresql-under-test")
    assert outage.failed("refused")
    assert not outage.failed("refused again")
    outage.recovered()
    assert outage.failed("refused after it was back")
