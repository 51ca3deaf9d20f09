"""Ferry's benchmarks: event-store append and replay, outbox-to-Kafka latency, and the DML's
media upload, verified download and memory, deploy-svc's fan-out to many targets, and the
HTTP APIs under load beside a bare FastAPI endpoint, and release-svc at scale (rebuild,
restart, release list, event feed).

Usage (from the repository root, with the local stack up):

    python -m bench.run [--quick] [--json out.json] [--profile]

Reads FERRY_DATABASE_URL and FERRY_KAFKA_BOOTSTRAP_SERVERS. Every measurement gets a fresh
schema (and topic), dropped afterwards. Exits 0 when targets are missed: it is a measurement;
non-zero only on errors. See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import uvloop

from bench.api import bench_api
from bench.append import bench_append
from bench.common import BenchError, Config, Figure, progress
from bench.deploy import bench_deploy
from bench.media import bench_media
from bench.outbox import bench_outbox
from bench.replay import bench_replay
from bench.scale import bench_scale
from ferry.kafka_client import KafkaSettings

ENV_DATABASE = "FERRY_DATABASE_URL"
ENV_KAFKA = "FERRY_KAFKA_BOOTSTRAP_SERVERS"
SECTIONS = ["append", "replay", "outbox", "media", "deploy", "api", "scale"]


# --- report ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f} x"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f} {unit}"


def table(figures: Sequence[Figure]) -> str:
    rows = [("section", "figure", "value", "target", "result")]
    for f in figures:
        result = "" if f.passed is None else ("PASS" if f.passed else "MISS")
        rows.append((f.section, f.name, fmt(f.value, f.unit), f.target or "", result))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


# --- main ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one store replay; py-spy samples of each API request on its service (api)",
    )
    parser.add_argument(
        "--outbox-rate", type=float, default=500.0, help="offered appends/s (default 500)"
    )
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds to wait before measuring (10)"
    )
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        action="append",
        help="run only these",
    )
    return parser.parse_args(argv)


def config(args: argparse.Namespace) -> Config:
    missing = [name for name in (ENV_DATABASE, ENV_KAFKA) if not os.environ.get(name)]
    if missing:
        raise BenchError(
            f"{' and '.join(missing)} not set; start the stack with"
            ' `eval "$(deploy/local/up.sh --env)"` (or run `make bench`)'
        )
    quick = bool(args.quick)
    return Config(
        database_url=os.environ[ENV_DATABASE],
        kafka=KafkaSettings(),
        append_n=500 if quick else 2000,
        rounds=3 if quick else 7,
        settle=args.settle,
        replay_streams=200 if quick else 1000,
        replay_per_stream=100,
        outbox_rate=float(args.outbox_rate),
        outbox_seconds=3.0 if quick else 10.0,
        outbox_warmup_seconds=1.0,
        profile=bool(args.profile),
        media_bytes=(128 << 20) if quick else (1 << 30),
        api_connections=(16,) if quick else (16, 64),
        api_seconds=3 if quick else 10,
        api_rounds=1 if quick else 3,
        api_releases=2_000 if quick else 10_000,
        scale_releases=10_000 if quick else 100_000,
        scale_subscribers=50 if quick else 200,
        scale_feed_seconds=5.0 if quick else 10.0,
    )


async def run(cfg: Config, only: Sequence[str]) -> list[Figure]:
    benches: dict[str, Callable[[Config], Awaitable[list[Figure]]]] = {
        "append": bench_append,
        "replay": bench_replay,
        "outbox": bench_outbox,
        "media": bench_media,
        "deploy": bench_deploy,
        "api": bench_api,
        "scale": bench_scale,
    }
    if cfg.settle > 0:
        # A broker started a moment ago is still compiling and loading on both cores.
        progress(f"letting the machine settle for {cfg.settle:g}s")
        await asyncio.sleep(cfg.settle)
    figures: list[Figure] = []
    for name, bench in benches.items():
        if name in only:
            figures.extend(await bench(cfg))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        cfg = config(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    only: list[str] = args.only or SECTIONS
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        progress(f"warning: load average {load_before[0]:.2f} before the run; figures will suffer")
    # uvloop: the event loop the services run on (uvicorn --loop uvloop), for both sides.
    figures = uvloop.run(run(cfg, only))
    print(f"\nFerry benchmarks, {started:%Y-%m-%d %H:%M} UTC, {'quick' if args.quick else 'full'}")
    info = machine()
    info["loadavg_before"] = load_before
    info["loadavg_after"] = os.getloadavg()
    print(f"machine: {info['cpus']} CPUs, {info['cpu_model']}, Python {info['python']}")
    print(
        "load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f},".format(*load_before)
        + " after: {:.2f} {:.2f} {:.2f}\n".format(*info["loadavg_after"])
    )
    print(table(figures))
    if args.json:
        report = {
            "started": started.isoformat(),
            "quick": bool(args.quick),
            "machine": info,
            "figures": [asdict(f) for f in figures],
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
