"""Prometheus metrics every service exposes at `/metrics`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
    "ferry_outbox_lag_events", "Committed events not yet acknowledged by Kafka", ["service"]
)
CONSUMER_LAG = Gauge(
    "ferry_consumer_lag_records",
    "Records on a partition not yet handled by a consumer group",
    ["group", "topic", "partition"],
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
