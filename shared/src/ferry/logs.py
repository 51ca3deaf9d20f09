"""Structured JSON logs on stdout, each line carrying the current correlation id, with the
secrets a URL may carry (a calendar feed's, a token in a query string) blotted out."""

from __future__ import annotations

import logging
import re
import sys

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.json import JsonFormatter

from ferry.outages import KafkaClientLogs

REDACTED = "[redacted]"

_SECRETS = (
    # A capability URL: the path segment after /feeds/ is the secret (`/schedule/feeds/<s>.ics`).
    (re.compile(r"(/feeds/)[^/?#\s\"']+?(?=\.ics\b|[/?#\s\"']|$)"), rf"\g<1>{REDACTED}"),
    # A query parameter that names a secret (`?token=`, `access_token=`, `api_key=`, ...).
    (
        re.compile(
            r"(?i)([?&](?:[\w.-]*(?:token|secret|password|passwd|api[_-]?key|signature|sig)"
            r"[\w.-]*|key|code)=)[^&#\s\"']*"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # A JWT wherever it shows (a bearer token pasted into a URL or a message).
    (re.compile(r"\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*"), REDACTED),
)


def redact(text: str) -> str:
    """`text` with every secret a URL may carry replaced by `[redacted]`."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message, once formatted, without the secrets URLs carry: uvicorn's
    access log writes every request's path and query string, a calendar feed's secret in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # A traceback quotes what failed, a URL with its secret among it: formatted here
            # and cleaned; formatters write `exc_text` when no `exc_info` is left to format.
            record.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, aiokafka's) through one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(CorrelationIdFilter(name="correlation", uuid_length=None, default_value="-"))
    # On the handler, so every record it writes is cleaned, whichever logger it came from.
    handler.addFilter(RedactSecrets())
    # aiokafka logs every failed retry of every client: an outage becomes two lines.
    handler.addFilter(KafkaClientLogs())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # On uvicorn's loggers too: a handler added by someone else (a test's, an embedding
    # app's) then gets clean records as well.
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
    logging.getLogger("aiokafka").setLevel(max(logging.getLevelName(level), logging.WARNING))
