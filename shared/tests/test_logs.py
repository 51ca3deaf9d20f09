"""Secrets URLs carry stay out of every log line, tracebacks included."""

from __future__ import annotations

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from ferry.logs import RedactSecrets

SECRET = "c2VjcmV0LWZlZWQtdG9rZW4"


def logged(emit: object) -> dict[str, str]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test-logs-{id(out)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    assert callable(emit)
    emit(logger)
    return dict(json.loads(out.getvalue()))


def test_a_feeds_secret_is_redacted_from_the_message() -> None:
    line = logged(lambda log: log.info("GET /schedule/feeds/%s.ics 200", SECRET))
    assert SECRET not in json.dumps(line)
    assert line["message"] == "GET /schedule/feeds/[redacted].ics 200"


def test_and_from_a_traceback() -> None:
    def fail(log: logging.Logger) -> None:
        try:
            raise RuntimeError(f"cannot serve /schedule/feeds/{SECRET}.ics?token={SECRET}")
        except RuntimeError:
            log.exception("request failed")

    line = logged(fail)
    assert SECRET not in json.dumps(line)
    assert "RuntimeError: cannot serve /schedule/feeds/[redacted].ics" in line["exc_info"]
