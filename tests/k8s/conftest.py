"""Fixtures of the tests under tests/k8s."""

from __future__ import annotations

import pytest

from tests.k8s.rendered import OVERLAYS, Rendered, render


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render(str(request.param))
