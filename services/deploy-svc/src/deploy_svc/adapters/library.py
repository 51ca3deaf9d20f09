"""Fetching a release's media from the DML, and only from it: the manifest's Ed25519
signature is checked against the library's key, then every media item is streamed into a
work folder, hashed as it is written, and checked against the manifest's sha256 and size.
Drivers see the media only once all of that holds.

Development and test environments take a built package's staged media instead: each
checked against the digest release-svc recorded when it built the package.

The service identity is a bearer token (role `deployer`, and `tester` for staged media) read
from a file at every request,
so whatever writes that file (a sidecar, a cron job, `ferry token`) can rotate it freely.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

import httpx

from deploy_svc.config import Settings
from deploy_svc.domain.facts import ReleaseFacts
from deploy_svc.drivers.base import Artifacts
from ferry import manifest as manifest_contract
from ferry import outbound
from ferry.errors import FerryError
from ferry.events.dml import ManifestItem
from ferry.events.release import MediaRef
from ferry.manifest import LABEL, Manifest, ManifestRefused, SignedManifest

CHUNK = 1 << 20
"""Bytes written and hashed per thread hop: per-chunk costs dominate below about a MiB."""
MARKER = ".manifest"
"""In a finished work folder: the manifest text its media were verified against."""


class LibraryRefused(FerryError):
    """The media cannot be trusted or fetched: a bad signature or key, a digest or size
    that differs from the manifest, an HTTP error, a transfer cut short, or a work folder
    that cannot be written. Nothing of the attempt is left in the work folder."""

    status = 502
    title = "Library refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(signed: SignedManifest, public_key_pem: str, key_id: str, release_id: UUID) -> Manifest:
    """`ferry.manifest.verify`, refusing as the library does."""
    try:
        return manifest_contract.verify(signed, public_key_pem, key_id, release_id)
    except ManifestRefused as exc:
        raise LibraryRefused(exc.reason) from exc


class Library:
    """dml-svc as deploy-svc's only source of media."""

    def __init__(
        self,
        dml_url: str,
        token_file: Path | None,
        work_dir: Path,
        *,
        timeout: float = 60,
        transport: httpx.AsyncBaseTransport | None = None,
        pinned_key_id: str | None = None,
    ) -> None:
        self._url = dml_url.rstrip("/")
        self._pinned_key_id = pinned_key_id
        self._token_file = token_file
        self._work_dir = work_dir
        self._timeout = timeout
        self._transport = transport
        self._folders: dict[Path, asyncio.Lock] = {}

    @classmethod
    def of(cls, settings: Settings) -> Library:
        return cls(
            settings.dml_url,
            settings.dml_token_file,
            settings.work_dir,
            pinned_key_id=settings.dml_key_id,
        )

    def folder(self, key: UUID | str) -> Path:
        """Where `fetch(..., key=key)` puts the media."""
        if not LABEL.match(str(key)):
            raise ValueError(f"{key!r} cannot name a work folder")
        return self._work_dir / str(key)

    async def fetch(
        self, release_id: UUID, signed: SignedManifest, *, key: UUID | str | None = None
    ) -> Artifacts:
        """The release's media, verified, in the work folder `key` (a deployment's id; by
        default the release's). A folder verified before is re-hashed and reused."""
        async with self._client() as client:
            public_key_pem, key_id = await self._signing_key(client)
            if self._pinned_key_id is not None and key_id != self._pinned_key_id:
                raise LibraryRefused(
                    f"the DML signs with key {key_id}, not the pinned {self._pinned_key_id} "
                    "(FERRY_DEPLOY_DML_KEY_ID)"
                )
            manifest = verify(signed, public_key_pem, key_id, release_id)
            final = self.folder(key or release_id)
            await self._fill(client, final, signed.manifest, manifest.media)
        return _artifacts(release_id, manifest.version, manifest.media, final)

    async def fetch_package(self, release: ReleaseFacts, revision: int) -> Artifacts:
        """The staged media of the release's built package `revision`, for a development or
        test environment: each checked against the digest release-svc recorded when the
        package was built (the DML's state must still be staged or definitive, never
        revoked). Needs the service identity to hold the `tester` role too."""
        package = release.package
        if package is None or package.revision != revision:
            raise LibraryRefused(
                f"{release.identifier}'s package {revision} is no longer its package: plan again"
            )
        async with self._client() as client:
            items = [await self._staged_item(client, ref) for ref in package.media]
            text = json.dumps([item.model_dump() for item in items], sort_keys=True)
            final = self.folder(f"{release.release_id}-package-{revision}")
            await self._fill(client, final, text, items)
        return _artifacts(release.release_id, release.version, items, final)

    def _client(self) -> httpx.AsyncClient:
        return outbound.client(base_url=self._url, timeout=self._timeout, transport=self._transport)

    async def _staged_item(self, client: httpx.AsyncClient, ref: MediaRef) -> ManifestItem:
        """The media item `ref` names, as the DML describes it, if its digest is `ref`'s."""
        what = f"{ref.name}@{ref.version}"
        try:
            response = await client.get(f"/media/{ref.name}/{ref.version}", headers=self._headers())
        except httpx.HTTPError as exc:
            raise LibraryRefused(f"{what}: the DML did not answer: {exc!r}") from exc
        if response.status_code != 200:
            raise LibraryRefused(f"{what}: {_problem(response)}")
        body = response.json()
        if body.get("state") == "revoked":
            raise LibraryRefused(f"{what} was revoked in the DML")
        if body.get("sha256") != ref.sha256:
            raise LibraryRefused(
                f"{what}: the DML has {body.get('sha256')}, the package {ref.sha256}"
            )
        return ManifestItem(
            name=ref.name, version=ref.version, sha256=ref.sha256, size=body["size"]
        )

    async def _fill(
        self, client: httpx.AsyncClient, final: Path, text: str, items: Sequence[ManifestItem]
    ) -> None:
        """Make `final` hold exactly `items` (described by `text`), downloading unless it
        does already. Fetches into one folder take turns: deployments of one release share
        it, and one finding it unfinished would otherwise remove it under another's driver."""
        async with self._folders.setdefault(final, asyncio.Lock()):
            if await asyncio.to_thread(_intact, final, text, items):
                return
            await asyncio.to_thread(shutil.rmtree, final, True)
            incoming = self._work_dir / ".incoming" / uuid4().hex
            try:
                await asyncio.to_thread(incoming.mkdir, parents=True)
                for item in items:
                    await self._download(client, item, incoming / item.name)
                await asyncio.to_thread((incoming / MARKER).write_text, text)
                moved = await asyncio.to_thread(_move_into_place, incoming, final)
            except OSError as exc:
                raise LibraryRefused(f"cannot write the work folder {final}: {exc}") from exc
            finally:
                # Refused or interrupted: no partial file is ever left for a driver to find.
                await asyncio.to_thread(shutil.rmtree, incoming, True)
            if not moved and not await asyncio.to_thread(_intact, final, text, items):
                raise LibraryRefused(f"{final} is another fetch's, and not these media")

    async def fetch_release(self, release: ReleaseFacts, package_revision: int | None) -> Artifacts:
        """What the executor deploys (its `Fetch`): the built package `package_revision`'s
        staged media (development and test environments), else the media the DML made
        available, into the release's own work folder; refused at once if it is revoked or
        not available."""
        if release.revoked:
            raise LibraryRefused(f"{release.identifier} was revoked in the DML")
        if package_revision is not None:
            return await self.fetch_package(release, package_revision)
        if release.available is None:
            raise LibraryRefused(f"{release.identifier} is not available in the DML")
        return await self.fetch(release.release_id, release.available)

    def _headers(self) -> dict[str, str]:
        if self._token_file is None:
            raise LibraryRefused("no service identity: set FERRY_DEPLOY_DML_TOKEN_FILE")
        try:
            token = self._token_file.read_text().strip()
        except OSError as exc:
            raise LibraryRefused(f"cannot read the service token: {exc}") from exc
        if not token:
            raise LibraryRefused(f"the service token file {self._token_file} is empty")
        return {"Authorization": f"Bearer {token}"}

    async def _signing_key(self, client: httpx.AsyncClient) -> tuple[str, str]:
        try:
            response = await client.get("/library/signing-key", headers=self._headers())
        except httpx.HTTPError as exc:
            raise LibraryRefused(f"the DML did not answer for its signing key: {exc!r}") from exc
        if response.status_code != 200:
            raise LibraryRefused(f"the DML's signing key: {_problem(response)}")
        try:
            body = response.json()
            return str(body["public_key_pem"]), str(body["key_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LibraryRefused(f"the DML's signing key came malformed: {exc!r}") from exc

    async def _download(self, client: httpx.AsyncClient, item: ManifestItem, path: Path) -> None:
        what = f"{item.name}@{item.version}"
        digest, size = hashlib.sha256(), 0
        url = f"/media/{item.name}/{item.version}/content"
        try:
            async with client.stream("GET", url, headers=self._headers()) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise LibraryRefused(f"{what}: {_problem(response)}")
                etag = response.headers.get("ETag", "").strip('"')
                if etag and etag != item.sha256:
                    raise LibraryRefused(
                        f"{what}: the DML serves {etag}, the manifest says {item.sha256}"
                    )
                with await asyncio.to_thread(path.open, "xb") as out:
                    async for chunk in response.aiter_bytes(CHUNK):
                        size += len(chunk)
                        if size > item.size:
                            raise LibraryRefused(
                                f"{what}: more than the manifest's {item.size} bytes"
                            )
                        await asyncio.to_thread(_write, out, digest, chunk)
        except httpx.HTTPError as exc:
            raise LibraryRefused(f"{what}: the transfer broke off: {exc!r}") from exc
        if size != item.size:
            raise LibraryRefused(f"{what}: {size} bytes arrived, the manifest says {item.size}")
        if digest.hexdigest() != item.sha256:
            raise LibraryRefused(
                f"{what}: the bytes hash to {digest.hexdigest()}, the manifest says {item.sha256}"
            )


def _write(out: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    digest.update(chunk)
    out.write(chunk)


def _problem(response: httpx.Response) -> str:
    detail = ""
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            detail = str(response.json().get("detail", ""))
        except ValueError:
            detail = ""
    return f"the DML answered {response.status_code}" + (f": {detail}" if detail else "")


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _intact(folder: Path, text: str, items: Sequence[ManifestItem]) -> bool:
    """Whether `folder` holds exactly `items` (described by `text`). Re-hashed rather than
    trusted: a crash or a hand may have changed a file since it was verified."""
    marker = folder / MARKER
    if not marker.is_file() or marker.read_text() != text:
        return False
    for item in items:
        path = folder / item.name
        if not path.is_file() or _hash_file(path) != (item.sha256, item.size):
            return False
    return True


def _move_into_place(incoming: Path, final: Path) -> bool:
    """Whether `incoming` became `final`; False if another fetch got there first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(incoming, final)  # atomic: the folder is either absent or complete
    except OSError:
        if not final.is_dir():
            raise
        return False
    return True


def _artifacts(
    release_id: UUID, version: str, items: Sequence[ManifestItem], folder: Path
) -> Artifacts:
    return Artifacts(
        release_id=release_id,
        version=version,
        media={item.name: folder / item.name for item in items},
    )
