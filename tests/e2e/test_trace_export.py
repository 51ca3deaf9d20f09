"""With OTEL_EXPORTER_OTLP_ENDPOINT set, a service sends its spans over OTLP/HTTP."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support.infra import Infra
from tests.support.services import eventually, start_service


class Collector(BaseHTTPRequestHandler):
    """Stands in for an OpenTelemetry collector: keeps what is POSTed to it."""

    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Collector.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(120)
async def test_spans_are_exported_to_the_configured_collector(
    infra: Infra, topic_prefix: str, collector: str, tmp_path: Path
) -> None:
    service, base = start_service(
        "release",
        infra,
        topic_prefix,
        tmp_path / "release-svc.log",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector,
    )
    try:
        headers = infra.issuer.bearer("rita", "viewer")
        async with httpx.AsyncClient(base_url=base, headers=headers) as c:

            async def answers() -> bool:
                try:
                    return (await c.get(f"/releases/{uuid.uuid4()}")).status_code == 404
                except httpx.TransportError:
                    return False

            await eventually(answers, timeout=60, what="release-svc")
    finally:
        service.stop()  # a clean exit flushes the batched spans

    paths = {path for path, _ in Collector.received}
    assert paths == {"/v1/traces"}, service.tail()
    assert any(b"GET /releases/{release_ref}" in body for _, body in Collector.received)
