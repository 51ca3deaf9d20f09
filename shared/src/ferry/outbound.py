"""The HTTP clients a service makes to call out: an issuer's keys, webhooks, the DML, chat.

httpx loads the CA bundle for every client it makes (some 40 ms of CPU), and the services
make one per call (a webhook, a key refresh); here the CAs are loaded once per process and
shared. They are read at the first call, honouring `SSL_CERT_FILE`/`SSL_CERT_DIR` as httpx
does; a changed bundle is read after a restart.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def _verified() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def client(**options: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` with `options`, checking servers against the shared CAs."""
    return httpx.AsyncClient(verify=_verified(), **options)
