"""Load from Debian's `wrk` with the Lua scripts of bench/wrk/, read back as a `Result`.

wrk is compiled and event-driven, so the load generator is not what limits the figures;
it shares the machine's cores with the servers all the same (see docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench.common import BenchError

SCRIPTS = Path(__file__).with_name("wrk")
TIMEOUT = "10s"
"""A request unanswered this long counts as an error."""


@dataclass(frozen=True)
class Load:
    """One kind of request: a script of bench/wrk/, its arguments and extra headers.

    `per_connection`: one wrk thread per connection, so that the script's per-thread state
    (a release and its ETag, a case) is each connection's own."""

    script: str
    args: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)
    per_connection: bool = False


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    statuses: dict[int, int]
    """The answers that were not 2xx, by status."""
    errors: int
    """Connections refused or broken, and requests timed out."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        return self.non2xx + self.errors


def available() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchError("wrk is not installed; `make install` (as root) installs Debian's wrk")
    return found


async def run(
    base_url: str,
    load: Load,
    connections: int,
    seconds: int,
    headers: dict[str, str],
) -> Result:
    """`load` against `base_url` with `connections` connections for `seconds`.

    Raises `BenchError` if any request failed (an answer not 2xx, a socket error or a
    timeout): a failed request is no throughput, and no target allows one."""
    threads = connections if load.per_connection else min(2, connections)
    command = [available(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    command += ["--timeout", TIMEOUT, "-s", str(SCRIPTS / load.script)]
    for name, value in {**headers, **load.headers}.items():
        command += ["-H", f"{name}: {value}"]
    command += [base_url, "--", *load.args]
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, "BENCH_WRK_DIR": str(SCRIPTS)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith("BENCH ")]
    if process.returncode != 0 or not lines:
        raise BenchError(f"wrk {load.script} {load.args} failed: {err.decode()}{out.decode()}")
    found = orjson.loads(lines[-1].removeprefix("BENCH "))
    result = Result(
        requests=found["requests"],
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        non2xx=found["non2xx"],
        statuses={int(status): n for status, n in found["statuses"].items()},
        errors=found["errors"],
    )
    if result.failed or not result.requests:
        statuses = ", ".join(f"{n} x {status}" for status, n in sorted(result.statuses.items()))
        raise BenchError(
            f"wrk {load.script} {' '.join(load.args)} on {base_url}: of {result.requests} "
            f"answers, {result.non2xx} not 2xx ({statuses or 'none'}); "
            f"{result.errors} socket errors or timeouts"
        )
    return result
