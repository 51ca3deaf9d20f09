"""deploy-svc's `Library` against a real dml-svc (in-process, real PostgreSQL and Kafka, real
disk): media arrive verified with the service identity, and every kind of mistrust — a
tampered blob, an altered manifest, another key, revoked media — refuses the fetch and
leaves nothing in the work folder."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deploy_svc.adapters.library import Library, LibraryRefused
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.events.release import MediaRef, ReleaseApproved, ReleaseValidated
from ferry.manifest import SignedManifest
from ferry.manifest import key_id as key_id_of
from ferry.testing import release_planned
from tests.support.infra import Infra
from tests.support.services import eventually, publish, serving, settings

VERSION = "2026.12.0"
MEDIA = {
    "payments-api.tar.gz": b"payments service, build 2026.12.0\n" * 5000,
    "payments-config.json": b'{"currency": "EUR"}\n',
}


@dataclass
class Available:
    """A release the real DML made available, and how to reach and tamper with it."""

    release_id: UUID
    signed: SignedManifest
    dml: httpx.AsyncClient
    dml_settings: DmlSettings
    library: Library
    work: Path
    token: Path

    def blob(self, name: str) -> Path:
        sha = hashlib.sha256(MEDIA[name]).hexdigest()
        return self.dml_settings.media_dir / "blobs" / sha[:2] / sha

    def leftovers(self) -> list[Path]:
        return [p for p in self.work.rglob("*") if p.is_file()] if self.work.exists() else []


@pytest.fixture
async def release(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Available]:
    s = settings(
        DmlSettings, infra, topic_prefix, media_dir=tmp_path / "media", scrub_interval_seconds=0
    )
    librarian = infra.issuer.bearer("lib", "dml-librarian")
    async with serving(dml_spec(s), headers=librarian) as dml:
        refs = []
        for name, content in MEDIA.items():
            staged = await dml.put(
                f"/media/{name}/{VERSION}", content=content, params={"kind": "software"}
            )
            assert staged.status_code == 201, staged.text
            refs.append(MediaRef(name=name, version=VERSION, sha256=staged.json()["sha256"]))
        release_id = uuid4()
        await publish(
            infra,
            s.topic("release.events"),
            release_planned(release_id=release_id, version=VERSION),
            ReleaseValidated(release_id=release_id, package_revision=1, kinds=["functional"]),
            ReleaseApproved(
                release_id=release_id,
                rfc="RFC-1",
                approvers=["carl"],
                package_revision=1,
                media=refs,
            ),
        )

        async def made_available() -> dict[str, str] | None:
            entry = (await dml.get(f"/library/releases/{release_id}")).json()
            available: dict[str, str] | None = entry.get("available")
            return available

        found = await eventually(made_available, what="the release to become available")
        # The service identity, as a sidecar or `ferry token` would leave it.
        token = tmp_path / "dml-token"
        token.write_text(infra.issuer.mint("deploy-svc", ["deployer"]) + "\n")
        work = tmp_path / "deploy-work"
        yield Available(
            release_id,
            SignedManifest(found["manifest"], found["signature"], found["key_id"]),
            dml,
            s,
            Library(str(dml.base_url), token, work),
            work,
            token,
        )


async def test_media_arrive_verified_with_the_service_identity(release: Available) -> None:
    deployment = uuid4()
    artifacts = await release.library.fetch(release.release_id, release.signed, key=deployment)
    assert artifacts.release_id == release.release_id
    assert artifacts.version == VERSION
    assert {name: path.read_bytes() for name, path in artifacts.media.items()} == MEDIA
    assert all(path.parent == release.work / str(deployment) for path in artifacts.media.values())
    # Fetched again (a resumed deployment): the verified folder serves.
    again = await release.library.fetch(release.release_id, release.signed, key=deployment)
    assert again == artifacts


class HeldDownload(httpx.AsyncHTTPTransport):
    """Real HTTP, but the first media download waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.downloading = asyncio.Event()
        self.go_on = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/content") and not self.downloading.is_set():
            self.downloading.set()
            await self.go_on.wait()
        return await super().handle_async_request(request)


