"""Content-addressed blob storage: the library's bytes, each content stored once.

`BlobStore` is what the library needs; `LocalBlobStore` keeps blobs on a local (or mounted)
filesystem. An S3-compatible store could implement the same protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from dml_svc.domain.media import Blob
from ferry.errors import FerryError, Unprocessable

CHUNK = 4 << 20
"""Bytes hashed at a time, with their write (upload) or read (download): per-chunk costs
(a thread hop, an ASGI message) dominate below a few MiB."""


class TooLarge(FerryError):
    status = 413
    title = "Content too large"


class Corrupted(Exception):
    """A stored blob no longer has the digest it is named by."""

    def __init__(self, sha256: str, found: str) -> None:
        super().__init__(f"blob {sha256} now hashes to {found}")
        self.sha256 = sha256
        self.found = found


class DigestMismatch(Unprocessable):
    """The bytes that arrived are not the ones the client declared."""


class BlobStore(Protocol):
    async def put(
        self, chunks: AsyncIterable[bytes], limit: int, expect: str | None = None
    ) -> Blob:
        """Store the bytes `chunks` yield, hashing as they stream; at most `limit` bytes, and
        with sha256 `expect` if given.

        Nothing is stored if the stream breaks, exceeds `limit` (`TooLarge`) or has another
        digest (`DigestMismatch`).
        """
        ...

    def read(self, sha256: str, first: int = 0, last: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `first` to `last` (inclusive; None: to the end) of the blob, verified: the
        whole blob is hashed as it is read and the final piece held back until the digest
        matches, so corrupted bytes never complete a transfer (`Corrupted` instead)."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def verify(self, sha256: str) -> str:
        """The blob's digest as it now is on disk ("missing" if it is gone)."""
        ...

    async def sweep(self, untouched_for: timedelta) -> int:
        """Remove what uploads cut short by a crash left behind (an upload that ends in the
        process cleans up itself), once untouched for `untouched_for`; how many."""
        ...


class LocalBlobStore:
    """Blobs as files named by their sha256 under `root`, fanned out by the first two hex
    digits. A new blob is written to a temporary file, fsynced, and renamed into place, so a
    blob's path holds either nothing or all of it."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._incoming = root / "incoming"

    def _path(self, sha256: str) -> Path:
        return self._root / sha256[:2] / sha256

    async def put(
        self, chunks: AsyncIterable[bytes], limit: int, expect: str | None = None
    ) -> Blob:
        self._incoming.mkdir(parents=True, exist_ok=True)
        temporary = self._incoming / uuid.uuid4().hex
        digest = hashlib.sha256()
        try:
            with temporary.open("wb") as file:
                size = await _write_hashing(chunks, file, digest, limit)
                file.flush()
                await asyncio.to_thread(os.fsync, file.fileno())
            sha256 = digest.hexdigest()
            if expect is not None and expect != sha256:
                raise DigestMismatch(f"the content's sha256 is {sha256}, not {expect} as declared")
            await asyncio.to_thread(self._settle, temporary, self._path(sha256))
            return Blob(sha256, size)
        finally:
            temporary.unlink(missing_ok=True)

    def _settle(self, temporary: Path, final: Path) -> None:
        if final.exists():
            return  # identical content is stored once
        final.parent.mkdir(exist_ok=True)
        os.replace(temporary, final)
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)

    async def read(
        self, sha256: str, first: int = 0, last: int | None = None
    ) -> AsyncIterator[bytes]:
        try:
            file = self._path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise Corrupted(sha256, "missing") from exc
        digest = hashlib.sha256()
        position, held = 0, b""
        with file:
            async with _Pipeline() as pipeline:
                # The next chunk is read and hashed while this one is sent.
                await pipeline.then(_read_hashing, file, digest)
                while chunk := await pipeline.result():
                    await pipeline.then(_read_hashing, file, digest)
                    start = max(first - position, 0)
                    stop = len(chunk) if last is None else min(last + 1 - position, len(chunk))
                    position += len(chunk)
                    if held:
                        yield held
                    held = chunk[start:stop] if stop > start else b""
        if (found := digest.hexdigest()) != sha256:
            raise Corrupted(sha256, found)
        if held:
            yield held

    async def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    async def sweep(self, untouched_for: timedelta) -> int:
        # An upload under way writes its file all the time: an old one is abandoned.
        return await asyncio.to_thread(self._sweep, time.time() - untouched_for.total_seconds())

    def _sweep(self, before: float) -> int:
        swept = 0
        for leftover in self._incoming.glob("*") if self._incoming.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < before:
                    leftover.unlink()
                    swept += 1
        return swept

    async def verify(self, sha256: str) -> str:
        try:
            with self._path(sha256).open("rb") as file:
                digest = await asyncio.to_thread(hashlib.file_digest, file, "sha256")
        except FileNotFoundError:
            return "missing"
        return digest.hexdigest()


async def _write_hashing(
    chunks: AsyncIterable[bytes], file: BinaryIO, digest: Any, limit: int
) -> int:
    """Write and hash what `chunks` yield; how many bytes. A MiB gathered at a time is
    hashed and written in a worker thread while the next arrives: the two cores share the
    work, and memory stays at two buffers whatever the size."""
    size, buffer = 0, bytearray()
    async with _Pipeline() as pipeline:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload exceeds the limit of {limit} bytes")
            buffer += chunk
            if len(buffer) >= CHUNK:
                await pipeline.then(_hash_write, file, digest, bytes(buffer))
                buffer.clear()
        await pipeline.then(_hash_write, file, digest, bytes(buffer))
        await pipeline.drain()
    return size


def _hash_write(file: BinaryIO, digest: Any, data: bytes) -> bytes:
    digest.update(data)
    file.write(data)
    return data


class _Pipeline:
    """One step at a time in a worker thread, the event loop going on meanwhile: `then`
    waits for the step before and starts the next. Leaving waits for a step still running,
    so no thread touches a file after it is closed."""

    def __init__(self) -> None:
        self._step: asyncio.Future[bytes] | None = None

    async def then(self, work: Callable[..., bytes], *args: Any) -> None:
        await self.drain()
        self._step = asyncio.ensure_future(asyncio.to_thread(work, *args))

    async def result(self) -> bytes:
        assert self._step is not None
        step, self._step = self._step, None
        return await step

    async def drain(self) -> None:
        if self._step is not None:
            await self.result()

    async def __aenter__(self) -> _Pipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        # Cancelled or failed mid-way: the thread must finish before the file closes.
        if self._step is not None:
            await asyncio.wait([self._step])


def _read_hashing(file: BinaryIO, digest: Any) -> bytes:
    # In the worker thread, hashing as well as reading: sha256 of a MiB is a millisecond of
    # CPU the event loop need not spend.
    chunk = file.read(CHUNK)
    digest.update(chunk)
    return chunk
