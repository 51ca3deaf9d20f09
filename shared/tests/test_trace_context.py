"""Without a span recorder, a request's `traceparent` is still continued: the events it
appends carry the caller's trace (`ferry.tracing.instrument`'s light path, #16)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from ferry.tracing import _ContinueTrace, current_traceparent

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def app() -> FastAPI:
    served = FastAPI()
    served.add_middleware(_ContinueTrace)

    @served.get("/where")
    async def where() -> dict[str, str | None]:
        return {"traceparent": current_traceparent()}

    return served


async def test_the_callers_trace_is_the_requests() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
        continued = (await client.get("/where", headers={"traceparent": CALLER})).json()
        alone = (await client.get("/where")).json()
    assert continued["traceparent"].split("-")[1] == CALLER.split("-")[1]
    assert alone["traceparent"] is None
