"""A dependency's outage logged once when it starts and once when it ends, with its length,
and shown as a metric, instead of a line per failed retry.

During a 25 s broker outage aiokafka logged 8,103 ERROR lines across the services (issue
#20): each client logs every reconnection attempt, metadata refresh and fetch. An operator
needs to know that Kafka is down, since when, and when it came back.
"""

from __future__ import annotations

import logging
import time

from ferry import metrics

log = logging.getLogger(__name__)


class Outage:
    """One dependency's state: reachable, or down since a moment."""

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self._since: float | None = None
        self._unlogged = 0

    def failed(self, detail: str) -> bool:
        """A failure to reach the dependency; True if it starts an outage (and was logged)."""
        if self._since is not None:
            self._unlogged += 1
            return False
        self._since = time.monotonic()
        self._unlogged = 0
        metrics.DEPENDENCY_DOWN.labels(self.dependency).set(1)
        log.warning(
            "%s cannot be reached: %s (retrying; logged again once it is back)",
            self.dependency,
            detail,
        )
        return True

    def recovered(self) -> None:
        """The dependency answered: ends the outage, if there was one."""
        if self._since is None:
            return
        lasted = time.monotonic() - self._since
        self._since = None
        metrics.DEPENDENCY_DOWN.labels(self.dependency).set(0)
        metrics.OUTAGE_SECONDS.labels(self.dependency).inc(lasted)
        log.warning(
            "%s is back after %.1f s (%d further failures in between not logged)",
            self.dependency,
            lasted,
            self._unlogged,
        )


KAFKA = Outage("kafka")
POSTGRESQL = Outage("postgresql")


class KafkaClientLogs(logging.Filter):
    """On the log handler: aiokafka's errors become failures of `outage`, so
    only the first of an outage is written (as `ferry.outages`' warning, quoting it)."""

    def __init__(self, outage: Outage = KAFKA) -> None:
        super().__init__()
        self._outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        # Its warnings (a rebalance, a coordinator moved) are rare and say something else.
        if not record.name.startswith("aiokafka") or record.levelno < logging.ERROR:
            return True
        self._outage.failed(f"{record.name}: {record.getMessage()}")
        return False
