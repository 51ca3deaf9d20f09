"""A development certificate authority for the local Kafka broker: made on first use in the
state folder, it signs the broker's certificate and client certificates for mutual TLS.

For local runs and tests only; production brokers have their own CA (Strimzi's, a cloud's).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FOR = datetime.timedelta(days=825)


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate and its key, each a PEM file, for a client named by the CN."""

    cert_file: Path
    key_file: Path


class DevCA:
    """The CA in `folder` (`ca.crt`, `ca.key`), made on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cert_file = folder / "ca.crt"
        key_file = folder / "ca.key"
        if key_file.exists() and self.cert_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_file} is not an EC private key")
            self._key = key
            self._cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
            return
        folder.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ferry-local-ca")])
        self._cert = (
            _builder(name, name, self._key.public_key(), datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        _write_secret(key_file, _pem_key(self._key))
        self.cert_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def broker_keystore(self, name: str = "ferry-broker") -> Path:
        """`<name>.pem`: the broker's key and certificate for 127.0.0.1 and localhost, in the
        one PEM file Kafka reads as a keystore; the broker also presents it as a client to
        its own controller listener, so it is good for both."""
        path = self.folder / f"{name}.pem"
        if not path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            cert = (
                self._issue(name, key)
                .add_extension(
                    x509.SubjectAlternativeName(
                        [
                            x509.DNSName("localhost"),
                            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        ]
                    ),
                    critical=False,
                )
                .add_extension(
                    x509.ExtendedKeyUsage(
                        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                    ),
                    critical=False,
                )
                .sign(self._key, hashes.SHA256())
            )
            _write_secret(path, _pem_key(key) + cert.public_bytes(serialization.Encoding.PEM))
        return path

    def client(self, name: str) -> ClientCertificate:
        """A client certificate with CN `name` (the principal `User:<name>`), made once."""
        made = ClientCertificate(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        if not (made.cert_file.exists() and made.key_file.exists()):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = (
                self._issue(name, key)
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
                )
                .sign(self._key, hashes.SHA256())
            )
            _write_secret(made.key_file, _pem_key(key))
            made.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return made

    def _issue(self, name: str, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return (
            _builder(subject, self._cert.subject, key.public_key(), VALID_FOR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
        )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    valid_for: datetime.timedelta,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + valid_for)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#8 unencrypted: the only private key form Kafka's PEM keystore reads.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
