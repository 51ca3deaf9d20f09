"""OpenTelemetry traces across HTTP → outbox → Kafka → consumers.

The W3C `traceparent` of the request travels in each event's envelope (the CloudEvents
distributed-tracing extension), so the relay's publish span and every consumer's span join
the trace of the request that caused them. Spans are exported over OTLP/HTTP when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise tracing stays the API's no-op.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

tracer = trace.get_tracer("ferry")
_propagator = TraceContextTextMapPropagator()


def configure(service: str, otlp_endpoint: str | None) -> None:
    """Export this process's spans to `otlp_endpoint` (the collector's base URL), if given."""
    if not otlp_endpoint:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def instrument(app: FastAPI) -> None:
    """Spans for every request when this process records them (`configure`, or a test's
    provider); otherwise only the caller's `traceparent` is continued, so the events a
    request appends still join its trace, without the cost of spans nobody records."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        # No spans for the calendar feed: its URL is its secret, and a span records the URL.
        excluded = "healthz,readyz,metrics,/schedule/feeds/"
        FastAPIInstrumentor.instrument_app(app, excluded_urls=excluded)
    else:
        app.add_middleware(_ContinueTrace)


class _ContinueTrace:
    """ASGI middleware: the request's W3C `traceparent`, if any, as the current context."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"traceparent":
                    parent = _propagator.extract({"traceparent": value.decode("latin-1")})
                    token = context.attach(parent)
                    try:
                        await self.app(scope, receive, send)
                    finally:
                        context.detach(token)
                    return
        await self.app(scope, receive, send)


def flush(timeout: float = 5.0) -> None:
    """Send the spans still batched. Blocking. A process stopped by SIGTERM never runs its
    exit handlers (uvicorn re-raises the signal), so shutdown must call this itself."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=int(timeout * 1000))


def current_traceparent() -> str | None:
    """The `traceparent` of the active span, to carry in an envelope."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_of(traceparent: str | None) -> Context | None:
    """The trace context an envelope's `traceparent` continues, if it has one."""
    if not traceparent:
        return None
    return _propagator.extract({"traceparent": traceparent})
