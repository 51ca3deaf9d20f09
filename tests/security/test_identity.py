"""Identity: who a token says the caller is, whose keys sign it, and secrets kept out of logs.

Attacks, each against release-svc on a real port with real PostgreSQL and Kafka:
- an IdP group outside the role map that happens to bear a Ferry role's name (row 6);
- a token signed with a key the IdP has withdrawn from its JWKS (row 7);
- reading a calendar feed's secret URL from the service's log (row 9).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from ferry.devauth import ISSUER, DevIssuer
from release_svc.config import Settings
from release_svc.main import spec as release_spec
from tests.security.leaks import assert_leaked_nowhere, stored_events
from tests.support.infra import Infra
from tests.support.services import eventually, serving, settings, start_service, unique, until_ready

PLAN = {
    "name": "Payments",
    "version": "1.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-02",
}


async def test_a_group_outside_the_role_map_gives_no_role_whatever_its_name(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(
        Settings,
        infra,
        topic_prefix,
        auth_roles_claim="groups",
        auth_role_map={"CN=Release Managers": "release-manager"},
    )
    # The IdP lets anyone create groups; mallory made two named like Ferry's roles.
    mallory = infra.issuer.mint("mallory", [], groups=["release-manager", "deployer"])
    rita = infra.issuer.mint("rita", [], groups=["CN=Release Managers"])
    async with serving(release_spec(s)) as api:
        refused = await api.post(
            "/releases", json=PLAN, headers={"Authorization": f"Bearer {mallory}"}
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        detail = refused.json()["detail"]
        assert "FERRY_AUTH_ROLE_MAP" in detail
        assert "'release-manager'" in detail
        # Not even reading: no role at all.
        listing = await api.get("/releases", headers={"Authorization": f"Bearer {mallory}"})
        assert listing.status_code == 403
        assert await stored_events(infra, s.db_schema) == [], "nothing written"
        allowed = await api.post(
            "/releases", json=PLAN, headers={"Authorization": f"Bearer {rita}"}
        )
        assert allowed.status_code == 201, allowed.text


def test_a_role_map_onto_no_ferry_role_is_refused_at_start_up(
    infra: Infra, topic_prefix: str
) -> None:
    with pytest.raises(ValidationError, match=r"not Ferry roles \(`role` or `team:role`\): admin"):
        settings(Settings, infra, topic_prefix, auth_role_map={"CN=Admins": "admin"})


@pytest.fixture
def jwks_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server publishing a JWKS document, as an IdP's `jwks_uri` does."""
    folder = tmp_path / "idp"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", folder / "jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def publish_keys(document: Path, *issuers: DevIssuer) -> None:
    keys = [key for i in issuers for key in json.loads(i.jwks_file.read_text())["keys"]]
    document.write_text(json.dumps({"keys": keys}))


@pytest.mark.parametrize("source", ["url", "file"])
async def test_a_key_the_issuer_withdraws_is_refused_within_the_refresh_period(
    infra: Infra,
    topic_prefix: str,
    tmp_path: Path,
    jwks_server: tuple[str, Path],
    source: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, document = jwks_server
    stolen, current = DevIssuer(tmp_path / "stolen"), DevIssuer(tmp_path / "current")
    publish_keys(document, stolen, current)
    where = {"auth_jwks_url": url, "auth_jwks_file": None} if source == "url" else {}
    where = where or {"auth_jwks_file": str(document)}
    s = settings(
        Settings, infra, topic_prefix, auth_issuer=ISSUER, auth_jwks_refresh_seconds=1, **where
    )
    path = f"/releases/{uuid.uuid4()}"
    # Minted before the key was withdrawn, valid for an hour: only the key set can stop it.
    attacker = stolen.bearer("mallory", "viewer")
    async with serving(release_spec(s)) as api:
        assert (await api.get(path, headers=attacker)).status_code == 404  # through the gate
        assert (await api.get(path, headers=current.bearer("rita", "viewer"))).status_code == 404
        # The IdP learns the key leaked and withdraws it.
        publish_keys(document, current)

        async def refused() -> bool:
            return (await api.get(path, headers=attacker)).status_code == 401

        await eventually(refused, timeout=3, what="the withdrawn key refused")
        answer = await api.get(path, headers=attacker)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "not signed by a key of the configured issuer" in answer.json()["detail"]
        assert (await api.get(path, headers=current.bearer("rita", "viewer"))).status_code == 404

        # The IdP is broken for a while: the last good key set stays, and it is said.
        caplog.set_level(logging.ERROR, logger="ferry.auth")
        document.write_text("<html>maintenance</html>")
        await asyncio.sleep(1.2)
        assert (await api.get(path, headers=current.bearer("rita", "viewer"))).status_code == 404
        assert (await api.get(path, headers=attacker)).status_code == 401
        assert any("cannot load the issuer's keys" in r.getMessage() for r in caplog.records)


async def test_a_calendar_feeds_secret_is_in_no_log_line(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    schema = unique("release")
    log = tmp_path / "release-svc.log"
    service, base = start_service(
        "release", infra, topic_prefix, log, FERRY_RELEASE_DB_SCHEMA=schema
    )
    vic = infra.issuer.bearer("vic", "viewer")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await until_ready(client, timeout=60)
            made = await client.post(
                "/schedule/feed-tokens", json={"label": "my phone"}, headers=vic
            )
            assert made.status_code == 201, made.text
            url = made.json()["url"]
            secret = url.removeprefix("/schedule/feeds/").removesuffix(".ics")
            # The calendar app polls it, with and without filters; a guess fails.
            assert (await client.get(url)).status_code == 200
            filtered = await client.get(url, params={"environment": "production"})
            assert filtered.status_code == 200
            assert (await client.get(f"/schedule/feeds/{'x' * 43}.ics")).status_code == 404
    finally:
        service.stop()
    lines = log.read_text(errors="replace").splitlines()
    requests = [line for line in lines if "/schedule/feeds/" in line]
    # Each request is logged (by uvicorn's access log), the secret in none of them.
    assert len(requests) >= 3, "\n".join(lines[-20:])
    assert all("/schedule/feeds/[redacted].ics" in line for line in requests), requests
    assert not [line for line in lines if secret in line]
    await assert_leaked_nowhere(infra, topic_prefix, [schema], [secret])
