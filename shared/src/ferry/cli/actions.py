"""`ferry actions …`: the improvement actions reviews raised, moved on until done or dropped
(release-svc)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from ferry.cli.client import Client, claims_of, connected, pages, version_of
from ferry.cli.errors import CliError
from ferry.cli.output import Json, Output, fields, table
from ferry.cli.releases import IfMatch, release_id

app = typer.Typer(help="Improvement actions from reviews: list, show, move on, reassign.")

ActionId = Annotated[str, typer.Argument(help="the action's id")]
Note = Annotated[str, typer.Option(help="what was done")]


def _path(action_id: str) -> str:
    return f"/improvement-actions/{action_id}"


def _show(action: dict[str, Any]) -> Any:
    def show(console: Console) -> None:
        due = action["due"] or "no due date"
        console.print(
            fields(
                f"action {action['action_id']}",
                {
                    "description": action["description"],
                    "release": f"{action['release_identifier']} {action['release_name']}",
                    "owner": action["owner"],
                    "due": f"{due} (overdue)" if action["overdue"] else due,
                    "state": action["state"],
                    "note": action["note"],
                },
            )
        )

    return show


@app.command("list")
def list_actions(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option(help="whose actions")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="the caller's own actions")] = False,
    state: Annotated[str | None, typer.Option(help="open, in_progress, done or dropped")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="only those unfinished after their due date")
    ] = False,
    release: Annotated[
        str | None, typer.Option(help="only this release's (its identifier or id)")
    ] = None,
    team: Annotated[str | None, typer.Option(help="only releases of this team's")] = None,
    limit: Annotated[int, typer.Option(help="actions per page", min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the `next` of an earlier page")] = None,
    every: Annotated[bool, typer.Option("--all", help="follow `next` to the last page")] = False,
    as_json: Json = False,
) -> None:
    """List improvement actions, soonest due first, a page at a time (or --all)."""
    out = Output(as_json)
    with connected(ctx) as client:
        if mine:
            owner = _subject(client)
        items, cursor = pages(
            client,
            "release",
            "/improvement-actions",
            cursor,
            every,
            owner=owner,
            state=state,
            overdue="true" if overdue else None,
            release_id=release_id(client, release) if release else None,
            team=team,
            limit=limit,
        )

    def render(console: Console) -> None:
        rows = [
            (
                a["action_id"],
                a["release_identifier"],
                a["description"],
                a["owner"],
                f"{a['due']} overdue" if a["overdue"] else a["due"],
                a["state"],
            )
            for a in items
        ]
        columns = ("id", "release", "action", "owner", "due", "state")
        console.print(table("Improvement actions", columns, rows))
        if cursor:
            console.print(f"more: --cursor {cursor} (or --all)")

    out.result({"items": items, "next": cursor}, render)


@app.command()
def show(ctx: typer.Context, action_id: ActionId, as_json: Json = False) -> None:
    """One action."""
    out = Output(as_json)
    with connected(ctx) as client:
        action = client.get("release", _path(action_id)).json()
    out.result(action, _show(action))


def _mover(state: str) -> Callable[..., None]:
    """A command moving an action to `state`, with an optional note."""

    def move(
        ctx: typer.Context,
        action_id: ActionId,
        note: Note = "",
        if_match: IfMatch = None,
        as_json: Json = False,
    ) -> None:
        _move(ctx, action_id, {"state": state, "note": note}, if_match, as_json)

    return move


for _name, _state, _help in (
    (
        "start",
        "in_progress",
        "Start work on an action (its owner, or the release's manager or owners).",
    ),
    ("done", "done", "Finish an action, saying what was done; final."),
    ("reopen", "open", "Put an action in progress back to open."),
):
    app.command(_name, help=_help)(_mover(_state))


@app.command()
def drop(
    ctx: typer.Context,
    action_id: ActionId,
    reason: Annotated[str, typer.Option(help="why it will not be done")],
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Drop an action, saying why; final."""
    _move(ctx, action_id, {"state": "dropped", "note": reason}, if_match, as_json)


@app.command()
def assign(
    ctx: typer.Context,
    action_id: ActionId,
    owner: Annotated[str, typer.Option(help="who owns the action now")],
    due: Annotated[
        str | None, typer.Option(help="by when it is due (YYYY-MM-DD); default: no due date")
    ] = None,
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Give an unfinished action an owner and a due date (the release's manager or owners)."""
    body = {"owner": owner, "due": due}
    _change(ctx, f"{_path(action_id)}/assignment", body, if_match, as_json)


def _move(
    ctx: typer.Context, action_id: str, body: dict[str, str], if_match: str | None, json: bool
) -> None:
    _change(ctx, f"{_path(action_id)}/state", body, if_match, json)


def _change(
    ctx: typer.Context, path: str, body: dict[str, Any], if_match: str | None, as_json: bool
) -> None:
    """PUT `body` at the action's version as read (or `if_match`); show the action."""
    out = Output(as_json)
    with connected(ctx) as client:
        version = if_match or version_of(client.get("release", path.rsplit("/", 1)[0]))
        action = client.change("release", "PUT", path, body, version).json()
    out.result(action, _show(action))


def _subject(client: Client) -> str:
    subject = claims_of(client.token).get("sub")
    if not subject:
        raise CliError("--mine needs a token naming its subject (FERRY_TOKEN or --token)")
    return str(subject)
