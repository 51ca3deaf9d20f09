"""The cluster tests need three brokers (`make test-cluster`); every test here is marked
`cluster`, which `make test` leaves out."""

from __future__ import annotations

import pytest

from tests.support.infra import Infra


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "cluster":
            item.add_marker(pytest.mark.cluster)


@pytest.fixture
def cluster(infra: Infra) -> Infra:
    """The local stack, which must have three brokers (FERRY_KAFKA_BROKERS=3)."""
    if not infra.local or infra.kafka_brokers < 3:
        pytest.fail(
            "the cluster tests need the local stack's three brokers: run `make test-cluster`",
            pytrace=False,
        )
    return infra
