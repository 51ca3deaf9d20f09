"""Jobs for deployment drivers' tests: a release's media as real files."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from deploy_svc.drivers.base import Artifacts, Job


def job_for(
    folder: Path,
    version: str,
    media: Mapping[str, bytes],
    target: str = "t1",
    /,
    **settings: object,
) -> Job:
    """A job installing `version` whose media (name → bytes) are files under `folder`; any
    keyword is one of its settings."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, (name, content) in enumerate(media.items()):
        # Stored under a plain name of our own: the media's names are what is under test.
        files[name] = folder / f"media-{i}"
        files[name].write_bytes(content)
    artifacts = Artifacts(release_id=uuid.uuid4(), version=version, media=files)
    return Job(uuid.uuid4(), target, dict(settings), artifacts)
