"""The local blob store on a real filesystem."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dml_svc.adapters.blobs import DigestMismatch, LocalBlobStore, TooLarge


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
