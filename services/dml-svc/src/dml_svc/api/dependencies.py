"""What dml-svc's routes depend on beyond the database: the blob store, the manifest
signer and the settings, which `main.spec` puts on `app.state` (`provide`) and each route
takes as a typed dependency (an app's `dependency_overrides` can replace any of them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dml_svc.adapters.blobs import BlobStore
from dml_svc.adapters.signing import Signer
from dml_svc.config import Settings


def provide(settings: Settings, blobs: BlobStore, signer: Signer) -> dict[str, object]:
    """`ServiceSpec.state`: what the dependencies below read, by the names they read."""
    return {"dml_settings": settings, "dml_blobs": blobs, "dml_signer": signer}


async def blob_store(request: Request) -> BlobStore:
    """Where the library's media bytes are."""
    blobs: BlobStore = request.app.state.dml_blobs
    return blobs


async def manifest_signer(request: Request) -> Signer:
    """The key the library signs its manifests with."""
    signer: Signer = request.app.state.dml_signer
    return signer


async def settings(request: Request) -> Settings:
    """dml-svc's settings."""
    found: Settings = request.app.state.dml_settings
    return found


Blobs = Annotated[BlobStore, Depends(blob_store)]
ManifestSigner = Annotated[Signer, Depends(manifest_signer)]
DmlSettings = Annotated[Settings, Depends(settings)]
