"""`ferry els …`: Early Life Support cases (els-svc): find them, record observations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from ferry.cli.client import connected
from ferry.cli.output import Json, Output, fields, table
from ferry.cli.releases import release_id

app = typer.Typer(help="Early Life Support: cases and observations.")


def _show_case(case: dict[str, Any]) -> Any:
    def show(console: Console) -> None:
        console.print(
            fields(
                f"ELS case {case['id']}",
                {
                    "release": case["release_id"],
                    "environment": case["environment"],
                    "state": case["state"],
                    "services": case["services"],
                    "planned end": case["planned_end"],
                    "criteria": [c["metric"] for c in case["criteria"]],
                    "normal reached": case["normal_reached"],
                    "version (ETag)": case["stream_version"],
                },
            )
        )

    return show


@app.command()
def cases(
    ctx: typer.Context,
    release: Annotated[str | None, typer.Option(help="only this release's (REL-… or id)")] = None,
    state: Annotated[str | None, typer.Option(help="open, normal or exited")] = None,
    as_json: Json = False,
) -> None:
    """List Early Life Support cases (one per release and environment deployed to)."""
    out = Output(as_json)
    with connected(ctx) as client:
        wanted = release_id(client, release) if release else None
        found = client.get("els", "/cases", release_id=wanted, state=state).json()

    def show(console: Console) -> None:
        rows = [
            (c["id"], c["release_id"], c["environment"], c["state"], c["planned_end"])
            for c in found
        ]
        console.print(table("ELS cases", ("id", "release", "environment", "state", "end"), rows))

    out.result(found, show)


@app.command()
def observe(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="the case's id (ferry els cases)")],
    metric: Annotated[str, typer.Option(help="e.g. desk_calls, p1_incidents, error_rate")],
    value: Annotated[float, typer.Option(help="what was observed")],
    at: Annotated[str | None, typer.Option(help="when, with its UTC offset; default: now")] = None,
    observation_id: Annotated[
        str | None, typer.Option("--id", help="the observation's id: sent again, counted once")
    ] = None,
    as_json: Json = False,
) -> None:
    """Record an observation of a metric for a case (els-support, operations, deployers)."""
    out = Output(as_json)
    body = {
        "metric": metric,
        "value": value,
        "observed_at": at or datetime.now(UTC).isoformat(timespec="seconds"),
        "observation_id": observation_id,
    }
    with connected(ctx) as client:
        updated = client.send("els", "POST", f"/cases/{case}/observations", json=body).json()
    out.note(f"recorded {metric} = {value:g} at {body['observed_at']}")
    out.result(updated, _show_case(updated))
