"""The layers of every service, checked: domain code is plain Python that loads no I/O
library, and no import runs back up (a projection never calls a handler, a handler never
an API route). A newcomer who learns the layers of one service knows the other three."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "services").glob("*-svc/src/*_svc"))

# What each layer may not import, by the package's top-level name (`release_svc.handlers`).
FORBIDDEN = {
    "domain": {
        "adapters",
        "api",
        "consumers",
        "drivers",
        "handlers",
        "jobs",
        "main",
        "projections",
    },
    "projections": {"api", "consumers", "handlers", "jobs", "main"},
    "adapters": {"api", "consumers", "handlers", "jobs", "main"},
    "handlers": {"api", "consumers", "jobs", "main"},
}
IO_LIBRARIES = ("aiokafka", "asyncpg", "fastapi", "httpx", "sqlalchemy", "starlette")


def _layer_imports(package: Path) -> list[tuple[str, str, str]]:
    """(module, its layer, the sibling layer it imports) for every import inside `package`."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == "migrations":
            continue
        layer = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                top, _, rest = name.partition(".")
                if top == package.name and rest:
                    found.append((str(relative), layer, rest.split(".")[0]))
    return found


@pytest.mark.parametrize("package", SOURCES, ids=lambda p: p.name)
def test_no_import_runs_back_up(package: Path) -> None:
    wrong = sorted(
        {
            f"{module} ({layer}) imports {package.name}.{target}"
            for module, layer, target in _layer_imports(package)
            if target in FORBIDDEN.get(layer, set())
        }
    )
    assert wrong == []


def test_the_rules_see_a_wrong_import(tmp_path: Path) -> None:
    package = tmp_path / "demo_svc"
    (package / "projections").mkdir(parents=True)
    (package / "projections" / "lists.py").write_text("from demo_svc.handlers import act\n")
    assert _layer_imports(package) == [("projections/lists.py", "projections", "handlers")]


def _domain_modules() -> list[str]:
    modules = ["ferry.eventsourced", "ferry.governance"]
    for package in SOURCES:
        for path in sorted((package / "domain").rglob("*.py")):
            parts = path.relative_to(package.parent).with_suffix("").parts
            modules.append(".".join(p for p in parts if p != "__init__"))
    return modules


def test_domain_code_loads_no_io_library() -> None:
    # A fresh interpreter: this one has loaded everything already.
    probe = f"""
import importlib, json, sys
io = {IO_LIBRARIES!r}
culprits = {{}}
for module in {_domain_modules()!r}:
    importlib.import_module(module)
    loaded = [name for name in io if name in sys.modules and name not in culprits]
    for name in loaded:
        culprits[name] = module
print(json.dumps(culprits))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout) == {}, "the first domain module to load each I/O library"
