"""The signed-manifest contract (`ferry.manifest`): the exact text dml-svc signs, its key id,
and what deploy-svc accepts."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ferry import manifest
from ferry.events.dml import ManifestItem
from ferry.manifest import ManifestRefused, SignedManifest

SHA = "ab" * 32
APP = ManifestItem(name="payments-api.tar.gz", version="2026.12.0", sha256=SHA, size=34000)
DOC = ManifestItem(name="notes.pdf", version="1", sha256="cd" * 32, size=7)
RELEASE = UUID("8f7c1e5a-2b9d-4c3e-9a1f-0e6d5b4a3c21")
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def text(release_id: UUID = RELEASE, *items: ManifestItem) -> str:
    return manifest.canonical(release_id, "2026.12.0", items or (APP,), AT)


def pem(key: Ed25519PrivateKey) -> str:
    return manifest.public_key_pem(key.public_key())


def test_the_canonical_text_is_exactly_what_verifiers_have_always_been_given() -> None:
    # A change to this text breaks every manifest already signed and stored in events.
    assert text(RELEASE, APP, DOC) == (
        '{"media":[{"name":"notes.pdf","sha256":"' + "cd" * 32 + '","size":7,"version":"1"},'
        '{"name":"payments-api.tar.gz","sha256":"' + SHA + '","size":34000,'
        '"version":"2026.12.0"}],"release_id":"8f7c1e5a-2b9d-4c3e-9a1f-0e6d5b4a3c21",'
        '"time":"2026-12-01T09:30:00+00:00","version":"2026.12.0"}'
    )
    assert text(RELEASE, DOC, APP) == text(RELEASE, APP, DOC)  # media in name order


def test_the_key_id_is_the_sha256_of_the_raw_public_key() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert manifest.key_id(key.public_key()) == hashlib.sha256(raw).hexdigest()
    assert manifest.sign(key, text()).key_id == hashlib.sha256(raw).hexdigest()


def test_what_is_signed_verifies_with_the_signers_key() -> None:
    key = Ed25519PrivateKey.generate()
    signed = manifest.sign(key, text())
    assert signed.manifest == text()
    found = manifest.verify(signed, pem(key), signed.key_id, RELEASE)
    assert (found.release_id, found.version, found.media, found.time) == (
        RELEASE,
        "2026.12.0",
        [APP],
        AT,
    )


def test_an_altered_text_another_key_or_another_release_is_refused() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signed = manifest.sign(key, text())
    altered = SignedManifest(
        signed.manifest.replace(SHA, "ef" * 32), signed.signature, signed.key_id
    )
    with pytest.raises(ManifestRefused, match="does not verify"):
        manifest.verify(altered, pem(key), signed.key_id, RELEASE)
    by_other = manifest.sign(other, text())
    with pytest.raises(ManifestRefused, match="signed with key"):
        manifest.verify(by_other, pem(key), signed.key_id, RELEASE)
    # Another key's signature under the library's key id is still the other key's.
    forged = SignedManifest(text(), by_other.signature, signed.key_id)
    with pytest.raises(ManifestRefused, match="does not verify"):
        manifest.verify(forged, pem(key), signed.key_id, RELEASE)
    with pytest.raises(ManifestRefused, match="not the key"):
        manifest.verify(signed, pem(other), signed.key_id, RELEASE)
    with pytest.raises(ManifestRefused, match=r"is release .*'s, not"):
        manifest.verify(signed, pem(key), signed.key_id, uuid4())
    with pytest.raises(ManifestRefused, match="signature"):
        manifest.verify(
            SignedManifest(text(), "not base64!", signed.key_id), pem(key), signed.key_id, RELEASE
        )
    with pytest.raises(ManifestRefused, match="unreadable"):
        manifest.verify(signed, "not a key", signed.key_id, RELEASE)


def item(**fields: object) -> dict[str, object]:
    return {"name": "app", "version": "1", "sha256": SHA, "size": 1} | fields


WRONG = {
    "a name that climbs out of its folder": [item(name="..")],
    "a name with a slash": [item(name="bin/app")],
    "a version that is empty": [item(version="")],
    "an upper-case digest": [item(sha256=SHA.upper())],
    "a negative size": [item(size=-5)],
    "one name twice": [item(), item(version="2")],
}


@pytest.mark.parametrize("media", WRONG.values(), ids=WRONG.keys())
def test_a_signed_text_must_still_name_media_as_the_dml_does(media: list[object]) -> None:
    key = Ed25519PrivateKey.generate()
    body = {"release_id": str(RELEASE), "version": "1", "media": media, "time": AT.isoformat()}
    signed = manifest.sign(key, json.dumps(body))
    with pytest.raises(ManifestRefused):
        manifest.verify(signed, pem(key), signed.key_id, RELEASE)


@pytest.mark.parametrize("body", ["", "[]", '{"release_id": "x"}', text().replace("+00:00", "")])
def test_what_is_not_a_manifest_is_refused(body: str) -> None:
    with pytest.raises(ManifestRefused, match="not one the DML writes"):
        manifest.parse(body)
