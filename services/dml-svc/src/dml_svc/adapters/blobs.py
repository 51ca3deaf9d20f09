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
from typing import Any, BinaryIO, Protocol

from dml_svc.domain.media import Blob
from ferry.errors import FerryError, Unprocessable

CHUNK = 1 << 20


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
            while chunk := await asyncio.to_thread(_read_hashing, file, digest):
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

    async def verify(self, sha256: str) -> str:
        try:
            with self._path(sha256).open("rb") as file:
                digest = await asyncio.to_thread(hashlib.file_digest, file, "sha256")
        except FileNotFoundError:
            return "missing"
        return digest.hexdigest()


def _read_hashing(file: BinaryIO, digest: Any) -> bytes:
    # In the worker thread, hashing as well as reading: sha256 of a MiB is a millisecond of
    # CPU the event loop need not spend.
    chunk = file.read(CHUNK)
    digest.update(chunk)
    return chunk
