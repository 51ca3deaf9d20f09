"""Prometheus metrics every service exposes at `/metrics`."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""Set (by `ferry.cli.serve` for several workers) before the workers start: each writes its
figures there, and `/metrics` in any of them answers for all."""


def clear_stale(directory: str) -> None:
    """Remove the figures files a previous run left in `directory`: prometheus_client
    would otherwise add the old run's counts to the new one's. This process's own files
    (`<kind>_<pid>.db`) stay: it may be writing them already."""
    mine = f"_{os.getpid()}.db"
    for stale in Path(directory).glob("*.db"):
        if not stale.name.endswith(mine):
            stale.unlink(missing_ok=True)


def exposition() -> bytes:
    """The figures in Prometheus' text format: this process's, or every worker's."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


REQUEST_LATENCY = Histogram(
    "ferry_http_request_duration_seconds",
    "HTTP request latency by route and status",
    ["service", "method", "route", "status"],
)
EVENTS_APPENDED = Counter(
    "ferry_events_appended_total", "Events appended to the event store", ["service", "type"]
)
EVENTS_RELAYED = Counter(
    "ferry_events_relayed_total", "Events the outbox relay published to Kafka", ["service"]
)
OUTBOX_LAG = Gauge(
    "ferry_outbox_lag_events",
    "Committed events not yet acknowledged by Kafka",
    ["service"],
    multiprocess_mode="livemax",  # each worker's relay sees the same outbox
)
OUTBOX_OLDEST_AGE = Gauge(
    "ferry_outbox_oldest_event_age_seconds",
    "How long the oldest committed event not yet acknowledged by Kafka has waited (0: none)",
    ["service"],
    multiprocess_mode="livemax",
)
CONSUMER_LAG = Gauge(
    "ferry_consumer_lag_records",
    "Records on a partition not yet handled by a consumer group",
    ["group", "topic", "partition"],
    multiprocess_mode="livemostrecent",  # a partition moves between workers' consumers
)
EVENTS_CONSUMED = Counter(
    "ferry_events_consumed_total",
    "Events handled by a consumer, by outcome (applied, duplicate, ignored, rejected, untrusted)",
    ["consumer", "type", "outcome"],
)
FOREIGN_EVENTS_REJECTED = Counter(
    "ferry_foreign_events_rejected_total",
    "Decisions of other services a consumer refused for want of a valid signature",
    ["consumer", "type", "source"],
)
DEPENDENCY_DOWN = Gauge(
    "ferry_dependency_down",
    "1 while a dependency (kafka, postgresql) cannot be reached, else 0",
    ["dependency"],
    multiprocess_mode="livemax",
)
OUTAGE_SECONDS = Counter(
    "ferry_dependency_outage_seconds_total",
    "Seconds a dependency (kafka, postgresql) could not be reached, counted when it is back",
    ["dependency"],
)
