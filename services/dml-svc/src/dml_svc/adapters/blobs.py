"""Content-addressed blob storage: the library's bytes, each content stored once.

`BlobStore` is what the library needs; `LocalBlobStore` keeps blobs on a local (or mounted)
filesystem. An S3-compatible store could implement the same protocol.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

from dml_svc.domain.media import Blob
from ferry.errors import FerryError, Unprocessable

CHUNK = 1 << 20


class TooLarge(FerryError):
    status = 413
    title = "Content too large"


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

    def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes, a chunk at a time."""
        ...

    async def exists(self, sha256: str) -> bool: ...


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
        size = 0
        try:
            # Writes land in the page cache and return in microseconds; only the fsync
            # below waits on the disk, so it alone leaves the event loop.
            with temporary.open("wb") as file:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"the upload exceeds the limit of {limit} bytes")
                    digest.update(chunk)
                    file.write(chunk)
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

    async def read(self, sha256: str) -> AsyncIterator[bytes]:
        with self._path(sha256).open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK):
                yield chunk

    async def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()