async def test_fetches_into_one_folder_take_turns(release: Available) -> None:
    """Two deployments of one release share its folder: a second fetch must not find it
    unfinished and remove it from under the first's driver, so it waits its turn."""
    held = HeldDownload()
    library = Library(str(release.dml.base_url), release.token, release.work, transport=held)
    finished: list[str] = []

    async def fetch(name: str) -> None:
        artifacts = await library.fetch(release.release_id, release.signed)
        finished.append(name)
        # Straight away, as a driver would start installing from it.
        assert {n: p.read_bytes() for n, p in artifacts.media.items()} == MEDIA

    first = asyncio.create_task(fetch("first"))
    await asyncio.wait_for(held.downloading.wait(), 30)
    second = asyncio.create_task(fetch("second"))
    await asyncio.sleep(1)  # time enough for an unheld fetch of these few bytes
    assert finished == []
    held.go_on.set()
    await asyncio.gather(first, second)
    assert finished == ["first", "second"]


async def test_a_pinned_key_is_the_only_one_trusted(release: Available) -> None:
    url = str(release.dml.base_url)
    other = key_id_of(Ed25519PrivateKey.generate().public_key())
    pinned_elsewhere = Library(url, release.token, release.work, pinned_key_id=other)
    with pytest.raises(LibraryRefused, match="not the pinned"):
        await pinned_elsewhere.fetch(release.release_id, release.signed)
    assert release.leftovers() == []
    pinned = Library(url, release.token, release.work, pinned_key_id=release.signed.key_id)
    artifacts = await pinned.fetch(release.release_id, release.signed)
    assert {name: path.read_bytes() for name, path in artifacts.media.items()} == MEDIA


async def test_a_tampered_blob_is_refused(release: Available) -> None:
    blob = release.blob("payments-api.tar.gz")
    blob.chmod(0o644)
    content = bytearray(blob.read_bytes())
    content[len(content) // 2] ^= 0x01
    blob.write_bytes(bytes(content))
    # The DML cuts the transfer short on its own check; were it not to, the digest would
    # not match here.
    with pytest.raises(LibraryRefused, match=r"payments-api\.tar\.gz.*(broke off|hash to)"):
        await release.library.fetch(release.release_id, release.signed)
    assert release.leftovers() == []


async def test_an_altered_manifest_is_refused(release: Available) -> None:
    size = len(MEDIA["payments-config.json"])
    altered = release.signed.manifest.replace(f'"size":{size}', f'"size":{size + 1}')
    assert altered != release.signed.manifest
    forged = SignedManifest(altered, release.signed.signature, release.signed.key_id)
    with pytest.raises(LibraryRefused, match="signature does not verify"):
        await release.library.fetch(release.release_id, forged)
    assert release.leftovers() == []


async def test_a_manifest_signed_with_another_key_is_refused(release: Available) -> None:
    other = Ed25519PrivateKey.generate()
    signature = base64.b64encode(other.sign(release.signed.manifest.encode())).decode()
    text = release.signed.manifest
    with pytest.raises(LibraryRefused, match="signed with key"):
        await release.library.fetch(
            release.release_id, SignedManifest(text, signature, key_id_of(other.public_key()))
        )
    with pytest.raises(LibraryRefused, match="signature does not verify"):
        await release.library.fetch(
            release.release_id, SignedManifest(text, signature, release.signed.key_id)
        )
    assert release.leftovers() == []


async def test_revoked_media_are_refused(release: Available) -> None:
    path = f"/media/payments-config.json/{VERSION}"
    etag = (await release.dml.get(path)).headers["ETag"]
    revoked = await release.dml.post(
        f"{path}/revoke", json={"reason": "CVE-2026-1234"}, headers={"If-Match": etag}
    )
    assert revoked.status_code == 200, revoked.text
    with pytest.raises(LibraryRefused, match="answered 409"):
        await release.library.fetch(release.release_id, release.signed)
    assert release.leftovers() == []
