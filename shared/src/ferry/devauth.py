"""A development token issuer: an Ed25519 key pair in the local state folder, its public
JWKS for the services to trust, and tokens minted for any subject and roles.

For local runs and tests only. Services trust it only when told to
(`FERRY_AUTH_ISSUER=ferry-dev`, `FERRY_AUTH_JWKS_FILE=<folder>/jwks.json`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ISSUER = "ferry-dev"
AUDIENCE = "ferry"


class DevIssuer:
    """The key pair in `folder` (made on first use) and the tokens it signs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.jwks_file = folder / "jwks.json"
        key_file = folder / "issuer-ed25519.pem"
        if key_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{key_file} is not an Ed25519 private key")
        else:
            key = Ed25519PrivateKey.generate()
            folder.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # Owner-only from the first byte: it signs tokens for any role.
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        self._key = key
        public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.kid = hashlib.sha256(public).hexdigest()[:16]
        if not self.jwks_file.exists():
            self._write_jwks()

    def _write_jwks(self) -> None:
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        jwk |= {"kid": self.kid, "alg": "EdDSA", "use": "sig"}
        self.jwks_file.write_text(json.dumps({"keys": [jwk]}, indent=2))

    def mint(self, subject: str, roles: Iterable[str], *, ttl: int = 3600, **claims: Any) -> str:
        """A signed token for `subject` with `roles`, valid for `ttl` seconds."""
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "roles": sorted(str(role) for role in roles),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def bearer(self, subject: str, *roles: str) -> dict[str, str]:
        """An `Authorization` header for `subject` with `roles`."""
        return {"Authorization": f"Bearer {self.mint(subject, roles)}"}
