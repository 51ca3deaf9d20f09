"""`ferry`: the command line: `ferry token` mints a development token, `ferry schema` prints
an inbound topic's JSON Schema."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ferry.auth import Role
from ferry.devauth import DevIssuer
from ferry.events.schema import INBOUND, topic_schema


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ferry", description="Ferry's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser(
        "token",
        help="mint a token from the local development issuer",
        description="Print a bearer token signed by the development issuer, whose keys live "
        "in <state-dir>/auth (made on first use). Services trust it only when run with "
        "FERRY_AUTH_ISSUER=ferry-dev and FERRY_AUTH_JWKS_FILE=<state-dir>/auth/jwks.json.",
    )
    token.add_argument("--sub", required=True, help="the subject (user or service)")
    token.add_argument(
        "--role",
        action="append",
        default=[],
        choices=[role.value for role in Role],
        help="a role; repeat for several",
    )
    token.add_argument("--ttl", type=int, default=3600, help="seconds it stays valid (3600)")
    token.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("FERRY_STATE_DIR", ".ferry/dev")),
        help="the local stack's state folder (FERRY_STATE_DIR, default .ferry/dev)",
    )
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of an inbound topic's records",
        description="Print the JSON Schema that records an outside tool publishes must meet.",
    )
    schema.add_argument("topic", choices=sorted(INBOUND))
    args = parser.parse_args(argv)
    if args.command == "schema":
        sys.stdout.write(json.dumps(topic_schema(args.topic), indent=2) + "\n")
        return
    issuer = DevIssuer(args.state_dir / "auth")
    sys.stdout.write(issuer.mint(args.sub, args.role, ttl=args.ttl) + "\n")


if __name__ == "__main__":
    main()
