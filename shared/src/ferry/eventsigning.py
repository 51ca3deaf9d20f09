"""Signed events: each service signs the events it publishes, and a consumer acts on one
(a decision, or a fact its rules read) only if the service owning its type signed it.

Kafka proves nothing about who wrote a record: anything that reaches the broker could
publish a `ReleaseApproved`. So a service signs each event it appends (Ed25519, over the
event's chain `hash`, which covers every other attribute) and the envelope carries the
signature in two CloudEvents extension attributes, outside what is hashed: `signature`
(base64) and `signingkey` (the key id: hex SHA-256 of the raw public key, as for the DML's
manifest key). A service with no key configured signs nothing: its events are unsigned,
and no consumer acts on any of them.

Consumers trust keys per service (`FERRY_EVENT_TRUSTED_KEYS`), several at once so a key
can be rotated: the new one is trusted beside the old before the service signs with it,
and the old one stays trusted as long as events it signed are to be read again.

An outside change tool's decisions (`CHANGE_TOOL_DECISIONS` on `change.events`) carry no
chain hash, so they are signed differently: HMAC-SHA256, with a secret shared with that
tool (`FERRY_CHANGE_TOOL_KEYS`, by the CloudEvents `source` and a key id), over
`change_tool_message` (see docs/schemas/change.events.schema.json); `signature` is the
base64 MAC and `signingkey` the key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ferry.audit.chain import canonical_of, digest
from ferry.envelope import Envelope

_OWNED: Mapping[str, tuple[str, ...]] = {
    "release-svc": (
        # Decisions.
        "ReleaseValidated",
        "ReleaseApproved",
        "ReleasePackageBuilt",
        "ApprovalGiven",
        "TeamDefined",
        # Facts other services' rules read: which team a release is for, what it changes,
        # when it may be deployed, what must be ready, how to back it out, the freezes.
        "ReleasePlanned",
        "ReleaseRescheduled",
        "ReleaseCancelled",
        "ReleaseScopeSet",
        "ReleaseDependenciesSet",
        "DeploymentWindowsSet",
        "BackoutPlanSet",
        "ReadinessConfirmed",
        "CommunicationDue",
        "FreezePeriodDeclared",
        "FreezePeriodLifted",
    ),
    "dml-svc": (
        "ReleaseAvailable",
        "ReleaseRevoked",
        "MediaStaged",
        "MediaRevoked",
        "LibraryEntryOpened",
    ),
    "deploy-svc": (
        "DeploymentCompleted",
        "DeploymentFailed",
        "DeploymentRolledBack",
        "RollbackStarted",
        "DeploymentPausedOutsideWindow",
        "BackoutStepAwaitingConfirmation",
        "DeploymentAborted",
        "DeploymentStarted",
        "EnvironmentDefined",
        "UnauthorisedChangeDetected",
    ),
    "els-svc": (
        "ElsExited",
        "ElsEscalated",
        "ElsStarted",
        "ElsIncidentLinked",
        "ElsFeedbackGiven",
        "ElsObservationRecorded",
    ),
}

OWNERS: Mapping[str, str] = {kind: owner for owner, kinds in _OWNED.items() for kind in kinds}
"""Every event type a service acts on from another service's topic (or from its own, read
back), and the only service that may publish it: the decisions, and the facts a consumer's
rules read, since a forged fact (a freeze lifted, a window moved, readiness confirmed) gets
around a rule as surely as a forged decision. `tests/security/test_signed_facts.py` keeps
this list complete. No consumer acts on other types, but for the inbound topics' (an
outside change tool's decisions, MACed; `ops.signals`, from monitoring, unsigned)."""

CHANGE_TOOL_DECISIONS = frozenset({"ChangeApproved", "ChangeRejected"})
"""Decisions of an outside change tool: each counts only if MACed with a key of its `source`."""


def change_tool_message(envelope: Envelope) -> bytes:
    """What a change tool MACs: the canonical JSON (keys sorted at every depth, no
    whitespace, UTF-8) of `{"data", "id", "source", "subject", "type"}` as sent, the id in
    lowercase hyphenated form. The id makes a copy a duplicate, so `time` need not be in it."""
    return canonical_of(
        {
            "data": envelope.data,
            "id": str(envelope.id),
            "source": envelope.source,
            "subject": envelope.subject,
            "type": envelope.type,
        }
    )


