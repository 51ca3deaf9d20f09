"""Governance proposals in tests: a change proposed by one person, approved by another."""

from __future__ import annotations

import httpx

from tests.support.infra import Infra

APPROVER = "gov-approver"
"""The change authority who approves what tests propose; never one of their own subjects."""


async def approved(
    api: httpx.AsyncClient, infra: Infra, proposed: httpx.Response, approver: str = APPROVER
) -> httpx.Response:
    """Approve the proposal `proposed` answered with, as change authority `approver`; the
    approval's response (the proposal, now approved)."""
    assert proposed.status_code == 202, proposed.text
    # Location is relative to the service that answered (the client may serve several).
    proposal = proposed.request.url.join(proposed.headers["Location"])
    answer = await api.post(
        f"{proposal}/approve",
        headers={
            **infra.issuer.bearer(approver, "change-authority"),
            "If-Match": proposed.headers["ETag"],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "approved"
    return answer
