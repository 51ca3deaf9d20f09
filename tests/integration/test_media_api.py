"""dml-svc's media API against real PostgreSQL and Kafka, with the bytes on a real disk."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from dml_svc.config import Settings
from dml_svc.main import spec
from ferry.events.release import MediaRef, ReleaseApproved, ReleaseValidated
from ferry.testing import release_planned
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic, serving, settings

CONTENT = b"payments service, build 2026.12.0\n" * 1000
SHA = hashlib.sha256(CONTENT).hexdigest()
DIGEST = f"sha-256=:{base64.b64encode(bytes.fromhex(SHA)).decode()}:"
LIMIT = 8 * 1024 * 1024


@pytest.fixture
def dml_settings(infra: Infra, topic_prefix: str, tmp_path: Path) -> Settings:
    return settings(
        Settings,
        infra,
        topic_prefix,
        media_dir=tmp_path / "media",
        max_upload_bytes=LIMIT,
        scrub_interval_seconds=0,
    )


@pytest.fixture
async def dml(dml_settings: Settings, infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """dml-svc, called by lib, a librarian."""
    async with serving(
        spec(dml_settings), headers=infra.issuer.bearer("lib", "dml-librarian")
    ) as client:
        yield client


def stored(s: Settings) -> list[Path]:
    return [p for p in (s.media_dir / "blobs").rglob("*") if p.is_file()]


async def upload(dml: httpx.AsyncClient, path: str, body: bytes, **headers: str) -> httpx.Response:
    return await dml.put(
        path,
        content=body,
        headers={"Content-Type": "application/gzip", **headers},
        params={"kind": "software", "supplier": "in-house"},
    )


async def test_an_upload_is_staged_announced_and_idempotent(
    dml: httpx.AsyncClient, dml_settings: Settings, infra: Infra
) -> None:
    first = await upload(
        dml, "/media/payments-api.tar.gz/2026.12.0", CONTENT, **{"Repr-Digest": DIGEST}
    )
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] == SHA
    assert first.json()["state"] == "staged"
    again = await upload(dml, "/media/payments-api.tar.gz/2026.12.0", CONTENT)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = await upload(dml, "/media/payments-api.tar.gz/2026.12.0", CONTENT + b"tampered")
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert len(stored(dml_settings)) == 1  # the refused bytes were not kept
    [announced] = await read_topic(
        infra.kafka, dml_settings.topic("dml.events"), expect=1, settle=1
    )
    assert announced.type == "MediaStaged"
    assert announced.data["sha256"] == SHA
    assert announced.actor == "lib"


async def test_a_wrong_digest_or_too_large_upload_stores_nothing(
    dml: httpx.AsyncClient, dml_settings: Settings
) -> None:
    wrong = f"sha-256=:{base64.b64encode(bytes(32)).decode()}:"
    mismatch = await upload(dml, "/media/a.tar.gz/1.0", CONTENT, **{"Repr-Digest": wrong})
    assert mismatch.status_code == 422
    too_large = await upload(dml, "/media/b.tar.gz/1.0", b"x" * (LIMIT + 1))
    assert too_large.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: caught while streaming
        for _ in range(LIMIT // 1024 + 2):
            yield b"y" * 1024

    streamed = await dml.put("/media/c.tar.gz/1.0", content=chunked())
    assert streamed.status_code == 413
    assert stored(dml_settings) == []
    listed = await dml.get("/media")
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/media/.hidden/1.0", {}, "name"),
        ("/media/a..b/1.0", {}, "name"),
        ("/media/ok.tar.gz/1.0;rm", {}, "version"),
        ("/media/ok.tar.gz/1.0", {"kind": "spaceship"}, "kind"),
        ("/media/ok.tar.gz/1.0", {"supplier": "bad\x01"}, "supplier"),
    ],
)
async def test_bad_names_and_metadata_are_refused_naming_the_field(
    dml: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    answer = await dml.put(path, content=b"abc", params=params)
    assert answer.status_code == 422, answer.text
    assert any(e["field"].endswith(field) for e in answer.json()["errors"])


async def test_downloads_follow_the_state_and_are_recorded(
    dml: httpx.AsyncClient, dml_settings: Settings, infra: Infra
) -> None:
    await upload(dml, "/media/payments-api.tar.gz/2026.12.0", CONTENT)
    path = "/media/payments-api.tar.gz/2026.12.0/content"
    tester = await dml.get(path, headers=infra.issuer.bearer("tess", "tester"))
    assert tester.status_code == 200
    assert tester.content == CONTENT
    assert tester.headers["Repr-Digest"] == DIGEST
    deployer = await dml.get(path, headers=infra.issuer.bearer("dora", "deployer"))
    assert deployer.status_code == 403  # staged media are not for deployment
    viewer = await dml.get(path, headers=infra.issuer.bearer("vic", "viewer"))
    assert viewer.status_code == 403
    assert (
        await dml.get(
            "/media/payments-api.tar.gz/2026.12.0", headers=infra.issuer.bearer("vic", "viewer")
        )
    ).status_code == 200
    events = await read_topic(infra.kafka, dml_settings.topic("dml.events"), expect=2, settle=1)
    retrieved = [e for e in events if e.type == "MediaRetrieved"]
    assert [(e.data["retrieved_by"], e.data["sha256"]) for e in retrieved] == [("tess", SHA)]


async def test_media_are_listed_and_filtered_a_page_at_a_time(dml: httpx.AsyncClient) -> None:
    for n in range(3):
        await upload(dml, f"/media/tool-{n}.zip/1.0", CONTENT + bytes([n]))
    await dml.put(
        "/media/guide.pdf/1.0",
        content=b"%PDF",
        params={"kind": "documentation"},
        headers={"Content-Type": "application/pdf"},
    )
    first = (await dml.get("/media", params={"limit": 2})).json()
    second = (await dml.get("/media", params={"limit": 2, "cursor": first["next"]})).json()
    assert [m["name"] for m in first["items"] + second["items"]] == [
        "guide.pdf",
        "tool-0.zip",
        "tool-1.zip",
        "tool-2.zip",
    ]
    assert second["next"] is None
    docs = (await dml.get("/media", params={"kind": "documentation"})).json()["items"]
    assert [(m["name"], m["media_type"]) for m in docs] == [("guide.pdf", "application/pdf")]


async def test_a_range_is_served_with_its_headers(dml: httpx.AsyncClient) -> None:
    await upload(dml, "/media/payments-api.tar.gz/2026.12.0", CONTENT)
    path = "/media/payments-api.tar.gz/2026.12.0/content"
    whole = await dml.get(path)
    assert whole.headers["ETag"] == f'"{SHA}"'
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == len(CONTENT)
    part = await dml.get(path, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == CONTENT[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(CONTENT)}"
    tail = await dml.get(path, headers={"Range": "bytes=-10"})
    assert tail.content == CONTENT[-10:]
    outside = await dml.get(path, headers={"Range": f"bytes={len(CONTENT)}-"})
    assert outside.status_code == 416
    assert outside.headers["Content-Range"] == f"bytes */{len(CONTENT)}"


async def test_corrupted_bytes_are_never_served_as_good_and_are_reported(
    dml: httpx.AsyncClient, dml_settings: Settings, infra: Infra
) -> None:
    big = CONTENT * 100  # several chunks, so some bytes flow before the damage is known
    uploaded = await upload(dml, "/media/big.tar.gz/1.0", big)
    [blob] = stored(dml_settings)
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 0x40
    blob.write_bytes(damaged)

    with pytest.raises(httpx.RemoteProtocolError):
        await dml.get("/media/big.tar.gz/1.0/content")
    blob.unlink()
    missing = await dml.get("/media/big.tar.gz/1.0/content")
    assert missing.status_code == 500
    assert missing.headers["content-type"] == "application/problem+json"

    events = await read_topic(infra.kafka, dml_settings.topic("dml.events"), expect=5, settle=1)
    found = [e.data["found"] for e in events if e.type == "MediaCorruptionDetected"]
    assert found == [hashlib.sha256(damaged).hexdigest(), "missing"]
    assert uploaded.json()["sha256"] == hashlib.sha256(big).hexdigest()


async def test_a_scrub_reports_a_blob_whose_bytes_changed(
    dml: httpx.AsyncClient, dml_settings: Settings, infra: Infra
) -> None:
    await upload(dml, "/media/good.tar.gz/1.0", CONTENT)
    await upload(dml, "/media/bad.tar.gz/1.0", CONTENT + b"x")
    damaged = next(p for p in stored(dml_settings) if p.name != SHA)
    damaged.write_bytes(b"y" + damaged.read_bytes()[1:])
    crashed = dml_settings.media_dir / "blobs" / "incoming" / "crashed-upload"
    crashed.write_bytes(b"half an upload")
    long_ago = time.time() - 2 * 3600
    os.utime(crashed, (long_ago, long_ago))
    asked = await dml.post("/integrity/scrubs")
    assert asked.status_code == 202

    async def finished() -> dict[str, Any] | None:
        scrub = (await dml.get(asked.headers["Location"])).json()
        return scrub if scrub["finished_at"] else None

    scrub = await eventually(finished, what="the scrub to finish")
    assert (scrub["total"], scrub["checked"]) == (2, 2)
    assert not crashed.exists()  # what a crash left of an upload is swept too
    [found] = scrub["corrupted"]
    assert (found["name"], found["found"]) == (
        "bad.tar.gz",
        hashlib.sha256(damaged.read_bytes()).hexdigest(),
    )
    viewer = infra.issuer.bearer("vic", "viewer")
    assert (await dml.post("/integrity/scrubs", headers=viewer)).status_code == 403
    assert (await dml.get("/integrity/scrubs", headers=viewer)).json()[0]["scrub_id"] == scrub[
        "scrub_id"
    ]
    events = await read_topic(infra.kafka, dml_settings.topic("dml.events"), expect=3, settle=1)
    [detected] = [e for e in events if e.type == "MediaCorruptionDetected"]
    assert (detected.data["detected_by"], detected.actor) == ("scrub", "service:dml-svc")


async def test_revoked_media_and_releases_are_for_nobody(
    dml: httpx.AsyncClient, dml_settings: Settings, infra: Infra
) -> None:
    staged = await upload(dml, "/media/payments-api.tar.gz/2026.12.0", CONTENT)
    media = {k: staged.json()[k] for k in ("name", "version", "sha256")}
    release_id = uuid4()
    topic = dml_settings.topic("release.events")
    await publish(infra, topic, release_planned(release_id=release_id))
    approved = ReleaseApproved(
        release_id=release_id,
        rfc="RFC-1",
        approvers=["carl"],
        package_revision=1,
        media=[MediaRef(**media)],
    )
    await publish(
        infra,
        topic,
        ReleaseValidated(release_id=release_id, package_revision=1, kinds=["functional"]),
        approved,
    )
    path = f"/library/releases/{release_id}"

    async def available() -> httpx.Response | None:
        entry = await dml.get(path)
        return entry if entry.status_code == 200 and entry.json()["state"] == "available" else None

    entry = await eventually(available, what="the release to become available")
    deployer = infra.issuer.bearer("dora", "deployer")
    content = "/media/payments-api.tar.gz/2026.12.0/content"
    assert (await dml.get(content, headers=deployer)).status_code == 200  # definitive now

    no_match = await dml.post(
        f"{path}/revoke", json={"reason": "CVE-2026-1234"}, headers={"If-Match": '"1"'}
    )
    assert no_match.status_code == 409
    revoked = await dml.post(
        f"{path}/revoke",
        json={"reason": "CVE-2026-1234"},
        headers={"If-Match": entry.headers["ETag"]},
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    assert (await dml.get(content, headers=deployer)).status_code == 409
    assert (await dml.get("/media/payments-api.tar.gz/2026.12.0")).json()["state"] == "revoked"

    other = await upload(dml, "/media/tool.zip/1.0", CONTENT + b"!")
    etag = other.headers["ETag"]
    first = await dml.post(
        "/media/tool.zip/1.0/revoke", json={"reason": "licence ended"}, headers={"If-Match": etag}
    )
    assert first.json()["state"] == "revoked"
    again = await dml.post(
        "/media/tool.zip/1.0/revoke",
        json={"reason": "again"},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert again.status_code == 409
    events = await read_topic(infra.kafka, dml_settings.topic("dml.events"), expect=10, settle=1)
    assert sorted(e.data["name"] for e in events if e.type == "MediaRevoked") == [
        "payments-api.tar.gz",
        "tool.zip",
    ]
    assert [e.type for e in events if e.type == "ReleaseRevoked"] == ["ReleaseRevoked"]


async def test_purchased_software_carries_its_licence(dml: httpx.AsyncClient) -> None:
    software = await upload(dml, "/media/vendor-db.tar.gz/14.2", CONTENT)
    licence_doc = await dml.put(
        "/media/vendor-db-licence.pdf/2026",
        content=b"%PDF licence",
        params={"kind": "licence", "supplier": "Vendor"},
        headers={"Content-Type": "application/pdf"},
    )
    assert licence_doc.status_code == 201
    body = {
        "licence_name": "vendor-db-licence.pdf",
        "licence_version": "2026",
        "seats": 25,
        "expires_on": "2027-12-31",
        "terms": "production use, 25 cores",
    }
    attached = await dml.put(
        "/media/vendor-db.tar.gz/14.2/licence",
        json=body,
        headers={"If-Match": software.headers["ETag"]},
    )
    assert attached.status_code == 200, attached.text
    assert attached.json()["licence"]["seats"] == 25
    listed = (await dml.get("/media", params={"name": "vendor-db.tar.gz"})).json()["items"]
    assert listed[0]["licence"]["expires_on"] == "2027-12-31"
    # A licence must be a licence, and only software has one.
    not_a_licence = {**body, "licence_name": "vendor-db.tar.gz", "licence_version": "14.2"}
    wrong = await dml.put(
        "/media/vendor-db.tar.gz/14.2/licence",
        json=not_a_licence,
        headers={"If-Match": attached.headers["ETag"]},
    )
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "licence")


async def test_concurrent_uploads_of_one_name_and_version_keep_one(dml: httpx.AsyncClient) -> None:
    bodies = [CONTENT + bytes([n]) for n in range(4)]
    answers = await asyncio.gather(*(upload(dml, "/media/race.tar.gz/1.0", b) for b in bodies))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    [winner] = [a for a in answers if a.status_code == 201]
    kept = (await dml.get("/media/race.tar.gz/1.0")).json()
    assert kept["sha256"] == winner.json()["sha256"]
    downloaded = await dml.get("/media/race.tar.gz/1.0/content")
    assert hashlib.sha256(downloaded.content).hexdigest() == kept["sha256"]


async def test_an_upload_cut_short_leaves_nothing_behind(
    dml: httpx.AsyncClient, dml_settings: Settings, infra: Infra
) -> None:
    url = httpx.URL(str(dml.base_url))
    _, writer = await asyncio.open_connection(url.host, url.port)
    token = infra.issuer.bearer("lib", "dml-librarian")["Authorization"]
    writer.write(
        (
            f"PUT /media/cut.tar.gz/1.0 HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Authorization: {token}\r\nContent-Length: {len(CONTENT)}\r\n\r\n"
        ).encode()
        + CONTENT[: len(CONTENT) // 2]
    )
    await writer.drain()
    writer.close()  # the client dies half-way
    await writer.wait_closed()

    async def gone() -> bool:
        # The upload began (its folder exists: no other upload made it) and left nothing.
        incoming = dml_settings.media_dir / "blobs" / "incoming"
        return incoming.exists() and not any(incoming.iterdir())

    await eventually(gone, what="the partial upload to be removed")
    assert stored(dml_settings) == []
    assert (await dml.get("/media/cut.tar.gz/1.0")).status_code == 404


async def test_a_range_of_a_corrupted_blob_is_refused_not_served(
    dml: httpx.AsyncClient, dml_settings: Settings
) -> None:
    big = bytes(range(256)) * (5 * 1024 * 1024 // 256)  # more than one 4 MiB piece
    await upload(dml, "/media/ranged.bin/1.0", big)
    [blob] = stored(dml_settings)
    damaged = bytearray(blob.read_bytes())
    damaged[50] ^= 0x01
    blob.write_bytes(damaged)
    answer = await dml.get("/media/ranged.bin/1.0/content", headers={"Range": "bytes=0-99"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
