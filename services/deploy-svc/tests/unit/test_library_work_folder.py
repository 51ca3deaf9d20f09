"""The library's fetch against a stand-in DML (an httpx transport): what lands in the work
folder, what is refused, and that a refusal leaves nothing behind."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deploy_svc.adapters.library import Library, LibraryRefused
from deploy_svc.domain.facts import ReleaseFacts
from ferry.events.dml import ManifestItem
from ferry.manifest import SignedManifest, canonical
from ferry.manifest import key_id as key_id_of

APP = b"payments service, build 2026.12.0\n" * 100
DOCS = b"release notes\n"


class StandInDml:
    """Serves a signing key and media bytes, and notes who asked for what."""

    def __init__(self, media: dict[str, bytes]) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.key_id = key_id_of(self.key.public_key())
        self.media = dict(media)
        self.status = 200
        self.downloads: list[str] = []
        self.tokens: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.tokens.append(request.headers.get("Authorization", ""))
        if request.url.path == "/library/signing-key":
            pem = self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return httpx.Response(200, json={"key_id": self.key_id, "public_key_pem": pem.decode()})
        name = request.url.path.split("/")[2]
        self.downloads.append(name)
        if self.status != 200:
            problem = {"title": "Conflict", "status": self.status, "detail": f"{name} is revoked"}
            headers = {"Content-Type": "application/problem+json"}
            return httpx.Response(self.status, json=problem, headers=headers)
        return httpx.Response(200, content=self.media[name])

    def signed(self, release_id: UUID, expected: dict[str, bytes]) -> SignedManifest:
        items = [
            ManifestItem(name=n, version="1.0", sha256=hashlib.sha256(b).hexdigest(), size=len(b))
            for n, b in expected.items()
        ]
        text = canonical(release_id, "2026.12.0", items, datetime(2026, 12, 1, tzinfo=UTC))
        signature = base64.b64encode(self.key.sign(text.encode())).decode()
        return SignedManifest(text, signature, self.key_id)


MEDIA = {"app.tar.gz": APP, "notes.txt": DOCS}


@pytest.fixture
def dml() -> StandInDml:
    return StandInDml(MEDIA)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("first-token\n")
    return path


def library(dml: StandInDml, token_file: Path | None, work: Path) -> Library:
    return Library("http://dml", token_file, work, transport=httpx.MockTransport(dml.handle))


def leftovers(work: Path) -> list[Path]:
    return [p for p in work.rglob("*") if p.is_file()]


async def test_media_arrive_verified_and_a_verified_folder_is_reused(
    dml: StandInDml, token_file: Path, tmp_path: Path
) -> None:
    release_id, work = uuid4(), tmp_path / "work"
    signed = dml.signed(release_id, MEDIA)
    fetched = await library(dml, token_file, work).fetch(release_id, signed, key="d-1")
    assert fetched.release_id == release_id
    assert fetched.version == "2026.12.0"
    assert {name: path.read_bytes() for name, path in fetched.media.items()} == MEDIA
    assert set(dml.tokens) == {"Bearer first-token"}

    token_file.write_text("rotated-token")  # rotation needs no restart
    again = await library(dml, token_file, work).fetch(release_id, signed, key="d-1")
    assert again == fetched
    assert sorted(dml.downloads) == ["app.tar.gz", "notes.txt"]  # nothing fetched twice
    assert dml.tokens[-1] == "Bearer rotated-token"


async def test_a_folder_changed_since_it_was_verified_is_fetched_again(
    dml: StandInDml, token_file: Path, tmp_path: Path
) -> None:
    release_id, work = uuid4(), tmp_path / "work"
    signed = dml.signed(release_id, MEDIA)
    fetched = await library(dml, token_file, work).fetch(release_id, signed)
    fetched.media["app.tar.gz"].write_bytes(b"changed by hand")
    again = await library(dml, token_file, work).fetch(release_id, signed)
    assert again.media["app.tar.gz"].read_bytes() == APP
    assert dml.downloads.count("app.tar.gz") == 2


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (APP[:-1], "bytes arrived"),
        (APP + b"!", "more than the manifest's"),
        (APP.replace(b"2026", b"2027"), "hash to"),
    ],
    ids=["short", "long", "altered"],
)
async def test_bytes_other_than_the_manifests_are_refused_and_leave_nothing(
    token_file: Path, tmp_path: Path, served: bytes, reason: str
) -> None:
    dml, release_id, work = StandInDml({**MEDIA, "app.tar.gz": served}), uuid4(), tmp_path / "w"
    with pytest.raises(LibraryRefused, match=reason):
        await library(dml, token_file, work).fetch(release_id, dml.signed(release_id, MEDIA))
    assert leftovers(work) == []


async def test_the_dmls_refusal_is_passed_on(
    dml: StandInDml, token_file: Path, tmp_path: Path
) -> None:
    dml.status, release_id = 409, uuid4()
    with pytest.raises(LibraryRefused, match=r"answered 409: app.tar.gz is revoked"):
        await library(dml, token_file, tmp_path).fetch(release_id, dml.signed(release_id, MEDIA))
    assert leftovers(tmp_path) == [token_file]


async def test_without_a_service_identity_nothing_is_asked(dml: StandInDml, tmp_path: Path) -> None:
    release_id = uuid4()
    with pytest.raises(LibraryRefused, match="FERRY_DEPLOY_DML_TOKEN_FILE"):
        await library(dml, None, tmp_path).fetch(release_id, dml.signed(release_id, MEDIA))
    with pytest.raises(LibraryRefused, match="service token"):
        await library(dml, tmp_path / "absent", tmp_path).fetch(
            release_id, dml.signed(release_id, MEDIA)
        )
    assert dml.tokens == []


async def test_a_revoked_or_unavailable_release_is_refused_before_asking(
    dml: StandInDml, token_file: Path, tmp_path: Path
) -> None:
    release_id = uuid4()
    facts = ReleaseFacts(release_id, "REL-2026-0001", "2026.12.0")
    with pytest.raises(LibraryRefused, match="not available"):
        await library(dml, token_file, tmp_path).fetch_release(facts, None)
    revoked = ReleaseFacts(
        release_id,
        "REL-2026-0001",
        "2026.12.0",
        available=dml.signed(release_id, MEDIA),
        revoked=True,
    )
    with pytest.raises(LibraryRefused, match="revoked"):
        await library(dml, token_file, tmp_path).fetch_release(revoked, None)
    assert dml.tokens == []
