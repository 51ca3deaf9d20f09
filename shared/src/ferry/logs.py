"""Structured JSON logs on stdout, each line carrying the current correlation id."""

from __future__ import annotations

import logging
import sys

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.json import JsonFormatter


def configure(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, aiokafka's) through one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(CorrelationIdFilter(name="correlation", uuid_length=None, default_value="-"))
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
    logging.getLogger("aiokafka").setLevel(max(logging.getLevelName(level), logging.WARNING))
