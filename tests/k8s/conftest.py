"""Fixtures of the tests under tests/k8s."""

from __future__ import annotations

import pytest

from tests.k8s.rendered import RENDERS, Rendered, render


@pytest.fixture(params=RENDERS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render(str(request.param))
