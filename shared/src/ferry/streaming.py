"""Responses that stay open (event streams) end when the server begins to shut down.

uvicorn's graceful shutdown stops accepting connections and then waits for the open
responses to finish before it tells the app anything (the lifespan's shutdown comes after).
A stream that only ends when its client leaves would hold the shutdown up until
`timeout_graceful_shutdown`, or forever without one. So uvicorn's `Server.shutdown` is
wrapped, once, to set first the `stopping` event of the app it serves; a stream watches it,
ends, and its client reconnects (to another replica) with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette

_hooked = False


def stopping(app: Starlette) -> asyncio.Event:
    """Set when the server serving `app` begins its graceful shutdown."""
    _end_streams_on_shutdown()
    event: asyncio.Event | None = getattr(app.state, "ferry_stopping", None)
    if event is None:
        event = asyncio.Event()
        app.state.ferry_stopping = event
    return event


def _served_app(server: uvicorn.Server) -> Starlette | None:
    # uvicorn wraps the app in its own middleware (proxy headers, ...), each holding `.app`.
    app: Any = getattr(server.config, "loaded_app", None)
    for _ in range(10):
        if app is None or isinstance(app, Starlette):
            return app
        app = getattr(app, "app", None)
    return None


def _end_streams_on_shutdown() -> None:
    global _hooked
    if _hooked:
        return
    _hooked = True
    original: Callable[..., Awaitable[None]] = uvicorn.Server.shutdown

    @functools.wraps(original)
    async def shutdown(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        app = _served_app(self)
        if app is not None:
            stopping(app).set()
        await original(self, sockets)

    uvicorn.Server.shutdown = shutdown  # type: ignore[method-assign]
