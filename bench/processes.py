"""The `api` section's servers as processes: release-svc, els-svc and dml-svc as `make run`
starts them (each with a schema, a topic prefix and an event signing key of its own,
trusting the development issuer, reaching Kafka with the credentials of the benchmark's
environment), and the bare baseline app (`bench.bare`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from bench.bare import create_table
from bench.common import BenchError, Config
from ferry.devauth import ISSUER
from ferry.devports import free_port
from ferry.eventsigning import generate_pem
from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.kafka_admin import ensure_topics
from ferry.kafka_client import uninterrupted

READY_SECONDS = 90


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    schema: str
    log: Path
    key_file: Path | None = None
    """Its event signing key (PEM), for appending to its store directly."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The environment it runs with (a replica's starts from it)."""


@contextlib.contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _service_env(
    cfg: Config, work: Path, name: str, port: int, schema: str, prefix: str
) -> dict[str, str]:
    upper = name.upper()
    key_file = work / "event-keys" / f"{name}-svc.pem"
    key_file.parent.mkdir(exist_ok=True)
    key_file.write_bytes(generate_pem())
    env = {
        **os.environ,
        "FERRY_DATABASE_URL": cfg.database_url,
        "FERRY_TOPIC_PREFIX": prefix,
        f"FERRY_{upper}_PORT": str(port),
        f"FERRY_{upper}_DB_SCHEMA": schema,
        "FERRY_AUTH_ISSUER": ISSUER,
        "FERRY_AUTH_JWKS_FILE": str(work / "auth" / "jwks.json"),
        "FERRY_EVENT_SIGNING_KEY_FILE": str(key_file),
    }
    if name == "dml":
        env |= {
            "FERRY_DML_MEDIA_DIR": str(work / "dml-media"),
            "FERRY_DML_SCRUB_INTERVAL_SECONDS": "0",
        }
    return env


@contextlib.asynccontextmanager
async def ferry_service(cfg: Config, work: Path, name: str) -> AsyncIterator[Server]:
    """`python -m <name>_svc`; its schema is dropped afterwards."""
    port, schema = free_port(), f"apibench_{name}_{uuid4().hex[:8]}"
    # Topics of its own: no service consumes what the others publish meanwhile.
    prefix = f"apibench{uuid4().hex[:6]}-"
    topics = [prefix + topic for topic in SERVICE_TOPICS + INBOUND_TOPICS]
    await ensure_topics(cfg.kafka, topics)
    env = _service_env(cfg, work, name, port, schema, prefix)
    command = [sys.executable, "-m", f"{name}_svc"]
    log = work / f"{name}-svc.log"
    try:
        with _process(command, env, log) as process:
            server = Server(
                f"{name}-svc",
                f"http://127.0.0.1:{port}",
                process,
                schema,
                log,
                Path(env["FERRY_EVENT_SIGNING_KEY_FILE"]),
                env,
            )
            await ready(server, "/readyz")
            yield server
    finally:
        await drop_schema(cfg, schema)
        await delete_topics(cfg, topics)


@contextlib.asynccontextmanager
async def replica(
    of: Server, work: Path, workers: int, *, wait: bool = True
) -> AsyncIterator[Server]:
    """Another process of the service `of` (same schema, topics and key) on a port of its
    own, served by `workers` worker processes; `wait=False` yields it as soon as it is
    started (a caller timing its start-up waits itself)."""
    port = free_port()
    upper = of.name.removesuffix("-svc").upper()
    env = {**of.env, f"FERRY_{upper}_PORT": str(port), "FERRY_WORKERS": str(workers)}
    module = of.name.replace("-", "_")
    log = work / f"{of.name}-{workers}-workers.log"
    with _process([sys.executable, "-m", module], env, log) as process:
        server = Server(of.name, f"http://127.0.0.1:{port}", process, of.schema, log, env=env)
        if wait:
            await ready(server, "/readyz")
        yield server


@contextlib.asynccontextmanager
async def bare_app(cfg: Config, work: Path) -> AsyncIterator[Server]:
    """The baseline, with a fresh table."""
    port, schema = free_port(), f"apibench_bare_{uuid4().hex[:8]}"
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        await conn.execute(create_table(schema))
    finally:
        await conn.close()
    env = {**os.environ, "BENCH_BARE_DSN": cfg.raw_url, "BENCH_BARE_SCHEMA": schema}
    command = [sys.executable, "-m", "uvicorn", "bench.bare:app", "--port", str(port)]
    command += ["--loop", "uvloop", "--http", "httptools", "--workers", "1", "--no-access-log"]
    log = work / "bare.log"
    try:
        with _process(command, env, log) as process:
            server = Server("bare", f"http://127.0.0.1:{port}", process, schema, log)
            await ready(server, "/healthz")
            yield server
    finally:
        await drop_schema(cfg, schema)


def log_tail(server: Server, lines: int = 15) -> str:
    """The last lines of the server's log: why it failed, when it did."""
    text = server.log.read_text(errors="replace").splitlines()[-lines:]
    return f"the last lines of {server.name}'s log:\n" + "\n".join(text)


async def ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                code = server.process.returncode
                raise BenchError(f"{server.name} exited with {code}; {log_tail(server)}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(path)).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise BenchError(f"{server.name} was not ready in {READY_SECONDS} s; {log_tail(server)}")


async def drop_schema(cfg: Config, schema: str) -> None:
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def delete_topics(cfg: Config, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(**cfg.kafka.kafka_options())
    try:
        await uninterrupted(admin.start())
        await admin.delete_topics(topics)
    finally:
        await admin.close()
