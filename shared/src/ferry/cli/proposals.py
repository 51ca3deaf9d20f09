"""`ferry proposals …`: governance proposals (release-svc's policies and freeze lifts,
deploy-svc's production environments): list them, read one, approve or reject it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from ferry.cli.client import Client, connected, pages, version_of
from ferry.cli.errors import CliError, Refused
from ferry.cli.output import Json, Output, fields, table

app = typer.Typer(help="Governance proposals: changes to the rules awaiting a second person.")

GOVERNING = ("release", "deploy")
"""The services that govern something under the two-person rule."""

Id = Annotated[str, typer.Argument(help="the proposal's id")]


def _render(proposal: dict[str, Any]) -> Any:
    effect = {k: v for k, v in proposal["effect"].items() if k not in ("type", "schema_version")}

    def show(console: Console) -> None:
        console.print(
            fields(
                f"proposal {proposal['id']}",
                {
                    "kind": proposal["kind"],
                    "changes": f"{proposal['subject']} (at version {proposal['subject_version']})",
                    # What approving it records, in full: the reason is only the proposer's word.
                    "to": json.dumps(effect, indent=2, sort_keys=True),
                    "reason": proposal["reason"],
                    "state": proposal["state"],
                    "proposed by": proposal["proposed_by"],
                    "decided by": proposal["decided_by"],
                    "decision reason": proposal["decision_reason"],
                    "version (ETag)": proposal["version"],
                },
            )
        )

    return show


def announce(console: Console, proposal: dict[str, Any]) -> None:
    """Say that a change was proposed, not made, and what comes next."""
    console.print(
        f"proposed ({escape(proposal['kind'])}, {escape(proposal['subject'])}): it takes "
        f"effect once another change authority approves it:\n"
        f"  ferry proposals approve {proposal['id']}"
    )


def _find(client: Client, proposal_id: str) -> tuple[str, dict[str, Any], str]:
    """The service holding the proposal, the proposal, and its version."""
    for service in GOVERNING:
        try:
            answer = client.get(service, f"/proposals/{proposal_id}")
        except Refused as exc:
            if exc.status in (404, 422):
                continue
            raise
        return service, answer.json(), version_of(answer)
    raise CliError(f"no proposal {proposal_id} in release-svc or deploy-svc")


def _all(client: Client, service: str, state: str | None) -> list[dict[str, Any]]:
    """Every proposal of `service` (in `state`), following the pages."""
    found, _ = pages(client, service, "/proposals", None, True, state=state, limit=200)
    return found


@app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="pending, approved or rejected (default: all)")
    ] = None,
    as_json: Json = False,
) -> None:
    """List proposals of every service, newest first."""
    out = Output(as_json)
    with connected(ctx) as client:
        found = [p for service in GOVERNING for p in _all(client, service, state)]

    def show(console: Console) -> None:
        rows = [
            (p["id"], p["kind"], p["subject"], p["state"], p["proposed_by"], p["reason"])
            for p in found
        ]
        headers = ("id", "kind", "changes", "state", "proposed by", "reason")
        console.print(table("proposals", headers, rows))

    out.result(found, show)


@app.command()
def show(ctx: typer.Context, proposal_id: Id, as_json: Json = False) -> None:
    """Show one proposal, with the change it would make."""
    out = Output(as_json)
    with connected(ctx) as client:
        _, proposal, _ = _find(client, proposal_id)
    out.result(proposal, _render(proposal))


@app.command()
def approve(
    ctx: typer.Context,
    proposal_id: Id,
    version: Annotated[
        str | None,
        typer.Option("--if-match", help="approve only if still this version (`show` prints it)"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Approve a proposal (change authorities other than its proposer): it takes effect.
    Look at what it records first (`show`); `--if-match` holds the approval to that."""
    out = Output(as_json)
    with connected(ctx) as client:
        service, _, current = _find(client, proposal_id)
        version = version or current
        path = f"/proposals/{proposal_id}/approve"
        proposal = client.change(service, "POST", path, None, version).json()
    out.result(proposal, _render(proposal))


@app.command()
def reject(
    ctx: typer.Context,
    proposal_id: Id,
    reason: Annotated[str, typer.Option(help="why (shown to the proposer)")],
    as_json: Json = False,
) -> None:
    """Reject a proposal (change authorities), or withdraw your own: nothing changes."""
    out = Output(as_json)
    with connected(ctx) as client:
        service, _, version = _find(client, proposal_id)
        path = f"/proposals/{proposal_id}/reject"
        proposal = client.change(service, "POST", path, {"reason": reason}, version).json()
    out.result(proposal, _render(proposal))
