"""`FERRY_WORKERS=2`: one API served by two processes, each a replica with its relay and
consumers, behaving as one service (#16)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.infra import Infra
from tests.support.services import (
    read_topic,
    requests_counted,
    start_service,
    until_ready,
)

PLAN = {
    "name": "Payments",
    "version": "1.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-02",
}
PLANS = 24


def children(pid: int) -> list[str]:
    """The command lines of `pid`'s child processes."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(cmdline)
    return found


async def test_two_workers_serve_as_one_service(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    log = tmp_path / "release-svc.log"
    service, base = start_service("release", infra, topic_prefix, log, FERRY_WORKERS="2")
    headers = infra.issuer.bearer("rita", "release-manager")
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            await until_ready(client, timeout=90)
            workers = [c for c in children(service.proc.pid) if "resource_tracker" not in c]
            assert len(workers) == 2, workers
            answers = await asyncio.gather(
                *(client.post("/releases", json=PLAN) for _ in range(PLANS))
            )
            assert [a.status_code for a in answers] == [201] * PLANS
            numbers = sorted(int(a.json()["identifier"].rsplit("-", 1)[1]) for a in answers)
            assert numbers == list(range(1, PLANS + 1))  # no gap, no repeat across workers
            # Either worker answers for both: the plans it did not serve count too.
            metrics = (await client.get("/metrics")).text
            assert requests_counted(metrics, "POST", "/releases", 201) == PLANS
        events = await read_topic(infra.kafka, f"{topic_prefix}release.events", expect=PLANS)
        assert len(events) == PLANS  # each published once, whichever worker's relay sent it
        assert len({e.subject for e in events}) == PLANS
    finally:
        service.stop()
    assert "Application shutdown complete" in service.tail(20_000), service.tail()
