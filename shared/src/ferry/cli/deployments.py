"""`ferry deploy …`: schedule a deployment of an available release (deploy-svc) and watch it
wave by wave until it ends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ferry.cli import plans, proposals
from ferry.cli.client import Client, connected, version_if_any
from ferry.cli.errors import CliError
from ferry.cli.output import Json, Output, table
from ferry.cli.releases import release_id

app = typer.Typer(help="Schedule deployments and watch them.")

ENDED = {"completed", "failed", "rolled_back", "aborted"}
"""States a deployment does not leave (but by a rollback asked for later)."""

Id = Annotated[str, typer.Argument(help="the deployment's id")]


def _numbers(text: str | None, cast: type[int] | type[float]) -> list[Any]:
    if not text:
        return []
    try:
        return [cast(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: give numbers separated by commas") from exc


def target_state(deployment: dict[str, Any], target: str) -> str:
    """Where one target stands, as `deploy watch` shows it."""
    if target in deployment["failed"]:
        return f"[red]✗ failed[/]: {escape(deployment['failed'][target])}"
    if target in deployment["rolled_back"]:
        return "[yellow]↺ rolled back[/]"
    if target in deployment["deployed"]:
        return "[green]✓ deployed[/]"
    return "[dim]… waiting[/]"


def render(deployment: dict[str, Any]) -> Group:
    """The deployment's waves and targets, and its state."""
    state = deployment["state"] + (" (paused)" if deployment["paused"] else "")
    colour = {"completed": "green", "failed": "red", "rolled_back": "yellow"}.get(
        deployment["state"], "cyan"
    )
    waves = Table(header_style="bold", title_justify="left")
    waves.title = (
        f"{deployment['release_version']} → {deployment['environment']} "
        f"({deployment['strategy']}), deployment {deployment['id']}"
    )
    for column in ("wave", "target", "state"):
        waves.add_column(column)
    for number, wave in enumerate(deployment["waves"]):
        verified = " ✓ verified" if number in deployment["verified_waves"] else ""
        for i, target in enumerate(wave["targets"]):
            label = f"{number + 1}{verified}" if i == 0 else ""
            waves.add_row(label, escape(target), target_state(deployment, target))
    lines: list[Any] = [waves, f"state: [bold {colour}]{state}[/]"]
    if deployment["reason"]:
        lines.append(f"reason: {escape(deployment['reason'])}")
    if (waiting := waits_for(deployment)) is not None:
        lines.append(f"[bold yellow]waiting for[/] {escape(waiting)}")
    return Group(*lines)


def waits_for(deployment: dict[str, Any]) -> str | None:
    """What a person must do before the deployment goes on, if anything."""
    step = deployment.get("awaiting_step")
    if step is not None:
        description = deployment["backout"][step]["description"]
        return f"backout step {step}: {description} (ferry deploy confirm ID {step})"
    if deployment.get("awaiting_window"):
        return "a new window, or a change authority's override (ferry deploy override-window)"
    return None


def watch_until_ended(
    client: Client, out: Output, deployment_id: str, interval: float, timeout: float | None
) -> dict[str, Any]:
    """Poll the deployment until it ends, or waits for a person, showing its progress live
    (not with --json)."""
    path = f"/deployments/{deployment_id}"
    deadline = None if timeout is None else time.monotonic() + timeout
    deployment: dict[str, Any] = client.get("deploy", path).json()
    display: Live | _Quiet = (
        _Quiet() if out.json else Live(render(deployment), console=out.err, transient=True)
    )
    with display as live:
        while deployment["state"] not in ENDED and waits_for(deployment) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(
                    f"deployment {deployment_id} is still {deployment['state']} after {timeout}s"
                )
            time.sleep(interval)
            deployment = client.get("deploy", path).json()
            live.update(render(deployment), refresh=True)
    return deployment


