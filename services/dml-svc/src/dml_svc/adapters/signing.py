"""The library's Ed25519 signing key: from configuration in production, generated into
the media folder on first use for local development."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ferry import manifest
from ferry.manifest import SignedManifest

log = logging.getLogger(__name__)


class Signer:
    """The library's key, signing manifests as `ferry.manifest` says."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_pem = manifest.public_key_pem(key.public_key())
        self.key_id = manifest.key_id(key.public_key())

    def sign(self, text: str) -> SignedManifest:
        return manifest.sign(self._key, text)

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    @classmethod
    def development(cls, folder: Path) -> Signer:
        """A key kept in `folder`, made on first use; never for production."""
        path = folder / "signing-key.pem"
        if not path.exists():
            log.warning("no FERRY_DML_SIGNING_KEY_FILE: generating a development key at %s", path)
            folder.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            path.touch(mode=0o600)
            path.write_bytes(pem)
        return cls.from_file(path)
