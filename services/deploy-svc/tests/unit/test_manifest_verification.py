"""A DML manifest is trusted only if the library's own key signed exactly its text, for
this release, and it names media as the DML does."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deploy_svc.adapters.library import LibraryRefused, verify
from ferry.events.dml import ManifestItem
from ferry.manifest import SignedManifest, canonical
from ferry.manifest import key_id as key_id_of

SHA = "ab" * 32
ITEM = ManifestItem(name="payments-api.tar.gz", version="2026.12.0", sha256=SHA, size=34000)


class Key:
    """A signing key as the DML serves it: PEM and key id."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        self.id = key_id_of(self.private.public_key())
        self.pem = (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, text: str) -> SignedManifest:
        signature = base64.b64encode(self.private.sign(text.encode())).decode()
        return SignedManifest(text, signature, self.id)


def manifest_text(release_id: UUID, *items: ManifestItem) -> str:
    return canonical(release_id, "2026.12.0", items or (ITEM,), datetime(2026, 12, 1, tzinfo=UTC))


def test_the_dmls_own_manifest_verifies() -> None:
    key, release_id = Key(), uuid4()
    manifest = verify(key.sign(manifest_text(release_id)), key.pem, key.id, release_id)
    assert manifest.release_id == release_id
    assert manifest.version == "2026.12.0"
    assert manifest.media == [ITEM]


def test_an_altered_manifest_is_refused() -> None:
    key, release_id = Key(), uuid4()
    signed = key.sign(manifest_text(release_id))
    altered = SignedManifest(signed.manifest.replace(SHA, "cd" * 32), signed.signature, key.id)
    with pytest.raises(LibraryRefused, match="signature does not verify"):
        verify(altered, key.pem, key.id, release_id)


def test_a_manifest_signed_by_another_key_is_refused() -> None:
    library, other, release_id = Key(), Key(), uuid4()
    text = manifest_text(release_id)
    with pytest.raises(LibraryRefused, match="signed with key"):
        verify(other.sign(text), library.pem, library.id, release_id)
    # Naming the library's key id does not help a signature the key did not make.
    forged = SignedManifest(text, other.sign(text).signature, library.id)
    with pytest.raises(LibraryRefused, match="signature does not verify"):
        verify(forged, library.pem, library.id, release_id)


def test_a_key_that_is_not_the_one_it_claims_is_refused() -> None:
    library, other, release_id = Key(), Key(), uuid4()
    with pytest.raises(LibraryRefused, match="not the key"):
        verify(library.sign(manifest_text(release_id)), other.pem, library.id, release_id)


def test_another_releases_manifest_is_refused() -> None:
    key = Key()
    signed = key.sign(manifest_text(uuid4()))
    with pytest.raises(LibraryRefused, match="not"):
        verify(signed, key.pem, key.id, uuid4())


def test_a_signature_that_is_not_base64_is_refused() -> None:
    key, release_id = Key(), uuid4()
    signed = SignedManifest(manifest_text(release_id), "not base64!", key.id)
    with pytest.raises(LibraryRefused, match="signature"):
        verify(signed, key.pem, key.id, release_id)


@pytest.mark.parametrize(
    "media",
    [
        [{"name": "../etc/passwd", "version": "1", "sha256": SHA, "size": 1}],
        [{"name": "app", "version": "1", "sha256": "not-a-digest", "size": 1}],
        [{"name": "app", "version": "1", "sha256": SHA, "size": -1}],
        [
            {"name": "app", "version": "1", "sha256": SHA, "size": 1},
            {"name": "app", "version": "2", "sha256": SHA, "size": 1},
        ],
    ],
    ids=["path", "digest", "size", "twice"],
)
def test_a_signed_manifest_still_names_media_as_the_dml_does(media: list[object]) -> None:
    key, release_id = Key(), uuid4()
    time = "2026-12-01T00:00:00+00:00"
    text = json.dumps({"release_id": str(release_id), "version": "1", "media": media, "time": time})
    with pytest.raises(LibraryRefused):
        verify(key.sign(text), key.pem, key.id, release_id)
