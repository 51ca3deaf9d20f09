"""What `ferry` prints: rich text for people; with `--json`, JSON alone on stdout (errors as
JSON on stderr), for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ferry.cli.errors import CliError

Json = Annotated[
    bool, typer.Option("--json", help="print machine-readable JSON only (errors on stderr)")
]

_json_mode: ContextVar[bool] = ContextVar("json_mode", default=False)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


class Output:
    """One command's output: `result` is its answer (JSON with `--json`), `note` says what
    happens meanwhile (on stderr, and not at all with `--json`)."""

    def __init__(self, as_json: bool) -> None:
        self.json = as_json
        self.console = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)
        if as_json:
            _json_mode.set(True)

    def result(self, data: Any, show: Callable[[Console], None] | None = None) -> None:
        """The command's answer: `data` as JSON, or what `show` prints for people."""
        if self.json:
            sys.stdout.write(dumps(data) + "\n")
        elif show is not None:
            show(self.console)
        else:
            self.console.print(escape(dumps(data)))

    def note(self, message: str) -> None:
        if not self.json:
            self.err.print(message)


def report(error: CliError) -> None:
    """Tell the user what went wrong, on stderr."""
    if _json_mode.get():
        sys.stderr.write(dumps(error.to_json()) + "\n")
        return
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(str(error))}"
    )


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    """A plain table of `rows` under `columns`."""
    shown = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        shown.add_column(column)
    for row in rows:
        shown.add_row(*(escape("" if cell is None else str(cell)) for cell in row))
    return shown


def fields(title: str, values: Mapping[str, Any]) -> Table:
    """A two-column table of name and value, leaving out empty values."""
    shown = Table.grid(padding=(0, 2))
    shown.title = title
    shown.title_justify = "left"
    shown.add_column(style="bold")
    shown.add_column()
    for name, value in values.items():
        if value in (None, "", [], {}):
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        shown.add_row(name, escape(text))
    return shown