def change_tool_signature(secret: bytes, envelope: Envelope) -> str:
    """The base64 HMAC-SHA256 of `envelope`'s `change_tool_message` with `secret`."""
    mac = hmac.new(secret, change_tool_message(envelope), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The key's id: hex SHA-256 of its raw public key."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()


def generate_pem() -> bytes:
    """A new Ed25519 private key, PEM (PKCS#8), for a service to sign with."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class EventSigner:
    """A service's signing key: signs the hash of each event it appends."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.key_id = key_id(key.public_key())
        self.public_key = base64.b64encode(raw_public_key(key.public_key())).decode()
        """The raw public key, base64: what consumers list in `FERRY_EVENT_TRUSTED_KEYS`."""

    def sign(self, hash_: str) -> str:
        """The base64 signature of an event whose `hash` is `hash_`."""
        return base64.b64encode(self._key.sign(hash_.encode())).decode()

    def signed(self, envelope: Envelope) -> Envelope:
        """`envelope` (carrying its hash) with this key's signature."""
        if envelope.hash is None:
            raise ValueError("only an event carrying its hash can be signed")
        return envelope.model_copy(
            update={"signature": self.sign(envelope.hash), "signingkey": self.key_id}
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> EventSigner:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(key)

    @classmethod
    def from_file(cls, path: Path) -> EventSigner:
        try:
            return cls.from_pem(path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


def development_keys(folder: Path, services: Iterable[str]) -> dict[str, EventSigner]:
    """A key per service in `folder` (`<service>.pem`), each made on first use; for a local
    stack, never for production, where keys come from the operator's Secrets."""
    folder.mkdir(parents=True, exist_ok=True)
    signers = {}
    for service in services:
        path = folder / f"{service}.pem"
        if not path.exists():
            path.touch(mode=0o600)  # private before the key is in it
            path.write_bytes(generate_pem())
        signers[service] = EventSigner.from_file(path)
    return signers


class TrustedKeys:
    """The public keys each service signs with, by key id; several per service at once."""

    def __init__(
        self,
        keys: Mapping[str, Iterable[Ed25519PublicKey]],
        change_tools: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> None:
        self._keys = {
            service: {key_id(key): key for key in service_keys}
            for service, service_keys in keys.items()
        }
        self._change_tools = {tool: dict(keys) for tool, keys in (change_tools or {}).items()}
        """Each change tool's HMAC secrets, by key id: `{source: {key id: secret}}`."""

    @classmethod
    def from_setting(
        cls,
        setting: Mapping[str, Iterable[str]],
        change_tools: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> TrustedKeys:
        """From `{"release-svc": ["<base64 raw public key>", ...], ...}`."""
        keys: dict[str, list[Ed25519PublicKey]] = {}
        for service, encoded in setting.items():
            keys[service] = []
            for text in encoded:
                try:
                    keys[service].append(Ed25519PublicKey.from_public_bytes(b64decode(text)))
                except ValueError as exc:
                    raise ValueError(f"{service}: not a base64 raw Ed25519 key: {text}") from exc
        return cls(keys, change_tools)

    def refusal(self, envelope: Envelope) -> str | None:
        """Why a consumer must not act on `envelope`, or None: an event of a type `OWNERS`
        lists must carry a valid signature by a trusted key of its owner, a change tool's
        decision one by the tool that sent it."""
        if envelope.type in CHANGE_TOOL_DECISIONS:
            return self._change_tool_refusal(envelope)
        owner = OWNERS.get(envelope.type)
        if owner is None:
            return None
        if envelope.signature is None or envelope.signingkey is None:
            return f"unsigned: a {envelope.type} must be signed by {owner}"
        key = self._keys.get(owner, {}).get(envelope.signingkey)
        if key is None:
            return f"signed by key {envelope.signingkey[:16]}, not one {owner} is trusted with"
        # The signature covers the hash; the hash must also be the content's, or a valid
        # signature could be carried over onto other content.
        if envelope.hash is None or digest(envelope) != envelope.hash:
            return "its hash does not match its content"
        try:
            key.verify(b64decode(envelope.signature), envelope.hash.encode())
        except (InvalidSignature, ValueError):
            return f"its signature does not verify with {owner}'s key {envelope.signingkey[:16]}"
        return None

    def _change_tool_refusal(self, envelope: Envelope) -> str | None:
        tool = envelope.source
        if envelope.signature is None or envelope.signingkey is None:
            return f"unsigned: a {envelope.type} must be signed by its change tool ({tool})"
        secret = self._change_tools.get(tool, {}).get(envelope.signingkey)
        if secret is None:
            return f"signed by key {envelope.signingkey[:16]}, not one {tool} is trusted with"
        expected = change_tool_signature(secret, envelope)
        if not hmac.compare_digest(expected.encode(), envelope.signature.encode()):
            return f"its signature does not verify with {tool}'s key {envelope.signingkey[:16]}"
        return None


def b64decode(text: str) -> bytes:
    """Strict base64: a malformed value is a ValueError, not silently truncated."""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc
