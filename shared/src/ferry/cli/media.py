"""`ferry media push`: stage a file in the Definitive Media Library (dml-svc), streamed,
with its sha256 declared so that bytes changed on the way are refused, and the library's
answer checked against the bytes sent."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ferry.cli.client import connected
from ferry.cli.errors import Mismatch, Refused
from ferry.cli.output import Json, Output, fields

app = typer.Typer(help="Put media into the Definitive Media Library.")

CHUNK = 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def repr_digest(sha256: str) -> str:
    """The `Repr-Digest` header (RFC 9530) of a hex sha256, as dml-svc checks it."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"


def _read(file: Path, progress: Progress, task: TaskID, hasher: Any) -> Iterator[bytes]:
    """The file's bytes, a chunk at a time, each hashed and counted as it is read."""
    with file.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
            progress.advance(task, len(chunk))
            yield chunk


@app.command()
def push(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the file to stage")],
    version: Annotated[str, typer.Option(help="its version in the library")],
    name: Annotated[str | None, typer.Option(help="its name; default: the file's")] = None,
    kind: Annotated[
        str,
        typer.Option(help="software, documentation, licence, configuration, training_material"),
    ] = "software",
    supplier: Annotated[str, typer.Option(help="who supplied it")] = "",
    service: Annotated[
        str | None, typer.Option(help="the service it is for: that service's team may take it")
    ] = None,
    media_type: Annotated[
        str | None, typer.Option(help="its media type; default: guessed from the name")
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option(help="the sha256 it must have (e.g. the supplier's); default: computed first"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Stage FILE in the DML (librarians), with a progress bar.

    The file's sha256 is sent as `Repr-Digest`: the library refuses bytes that do not match
    it (with --sha256, the digest you give; else the one computed before sending). The
    library's answer must name the sha256 of the bytes sent.
    """
    out = Output(as_json)
    if sha256 is not None and not SHA256.match(sha256.lower()):
        raise typer.BadParameter("give 64 hexadecimal digits", param_hint="'--sha256'")
    label = name or file.name
    size = file.stat().st_size
    guessed = mimetypes.guess_type(file.name)[0]
    headers = {
        "Content-Type": media_type or guessed or "application/octet-stream",
        "Content-Length": str(size),
    }
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=True,
    )
    sent = hashlib.sha256()
    with connected(ctx) as client, progress:
        if sha256 is None:
            computed = hashlib.sha256()
            task = progress.add_task(f"hashing {file.name}", total=size)
            for _ in _read(file, progress, task, computed):
                pass
            declared = computed.hexdigest()
        else:
            declared = sha256.lower()
        headers["Repr-Digest"] = repr_digest(declared)
        task = progress.add_task(f"pushing {label}@{version}", total=size)
        try:
            answer = client.send(
                "dml",
                "PUT",
                f"/media/{quote(label, safe='')}/{quote(version, safe='')}",
                params={
                    "kind": kind,
                    "supplier": supplier,
                    **({"service": service} if service else {}),
                },
                content=_read(file, progress, task, sent),
                headers=headers,
            )
        except Refused as exc:
            if exc.status == 422 and sent.hexdigest() != declared:
                message = (
                    f"{exc}\nthe bytes sent have sha256 {sent.hexdigest()}, not the declared "
                    f"{declared}: nothing was stored"
                )
                raise Refused(message, exc.service, exc.status, exc.problem) from exc
            raise
    media = answer.json()
    if media.get("sha256") != sent.hexdigest():
        raise Mismatch(
            f"dml-svc answered sha256 {media.get('sha256')} for {label}@{version}, but the bytes "
            f"sent have sha256 {sent.hexdigest()}: do not use it; ask a librarian to look"
        )
    new = answer.status_code == 201
    out.result(
        {**media, "created": new},
        lambda console: console.print(
            fields(
                f"{label}@{version} "
                + ("staged" if new else "was already in the library, with these bytes"),
                {
                    "sha256": media["sha256"],
                    "size": media["size"],
                    "kind": media["kind"],
                    "state": media["state"],
                },
            )
        ),
    )
