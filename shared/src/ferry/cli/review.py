"""How `ferry release review-draft` prints a draft, and how `review` reads an action."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from ferry.cli.output import fields, table


def action(text: str) -> dict[str, str]:
    """`TEXT`, `TEXT@OWNER` or `TEXT@OWNER@DUE` as the review's body takes an action."""
    description, _, rest = text.partition("@")
    owner, _, due = rest.partition("@")
    if not description.strip():
        raise typer.BadParameter(f"{text!r}: give TEXT, TEXT@OWNER or TEXT@OWNER@YYYY-MM-DD")
    return {"description": description, "owner": owner, **({"due": due} if due else {})}


def show_draft(draft: dict[str, Any]) -> Any:
    def show(console: Console) -> None:
        satisfaction = draft["satisfaction"]
        planned = draft["els_planned_days"]
        console.print(
            fields(
                "review draft",
                {
                    "deployment outcome": draft["deployment_outcome"],
                    "incidents during ELS": f"{draft['incidents_during_els']} "
                    f"{', '.join(draft['incidents'])}".strip(),
                    "ELS days (planned)": f"{draft['els_duration_days'] or 'running'}"
                    + (f" ({planned:g})" if planned else ""),
                    "escalations": draft["els_escalations"],
                    "taken over early": draft["els_overrides"],
                    "satisfaction": f"{satisfaction} of 5 ({len(draft['feedback'])} answers)"
                    if satisfaction is not None
                    else "",
                },
            )
        )
        rows = [(d["milestone"], d["planned"], d["actual"], d["slip_days"]) for d in draft["dates"]]
        console.print(
            table("planned and actual", ("milestone", "planned", "actual", "days late"), rows)
        )
        if draft["feedback"]:
            answers = [(f["rating"], f["given_by"], f["comment"]) for f in draft["feedback"]]
            console.print(table("feedback", ("rating", "by", "comment"), answers))

    return show
