"""The soak (issue #20): the four services as processes under a mixed workload for
`--minutes` (default 30) while a schedule of faults runs, then a checker.

    make soak [SOAK_MINUTES=30]      # a fresh stack of its own: deploy/local/with-stack.sh
    python -m bench.soak --minutes N # against the stack FERRY_* names (with-stack.sh's env)

The workload (bench.soak_load), the faults (bench.soak_faults) and the checks
(bench.soak_check) say what they do. RSS of each service is sampled every 30 s (every 10 s
in runs under 10 minutes). The summary is printed and written as markdown to
$FERRY_STATE_DIR/report.md, for docs/reliability.md. Exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import uvloop

from bench.common import BenchError, progress
from bench.soak_check import Check, check_all, drained
from bench.soak_faults import Faults
from bench.soak_load import Workload
from bench.soak_record import Recorder
from bench.soak_report import Memory, memory_check, render, status_check
from bench.soak_stack import Stack, prepare, start_all, stop_all
from ferry.kafka_client import KafkaSettings

WORKERS = 2
"""Releases moved through their life at once: the machine the soak was written on has 2 cores."""


async def sample_memory(
    stack: Stack, memory: dict[str, Memory], started: float, every: float
) -> None:
    while True:
        for name, service in stack.services.items():
            kib = service.rss_kib()
            if kib is not None:
                memory[name].samples.append((time.monotonic() - started, kib))
        await asyncio.sleep(every)


async def soak(minutes: float, releases: int) -> bool:
    state = Path(os.environ.get("FERRY_STATE_DIR", ".ferry/soak"))
    work = state / "run"
    # A fresh stack (with-stack.sh wiped Kafka and PostgreSQL): the files of a last run go too.
    shutil.rmtree(work, ignore_errors=True)
    stack = prepare(work)
    kafka = KafkaSettings()
    progress(f"soak: starting the four services (logs in {work / 'logs'})")
    try:
        await start_all(stack)
        return await _run(stack, kafka, minutes, releases, state)
    finally:
        stop_all(stack)


async def _run(
    stack: Stack, kafka: KafkaSettings, minutes: float, releases: int, state: Path
) -> bool:
    rec = Recorder(stack)
    load = Workload(stack, rec, releases, WORKERS)
    faults = Faults(stack, rec)
    memory = {name: Memory() for name in stack.services}
    seconds = minutes * 60
    await load.setup()
    started = time.monotonic()
    every = 30.0 if minutes >= 10 else 10.0
    progress(f"soak: {minutes:g} minutes of load; the faults begin at 10 % of it")
    sampler = asyncio.create_task(sample_memory(stack, memory, started, every))
    running = asyncio.create_task(load.run())
    try:
        # The load runs its time, and longer if the last fault is not over by then; a
        # workload that ends before (a worker's crash) ends the soak at once, with its error.
        faulting = asyncio.create_task(faults.run(started, seconds))
        await asyncio.wait({faulting, running}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            left = max(0.0, started + seconds - time.monotonic())
            await asyncio.wait({running}, timeout=left)
        if running.done():
            faulting.cancel()
            running.result()
            raise BenchError("the workload ended before its time")
        await faulting
        ran = time.monotonic() - started
    finally:
        load.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 120)
        sampler.cancel()
        await rec.close()
    progress(f"soak: load stopped after {ran / 60:.1f} minutes; waiting for the relays")
    drain = await drained()
    checks: list[Check] = await check_all(stack, rec.acks, kafka)
    restarts = {name: s.restarts for name, s in stack.services.items()}
    checks.append(memory_check(memory, ran, restarts))
    checks.append(status_check(rec))
    if faults.errors:
        checks.append(Check("faults done and undone", "; ".join(faults.errors), False))
    report = render(minutes, ran, checks, memory, restarts, faults.done, rec, load.progress, drain)
    (state / "report.md").write_text(report)
    print(report)
    progress(f"soak: the report is in {state / 'report.md'}")
    return all(c.passed for c in checks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the load runs")
    parser.add_argument(
        "--releases",
        type=int,
        default=0,
        help="releases per worker at most (0: as many as the time allows)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        passed = uvloop.run(soak(args.minutes, args.releases))
    except BenchError as exc:
        progress(f"soak: could not run: {exc}")
        sys.exit(2)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
