"""The DML's media path, against a real dml-svc process: streamed upload (hash, write, fsync)
and verified download, each as a ratio of the same work done by plain Python on the same
file in the same run, and the service's peak resident memory during the upload.

Baselines: upload — one pass of `hashlib.sha256` over the file while writing it to a new
file, then fsync; download — `hashlib.file_digest` of the stored blob. The service does that
work plus HTTP, its own bookkeeping and (upload) a database commit and an event.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx

from bench.common import BenchError, Config, Figure, progress
from ferry.devauth import ISSUER, DevIssuer
from ferry.devports import free_port

CHUNK = 1 << 20
UPLOAD_TARGET = 0.70
DOWNLOAD_TARGET = 0.80
RSS_TARGET_MB = 50.0


def _random_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        for _ in range(size // CHUNK):
            out.write(os.urandom(CHUNK))


def _baseline_upload(source: Path, target: Path) -> float:
    """Seconds for one pass of sha256 while copying, then fsync."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def _baseline_download(blob: Path) -> float:
    started = time.perf_counter()
    with blob.open("rb") as file:
        hashlib.file_digest(file, "sha256")
    return time.perf_counter() - started


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


async def _sample_peak(pid: int, stop: asyncio.Event) -> int:
    peak = _rss_kb(pid)
    while not stop.is_set():
        peak = max(peak, _rss_kb(pid))
        await asyncio.sleep(0.02)
    return peak


@contextlib.contextmanager
def _dml_process(
    cfg: Config, work: Path, schema: str, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "FERRY_DATABASE_URL": cfg.database_url,
        "FERRY_TOPIC_PREFIX": f"bench{uuid4().hex[:6]}-",
        "FERRY_DML_PORT": str(port),
        "FERRY_DML_DB_SCHEMA": schema,
        "FERRY_DML_MEDIA_DIR": str(work / "media"),
        "FERRY_DML_SCRUB_INTERVAL_SECONDS": "0",
        "FERRY_AUTH_ISSUER": ISSUER,
        "FERRY_AUTH_JWKS_FILE": str(work / "auth" / "jwks.json"),
        "FERRY_LOG_LEVEL": "WARNING",
    }
    log = (work / "dml-svc.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dml_svc"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk


async def bench_media(cfg: Config) -> list[Figure]:
    size = cfg.media_bytes
    rounds = 3
    schema = f"bench_dml_{uuid4().hex[:10]}"
    port = free_port()
    with tempfile.TemporaryDirectory(dir=os.environ.get("FERRY_STATE_DIR")) as tmp:
        work = Path(tmp)
        source = work / "payload.bin"
        progress(f"media: writing a {size >> 20} MiB file of random bytes")
        await asyncio.to_thread(_random_file, source, size)
        headers = DevIssuer(work / "auth").bearer("bench", "dml-librarian")
        try:
            with _dml_process(cfg, work, schema, port) as process:
                base = f"http://127.0.0.1:{port}"
                async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as http:
                    await _ready(http, process)
                    uploads, rss_growth_mb = await _uploads(http, process.pid, source, rounds)
                    downloads = await _downloads(http, work / "media" / "blobs", size, rounds)
        finally:
            conn = await asyncpg.connect(cfg.raw_url)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()
    return _figures(size, uploads, downloads, rss_growth_mb)


async def _uploads(
    http: httpx.AsyncClient, pid: int, source: Path, rounds: int
) -> tuple[list[tuple[float, float]], float]:
    """(baseline, service) seconds per round, and the service's peak RSS growth in MB."""
    size = source.stat().st_size
    with source.open("rb") as file:
        sha256 = (await asyncio.to_thread(hashlib.file_digest, file, "sha256")).hexdigest()
    declared = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"
    rss_before = peak = _rss_kb(pid)
    timings = []
    for i in range(rounds):
        baseline = await asyncio.to_thread(_baseline_upload, source, source.with_name("copy"))
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_peak(pid, stop))
        started = time.perf_counter()
        answer = await http.put(
            f"/media/payload.bin/{i}",
            content=_chunks(source),
            headers={"Repr-Digest": declared, "Content-Length": str(size)},
        )
        elapsed = time.perf_counter() - started
        stop.set()
        peak = max(peak, await sampler)
        if answer.status_code not in (200, 201):
            raise BenchError(f"upload answered {answer.status_code}: {answer.text}")
        timings.append((baseline, elapsed))
        progress(f"media: upload {i + 1}/{rounds}: {baseline / elapsed:.2f} x the baseline")
    return timings, (peak - rss_before) / 1024


