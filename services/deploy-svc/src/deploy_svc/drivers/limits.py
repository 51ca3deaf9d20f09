"""The operator's limits on what targets may name: folders, programs, URLs, namespaces,
Deployments and images. Pure checks, each raising `BadTargetSettings` naming the setting and
the limit; the drivers call them when an environment is defined and again at each step.

Deployers define environments; the operator decides where deploy-svc may act on their behalf
(FERRY_DEPLOY_* settings, see deploy_svc.config).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx

from deploy_svc.drivers.base import BadTargetSettings

ANY = "*"
"""In a list of programs: any program."""


@dataclass(frozen=True)
class LocalLimits:
    """Where the `local` driver may install, what it may run, which URLs it may probe."""

    roots: tuple[Path, ...] = ()
    programs: tuple[str, ...] = ()
    url_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class KubernetesLimits:
    """Which Deployments the `kubernetes` driver may change, and to which images."""

    namespaces: tuple[str, ...] = ()
    deployments: tuple[str, ...] = (ANY,)
    image_prefixes: tuple[str, ...] = ()
    own_namespaces: frozenset[str] = frozenset()
    """Ferry's own namespace(s): never a target's, whatever `namespaces` says."""


def _shown(values: Sequence[object], setting: str) -> str:
    return ", ".join(str(v) for v in values) if values else f"none ({setting} is empty)"


def inside_roots(setting: str, path: Path, roots: Sequence[Path]) -> None:
    """`path` must be a folder strictly under one of `roots`, without `..` on the way."""
    if ".." in PurePosixPath(path).parts:
        raise BadTargetSettings(setting, "must not contain '..'")
    if not any(path != root and path.is_relative_to(root) for root in roots):
        allowed = _shown(roots, "FERRY_DEPLOY_LOCAL_ROOTS")
        raise BadTargetSettings(setting, f"must be a folder under one of: {allowed}")


def still_inside_roots(setting: str, path: Path, roots: Sequence[Path]) -> None:
    """`inside_roots` once symbolic links are followed: at a step, on this machine's folders."""
    inside_roots(setting, path, roots)
    real = Path(os.path.realpath(path))
    if not any(
        real != r and real.is_relative_to(r) for r in (Path(os.path.realpath(x)) for x in roots)
    ):
        raise BadTargetSettings(setting, "leads out of FERRY_DEPLOY_LOCAL_ROOTS by a symbolic link")


def program_allowed(setting: str, program: str, programs: Sequence[str]) -> None:
    """`program` (a command's first word) must be one the operator lists, or `*` be listed."""
    if ANY not in programs and program not in programs:
        allowed = _shown(programs, "FERRY_DEPLOY_LOCAL_PROGRAMS")
        raise BadTargetSettings(setting, f"{program!r} is not a program allowed: {allowed}")


def _parts(url: str) -> tuple[str, str, int | None, str]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host.lower(), parsed.port, parsed.path


def check_prefix(prefix: str) -> str:
    """A valid URL prefix (the operator's setting), or `ValueError` saying why not."""
    try:
        parsed = httpx.URL(prefix)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{prefix!r} is not a URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{prefix!r}: an http(s) URL with a host")
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise ValueError(f"{prefix!r}: no user, query or fragment")
    return prefix


def url_allowed(setting: str, url: str, prefixes: Sequence[str]) -> None:
    """`url` must start with one of `prefixes`: the same scheme, host and port, and a path
    under the prefix's, compared part by part as the URL is sent (no `..` climbing out)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise BadTargetSettings(setting, f"not a URL: {exc}") from exc
    if parsed.userinfo:
        raise BadTargetSettings(setting, "must not carry a user or password")
    scheme, host, port, path = _parts(url)
    raw = parsed.raw_path.decode("ascii", "replace").lower()
    # `..;` too: some servers (Tomcat, Spring) drop a segment's `;parameters`, then climb.
    segments = [part.split(";", 1)[0] for part in PurePosixPath(path).parts]
    if ".." in segments or any(code in raw for code in ("%2e", "%2f", "%5c")):
        # Encoded dots and slashes: a server may decode them into a path out of the prefix.
        raise BadTargetSettings(setting, "must not contain '..' or encoded '.', '/', '\\'")
    for prefix in prefixes:
        p_scheme, p_host, p_port, p_path = _parts(prefix)
        if (scheme, host, port) != (p_scheme, p_host, p_port):
            continue
        if p_path.endswith("/") and path.startswith(p_path):
            return
        if path == p_path or path.startswith(p_path.rstrip("/") + "/"):
            return
    allowed = _shown(prefixes, "FERRY_DEPLOY_URL_PREFIXES")
    raise BadTargetSettings(setting, f"must start with one of: {allowed}")


def namespace_allowed(setting: str, namespace: str, limits: KubernetesLimits) -> None:
    if namespace in limits.own_namespaces:
        raise BadTargetSettings(setting, f"{namespace} is Ferry's own namespace: never a target")
    if namespace not in limits.namespaces:
        allowed = _shown(limits.namespaces, "FERRY_DEPLOY_K8S_NAMESPACES")
        raise BadTargetSettings(setting, f"must be one of: {allowed}")


def deployment_allowed(setting: str, name: str, limits: KubernetesLimits) -> None:
    if not any(fnmatch.fnmatchcase(name, pattern) for pattern in limits.deployments):
        allowed = _shown(limits.deployments, "FERRY_DEPLOY_K8S_DEPLOYMENTS")
        raise BadTargetSettings(setting, f"must match one of: {allowed}")


def image_allowed(setting: str, template: str, limits: KubernetesLimits) -> None:
    """The image template's fixed start must begin with an allowed prefix: the version only
    fills in the tag (versions hold no `/`, `:` or `@`), so the repository stays the one named."""
    fixed = template.split("{version}", 1)[0]
    if not any(fixed.startswith(prefix) for prefix in limits.image_prefixes):
        allowed = _shown(limits.image_prefixes, "FERRY_DEPLOY_K8S_IMAGE_PREFIXES")
        raise BadTargetSettings(setting, f"must start with one of: {allowed}")
