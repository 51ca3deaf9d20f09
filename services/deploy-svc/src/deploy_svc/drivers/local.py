"""The `local` driver: a release's media in a folder per version on this machine, made live by
swapping one symbolic link.

    <path>/releases/<version>/<media files>    every version installed, kept
    <path>/current -> releases/<version>       what is live; replaced in one rename
    <path>/.ferry-switch.json                  the last switch: its version and the one before

A version's folder is filled under a temporary name and renamed into place, so a folder
named after a version is always complete. The switch record lets a repeated install (after a
crash) still answer the version that was live before the first one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Annotated

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from deploy_svc.drivers import limits
from deploy_svc.drivers.base import Artifacts, DriverError, Job
from deploy_svc.drivers.limits import LocalLimits
from deploy_svc.drivers.options import for_step, parse
from ferry import outbound

_NOTHING = Artifacts(uuid.UUID(int=0), "", {})
"""The media of a look at a target that installs nothing."""
RELEASES = "releases"
CURRENT = "current"
SWITCH_RECORD = ".ferry-switch.json"
OUTPUT_TAIL = 64 * 1024
"""How much of a verification command's output the deployment log keeps: its end."""
PATH = "/usr/local/bin:/usr/bin:/bin"


def _absolute(path: Path) -> Path:
    if not path.is_absolute():
        raise ValueError("must be an absolute path")
    return path


class LocalSettings(BaseModel):
    """A `local` target's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[Path, AfterValidator(_absolute)]
    verify_command: list[str] | None = Field(None, min_length=1)
    """Run in the new version's folder, as argv (no shell), with only PATH, HOME, LANG and
    FERRY_RELEASE_VERSION in its environment; must exit 0 in time."""
    verify_url: str | None = Field(None, pattern=r"^https?://")
    """Must answer a GET with 2xx within the timeout."""
    verify_timeout_seconds: float = Field(60, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_verification(self) -> LocalSettings:
        if self.verify_command is not None and self.verify_url is not None:
            raise ValueError("give verify_command or verify_url, not both")
        return self


def _folder_name(version: str) -> str:
    if version in ("", ".", "..") or "/" in version or "\\" in version or "\0" in version:
        raise DriverError(f"version {version!r} cannot name a folder")
    return version


def _inside(folder: Path, name: str) -> Path:
    """Where media `name` goes in `folder`; refuses a name that would land outside it."""
    parts = name.split("/")
    if "\\" in name or "\0" in name or any(part in ("", ".", "..") for part in parts):
        # An empty first part is a leading `/`; `..` would climb out.
        raise DriverError(f"media name {name!r} is not a plain path inside the release's folder")
    return folder.joinpath(*parts)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _live(root: Path) -> str | None:
    """The version `current` points at, or None."""
    try:
        target = PurePosixPath(os.readlink(root / CURRENT))
    except FileNotFoundError:
        return None
    return target.name if target.parent == PurePosixPath(RELEASES) else None


def _switch(root: Path, version: str | None) -> None:
    """Point `current` at `version` (None: remove it) in one atomic step."""
    link = root / CURRENT
    if version is None:
        if not link.is_symlink():
            return  # nothing live: nothing to take off
        link.unlink()
    else:
        temporary = root / f".{CURRENT}-{uuid.uuid4().hex}"
        temporary.symlink_to(f"{RELEASES}/{version}")
        # rename(2) replaces the old link in one step: readers see the old or the new.
        os.replace(temporary, link)
    _fsync_dir(root)


def _unpack(job: Job, root: Path) -> Path:
    """The version's complete folder, copying the media in first if it is not there yet."""
    version = _folder_name(job.artifacts.version)
    releases = root / RELEASES
    folder = releases / version
    if folder.is_dir():
        return folder  # complete: only a finished copy is ever renamed to this name
    staging = releases / f".staging-{version}"
    copies = {_inside(staging, name): source for name, source in job.artifacts.media.items()}
    # Left over by a run that crashed mid-copy: start that copy again from nothing.
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for destination, source in copies.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, destination.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
    staging.rename(folder)
    _fsync_dir(releases)
    return folder


def _install(job: Job, root: Path) -> str | None:
    _unpack(job, root)
    version = job.artifacts.version
    live = _live(root)
    record = root / SWITCH_RECORD
    if live == version:
        # A repeat: answer what was live before the first install, not this version itself.
        try:
            last = json.loads(record.read_text())
        except (FileNotFoundError, ValueError):
            return version
        return last.get("previous") if last.get("version") == version else version
    # Recorded before the switch: a crash between the two leaves a record nothing relies on.
    temporary = root / f".{SWITCH_RECORD}-{uuid.uuid4().hex}"
    temporary.write_text(json.dumps({"version": version, "previous": live}))
    os.replace(temporary, record)
    _switch(root, version)
    return live


def _roll_back(root: Path, previous: str | None) -> None:
    if previous is not None and not (root / RELEASES / _folder_name(previous)).is_dir():
        raise DriverError(f"version {previous} is no longer in {root / RELEASES}")
    _switch(root, previous)


