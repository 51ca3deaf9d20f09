"""The services' HTTP APIs as `ferry` calls them: where each answers, the user's token, and
every failure (nothing answering, a problem+json refusal) turned into a `CliError` that says
what went wrong and what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import typer

from ferry.cli.errors import CliError, Refused, ServiceDown

SERVICES = ("release", "dml", "deploy", "els")
DEFAULT_URLS = {
    "release": "http://127.0.0.1:8001",
    "dml": "http://127.0.0.1:8002",
    "deploy": "http://127.0.0.1:8003",
    "els": "http://127.0.0.1:8004",
}
"""Where `make run` serves them (deploy/local/run.sh)."""


@dataclass(frozen=True)
class Connection:
    """Where the services answer, and the bearer token to send them: `token`, else the one
    in `token_file` (read when a command first talks to a service), else none."""

    urls: Mapping[str, str]
    token: str | None = None
    token_file: Path | None = None
    timeout: float = 30.0


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """The token given, else the one in `token_file` (as a sidecar or `ferry token >` left
    it), else None."""
    if token:
        return token.strip()
    if token_file is None:
        return None
    try:
        found = token_file.read_text().strip()
    except OSError as exc:
        raise CliError(f"cannot read the token file {token_file}: {exc.strerror}") from exc
    return found or None


def claims_of(token: str | None) -> dict[str, Any]:
    """The token's claims, unverified (the services verify it): for explaining a refusal."""
    if not token:
        return {}
    import jwt  # only on the way to an explanation: it is not needed otherwise

    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.PyJWTError:
        return {}


def _who(claims: Mapping[str, Any]) -> str:
    if "sub" not in claims:
        return ""
    roles = claims.get("roles") or []
    shown = ", ".join(roles) if isinstance(roles, list) else str(roles)
    return f"; your token is for {claims['sub']} with the roles: {shown or 'none'}"


def _items(problem: Mapping[str, Any]) -> list[str]:
    """Each entry of a problem's `errors`, as a line naming its field or rule."""
    lines = []
    for error in problem.get("errors") or []:
        if not isinstance(error, dict):
            continue
        where = error.get("field") or error.get("rule") or ""
        message = str(error.get("message", ""))
        lines.append(f"  - {where}: {message}" if where else f"  - {message}")
    return lines


def explain(service: str, status: int, problem: Mapping[str, Any], token: str | None) -> str:
    """What a refusal of `service` means to the user, from its status and problem body."""
    name = f"{service}-svc"
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or title or f"HTTP {status}")
    if status == 401:
        if not token:
            return (
                f"{name} needs a bearer token and none was given: pass one with --token, "
                "FERRY_TOKEN or FERRY_TOKEN_FILE (locally: ferry token --sub you --role ROLE)"
            )
        return (
            f"{name} did not accept the token ({detail}); it may have expired: get a new one "
            "(locally: ferry token --sub you --role ROLE)"
        )
    if status == 403:
        rule = problem.get("rule")
        because = f" (rule {rule})" if rule else ""
        return f"{name} forbids this{because}: {detail}{_who(claims_of(token))}"
    if status == 404:
        return f"{name}: not found: {detail}"
    if status == 409:
        head = f"{name} refused it (409 {title or 'Conflict'}): {detail}"
    elif status == 422:
        head = f"{name} refused it (422 {title or 'Unprocessable'}): {detail}"
    elif status == 428:
        head = f"{name} wants If-Match (428): {detail}"
    elif status >= 500:
        retry = "; retry shortly" if status == 503 else ""
        head = f"{name} failed ({status} {title}): {detail}{retry}"
    else:
        head = f"{name} answered {status} {title}: {detail}"
    return "\n".join([head, *_items(problem)])


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The response's problem details; a body that is not JSON becomes its `detail`."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:500]
        return {"title": response.reason_phrase, "status": response.status_code, "detail": text}
    if isinstance(body, dict):
        return body
    return {"title": response.reason_phrase, "status": response.status_code, "detail": str(body)}


class Client:
    """The four services' APIs, with the user's token; a failure raises a `CliError`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.token = read_token(connection.token, connection.token_file)
        headers = {"User-Agent": "ferry-cli"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(headers=headers, timeout=connection.timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._http.close()

    def url(self, service: str, path: str) -> str:
        return self.connection.urls[service].rstrip("/") + path

    def send(self, service: str, method: str, path: str, **options: Any) -> httpx.Response:
        """`method path` on `service`; the response, when it is a success (2xx)."""
        base = self.connection.urls[service]
        try:
            response = self._http.request(method, self.url(service, path), **options)
        except httpx.ConnectError as exc:
            raise ServiceDown(service, base, "connection refused") from exc
        except httpx.TimeoutException as exc:
            raise ServiceDown(
                service, base, f"no answer within {self.connection.timeout:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceDown(service, base, f"the connection broke: {exc}") from exc
        if response.is_success:
            return response
        problem = problem_of(response)
        message = explain(service, response.status_code, problem, self.token)
        raise Refused(message, service, response.status_code, problem)

    def get(self, service: str, path: str, /, **params: Any) -> httpx.Response:
        """GET with the query `params` (those that are None left out)."""
        query = {k: v for k, v in params.items() if v is not None}
        return self.send(service, "GET", path, params=query)

    def change(
        self, service: str, method: str, path: str, body: Any, version: str | int | None = None
    ) -> httpx.Response:
        """A change with a JSON `body`, at `version` (If-Match) when given."""
        headers = {"If-Match": f'"{version}"'} if version is not None else {}
        return self.send(service, method, path, json=body, headers=headers)


def pages(
    client: Client,
    service: str,
    path: str,
    cursor: str | None,
    every: bool,
    **params: Any,
) -> tuple[list[dict[str, Any]], str | None]:
    """The items of a paged list from `cursor` on: one page, or with `every` all of them;
    and the cursor of the page after the last one read (None at the end)."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(service, path, **params, cursor=cursor).json()
        items.extend(page["items"])
        cursor = page["next"]
        if not (every and cursor):
            return items, cursor


def version_of(response: httpx.Response) -> str:
    """The stream version a response's `ETag` carries, for the next `If-Match`."""
    etag = str(response.headers.get("ETag", ""))
    return etag.strip().removeprefix("W/").strip('"')


def version_if_any(client: Client, service: str, path: str) -> str | None:
    """The version of what `path` names, for `If-Match`; None if there is none yet."""
    try:
        return version_of(client.get(service, path))
    except Refused as exc:
        if exc.status != 404:
            raise
        return None


def connected(ctx: typer.Context) -> Client:
    """A client with the connection `ferry`'s options (or their variables) set up."""
    connection = ctx.find_object(Connection)
    if connection is None:  # a command run without the `ferry` group around it
        raise CliError("no connection settings: run this through the `ferry` command")
    return Client(connection)
