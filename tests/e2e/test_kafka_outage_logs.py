"""A broker outage as the operator reads it in the logs: per service, one warning when Kafka
is lost and one when it is back, and no errors; every service stays ready meanwhile. Before,
a 25 s outage wrote 8,103 ERROR lines from aiokafka across the services (issue #20)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.infra import Infra
from tests.support.services import Process, read_topic, start_all, stop_all, until_ready

OUTAGE_SECONDS = 10
PLAN = {
    "name": "Outage",
    "version": "1.0.0",
    "planned_start": "2027-03-01",
    "planned_end": "2027-03-05",
}


def log_lines(process: Process) -> list[dict[str, Any]]:
    """The process's JSON log lines (anything else it printed is left out)."""
    lines = process.log_path.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def gauge(exposition: str, name: str) -> float:
    """release-svc's value of gauge `name` in a Prometheus exposition."""
    for line in exposition.splitlines():
        if line.startswith(f'{name}{{service="release-svc"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} for release-svc")


async def all_ready(urls: Iterable[str], timeout: float = 60) -> None:
    for url in urls:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await until_ready(client, timeout=timeout)


@pytest.mark.exclusive
@pytest.mark.timeout(240)
async def test_a_broker_outage_is_two_warnings_per_service_and_no_errors(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    processes, urls = start_all(infra, topic_prefix, tmp_path)
    rita = infra.issuer.bearer("rita", "release-manager")
    try:
        async with httpx.AsyncClient(timeout=60, headers=rita) as client:
            await all_ready(urls.values())
            infra.stop_kafka()
            try:
                # Work for the relay while the broker is away, besides every consumer's.
                created = await client.post(f"{urls['release']}/releases", json=PLAN)
                assert created.status_code == 201, created.text
                await asyncio.sleep(OUTAGE_SECONDS)
                # The event waits in the outbox, and the figures the alerts read say so.
                exposition = (await client.get(f"{urls['release']}/metrics")).text
                assert gauge(exposition, "ferry_outbox_lag_events") >= 1, exposition
                waited = gauge(exposition, "ferry_outbox_oldest_event_age_seconds")
                assert waited >= OUTAGE_SECONDS / 2, exposition
                for url in urls.values():
                    # Still ready, so still in the Service: the outbox keeps the events.
                    answer = await client.get(f"{url}/readyz")
                    assert answer.status_code == 200, (url, answer.text)
                    assert answer.json()["checks"]["kafka"] == "unreachable", (url, answer.text)
            finally:
                infra.start_kafka()
            await all_ready(urls.values(), timeout=90)
            topic = f"{topic_prefix}release.events"
            events = await read_topic(infra.kafka, topic, expect=1, timeout=60)
            assert [e.subject for e in events] == [created.json()["id"]]
    finally:
        stop_all(processes)

    for process in processes:
        lines = log_lines(process)
        outage = [line["message"] for line in lines if line["logger"] == "ferry.outages"]
        assert len(outage) == 2, (process.module, outage)
        assert outage[0].startswith("kafka cannot be reached"), (process.module, outage)
        assert outage[1].startswith("kafka is back after"), (process.module, outage)
        errors = [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
        assert errors == [], (process.module, errors[:3], len(errors))
