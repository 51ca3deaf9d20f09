"""The soak's summary: the checks, memory per service, the faults and the requests, as a
markdown report (printed, and written for docs/reliability.md)."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.soak_check import Check
from bench.soak_faults import Fault
from bench.soak_load import Progress
from bench.soak_record import Recorder

MEMORY_WINDOW = 300.0
"""RSS is compared between the run's first and last 5 minutes (a third each, if shorter)."""
MEMORY_LIMIT = 1.5
MEMORY_SLACK_MIB = 50.0
"""Growth fails the soak only past both: 50 % and 50 MiB."""


@dataclass
class Memory:
    """RSS samples of one service (of whichever process it was at the time): (s, KiB)."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    def windows(self, seconds: float) -> tuple[float, float]:
        """Median MiB in the first and the last window of a run of `seconds`."""
        width = min(MEMORY_WINDOW, seconds / 3)
        first = [kib for t, kib in self.samples if t <= width] or [0]
        last = [kib for t, kib in self.samples if t >= seconds - width] or [0]
        return statistics.median(first) / 1024, statistics.median(last) / 1024


def memory_check(memory: dict[str, Memory], seconds: float, restarts: dict[str, int]) -> Check:
    rows, grown = [], []
    for name, mem in memory.items():
        first, last = mem.windows(seconds)
        growth = last - first
        rows.append(
            f"{name}-svc: {first:,.0f} MiB → {last:,.0f} MiB ({growth:+,.0f} MiB), "
            f"{restarts[name]} restarts"
        )
        if last > first * MEMORY_LIMIT and growth > MEMORY_SLACK_MIB:
            grown.append(name)
    found = f"grown past {MEMORY_LIMIT - 1:.0%} and {MEMORY_SLACK_MIB:g} MiB: {grown or 'none'}"
    return Check("memory flat (RSS, first vs last window)", found, not grown, rows)


def status_check(rec: Recorder) -> Check:
    fives = rec.total(lambda k: k[3].isdigit() and int(k[3]) >= 500 and k[3] != "503")
    found = f"{fives} answers 5xx (not 503); {len(rec.failures)} failures in all"
    return Check("no 500, no unexcused error", found, not rec.failures, rec.failures[:20])


def render(
    minutes: float,
    seconds: float,
    checks: Sequence[Check],
    memory: dict[str, Memory],
    restarts: dict[str, int],
    faults: Sequence[Fault],
    rec: Recorder,
    progress: Progress,
    drain_seconds: float,
) -> str:
    passed = all(c.passed for c in checks)
    lines = [
        f"## Soak: {minutes:g} minutes asked, {seconds / 60:.1f} minutes run — "
        f"{'PASS' if passed else 'FAIL'}",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; "
        "figures per service are of whichever process was serving (restarts reset RSS).",
        "",
        "| check | found | result |",
        "|---|---|---|",
    ]
    lines += [f"| {c.name} | {c.found} | {'PASS' if c.passed else 'FAIL'} |" for c in checks]
    lines += ["", "| service | RSS first window | RSS last window | growth | restarts |"]
    lines += ["|---|---|---|---|---|"]
    for name, mem in memory.items():
        first, last = mem.windows(seconds)
        lines.append(
            f"| {name}-svc | {first:,.0f} MiB | {last:,.0f} MiB | {last - first:+,.0f} MiB "
            f"| {restarts[name]} |"
        )
    lines += ["", "| fault | at | everything back after | note |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.at:,.0f} s | {f.back_after:,.1f} s | {f.note} |" for f in faults]
    reached = progress.reached
    lines += [
        "",
        "| workload | count |",
        "|---|---|",
        f"| releases planned | {reached['planned']:,} |",
        f"| releases made available by the DML | {reached['available']:,} |",
        f"| deployments planned | {reached['deployment planned']:,} |",
        f"| Early Life Support cases observed | {reached['supported']:,} |",
        f"| releases stuck (not supported in 240 s) | {len(progress.stuck):,} |",
        f"| media downloaded (bytes verified) | {progress.downloads:,} "
        f"({progress.bad_downloads} wrong) |",
        f"| feed events read (2 readers) | {progress.feed_events:,} "
        f"({progress.feed_duplicates} seen twice, {progress.feed_reconnects} (re)connects) |",
        f"| acknowledged commands | {len(rec.acks):,} |",
        f"| requests | {rec.total():,} |",
        f"| outboxes drained after the load stopped | {drain_seconds:,.1f} s |",
    ]
    lines += ["", "| service | request | answers |", "|---|---|---|"]
    by_route: dict[tuple[str, str], Counter[str]] = {}
    for (service, method, route, status), n in rec.counts.items():
        by_route.setdefault((service, f"{method} {route}"), Counter())[status] += n
    for (service, request), statuses in sorted(by_route.items()):
        answers = ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items()))
        lines.append(f"| {service}-svc | `{request}` | {answers} |")
    details = [(c.name, d) for c in checks if not c.passed for d in c.detail]
    if details:
        lines += ["", "Failures:", ""] + [f"- {name}: {d}" for name, d in details]
    return "\n".join(lines) + "\n"
