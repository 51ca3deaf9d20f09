"""`ferry`: the command tree, the options every command shares (where the services answer,
the token), and `main`, which turns errors into a message and an exit code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from ferry.cli import (
    actions,
    architecture,
    audit,
    deployments,
    dev,
    els,
    kafka_users,
    media,
    notifications,
    proposals,
    releases,
    schedule,
    teams,
)
from ferry.cli.client import DEFAULT_URLS, Connection
from ferry.cli.errors import CliError
from ferry.cli.output import report

app = typer.Typer(
    name="ferry",
    help="Ferry's command line: releases, media, deployments, Early Life Support, the "
    "schedule, improvement actions. It talks to the services' HTTP APIs with your token; "
    "--json on any command prints JSON only.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(releases.app, name="release")
app.add_typer(media.app, name="media")
app.add_typer(deployments.app, name="deploy")
app.add_typer(els.app, name="els")
app.add_typer(schedule.app, name="schedule")
app.add_typer(proposals.app, name="proposals")
app.add_typer(teams.app, name="team")
app.add_typer(actions.app, name="actions")
app.add_typer(notifications.audiences, name="audiences")
app.add_typer(notifications.inbox, name="notifications")


app.add_typer(audit.app, name="audit")
app.command()(dev.token)
app.command(name="event-keys")(dev.event_keys)
app.command()(dev.schema)
app.command(name="kafka-users")(kafka_users.kafka_users)
app.command()(architecture.architecture)


def _url(service: str) -> object:
    return typer.Option(
        f"--{service}-url",
        envvar=f"FERRY_{service.upper()}_URL",
        help=f"{service}-svc's base URL",
        show_default=True,
    )


@app.callback()
def connect(
    ctx: typer.Context,
    release_url: Annotated[str, _url("release")] = DEFAULT_URLS["release"],
    dml_url: Annotated[str, _url("dml")] = DEFAULT_URLS["dml"],
    deploy_url: Annotated[str, _url("deploy")] = DEFAULT_URLS["deploy"],
    els_url: Annotated[str, _url("els")] = DEFAULT_URLS["els"],
    token: Annotated[
        str | None,
        typer.Option(envvar="FERRY_TOKEN", help="your bearer token", show_default=False),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(envvar="FERRY_TOKEN_FILE", help="a file holding it (when no --token)"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for an answer", min=1)] = 30,
) -> None:
    """Where the services answer, and who you are."""
    urls = {"release": release_url, "dml": dml_url, "deploy": deploy_url, "els": els_url}
    ctx.obj = Connection(urls, token, token_file, timeout)


def main(argv: Sequence[str] | None = None) -> None:
    """Run `ferry` with `argv` (default: the command line's). Exits 1 on an error the command
    explains, 2 on a usage error; returns on success."""
    try:
        app(args=argv, prog_name="ferry")
    except CliError as exc:
        report(exc)
        raise SystemExit(1) from None
    except SystemExit as exc:
        # Typer ends every run with SystemExit; success is a plain return for callers.
        if exc.code not in (0, None):
            raise
