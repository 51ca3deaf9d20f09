"""Outbound clients share one TLS context, and it still checks every server."""

from __future__ import annotations

import ssl

from ferry import outbound


def verifying(client: object) -> ssl.SSLContext:
    context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


def test_every_client_checks_certificates_and_host_names_with_one_context() -> None:
    first, second = outbound.client(), outbound.client(timeout=5)
    assert verifying(first) is verifying(second)
    assert verifying(first).verify_mode == ssl.CERT_REQUIRED
    assert verifying(first).check_hostname
    assert verifying(first).get_ca_certs() or verifying(first).cert_store_stats()["x509_ca"]
