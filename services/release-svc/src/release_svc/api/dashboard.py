"""The dashboard: a static page and its ES modules, which read the API with the viewer's
own bearer token.

Served like `/docs`: plain routes declaring no roles, since the files hold no data and a
browser navigating to a page cannot send a bearer token. The token stays in the browser (the
URL's fragment, `#token=…`, is never sent to a server) and every API call the page makes
carries it.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import NotFound

router = APIRouter()

FILES = resources.files("release_svc") / "dashboard"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
HEADERS = {
    # Only its own files, and calls to its own origin: no inline script, nothing third-party.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    source = FILES / name
    if "/" in name or name.startswith(".") or suffix not in MEDIA_TYPES or not source.is_file():
        raise NotFound(f"no dashboard file {name!r}")
    return Response(source.read_bytes(), media_type=MEDIA_TYPES[suffix], headers=HEADERS)


async def page(_: Request) -> Response:
    """The dashboard page."""
    return _file("index.html")


async def asset(request: Request) -> Response:
    """One of the page's scripts or its style sheet."""
    return _file(str(request.path_params["name"]))


router.add_route("/dashboard", page, methods=["GET"], include_in_schema=False)
router.add_route("/dashboard/{name}", asset, methods=["GET"], include_in_schema=False)