class LocalDriver:
    """Installs into a folder on this machine; rolls back by switching `current` back."""

    name = "local"

    def __init__(self, limits: LocalLimits) -> None:
        self._limits = limits

    def check(self, settings: Mapping[str, object]) -> None:
        self._checked(settings)

    def _checked(self, settings: Mapping[str, object]) -> LocalSettings:
        """The settings, if the operator's limits allow them."""
        found = parse(LocalSettings, settings)
        limits.inside_roots("path", found.path, self._limits.roots)
        if found.verify_command is not None:
            program = found.verify_command[0]
            limits.program_allowed("verify_command.0", program, self._limits.programs)
        if found.verify_url is not None:
            limits.url_allowed("verify_url", found.verify_url, self._limits.url_prefixes)
        return found

    def _at_step(self, job: Job) -> LocalSettings:
        def checked(settings: Mapping[str, object]) -> LocalSettings:
            found = self._checked(settings)
            limits.still_inside_roots("path", found.path, self._limits.roots)
            return found

        return for_step(checked, job.settings)

    async def live(self, settings: Mapping[str, object]) -> str | None:
        """The version `current` points at."""
        root = self._at_step(Job(uuid.UUID(int=0), "", settings, _NOTHING)).path
        return await asyncio.to_thread(_live, root)

    async def install(self, job: Job) -> str | None:
        root = self._at_step(job).path
        try:
            return await asyncio.to_thread(_install, job, root)
        except OSError as exc:
            raise DriverError(f"cannot install into {root}: {exc.strerror or exc}") from exc

    async def verify(self, job: Job) -> None:
        settings = self._at_step(job)
        version = job.artifacts.version
        if (live := await asyncio.to_thread(_live, settings.path)) != version:
            raise DriverError(f"{settings.path / CURRENT} points at {live}, not {version}")
        if settings.verify_command is not None:
            folder = settings.path / RELEASES / version
            await _run(job, settings.verify_command, folder, settings.verify_timeout_seconds)
        elif settings.verify_url is not None:
            await _probe(job, settings.verify_url, settings.verify_timeout_seconds)

    async def roll_back(self, job: Job, previous: str | None) -> None:
        root = self._at_step(job).path
        try:
            await asyncio.to_thread(_roll_back, root, previous)
        except OSError as exc:
            raise DriverError(
                f"cannot switch {root / CURRENT} back: {exc.strerror or exc}"
            ) from exc


def _environment(folder: Path, version: str) -> dict[str, str]:
    """All a verification command is given: none of the service's own variables (its
    database URL, secrets, tokens), which it could otherwise print."""
    return {"PATH": PATH, "HOME": str(folder), "LANG": "C.UTF-8", "FERRY_RELEASE_VERSION": version}


async def _run(job: Job, command: list[str], cwd: Path, timeout: float) -> None:
    """Run the verification command; its output goes to the job's log, and `DriverError`
    with its exit code unless it exits 0."""
    version = job.artifacts.version
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=_environment(cwd, version),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise DriverError(f"cannot run {command[0]}: {exc.strerror or exc}") from exc
    assert process.stdout is not None
    try:
        output = await asyncio.wait_for(_tail(process.stdout), timeout)
        await process.wait()
    except TimeoutError:
        # The whole process group: a shell's children would otherwise outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise DriverError(f"{command[0]} did not finish within {timeout:g}s") from None
    text = output.decode(errors="replace")
    job.log.append(f"{command[0]} exited with {process.returncode}; its output:\n{text}")
    if process.returncode != 0:
        raise DriverError(f"{command[0]} exited with {process.returncode} (output in the log)")


async def _tail(stream: asyncio.StreamReader) -> bytes:
    """The last `OUTPUT_TAIL` bytes of `stream`, read to its end: a command printing without
    end fills no memory, only the time it is given."""
    kept = bytearray()
    while chunk := await stream.read(1 << 16):
        kept += chunk
        del kept[:-OUTPUT_TAIL]
    return bytes(kept)


async def _probe(job: Job, url: str, timeout: float) -> None:
    """GET `url` until it answers 2xx; `DriverError` once `timeout` has passed without.
    Redirects are not followed: they could lead anywhere, past the operator's URL limits."""
    deadline = time.monotonic() + timeout
    last, detail = "no answer", ""
    async with outbound.client(follow_redirects=False) as client:
        while (left := deadline - time.monotonic()) > 0:
            try:
                answer = await client.get(url, timeout=left)
                if answer.is_success:
                    return
                last = f"status {answer.status_code}"
                detail = f"GET {url} answered {answer.status_code}:\n{answer.text[:OUTPUT_TAIL]}"
            except httpx.HTTPError as exc:
                last, detail = type(exc).__name__, f"GET {url} failed: {exc!r}"
            # The new version may still be starting: ask again until the deadline.
            await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
    job.log.append(detail or f"GET {url}: no answer")
    raise DriverError(f"{url} did not answer 2xx within {timeout:g}s: {last}")
