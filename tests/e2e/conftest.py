"""What the end-to-end tests share: the four services, each its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import Infra
from tests.support.services import start_all, stop_all


@pytest.fixture
def stack(infra: Infra, topic_prefix: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Start every service as its own process; their base URLs by short name."""
    processes, urls = start_all(infra, topic_prefix, tmp_path)
    try:
        yield urls
    finally:
        stop_all(processes)
