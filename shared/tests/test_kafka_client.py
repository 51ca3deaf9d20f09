"""The TLS context Kafka's clients get: loaded once per version of its files, and afresh
once a file is replaced (a rotated Secret), without a restart."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ferry.kafka_client import KafkaSettings


def ca_pem(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def trusted(settings: KafkaSettings) -> list[str]:
    context = settings.kafka_options()["ssl_context"]
    return [dict(n[0] for n in c["subject"])["commonName"] for c in context.get_ca_certs()]


def test_the_context_is_loaded_once_and_again_when_its_ca_file_is_replaced(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(ca_pem("first CA"))
    settings = KafkaSettings(kafka_security_protocol="SSL", kafka_ca_file=ca)

    first = settings.kafka_options()["ssl_context"]
    assert settings.kafka_options()["ssl_context"] is first
    assert trusted(settings) == ["first CA"]

    # As a Secret volume rotates: a new file renamed over the old name.
    replacement = tmp_path / "ca.crt.new"
    replacement.write_bytes(ca_pem("second CA"))
    os.replace(replacement, ca)
    assert settings.kafka_options()["ssl_context"] is not first
    assert trusted(settings) == ["second CA"]
