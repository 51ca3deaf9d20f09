"""`ferry release …`: plan a release from a YAML file, show and list releases, package,
validate and approve them (release-svc)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

import typer
from rich.console import Console

from ferry.cli import review
from ferry.cli.client import Client, connected, pages, version_of
from ferry.cli.errors import Refused
from ferry.cli.output import Json, Output, fields, table
from ferry.cli.plans import FollowUp, parse

app = typer.Typer(help="Plan, show, list, package, validate, approve and review releases.")

Ref = Annotated[str, typer.Argument(help="the release: its identifier (REL-…) or id")]
IfMatch = Annotated[
    str | None,
    typer.Option(
        "--if-match",
        help="act only if the release is still at this version (its ETag); "
        "default: the version just read",
    ),
]


def read(client: Client, ref: str) -> tuple[dict[str, Any], str]:
    """The release `ref` names and its version (ETag)."""
    answer = client.get("release", f"/releases/{ref}")
    return answer.json(), version_of(answer)


def release_id(client: Client, ref: str) -> str:
    """The id of the release `ref` names (an id is taken as it is)."""
    try:
        return str(UUID(ref))
    except ValueError:
        return str(read(client, ref)[0]["id"])


def show_release(release: dict[str, Any], version: str | None = None) -> Any:
    """How `ferry release show` prints a release."""

    def show(console: Console) -> None:
        windows = [f"{w['environment']} {w['start']} → {w['end']}" for w in release["windows"]]
        package = release.get("package") or {}
        media = [f"{m['name']}@{m['version']}" for m in package.get("media", [])]
        validations = [
            f"{v['kind']} {v['outcome']} ({v['tester']})" for v in release["validations"]
        ]
        risk = release.get("risk")
        level = (
            risk
            and f"{risk['risk_level']} (likelihood {risk['likelihood']}, impact {risk['impact']})"
        )
        console.print(
            fields(
                f"{release['identifier']}  {release['name']} {release['version']}",
                {
                    "id": release["id"],
                    "status": release["status"],
                    "type": release["release_type"],
                    "planned": f"{release['planned_start']} → {release['planned_end']}",
                    "manager": release["release_manager"],
                    "owners": release["owners"],
                    "escalation": release["escalation_contact"],
                    "scope": [f"{i['kind']} {i['name']}" for i in release["scope"]],
                    "depends on": release["depends_on"],
                    "windows": windows,
                    "risk": level,
                    "backout plan": release.get("backout_plan") and "set",
                    "package": media,
                    "validations": validations,
                    "approvals": release["approvals"],
                    "rfc": release["rfc"],
                    "deployed to": release["deployed_to"],
                    "version (ETag)": version or release["stream_version"],
                },
            )
        )

    return show


def _resolved(client: Client, step: FollowUp) -> dict[str, Any]:
    """A follow-up's body with references looked up: releases depended on by identifier,
    package media without a sha256 from the DML."""
    if step.section == "depends_on":
        return {"depends_on": [release_id(client, str(ref)) for ref in step.body["depends_on"]]}
    if step.section == "package":
        media = []
        for item in step.body["media"]:
            if isinstance(item, dict) and "sha256" not in item and {"name", "version"} <= set(item):
                held = client.get(
                    "dml",
                    f"/media/{quote(item['name'], safe='')}/{quote(item['version'], safe='')}",
                ).json()
                item = {**item, "sha256": held["sha256"]}
            media.append(item)
        return {"media": media}
    return step.body


STALE_TRIES = 3
"""How often `plan` sets a section again when the release moved on meanwhile."""


@app.command()
def plan(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="the plan, YAML (see docs/cli.md)", exists=True)],
    as_json: Json = False,
) -> None:
    """Plan a release from a YAML file (docs/cli.md).

    The file holds the release (as POST /releases takes it), then optionally its
    depends_on, scope, windows, communication_plan, risk, backout_plan and package, each
    set in turn.

    Planning the same file again finds the release planned the first time (the file's
    digest is the request's Idempotency-Key) and applies its sections again.
    """
    out = Output(as_json)
    wanted = parse(file.read_text(), str(file))
    with connected(ctx) as client:
        created = client.send(
            "release",
            "POST",
            "/releases",
            json=wanted.release,
            headers={"Idempotency-Key": wanted.idempotency_key()},
        )
        # Read again: a repeated plan's answer is the first one, at the version of then.
        release, version = read(client, created.json()["id"])
        out.note(f"planned {release['identifier']} ({release['id']})")
        for step in wanted.follow_ups:
            path = f"/releases/{release['id']}{step.path}"
            for attempt in range(1, STALE_TRIES + 1):
                try:
                    body = _resolved(client, step)
                    answer = client.change("release", "PUT", path, body, version)
                    break
                except Refused as exc:
                    stale = exc.status == 409 and exc.problem.get("title") == "Version conflict"
                    if stale and attempt < STALE_TRIES:
                        # release-svc itself recorded something meanwhile (a communication
                        # falling due): each section replaces its part whole, so it is set
                        # again at the version now.
                        _, version = read(client, release["id"])
                        continue
                    message = f"{release['identifier']} is planned, but its {step.section}: {exc}"
                    raise Refused(message, exc.service, exc.status, exc.problem) from exc
            release, version = answer.json(), version_of(answer)
            out.note(f"  {step.section} set")
    out.result(release, show_release(release, version))


@app.command()
def show(ctx: typer.Context, ref: Ref, as_json: Json = False) -> None:
    """Show one release."""
    out = Output(as_json)
    with connected(ctx) as client:
        release, version = read(client, ref)
    out.result(release, show_release(release, version))


@app.command("list")
def list_releases(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="e.g. planned, approved, deployed")] = None,
    release_type: Annotated[
        str | None, typer.Option("--type", help="major, minor, patch or emergency")
    ] = None,
    manager: Annotated[str | None, typer.Option(help="its release manager")] = None,
    planned_from: Annotated[
        str | None, typer.Option("--from", help="still planned on or after this day")
    ] = None,
    planned_to: Annotated[
        str | None, typer.Option("--to", help="starting on or before this day")
    ] = None,
    name: Annotated[str | None, typer.Option(help="part of the name")] = None,
    limit: Annotated[int, typer.Option(help="releases per page", min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the `next` of an earlier page")] = None,
    every: Annotated[bool, typer.Option("--all", help="follow `next` to the last page")] = False,
    as_json: Json = False,
) -> None:
    """List releases in planned order, a page at a time (or --all)."""
    out = Output(as_json)
    with connected(ctx) as client:
        items, cursor = pages(
            client,
            "release",
            "/releases",
            cursor,
            every,
            status=status,
            release_type=release_type,
            release_manager=manager,
            planned_from=planned_from,
            planned_to=planned_to,
            name=name,
            limit=limit,
        )

    def render(console: Console) -> None:
        rows = [
            (
                r["identifier"],
                r["name"],
                r["version"],
                r["status"],
                r["planned_start"],
                r["planned_end"],
                r["release_manager"],
            )
            for r in items
        ]
        columns = ("identifier", "name", "version", "status", "start", "end", "manager")
        console.print(table("Releases", columns, rows))
        if cursor:
            console.print(f"more: --cursor {cursor} (or --all)")

    out.result({"items": items, "next": cursor}, render)


def _act(
    ctx: typer.Context, ref: str, path: str, body: dict[str, Any], if_match: str | None
) -> tuple[dict[str, Any], str]:
    """POST `body` to the release's `path` at the version read (or `if_match`)."""
    with connected(ctx) as client:
        release, version = read(client, ref)
        answer = client.change(
            "release", "POST", f"/releases/{release['id']}{path}", body, if_match or version
        )
        return answer.json(), version_of(answer)


def _media(item: str) -> dict[str, str]:
    name, at, rest = item.partition("@")
    version, _, sha256 = rest.partition("=")
    if not (name and at and version):
        raise typer.BadParameter(f"{item!r}: give NAME@VERSION or NAME@VERSION=SHA256")
    return {"name": name, "version": version, **({"sha256": sha256} if sha256 else {})}


@app.command()
def package(
    ctx: typer.Context,
    ref: Ref,
    media: Annotated[
        list[str],
        typer.Argument(help="NAME@VERSION (the DML says its sha256) or NAME@VERSION=SHA256"),
    ],
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Build the release's package from media in the DML.

    A new package resets the release's validations and approvals.
    """
    out = Output(as_json)
    step = FollowUp("package", "/package", {"media": [_media(m) for m in media]})
    with connected(ctx) as client:
        release, version = read(client, ref)
        body = _resolved(client, step)
        answer = client.change(
            "release", "PUT", f"/releases/{release['id']}/package", body, if_match or version
        )
    release, version = answer.json(), version_of(answer)
    out.result(release, show_release(release, version))


@app.command()
def validate(
    ctx: typer.Context,
    ref: Ref,
    kind: Annotated[
        str, typer.Option(help="functional, integration, performance, security, user_acceptance")
    ],
    evidence: Annotated[str, typer.Option(help="a link to the test report")],
    outcome: Annotated[str, typer.Option(help="passed or failed")] = "passed",
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Record a validation result of the release's package (testers)."""
    out = Output(as_json)
    body = {"kind": kind, "outcome": outcome, "evidence": evidence}
    release, version = _act(ctx, ref, "/validations", body, if_match)
    out.result(release, show_release(release, version))


@app.command()
def approve(
    ctx: typer.Context,
    ref: Ref,
    rfc: Annotated[str, typer.Option(help="the request for change")],
    comment: Annotated[str, typer.Option(help="a comment for the record")] = "",
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Approve the release's package under RFC (change authorities)."""
    out = Output(as_json)
    release, version = _act(ctx, ref, "/approvals", {"rfc": rfc, "comment": comment}, if_match)
    out.result(release, show_release(release, version))


@app.command("review-draft")
def review_draft(ctx: typer.Context, ref: Ref, as_json: Json = False) -> None:
    """The release's review as the record tells it: deployments, Early Life Support,
    feedback, planned against actual dates."""
    out = Output(as_json)
    with connected(ctx) as client:
        draft = client.get("release", f"/releases/{release_id(client, ref)}/review/draft").json()
    out.result(draft, review.show_draft(draft))


@app.command("review")
def conduct_review(
    ctx: typer.Context,
    ref: Ref,
    objectives_met: Annotated[
        bool,
        typer.Option(
            "--objectives-met/--objectives-missed", help="whether the release met its objectives"
        ),
    ],
    went_well: Annotated[list[str] | None, typer.Option(help="what went well (repeat)")] = None,
    to_improve: Annotated[list[str] | None, typer.Option(help="what to improve (repeat)")] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            help="an improvement action: TEXT, TEXT@OWNER or TEXT@OWNER@YYYY-MM-DD (repeat)"
        ),
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="the deployment outcome; default: the record's")
    ] = None,
    incidents: Annotated[
        int | None, typer.Option(help="incidents during ELS; default: those linked", min=0)
    ] = None,
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Conduct the post-implementation review once Early Life Support has ended (the
    release's manager or owners); what happened comes from the record unless given."""
    out = Output(as_json)
    body: dict[str, Any] = {
        "objectives_met": objectives_met,
        "went_well": went_well or [],
        "to_improve": to_improve or [],
        "actions": [review.action(a) for a in action or []],
        **({"deployment_outcome": outcome} if outcome is not None else {}),
        **({"incidents_during_els": incidents} if incidents is not None else {}),
    }
    release, version = _act(ctx, ref, "/review", body, if_match)
    out.result(release, show_release(release, version))


@app.command()
def readiness(ctx: typer.Context, ref: Ref, as_json: Json = False) -> None:
    """What must be ready before the release goes to production, who confirmed what, and
    what is still open."""
    out = Output(as_json)
    with connected(ctx) as client:
        found = client.get("release", f"/releases/{release_id(client, ref)}/readiness").json()
    out.result(found, _show_readiness(found))


@app.command()
def ready(
    ctx: typer.Context,
    ref: Ref,
    item: Annotated[
        str,
        typer.Option(
            help="service_desk_briefed or operations_acceptance (operations), "
            "training_delivered or documentation_published (release manager)"
        ),
    ],
    evidence: Annotated[str, typer.Option(help="what shows it: a link, a record")],
    if_match: IfMatch = None,
    as_json: Json = False,
) -> None:
    """Confirm one readiness item of the release, with its evidence."""
    out = Output(as_json)
    found, _ = _act(ctx, ref, "/readiness", {"item": item, "evidence": evidence}, if_match)
    out.result(found, _show_readiness(found))


@app.command()
def notifications(
    ctx: typer.Context,
    ref: Ref,
    limit: Annotated[int, typer.Option(help="notifications per page", min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the `next` of an earlier page")] = None,
    as_json: Json = False,
) -> None:
    """Every notification about the release: to whom, over which channel, how its delivery
    went, and who has read or acknowledged it; newest first."""
    out = Output(as_json)
    with connected(ctx) as client:
        path = f"/releases/{release_id(client, ref)}/notifications"
        page = client.get("release", path, limit=limit, cursor=cursor).json()
    rows = [
        (
            n["recipient"],
            n["channel"],
            n["state"] + (f" ({n['last_error']})" if n["last_error"] else ""),
            n["attempts"],
            "acknowledged" if n["acknowledged_at"] else ("read" if n["read_at"] else ""),
            n["subject"],
        )
        for n in page["items"]
    ]

    def render(console: Console) -> None:
        columns = ("recipient", "channel", "delivery", "attempts", "seen", "subject")
        console.print(table("notifications", columns, rows))
        if page["next"]:
            console.print(f"more: --cursor {page['next']}")

    out.result(page, render)


def _show_readiness(found: dict[str, Any]) -> Any:
    def show(console: Console) -> None:
        rows = [
            (
                i["item"],
                "yes" if i["needed"] else "",
                i["confirmed_by_role"],
                i["confirmed_by"] or "",
                i["evidence"] or "",
            )
            for i in found["items"]
        ]
        columns = ("item", "needed", "confirmed by role", "confirmed by", "evidence")
        console.print(table("readiness", columns, rows))
        console.print(f"open: {', '.join(found['open']) or 'none'}")

    return show
