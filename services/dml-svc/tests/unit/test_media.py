"""Media items: staged once, never overwritten, taken only by the roles their state allows."""

from __future__ import annotations

import base64
import hashlib

import pytest

from dml_svc.domain.digests import declared_sha256, repr_digest
from dml_svc.domain.media import (
    Blob,
    InvalidMedia,
    MayNotRetrieve,
    Media,
    MediaImmutable,
    MediaState,
    StageMedia,
    media_id,
)
from ferry.errors import InvalidTransition
from ferry.events.dml import MediaKind, MediaRetrieved, MediaRevoked, MediaStaged

SHA = hashlib.sha256(b"payments").hexdigest()


def stage(name: str = "payments.tar.gz", sha256: str = SHA) -> StageMedia:
    return StageMedia(name, "1.0.0", Blob(sha256, 8), MediaKind.SOFTWARE, "application/gzip", "")


def staged() -> Media:
    media = Media(media_id("payments.tar.gz", "1.0.0"))
    for event in media.stage(stage()):
        media.apply(event)
    return media


def test_staging_new_media_decides_media_staged() -> None:
    [event] = Media(media_id("payments.tar.gz", "1.0.0")).stage(stage())
    assert isinstance(event, MediaStaged)
    assert (event.sha256, event.size) == (SHA, 8)


def test_the_same_bytes_again_decide_nothing_and_other_bytes_are_refused() -> None:
    media = staged()
    assert media.stage(stage()) == []
    with pytest.raises(MediaImmutable, match="never overwrites"):
        media.stage(stage(sha256="0" * 64))


def test_one_name_and_version_is_one_stream() -> None:
    assert media_id("a", "1") == media_id("a", "1") != media_id("a", "2")


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "a/b", ".hidden", "nul\x00", "", "a..b", "x" * 129]
)
def test_names_that_could_escape_a_path_are_refused(name: str) -> None:
    with pytest.raises(InvalidMedia) as refused:
        Media(media_id(name, "1")).stage(stage(name=name))
    assert refused.value.field == "name"


def test_staged_media_are_for_testers_not_deployers() -> None:
    media = staged()
    [event] = media.retrieve("tess", frozenset({MediaState.STAGED}))
    assert isinstance(event, MediaRetrieved)
    assert event.retrieved_by == "tess"
    with pytest.raises(MayNotRetrieve):
        media.retrieve("dora", frozenset({MediaState.DEFINITIVE}))


def test_revoked_media_are_for_nobody() -> None:
    media = staged()
    media.apply(
        MediaRevoked(media_id=media.id, name=media.name, version="1.0.0", sha256=SHA, reason="CVE")
    )
    with pytest.raises(InvalidTransition, match="revoked"):
        media.retrieve("lib", frozenset(MediaState))


def test_a_declared_digest_is_read_from_either_header() -> None:
    encoded = base64.b64encode(bytes.fromhex(SHA)).decode()
    assert declared_sha256(f"sha-512=:abc=:, sha-256=:{encoded}:", None) == SHA
    assert declared_sha256(None, f"SHA-256={encoded}") == SHA
    assert declared_sha256(None, None) is None
    assert repr_digest(SHA) == f"sha-256=:{encoded}:"


@pytest.mark.parametrize(
    ("repr_", "legacy", "field"),
    [
        ("md5=:abc:", None, "Repr-Digest"),
        ("sha-256=:bm90IDMyIGJ5dGVz:", None, "Repr-Digest"),
        (None, "sha-256=%%%", "Digest"),
    ],
)
def test_a_digest_header_the_library_cannot_check_is_refused(
    repr_: str | None, legacy: str | None, field: str
) -> None:
    with pytest.raises(InvalidMedia) as refused:
        declared_sha256(repr_, legacy)
    assert refused.value.field == field
