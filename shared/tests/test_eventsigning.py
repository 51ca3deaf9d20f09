"""Signed decisions: who owns which decision, signing at sealing, and what a consumer refuses."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from ferry.__main__ import main
from ferry.audit.chain import digest, intact
from ferry.envelope import Envelope, Meta
from ferry.events import REGISTRY
from ferry.events.asyncapi import PUBLISHERS, published
from ferry.events.release import Level, ReleaseApproved, RiskAssessed
from ferry.eventsigning import OWNERS, EventSigner, TrustedKeys, generate_pem
from ferry.eventstore import seal
from ferry.settings import ServiceSettings
from ferry.testing import envelope_for, release_planned

RELEASE = EventSigner.from_pem(generate_pem())
DML = EventSigner.from_pem(generate_pem())


def approved() -> ReleaseApproved:
    return ReleaseApproved(
        release_id=uuid.uuid4(), rfc="RFC-1", approvers=["carl"], package_revision=1, media=[]
    )


def signed_approval(signer: EventSigner | None = RELEASE) -> Envelope:
    return envelope_for(approved(), source="release-svc", signer=signer)


def trusting(**keys: list[EventSigner]) -> TrustedKeys:
    setting = {
        name.replace("_", "-"): [s.public_key for s in signers] for name, signers in keys.items()
    }
    return TrustedKeys.from_setting(setting)


def refusal(trusted: TrustedKeys, envelope: Envelope) -> str:
    reason = trusted.refusal(envelope)
    assert reason is not None, "accepted"
    return reason


def test_each_decision_is_owned_by_the_service_publishing_its_type() -> None:
    publisher_of = {
        model.model_fields["type"].default: service
        for topic, (service, _) in PUBLISHERS.items()
        for model in published(topic)
        if model.model_fields["type"].default != "ForeignEventRejected"
    }
    assert all(event_type in REGISTRY for event_type in OWNERS)
    assert {t: publisher_of[t] for t in OWNERS} == dict(OWNERS)
    assert OWNERS["ReleaseApproved"] == "release-svc"
    assert OWNERS["ReleaseAvailable"] == "dml-svc"
    assert OWNERS["DeploymentCompleted"] == "deploy-svc"
    assert OWNERS["ElsExited"] == "els-svc"


def test_sealing_signs_the_hash_and_the_signature_is_not_hashed() -> None:
    [unsigned] = seal("release-svc", "release-x", 0, [approved()], Meta("carl", "c"))
    envelope = signed_approval()

    assert envelope.signingkey == RELEASE.key_id
    assert envelope.signature is not None
    assert intact(envelope)
    assert intact(unsigned)
    # The chain does not see the signature: the same content hashes the same signed or not.
    assert digest(envelope) == digest(envelope.model_copy(update={"signature": None}))
    assert unsigned.signature is None
    assert unsigned.signingkey is None


def test_a_signature_travels_on_kafka() -> None:
    envelope = signed_approval()

    again = Envelope.from_json(envelope.to_json())

    assert (again.signature, again.signingkey) == (envelope.signature, envelope.signingkey)
    assert trusting(release_svc=[RELEASE]).refusal(again) is None


def test_a_decision_signed_by_its_owner_is_accepted() -> None:
    assert trusting(release_svc=[RELEASE]).refusal(signed_approval()) is None


def test_an_unsigned_decision_is_refused() -> None:
    reason = refusal(trusting(release_svc=[RELEASE]), signed_approval(signer=None))
    assert reason.startswith("unsigned")


def test_a_decision_signed_by_another_services_key_is_refused() -> None:
    # The DML's key is trusted, but for the DML's decisions, not the release's.
    reason = refusal(trusting(release_svc=[RELEASE], dml_svc=[DML]), signed_approval(DML))
    assert "not one release-svc is trusted with" in reason


def test_a_decision_signed_by_an_unknown_key_is_refused() -> None:
    forger = EventSigner.from_pem(generate_pem())
    reason = refusal(trusting(release_svc=[RELEASE]), signed_approval(forger))
    assert "not one release-svc is trusted with" in reason


def test_a_signed_decision_altered_afterwards_is_refused() -> None:
    envelope = signed_approval()
    data = envelope.data | {"approvers": ["mallory"]}

    altered = envelope.model_copy(update={"data": data})
    rehashed = altered.model_copy(update={"hash": digest(altered)})

    trusted = trusting(release_svc=[RELEASE])
    assert refusal(trusted, altered) == "its hash does not match its content"
    assert "does not verify" in refusal(trusted, rehashed)


def test_a_malformed_signature_is_refused() -> None:
    envelope = signed_approval().model_copy(update={"signature": "not base64!"})
    assert "does not verify" in refusal(trusting(release_svc=[RELEASE]), envelope)


def test_a_rotated_key_keeps_the_old_ones_events_accepted() -> None:
    new = EventSigner.from_pem(generate_pem())
    trusted = trusting(release_svc=[RELEASE, new])

    assert trusted.refusal(signed_approval(RELEASE)) is None
    assert trusted.refusal(signed_approval(new)) is None


def test_facts_another_service_acts_on_need_a_signature_as_decisions_do() -> None:
    planned = release_planned()
    assert "unsigned" in (TrustedKeys({}).refusal(envelope_for(planned)) or "")
    signed = envelope_for(planned, source="release-svc", signer=RELEASE)
    assert TrustedKeys.from_setting({"release-svc": [RELEASE.public_key]}).refusal(signed) is None


def test_events_no_consumer_acts_on_need_no_signature() -> None:
    risk = RiskAssessed(
        release_id=uuid.uuid4(),
        likelihood=Level.LOW,
        impact=Level.LOW,
        risk_level=Level.LOW,
        affected_services=[],
        mitigations=[],
    )
    assert TrustedKeys({}).refusal(envelope_for(risk)) is None


def test_a_trusted_key_must_be_a_raw_ed25519_key() -> None:
    with pytest.raises(ValueError, match="release-svc"):
        TrustedKeys.from_setting({"release-svc": [base64.b64encode(b"short").decode()]})
    with pytest.raises(ValueError, match="release-svc"):
        TrustedKeys.from_setting({"release-svc": ["%%%"]})


def test_the_key_id_is_the_sha256_of_the_raw_public_key() -> None:
    import hashlib

    raw = base64.b64decode(RELEASE.public_key)
    assert len(raw) == 32
    assert RELEASE.key_id == hashlib.sha256(raw).hexdigest()


def test_ferry_event_keys_makes_a_key_per_service_once_and_prints_the_trust(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["event-keys", "--state-dir", str(tmp_path)])
    first = json.loads(capsys.readouterr().out)
    main(["event-keys", "--state-dir", str(tmp_path)])
    again = json.loads(capsys.readouterr().out)

    assert first == again
    assert set(first) == {"release-svc", "dml-svc", "deploy-svc", "els-svc"}
    for service, [public_key] in first.items():
        key_file = tmp_path / "event-keys" / f"{service}.pem"
        assert key_file.stat().st_mode & 0o077 == 0
        assert EventSigner.from_file(key_file).public_key == public_key
    # What it prints is what the services read as FERRY_EVENT_TRUSTED_KEYS, and the file it
    # writes their FERRY_EVENT_TRUSTED_KEYS_FILE.
    TrustedKeys.from_setting(first)
    from_file = ServiceSettings(
        port=1, db_schema="x", event_trusted_keys_file=tmp_path / "event-keys" / "trusted.json"
    )
    assert from_file.trusted_event_keys() == first
