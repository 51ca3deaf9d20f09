"""`ferry schedule ics`: the deployment schedule as an iCalendar file (release-svc)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ferry.cli.client import connected
from ferry.cli.output import Json, Output

app = typer.Typer(help="The deployment schedule.")


@app.command()
def ics(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write it here; default: stdout")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="only what is still on after, e.g. 2026-12-01T00:00:00Z"),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="only what begins before")] = None,
    environment: Annotated[str | None, typer.Option(help="one environment's")] = None,
    service: Annotated[str | None, typer.Option(help="one service's")] = None,
    owner: Annotated[str | None, typer.Option(help="a release manager's or owner's")] = None,
    status: Annotated[str | None, typer.Option(help="releases in this status")] = None,
    as_json: Json = False,
) -> None:
    """Export the schedule (deployment windows, their conflicts, freezes) as iCalendar.

    With --json: {"calendar": the text (or "path": where it went), "events": how many}.
    """
    out = Output(as_json)
    with connected(ctx) as client:
        calendar = client.get(
            "release",
            "/schedule.ics",
            **{"from": start},
            to=end,
            environment=environment,
            service=service,
            owner=owner,
            status=status,
        ).text
    events = calendar.count("BEGIN:VEVENT")
    if output is not None:
        output.write_text(calendar, encoding="utf-8", newline="")
        out.result(
            {"path": str(output), "events": events},
            lambda console: console.print(f"wrote {events} events to {output}"),
        )
    elif as_json:
        out.result({"calendar": calendar, "events": events})
    else:
        sys.stdout.write(calendar)
