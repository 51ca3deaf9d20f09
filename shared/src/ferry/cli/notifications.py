"""`ferry audiences …` and `ferry notifications …`: the directory communication plans name,
and the caller's inbox (release-svc)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from ferry.cli.client import connected, version_if_any
from ferry.cli.output import Json, Output, fields, table

audiences = typer.Typer(help="Audiences: who is told, and the channels that reach them.")
inbox = typer.Typer(help="Your notifications: list them, mark them read.")

Name = Annotated[str, typer.Argument(help="the audience, e.g. service-desk")]


def _show(audience: dict[str, Any]) -> Any:
    def show(console: Console) -> None:
        console.print(
            fields(
                f"audience {audience['name']}",
                {
                    "description": audience["description"],
                    "members": audience["members"],
                    "emails": audience["emails"],
                    "webhooks": audience["webhooks"],
                },
            )
        )

    return show


@audiences.command("list")
def list_audiences(ctx: typer.Context, as_json: Json = False) -> None:
    """Every audience."""
    out = Output(as_json)
    with connected(ctx) as client:
        found = client.get("release", "/audiences").json()
    rows = [
        (a["name"], len(a["members"]), ", ".join(a["emails"]), ", ".join(a["webhooks"]))
        for a in found
    ]
    out.result(
        found,
        lambda c: c.print(table("audiences", ("name", "members", "emails", "webhooks"), rows)),
    )


@audiences.command("show")
def show_audience(ctx: typer.Context, name: Name, as_json: Json = False) -> None:
    """One audience."""
    out = Output(as_json)
    with connected(ctx) as client:
        found = client.get("release", f"/audiences/{name}").json()
    out.result(found, _show(found))


@audiences.command("define")
def define(
    ctx: typer.Context,
    name: Name,
    description: Annotated[str, typer.Option(help="who they are")] = "",
    member: Annotated[
        list[str] | None, typer.Option(help="a subject, told in their inbox (repeat)")
    ] = None,
    email: Annotated[list[str] | None, typer.Option(help="an email address (repeat)")] = None,
    webhook: Annotated[
        list[str] | None, typer.Option(help="a chat webhook the operator configured (repeat)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Create an audience, or replace it (release managers, administrators)."""
    out = Output(as_json)
    body = {
        "description": description,
        "members": member or [],
        "emails": email or [],
        "webhooks": webhook or [],
    }
    path = f"/audiences/{name}"
    with connected(ctx) as client:
        version = version_if_any(client, "release", path)
        found = client.change("release", "PUT", path, body, version).json()
    out.result(found, _show(found))


@inbox.command("list")
def list_notifications(
    ctx: typer.Context,
    unread: Annotated[bool, typer.Option("--unread", help="only those not yet read")] = False,
    limit: Annotated[int, typer.Option(help="notifications per page", min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the `next` of an earlier page")] = None,
    as_json: Json = False,
) -> None:
    """Your notifications, newest first."""
    out = Output(as_json)
    with connected(ctx) as client:
        page = client.get(
            "release",
            "/notifications",
            unread="true" if unread else None,
            limit=limit,
            cursor=cursor,
        ).json()
    rows = [
        (n["notification_id"], n["sent_at"], "" if n["read_at"] else "new", n["subject"])
        for n in page["items"]
    ]

    def render(console: Console) -> None:
        console.print(table("notifications", ("id", "sent", "", "subject"), rows))
        if page["next"]:
            console.print(f"more: --cursor {page['next']}")

    out.result(page, render)


@inbox.command("acknowledge")
def acknowledge(
    ctx: typer.Context,
    notification_id: Annotated[str, typer.Argument(help="the notification's id")],
    as_json: Json = False,
) -> None:
    """Acknowledge one of your notifications whose communication plan asks for it."""
    out = Output(as_json)
    path = f"/notifications/{notification_id}/acknowledgement"
    with connected(ctx) as client:
        found = client.send("release", "POST", path).json()
    out.result(found, lambda c: c.print(f"acknowledged: {found['subject']}"))


@inbox.command("read")
def read(
    ctx: typer.Context,
    notification_id: Annotated[str, typer.Argument(help="the notification's id")],
    as_json: Json = False,
) -> None:
    """Show one of your notifications and mark it read."""
    out = Output(as_json)
    with connected(ctx) as client:
        found = client.send("release", "POST", f"/notifications/{notification_id}/read").json()
    out.result(
        found,
        lambda c: c.print(fields(found["subject"], {"sent": found["sent_at"], "": found["body"]})),
    )