class _Quiet:
    """A Live display that shows nothing, for --json."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, renderable: Any, *, refresh: bool = False) -> None:
        return None


def _finish(out: Output, deployment: dict[str, Any]) -> None:
    def show(console: Console) -> None:
        console.print(render(deployment))

    out.result(deployment, show)
    if deployment["state"] != "completed":
        # Non-zero, so that a script (or CI job) running `ferry deploy watch` stops here.
        raise typer.Exit(1)


Interval = Annotated[float, typer.Option(help="seconds between looks", min=0.1)]
Timeout = Annotated[float | None, typer.Option(help="give up (exit 1) after this many seconds")]


@app.command()
def plan(
    ctx: typer.Context,
    release: Annotated[str, typer.Argument(help="the release: REL-… or its id")],
    environment: Annotated[str, typer.Option("--env", "--environment", help="where to")],
    target: Annotated[
        list[str] | None, typer.Option(help="a target; repeat for several; default: all")
    ] = None,
    strategy: Annotated[str, typer.Option(help="big_bang, phased or canary")] = "big_bang",
    sizes: Annotated[
        str | None, typer.Option(help="phased: targets per wave, e.g. 1,10 (the rest last)")
    ] = None,
    percentages: Annotated[
        str | None, typer.Option(help="phased: percentages of the targets per wave, e.g. 10,50")
    ] = None,
    canary: Annotated[int, typer.Option(help="canary: targets in the first wave", min=1)] = 1,
    soak: Annotated[float, typer.Option(help="seconds to soak after each wave", min=0)] = 0,
    start: Annotated[
        str | None, typer.Option(help="when, with its UTC offset; default: now")
    ] = None,
    watch: Annotated[bool, typer.Option(help="then watch it until it ends")] = False,
    interval: Interval = 1.0,
    timeout: Timeout = None,
    as_json: Json = False,
) -> None:
    """Schedule a deployment of RELEASE to an environment (deployers, release managers)."""
    out = Output(as_json)
    body: dict[str, Any] = {
        "environment": environment,
        "targets": target or [],
        "strategy": {
            "kind": strategy,
            "sizes": _numbers(sizes, int),
            "percentages": _numbers(percentages, float),
            "canary": canary,
            "soak_seconds": soak,
        },
        "scheduled_start": start,
    }
    with connected(ctx) as client:
        body["release_id"] = release_id(client, release)
        deployment = client.send("deploy", "POST", "/deployments", json=body).json()
        if not watch:
            out.result(deployment, lambda console: console.print(render(deployment)))
            return
        out.note(f"scheduled deployment {deployment['id']}; watching it")
        deployment = watch_until_ended(client, out, deployment["id"], interval, timeout)
    _finish(out, deployment)


@app.command()
def environment(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a YAML file")
    ],
    reason: Annotated[
        str | None, typer.Option(help="why: required for a production environment's change")
    ] = None,
    as_json: Json = False,
) -> None:
    """Define an environment, or change it, from a YAML file (deployers, release managers).

    The file holds the environment's `name`, whether it is `production`, and its `targets`,
    each a `name`, a `driver` (local, webhook, kubernetes) and the driver's `settings`.
    A production environment's change is a proposal, in force once a change authority
    other than you approves it (`ferry proposals approve`).
    """
    out = Output(as_json)
    name, body = plans.environment(file.read_text(), str(file))
    if reason is not None:
        body["reason"] = reason
    path = f"/environments/{name}"
    with connected(ctx) as client:
        version = version_if_any(client, "deploy", path)
        answer = client.change("deploy", "PUT", path, body, version)
    defined = answer.json()
    if answer.status_code == 202:
        out.result(defined, lambda console: proposals.announce(console, defined))
        return

    def show(console: Console) -> None:
        kind = "production" if defined["production"] else "not production"
        console.print(f"environment [bold]{escape(name)}[/] ({kind}):")
        for target in defined["targets"]:
            console.print(f"  {escape(target['name'])} ({target['driver']})")

    out.result(defined, show)


@app.command()
def watch(
    ctx: typer.Context,
    deployment_id: Id,
    interval: Interval = 1.0,
    timeout: Timeout = None,
    as_json: Json = False,
) -> None:
    """Follow a deployment's waves and targets live until it ends.

    Exits 0 when it completed, 1 when it failed, rolled back or was aborted.
    """
    out = Output(as_json)
    with connected(ctx) as client:
        deployment = watch_until_ended(client, out, deployment_id, interval, timeout)
    _finish(out, deployment)


@app.command()
def show(ctx: typer.Context, deployment_id: Id, as_json: Json = False) -> None:
    """Show a deployment as it stands."""
    out = Output(as_json)
    with connected(ctx) as client:
        deployment = client.get("deploy", f"/deployments/{deployment_id}").json()
    out.result(deployment, lambda console: console.print(render(deployment)))


def _act(ctx: typer.Context, deployment_id: str, route: str, body: Any, as_json: bool) -> None:
    """POST `body` to the deployment's `route` at the version read; show what it became."""
    out = Output(as_json)
    path = f"/deployments/{deployment_id}"
    with connected(ctx) as client:
        version = version_if_any(client, "deploy", path)
        found = client.change("deploy", "POST", f"{path}{route}", body, version).json()
    out.result(found, lambda c: c.print(render(found)))


@app.command()
def confirm(
    ctx: typer.Context,
    deployment_id: Id,
    step: Annotated[int, typer.Argument(help="the backout step waiting, from 0", min=0)],
    note: Annotated[str, typer.Option(help="what was done, for the record")] = "",
    as_json: Json = False,
) -> None:
    """Confirm the backout step the deployment waits for was done by hand; it goes on."""
    _act(ctx, deployment_id, f"/backout/{step}/confirm", {"note": note}, as_json)


@app.command("override-window")
def override_window(
    ctx: typer.Context,
    deployment_id: Id,
    reason: Annotated[str, typer.Option(help="why it may go on outside its window")],
    as_json: Json = False,
) -> None:
    """Let a deployment paused outside its window go on to its end (change authorities,
    not whoever asked for the deployment)."""
    _act(ctx, deployment_id, "/window-override", {"reason": reason}, as_json)


@app.command()
def drift(
    ctx: typer.Context,
    env: Annotated[str | None, typer.Option(help="only this environment")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="only those not cleared")] = False,
    as_json: Json = False,
) -> None:
    """Targets found running what Ferry did not deploy there, newest first."""
    out = Output(as_json)
    with connected(ctx) as client:
        found = client.get(
            "deploy",
            "/unauthorised-changes",
            environment=env,
            open="true" if open_only else None,
        ).json()
    rows = [
        (
            f"{c['environment']}/{c['target']}",
            c["expected"] or "nothing",
            c["found"] or "nothing",
            c["detected_at"],
            c["cleared_at"] or "open",
        )
        for c in found
    ]
    columns = ("target", "Ferry deployed", "found", "detected", "cleared")
    out.result(found, lambda c: c.print(table("unauthorised changes", columns, rows)))