async def _downloads(
    http: httpx.AsyncClient, blobs: Path, size: int, rounds: int
) -> list[tuple[float, float]]:
    """(baseline, service) seconds per round of a verified download."""
    [blob] = [p for p in blobs.rglob("*") if p.is_file() and p.parent.name != "incoming"]
    timings = []
    for i in range(rounds):
        baseline = await asyncio.to_thread(_baseline_download, blob)
        started = time.perf_counter()
        received = await _download(http, f"/media/payload.bin/{i}/content")
        elapsed = time.perf_counter() - started
        if received != size:
            raise BenchError(f"download gave {received} of {size} bytes")
        timings.append((baseline, elapsed))
        progress(f"media: download {i + 1}/{rounds}: {baseline / elapsed:.2f} x the baseline")
    return timings


async def _download(http: httpx.AsyncClient, path: str) -> int:
    """GET `path` and count the body's bytes, over a bare HTTP/1.1 connection read into one
    reused buffer by a blocking socket in a thread: the client shares the machine's two
    cores with the service, and any copy it made would be charged to the service."""
    url = httpx.URL(str(http.base_url)).join(path)
    request = (
        f"GET {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}\r\n"
        f"Authorization: {http.headers['Authorization']}\r\nConnection: close\r\n\r\n"
    )
    return await asyncio.to_thread(_receive, url.host, url.port or 80, request.encode())


def _receive(host: str, port: int, request: bytes) -> int:
    with socket.create_connection((host, port)) as sock:
        sock.sendall(request)
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        head = b""
        while b"\r\n\r\n" not in head:
            got = sock.recv_into(view)
            if not got:
                raise BenchError("the download ended before its headers")
            head += view[:got]
        if not head.startswith(b"HTTP/1.1 200"):
            raise BenchError(f"download answered {head[:40]!r}")
        received = len(head) - head.index(b"\r\n\r\n") - 4
        while got := sock.recv_into(view):
            received += got
        return received


async def _ready(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"dml-svc exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise BenchError("dml-svc did not become ready in 60 s")


def _figures(
    size: int,
    uploads: list[tuple[float, float]],
    downloads: list[tuple[float, float]],
    rss_growth_mb: float,
) -> list[Figure]:
    mib = size / (1 << 20)
    up = statistics.median(b / s for b, s in uploads)
    down = statistics.median(b / s for b, s in downloads)
    return [
        Figure("media", "upload, MiB/s", mib / statistics.median(s for _, s in uploads), "MiB/s"),
        Figure(
            "media",
            "upload baseline, MiB/s",
            mib / statistics.median(b for b, _ in uploads),
            "MiB/s",
        ),
        Figure("media", "upload / baseline", up, "x", f">= {UPLOAD_TARGET}", up >= UPLOAD_TARGET),
        Figure(
            "media",
            "verified download, MiB/s",
            mib / statistics.median(s for _, s in downloads),
            "MiB/s",
        ),
        Figure(
            "media",
            "download baseline, MiB/s",
            mib / statistics.median(b for b, _ in downloads),
            "MiB/s",
        ),
        Figure(
            "media",
            "download / baseline",
            down,
            "x",
            f">= {DOWNLOAD_TARGET}",
            down >= DOWNLOAD_TARGET,
        ),
        Figure(
            "media",
            f"RSS growth during a {mib:,.0f} MiB upload",
            rss_growth_mb,
            "MB",
            f"<= {RSS_TARGET_MB:g} MB",
            rss_growth_mb <= RSS_TARGET_MB,
        ),
    ]
