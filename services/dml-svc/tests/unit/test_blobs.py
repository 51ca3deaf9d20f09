"""The local blob store on a real filesystem."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from dml_svc.adapters.blobs import CHUNK, Corrupted, DigestMismatch, LocalBlobStore, TooLarge


async def chunks(*parts: bytes, then_fail: bool = False) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if then_fail:
        raise ConnectionResetError("client went away")


def files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_a_blob_is_stored_by_its_sha256_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    blob = await store.put(chunks(b"pay", b"ments"), limit=100)
    assert blob.sha256 == hashlib.sha256(b"payments").hexdigest()
    assert blob.size == 8
    again = await store.put(chunks(b"payments"), limit=100)
    assert again == blob
    assert len(files(tmp_path)) == 1
    assert b"".join([c async for c in store.read(blob.sha256)]) == b"payments"
    assert await store.exists(blob.sha256)


@pytest.mark.parametrize(
    ("stream", "limit", "expect", "error"),
    [
        (lambda: chunks(b"x" * 10, b"y" * 10), 15, None, TooLarge),
        (lambda: chunks(b"payments"), 100, "0" * 64, DigestMismatch),
        (lambda: chunks(b"half of it", then_fail=True), 100, None, ConnectionResetError),
    ],
)
async def test_a_refused_or_broken_upload_leaves_nothing(
    tmp_path: Path, stream: object, limit: int, expect: str | None, error: type[Exception]
) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(error):
        await store.put(stream(), limit=limit, expect=expect)  # type: ignore[operator]
    assert files(tmp_path) == []


async def read(
    store: LocalBlobStore, sha256: str, first: int = 0, last: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in store.read(sha256, first, last)])


async def test_a_range_is_read_across_chunks(tmp_path: Path) -> None:
    content = bytes(range(256)) * (3 * CHUNK // 256 + 7)
    store = LocalBlobStore(tmp_path)
    blob = await store.put(chunks(content), limit=len(content))
    assert await read(store, blob.sha256) == content
    for first, last in [(0, 0), (CHUNK - 1, CHUNK + 1), (2 * CHUNK + 3, len(content) - 1)]:
        assert await read(store, blob.sha256, first, last) == content[first : last + 1]


async def test_a_flipped_bit_is_never_served_as_good(tmp_path: Path) -> None:
    content = b"payments" * CHUNK
    store = LocalBlobStore(tmp_path)
    blob = await store.put(chunks(content), limit=len(content))
    [path] = files(tmp_path)
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 0x01
    path.write_bytes(damaged)
    served: list[bytes] = []

    async def download() -> None:
        async for chunk in store.read(blob.sha256):
            served.append(chunk)

    with pytest.raises(Corrupted) as found:
        await download()
    assert len(b"".join(served)) < len(content)  # the final piece was held back
    assert found.value.found == hashlib.sha256(damaged).hexdigest()
    assert await store.verify(blob.sha256) == found.value.found
    path.unlink()
    assert await store.verify(blob.sha256) == "missing"


async def test_a_download_left_early_stops_cleanly(tmp_path: Path) -> None:
    content = b"z" * (3 * CHUNK)
    store = LocalBlobStore(tmp_path)
    blob = await store.put(chunks(content), limit=len(content))
    download = store.read(blob.sha256)
    first = await anext(download)
    assert first == content[:CHUNK]
    await download.aclose()  # the client went away: the read-ahead is waited for, not lost


async def test_a_sweep_removes_only_uploads_abandoned_long_enough(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert await store.sweep(timedelta(hours=1)) == 0  # no incoming folder yet
    blob = await store.put(chunks(b"kept"), limit=10)
    incoming = tmp_path / "incoming"
    abandoned, under_way = incoming / "crashed", incoming / "writing"
    abandoned.write_bytes(b"half of it")
    under_way.write_bytes(b"more to come")
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    assert await store.sweep(timedelta(hours=1)) == 1
    assert sorted(p.name for p in incoming.iterdir()) == ["writing"]
    assert await store.verify(blob.sha256) == blob.sha256
