"""A service's background jobs (outbox relay, consumer), run for the life of the process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Workers:
    """The service's background jobs (outbox relay, consumer), run until shutdown.

    They loop forever; one that ends anyway is a bug, logged with its traceback and reported
    by `/readyz`, so the orchestrator restarts the process.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self, jobs: list[tuple[str, Coroutine[Any, Any, None]]]) -> None:
        for name, job in jobs:
            task = asyncio.create_task(job, name=name)
            task.add_done_callback(self._ended)
            self._tasks.append(task)

    def dead(self) -> list[str]:
        return [task.get_name() for task in self._tasks if task.done()]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        log.critical("background job %s ended", task.get_name(), exc_info=task.exception())
