"""The DML's signed manifest: the contract between dml-svc, which signs the package of a
release it makes available, and deploy-svc (or anyone), which verifies it before installing
a byte.

- What is signed: the manifest's canonical JSON text (`canonical`), exactly; its UTF-8
  bytes, with Ed25519. The text travels as signed, so a verifier never re-serialises it.
- The key id: as every Ferry signing key's, the hex SHA-256 of the raw public key
  (`ferry.eventsigning.key_id`); the DML serves its key and id at `GET /library/signing-key`.
- Verification (`verify`): the key is the one it claims to be, the manifest names that key,
  the signature holds over the text, the text is a manifest naming its media as the DML
  does, and it is the release's the caller asked for.

Pure: keys come in as values; fetching them is the caller's I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from ferry.events.dml import ManifestItem
from ferry.eventsigning import key_id as key_id

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
"""What the DML allows as a media name or version: safe as a file name, never `..`."""
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestRefused(ValueError):
    """The manifest cannot be trusted: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedManifest:
    """A manifest exactly as signed, its signature (base64) and the signing key's id: what
    the DML's `ReleaseAvailable` carries."""

    manifest: str
    signature: str
    key_id: str


class Manifest(BaseModel):
    """A release's manifest, as `canonical` writes it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    release_id: UUID
    version: str
    media: list[ManifestItem]
    time: AwareDatetime


def canonical(
    release_id: UUID, release_version: str, media: Sequence[ManifestItem], at: datetime
) -> str:
    """Canonical JSON (sorted keys, no spaces, media in name order): the exact text signed."""
    body = {
        "release_id": str(release_id),
        "version": release_version,
        "media": [m.model_dump() for m in sorted(media, key=lambda m: (m.name, m.version))],
        "time": at.isoformat(),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(key: Ed25519PrivateKey, text: str) -> SignedManifest:
    """`text` (a `canonical` manifest) signed with `key`."""
    signature = base64.b64encode(key.sign(text.encode())).decode()
    return SignedManifest(text, signature, key_id(key.public_key()))


def public_key_pem(key: Ed25519PublicKey) -> str:
    """The key as the DML serves it (PEM, SubjectPublicKeyInfo)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def parse(text: str) -> Manifest:
    """The manifest's contents, checked for what a file name and digest may be."""
    try:
        manifest = Manifest.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise ManifestRefused(f"the manifest is not one the DML writes: {exc}") from exc
    names = [item.name for item in manifest.media]
    if len(set(names)) != len(names):
        raise ManifestRefused("the manifest names one media item twice")
    for item in manifest.media:
        if not (LABEL.match(item.name) and LABEL.match(item.version)):
            raise ManifestRefused(f"the manifest names media {item.name!r}@{item.version!r}")
        if not SHA256.match(item.sha256) or item.size < 0:
            raise ManifestRefused(f"{item.name}@{item.version}: no valid sha256 and size")
    return manifest


def verify(
    signed: SignedManifest, public_key_pem: str, key_id_claimed: str, release_id: UUID
) -> Manifest:
    """The manifest, if the key `public_key_pem` (whose id the DML says is `key_id_claimed`)
    signed exactly this text, for this release."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except ValueError as exc:
        raise ManifestRefused(f"the DML's signing key is unreadable: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ManifestRefused("the DML's signing key is not an Ed25519 key")
    if key_id(key) != key_id_claimed:
        raise ManifestRefused(
            f"the DML's signing key is not the key {key_id_claimed} it claims to be"
        )
    if signed.key_id != key_id_claimed:
        raise ManifestRefused(
            f"the manifest was signed with key {signed.key_id or '(none)'}, "
            f"not the DML's key {key_id_claimed}"
        )
    try:
        key.verify(base64.b64decode(signed.signature, validate=True), signed.manifest.encode())
    except (binascii.Error, InvalidSignature) as exc:
        raise ManifestRefused("the manifest's signature does not verify") from exc
    manifest = parse(signed.manifest)
    if manifest.release_id != release_id:
        raise ManifestRefused(
            f"the manifest is release {manifest.release_id}'s, not {release_id}'s"
        )
    return manifest
