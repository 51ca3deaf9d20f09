from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.infra import Infra, TopicSets, infrastructure


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    try:
        with infrastructure() as found:
            yield found
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def topic_sets(infra: Infra) -> Iterator[TopicSets]:
    sets = TopicSets(infra)
    yield sets
    asyncio.run(sets.close())


@pytest.fixture
async def topic_prefix(topic_sets: TopicSets) -> AsyncIterator[str]:
    """A fresh set of Ferry topics for one test, so tests never see each other's events."""
    prefix = await topic_sets.take()
    yield prefix
    await topic_sets.done_with(prefix)
