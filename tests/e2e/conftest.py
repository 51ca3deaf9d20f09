"""What the end-to-end tests share: the four services, each its own process."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.infra import Infra
from tests.support.services import Process, start_all, stop_all

Start = Callable[[Mapping[str, str]], dict[str, str]]


@pytest.fixture
def services(infra: Infra, topic_prefix: str, tmp_path: Path) -> Iterator[Start]:
    """Start every service as its own process with the test's settings; their base URLs
    by short name. Stopped when the test ends."""
    started: list[Process] = []

    def start(settings: Mapping[str, str]) -> dict[str, str]:
        processes, urls = start_all(infra, topic_prefix, tmp_path, settings)
        started.extend(processes)
        return urls

    try:
        yield start
    finally:
        stop_all(started)


@pytest.fixture
def stack(services: Start) -> dict[str, str]:
    """The four services with the settings every test shares."""
    return services({})
