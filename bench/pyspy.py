"""Where a service spends its time under load: py-spy samples the running process (no
instrumentation, so the figures are not bent by it) while wrk loads it, and the samples are
summed per function, by time spent in the function itself and in it with what it called."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bench.common import BenchError

# One frame of py-spy's raw (collapsed) output: `function (path/to/module.py:line)`.
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def executable() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise BenchError("--profile needs py-spy: run `make install`")
    return found


@contextlib.asynccontextmanager
async def sampling(pid: int, out: Path, rate: int = 250) -> AsyncIterator[None]:
    """Sample process `pid` while the block runs; the collapsed stacks go to `out`."""
    process = await asyncio.create_subprocess_exec(
        executable(), "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
        "--output", str(out), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield
    finally:
        # SIGINT: py-spy writes what it sampled so far, then exits.
        process.send_signal(2)
        _, err = await process.communicate()
        if not out.exists():
            raise BenchError(f"py-spy wrote no samples: {err.decode(errors='replace')[-500:]}")


def _function(frame: str) -> str:
    found = _FRAME.match(frame)
    if found is None:
        return frame
    path = found["file"]
    for marker in ("site-packages/", "/src/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{found['function']} ({path})"


def summary(collapsed: Path, top: int = 30) -> str:
    """The functions with the most samples, in themselves and in total, as text."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(f) for f in stack.split(";")[1:]]  # the first is the thread
        if not frames:
            continue
        samples += int(count)
        own[frames[-1]] += int(count)
        for function in set(frames):
            total[function] += int(count)
    if samples == 0:
        return "no samples: the process was idle"

    def table(counts: collections.Counter[str]) -> str:
        return "\n".join(
            f"  {100 * n / samples:5.1f}%  {function}" for function, n in counts.most_common(top)
        )

    return (
        f"{samples:,} samples while busy\n"
        f"by time in the function itself:\n{table(own)}\n"
        f"by time in the function and what it called:\n{table(total)}"
    )
