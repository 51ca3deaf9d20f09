"""`ferry token` mints a development token; `ferry event-keys` makes the local stack's event
signing keys; `ferry schema` prints an inbound topic's JSON Schema. None talks to a service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ferry.cli.output import Json, Output

INBOUND_TOPICS = ("change.events", "ops.signals")
"""The topics outside tools publish to (`ferry.events.schema.INBOUND`; a unit test keeps
the two in step). Listed here so that `ferry` starts without loading the event models."""


def _roles(incomplete: str) -> list[str]:
    from ferry.auth import Role

    return [role.value for role in Role if role.value.startswith(incomplete)]


def token(
    sub: Annotated[str, typer.Option(help="the subject (user or service)")],
    role: Annotated[
        list[str] | None,
        typer.Option(help="a role; repeat for several", autocompletion=_roles),
    ] = None,
    ttl: Annotated[int, typer.Option(help="seconds it stays valid", min=1)] = 3600,
    state_dir: Annotated[
        Path,
        typer.Option(
            envvar="FERRY_STATE_DIR", help="the local stack's state folder (keys in auth/)"
        ),
    ] = Path(".ferry/dev"),
    as_json: Json = False,
) -> None:
    """Mint a token from the local development issuer.

    Its keys live in STATE_DIR/auth (made on first use). Services trust it only when run
    with FERRY_AUTH_ISSUER=ferry-dev and FERRY_AUTH_JWKS_FILE=STATE_DIR/auth/jwks.json.
    """
    # Imported here: the issuer and the roles load modules a plain `ferry` start avoids.
    from ferry.auth import Role
    from ferry.devauth import DevIssuer

    roles = role or []
    known = {r.value for r in Role}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown)} (choose from {', '.join(sorted(known))})",
            param_hint="'--role'",
        )
    minted = DevIssuer(state_dir / "auth").mint(sub, roles, ttl=ttl)
    out = Output(as_json)
    out.result({"token": minted, "sub": sub, "roles": roles, "ttl": ttl}, lambda c: print(minted))


SERVICES = ("release-svc", "dml-svc", "deploy-svc", "els-svc")


def event_keys(
    state_dir: Annotated[
        Path,
        typer.Option(
            envvar="FERRY_STATE_DIR", help="the local stack's state folder (keys in event-keys/)"
        ),
    ] = Path(".ferry/dev"),
) -> None:
    """Make each service's event signing key for the local stack, and print the trust.

    The keys are STATE_DIR/event-keys/<service>.pem (made on first use): each service's
    FERRY_EVENT_SIGNING_KEY_FILE. What is printed, and written to
    STATE_DIR/event-keys/trusted.json, is every service's FERRY_EVENT_TRUSTED_KEYS (JSON),
    or FERRY_EVENT_TRUSTED_KEYS_FILE.
    """
    from ferry.eventsigning import development_keys

    folder = state_dir / "event-keys"
    signers = development_keys(folder, SERVICES)
    trusted = json.dumps({service: [signer.public_key] for service, signer in signers.items()})
    # Renamed into place: a service starting meanwhile never reads it half-written.
    (folder / "trusted.json.new").write_text(trusted)
    (folder / "trusted.json.new").replace(folder / "trusted.json")
    print(trusted)


def schema(
    topic: Annotated[
        str,
        typer.Argument(
            help=f"one of: {', '.join(INBOUND_TOPICS)}",
            autocompletion=lambda: list(INBOUND_TOPICS),
        ),
    ],
    as_json: Json = False,
) -> None:
    """Print the JSON Schema that records an outside tool publishes to TOPIC must meet."""
    from ferry.events.schema import topic_schema

    if topic not in INBOUND_TOPICS:
        raise typer.BadParameter(f"{topic!r} is not one of: {', '.join(INBOUND_TOPICS)}")
    # JSON either way: `--json` is accepted for the same options everywhere.
    del as_json
    print(json.dumps(topic_schema(topic), indent=2))
