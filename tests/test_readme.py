"""The README's Configuration section names every variable the services read."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy_svc.config import Settings as DeploySettings
from dml_svc.config import Settings as DmlSettings
from els_svc.config import Settings as ElsSettings
from ferry.settings import ServiceSettings
from release_svc.config import Settings as ReleaseSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("settings", [ReleaseSettings, DmlSettings, DeploySettings, ElsSettings])
def test_every_setting_is_documented(settings: type[ServiceSettings]) -> None:
    missing = sorted(name for name in settings.environment_variables() if f"`{name}`" not in README)
    assert not missing, f"README's Configuration section lacks {missing}"
