"""`ferry team …`: teams, what each owns and who holds which role for it (release-svc)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ferry.cli import plans, proposals
from ferry.cli.client import connected, version_if_any
from ferry.cli.output import Json, Output, fields, table

app = typer.Typer(help="Teams: the services, environments and items each owns, and its members.")


def _member(member: dict[str, Any]) -> str:
    who = member["subject"] or f"group {member['group']}"
    return f"{who} ({', '.join(member['roles'])})"


def _show(team: dict[str, Any]) -> Any:
    def show(console: Console) -> None:
        console.print(
            fields(
                f"team {team['name']}",
                {
                    "description": team["description"],
                    "services": team["services"],
                    "environments": team["environments"],
                    "configuration items": team["configuration_items"],
                    "members": [_member(m) for m in team["members"]],
                },
            )
        )

    return show


@app.command("list")
def list_(ctx: typer.Context, as_json: Json = False) -> None:
    """Every team, with what it owns."""
    out = Output(as_json)
    with connected(ctx) as client:
        teams = client.get("release", "/teams").json()
    rows = [
        (
            t["name"],
            ", ".join(t["services"]),
            ", ".join(t["environments"]),
            len(t["configuration_items"]),
            len(t["members"]),
        )
        for t in teams
    ]
    columns = ("team", "services", "environments", "items", "members")
    out.result(teams, lambda console: console.print(table("teams", columns, rows)))


@app.command()
def show(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="the team")], as_json: Json = False
) -> None:
    """One team: what it owns and its members with their roles."""
    out = Output(as_json)
    with connected(ctx) as client:
        team = client.get("release", f"/teams/{name}").json()
    out.result(team, _show(team))


@app.command()
def define(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a YAML file")
    ],
    reason: Annotated[str, typer.Option(help="why the teams change")],
    as_json: Json = False,
) -> None:
    """Define a team, or change it, from a YAML file (ferry-admins).

    The file holds the team's `name`, `description`, the `services`, `environments` and
    `configuration_items` it owns (each owned by one team at most) and its `members`, each a
    `subject` or an identity-provider `group` with the `roles` it holds for the team. The
    change is a proposal, in force once a change authority approves it
    (`ferry proposals approve`).
    """
    out = Output(as_json)
    name, body = plans.team(file.read_text(), str(file))
    body["reason"] = reason
    path = f"/teams/{name}"
    with connected(ctx) as client:
        version = version_if_any(client, "release", path)
        answer = client.change("release", "PUT", path, body, version)
    found = answer.json()
    if answer.status_code == 202:
        out.result(found, lambda console: proposals.announce(console, found))
        return
    out.result(found, _show(found))
