"""The docs say what the code does: the architecture diagram is the one the services' specs
draw, the Configuration page names every setting, and every link between pages leads
somewhere. No stack needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy_svc.config import Settings as DeploySettings
from dml_svc.config import Settings as DmlSettings
from els_svc.config import Settings as ElsSettings
from ferry.cli import architecture
from ferry.settings import ServiceSettings
from release_svc.config import Settings as ReleaseSettings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_architecture_diagram_is_the_one_the_code_draws() -> None:
    page = ROOT / "docs" / "architecture.md"
    committed = architecture.generated_block(page.read_text())
    assert committed is not None, f"{page} lacks the markers {architecture.BEGIN!r}"
    assert committed == architecture.render(), (
        f"docs/architecture.md's diagram is stale: run `.venv/bin/{architecture.COMMAND}`"
    )


@pytest.mark.parametrize("settings", [ReleaseSettings, DmlSettings, DeploySettings, ElsSettings])
def test_every_setting_is_documented(settings: type[ServiceSettings]) -> None:
    table = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in settings.environment_variables() if f"`{name}`" not in table)
    assert not missing, f"docs/configuration.md lacks {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_leads_somewhere(page: Path) -> None:
    broken = [target for target in _links(page.read_text()) if not _found(page, target)]
    assert not broken, f"{page.relative_to(ROOT)} links to what is not there: {broken}"


def _found(page: Path, target: str) -> bool:
    """Whether the file `target` names exists, and the heading its anchor names."""
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    if not linked.exists():
        return False
    return not anchor or linked.suffix != ".md" or anchor in _anchors(linked.read_text())


def _prose(text: str) -> str:
    """`text` without its fenced code blocks, where `#` starts a comment, not a heading."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def _links(text: str) -> list[str]:
    """Relative link targets: pages in the repository and anchors, not web addresses."""
    targets = re.findall(r"\]\(([^)\s]+)\)", _prose(text))
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


def _anchors(text: str) -> set[str]:
    """The anchors GitHub gives the page's headings (lower case, punctuation dropped, spaces
    as hyphens, a repeated one numbered)."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", _prose(text), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors
