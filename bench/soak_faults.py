"""The soak's faults, spread over the run: the broker killed (-9) and restarted, PostgreSQL
stopped and started, each service killed (-9) and two stopped (SIGTERM), each restarted as
an orchestrator would. One at a time: the next waits until everything is back."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.common import progress
from bench.soak_record import Recorder
from bench.soak_stack import Stack, kill_kafka, local_script

OUTAGE_SECONDS = 5.0
"""How long Kafka and PostgreSQL stay away before they are started again."""
FIRST, LAST = 0.10, 0.75
"""The faults begin at 10 % of the run and the last is due at 75 %: the end is quiet, so
that the memory measured last is that of services at work, not restarting."""


@dataclass
class Fault:
    name: str
    at: float = 0.0
    """Seconds into the run it began."""
    back_after: float = 0.0
    """Seconds until everything was back (the service ready, the server started)."""
    note: str = ""


@dataclass
class Faults:
    stack: Stack
    rec: Recorder
    done: list[Fault] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def schedule(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [
            ("kill -9 release-svc", lambda: self._service("release", signal.SIGKILL)),
            ("kill -9 Kafka broker", self._kafka),
            ("kill -9 dml-svc", lambda: self._service("dml", signal.SIGKILL)),
            ("PostgreSQL restart", self._postgres),
            ("kill -9 deploy-svc", lambda: self._service("deploy", signal.SIGKILL)),
            ("SIGTERM release-svc", lambda: self._service("release", signal.SIGTERM)),
            ("kill -9 els-svc", lambda: self._service("els", signal.SIGKILL)),
            ("SIGTERM deploy-svc", lambda: self._service("deploy", signal.SIGTERM)),
        ]

    async def run(self, started: float, seconds: float) -> None:
        """Each fault at its time (or once the one before is over), from `started`
        (monotonic) over a run of `seconds`."""
        plan = self.schedule()
        step = (LAST - FIRST) * seconds / max(len(plan) - 1, 1)
        for i, (name, act) in enumerate(plan):
            due = started + FIRST * seconds + i * step
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            fault = Fault(name, at=time.monotonic() - started)
            progress(f"soak: fault {i + 1}/{len(plan)} at {fault.at:.0f} s: {name}")
            try:
                fault.note = await act()
            except Exception as exc:  # a fault that cannot be undone ends the soak's value
                self.errors.append(f"{name}: {exc!r}")
                fault.note = f"failed: {exc!r}"
            fault.back_after = time.monotonic() - started - fault.at
            progress(f"soak: {name}: back after {fault.back_after:.1f} s {fault.note}")
            self.done.append(fault)

    async def _service(self, name: str, signum: int) -> str:
        service = self.stack.services[name]
        service.signal(signum)
        signalled = time.monotonic()
        code = await service.exited()
        note = f"exit {code} after {time.monotonic() - signalled:.1f} s"
        if signum == signal.SIGTERM and code not in (0, -signal.SIGTERM):
            # A stop is graceful: anything else is a finding.
            self.errors.append(f"{name}-svc exited {code} on SIGTERM")
        service.start()
        service.restarts += 1
        await service.ready()
        self.rec.up_again[name] = time.monotonic()
        return note

    async def _kafka(self) -> str:
        await kill_kafka()
        await asyncio.sleep(OUTAGE_SECONDS)
        await local_script("kafka.sh", "start")
        return ""

    async def _postgres(self) -> str:
        await local_script("postgres.sh", "stop")
        await asyncio.sleep(OUTAGE_SECONDS)
        await local_script("postgres.sh", "start")
        return ""
