"""SIGTERM under load, as Kubernetes sends it: nothing accepted fails, nothing committed is lost."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.infra import Infra
from tests.support.services import read_topic, start_service, until_ready

PLAN = {
    "name": "Payments",
    "version": "1.0",
    "planned_start": "2027-05-01",
    "planned_end": "2027-05-02",
}


@pytest.mark.timeout(180)
async def test_sigterm_under_load_loses_no_accepted_request_and_no_event(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    service, base = start_service("release", infra, topic_prefix, tmp_path / "release-svc.log")
    accepted: list[str] = []
    answered_otherwise: list[int] = []
    # A fresh connection per request: a refused connection is a request never accepted.
    limits = httpx.Limits(max_keepalive_connections=0)
    headers = infra.issuer.bearer("rita", "release-manager")
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as client:
            await until_ready(client, timeout=60)
            stopping_at = time.monotonic() + 1.5

            async def load() -> None:
                while service.proc.poll() is None:
                    try:
                        answer = await client.post("/releases", json=PLAN)
                    except httpx.TransportError:
                        if time.monotonic() > stopping_at:
                            return  # the server stopped taking requests
                        raise
                    if answer.status_code == 201:
                        accepted.append(answer.json()["id"])
                    else:
                        answered_otherwise.append(answer.status_code)

            loop = asyncio.get_running_loop()
            loop.call_later(1.5, service.proc.send_signal, signal.SIGTERM)
            started = time.monotonic()
            await asyncio.gather(*(load() for _ in range(8)))
        exit_code = await asyncio.to_thread(service.proc.wait, 30)
        stopped_after = time.monotonic() - started
    finally:
        service.stop()

    # uvicorn re-raises the signal once it has shut down cleanly, as a well-behaved process does.
    assert exit_code in (0, -signal.SIGTERM), service.tail()
    assert "Application shutdown complete" in service.tail()
    assert stopped_after < 25, "it must stop within the pod's grace period"
    assert answered_otherwise == [], "every request that got an answer succeeded"
    assert len(accepted) > 10, "the load reached the service"
    # Published before exit (the relay drains on shutdown); nothing more, nothing less.
    events = await read_topic(infra.kafka, f"{topic_prefix}release.events", expect=len(accepted))
    assert sorted(e.subject for e in events) == sorted(accepted)
