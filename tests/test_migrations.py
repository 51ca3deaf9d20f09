"""Every schema revision since upgrades without outage says which code it serves
(`ferry.migrations.serves_code_from`): a revision that forgets would leave the previous
release's pods unready for the whole rollout, and a rollback after it an outage."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(ROOT.glob("services/*-svc/src/*_svc/migrations"))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.parts[-4])
def test_every_revision_since_the_compatibility_table_says_which_code_it_serves(
    folder: Path,
) -> None:
    scripts = list(ScriptDirectory(str(folder)).walk_revisions())[::-1]  # oldest first
    since = False
    for script in scripts:
        text = Path(str(script.path)).read_text()
        since = since or "create_compatibility_table(" in text
        if since:
            assert "serves_code_from(revision," in text, f"{script.path} says nothing"
    assert since, f"{folder}: no revision creates the compatibility table"


def test_the_services_have_migration_folders() -> None:
    assert len(FOLDERS) == 4
