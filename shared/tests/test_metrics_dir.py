"""An operator's PROMETHEUS_MULTIPROC_DIR is cleared of a previous run's figures."""

from __future__ import annotations

import os
from pathlib import Path

from ferry import metrics


def test_a_previous_runs_figures_are_removed_and_nothing_else(tmp_path: Path) -> None:
    stale = tmp_path / "counter_4711.db"
    stale.write_bytes(b"old counts")
    kept = tmp_path / "README"
    kept.write_text("the operator's")
    mine = tmp_path / f"gauge_livemax_{os.getpid()}.db"
    mine.write_bytes(b"this run's")
    metrics.clear_stale(str(tmp_path))
    assert not stale.exists()
    assert kept.read_text() == "the operator's"
    assert mine.exists()
