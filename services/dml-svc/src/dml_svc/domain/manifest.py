"""The signed manifest of a release made available: what deploy-svc (and anyone) verifies
before installing a byte."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from ferry.events.dml import ManifestItem


def canonical(
    release_id: UUID, release_version: str, media: Sequence[ManifestItem], at: datetime
) -> str:
    """Canonical JSON (sorted keys, no spaces, media in name order): the exact text signed,
    so a verifier need not re-serialise anything."""
    body = {
        "release_id": str(release_id),
        "version": release_version,
        "media": [m.model_dump() for m in sorted(media, key=lambda m: (m.name, m.version))],
        "time": at.isoformat(),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
