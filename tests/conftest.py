from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.infra import Infra, infrastructure, prepare_topics


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    try:
        with infrastructure() as found:
            yield found
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
async def topic_prefix(infra: Infra) -> AsyncIterator[str]:
    """A fresh set of Ferry topics for one test, so tests never see each other's events."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    await prepare_topics(infra, prefix)
    return prefix
