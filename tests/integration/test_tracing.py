"""One trace from the HTTP request through the outbox and Kafka into another service."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic, serving, settings

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """This process's spans, kept in memory (the provider can be set once per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    return EXPORTER


async def test_a_request_is_traced_into_the_consumer_and_the_events_it_causes(
    infra: Infra, topic_prefix: str, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    release = settings(ReleaseSettings, infra, topic_prefix)
    dml = settings(DmlSettings, infra, topic_prefix)
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(release_spec(release), rita) as api, serving(dml_spec(dml), rita) as lib:
        plan = {
            "name": "Traced",
            "version": "1.0",
            "planned_start": "2027-06-01",
            "planned_end": "2027-06-02",
        }
        release_id = (await api.post("/releases", json=plan)).json()["id"]

        async def entry_opened() -> bool:
            return (await lib.get(f"/library/releases/{release_id}")).status_code == 200

        await eventually(entry_opened, what="the library entry")
        [opened] = await read_topic(infra.kafka, dml.topic("dml.events"), expect=1, settle=0.5)

    by_name = {span.name: span for span in spans.get_finished_spans()}
    request = by_name["POST /releases"]
    trace_id = request.context.trace_id
    for name in ("publish ReleasePlanned", "consume ReleasePlanned", "publish LibraryEntryOpened"):
        assert by_name[name].context.trace_id == trace_id, name
    assert opened.traceparent is not None
    assert opened.traceparent.split("-")[1] == f"{trace_id:032x}"
