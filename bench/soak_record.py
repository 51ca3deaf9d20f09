"""Every request the soak makes, as it was answered: the route, the status (or the
connection error), whether the service was down at the time; and each acknowledged command
(a 2xx to a change) by the stream and version its events must be found at."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.soak_stack import Stack

GRACE_SECONDS = 5.0
"""After a service is ready again, a client may still hold a connection to the old process."""


@dataclass(frozen=True)
class Ack:
    """An acknowledged command: its events are in `service`'s store, in the stream whose id
    ends with `stream` (the aggregate's id) at `version`; for media (whose id no response
    names), `stream` is "media:<name>/<version>"."""

    service: str
    route: str
    stream: str
    version: int


@dataclass
class Recorder:
    """The soak's HTTP client: it records each answer before the caller sees it."""

    stack: Stack
    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    """(service, method, route, status or error kind) → requests."""
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """What no fault excuses: a 5xx other than 503, a 503 without Retry-After, a connection
    error while the service was up; the first of each, with its detail."""
    up_again: dict[str, float] = field(default_factory=dict)
    """When each service last became ready after a fault (monotonic)."""
    _http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(
            timeout=httpx.Timeout(30, connect=5), limits=httpx.Limits(max_connections=64)
        )
    )

    async def close(self) -> None:
        await self._http.aclose()

    def down(self, service: str) -> bool:
        """The service is down, or only just back, by a fault's doing."""
        svc = self.stack.services[service]
        if svc.down_since is not None:
            return True
        return time.monotonic() - self.up_again.get(service, float("-inf")) < GRACE_SECONDS

    async def send(
        self,
        service: str,
        method: str,
        route: str,
        path: str,
        headers: dict[str, str],
        **options: Any,
    ) -> httpx.Response | None:
        """`method path` on `service`; None when no answer came (connection error)."""
        url = self.stack.url(service) + path
        try:
            answer = await self._http.request(method, url, headers=headers, **options)
        except httpx.TransportError as exc:
            excused = self.down(service)
            kind = "conn-error (down)" if excused else "conn-error"
            self.counts[(service, method, route, kind)] += 1
            if not excused:
                self._fail(f"{method} {route} on {service}-svc: {exc!r} while it was up")
            return None
        status = answer.status_code
        self.counts[(service, method, route, str(status))] += 1
        if status == 503 and "Retry-After" not in answer.headers:
            self._fail(f"{method} {route} on {service}-svc: 503 without Retry-After")
        elif status >= 500 and status != 503:
            self._fail(f"{method} {route} on {service}-svc: {status} {answer.text[:300]}")
        return answer

    def acked(self, service: str, route: str, stream: str, answer: httpx.Response) -> None:
        """Remember a 2xx change by the version its `ETag` names."""
        version = int(answer.headers["ETag"].strip('W/"'))
        self.acks.append(Ack(service, route, stream, version))

    def _fail(self, what: str) -> None:
        self.failures.append(what)

    def total(self, predicate: Any = None) -> int:
        return sum(n for key, n in self.counts.items() if predicate is None or predicate(key))
