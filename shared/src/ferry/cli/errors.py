"""Errors the `ferry` command explains to its user (exit code 1); usage errors are click's (2).

CliError                  anything the command cannot do, with a message to show
├── ServiceDown           a service does not answer at its URL
├── Refused               a service answered with a problem (401, 403, 404, 409, 422, …)
└── Mismatch              bytes are not what they should be (a digest differs)
"""

from __future__ import annotations

from typing import Any


class CliError(Exception):
    """Something the command could not do; `str()` is what the user reads."""

    def to_json(self) -> dict[str, Any]:
        """The error as `--json` prints it (on stderr)."""
        return {"error": str(self)}


class ServiceDown(CliError):
    """Nothing answers at the service's URL, or it stopped answering mid-request."""

    def __init__(self, service: str, url: str, reason: str) -> None:
        super().__init__(
            f"{service}-svc at {url} is not answering ({reason}); is it running? "
            f"Its URL comes from --{service}-url or FERRY_{service.upper()}_URL."
        )
        self.service = service
        self.url = url

    def to_json(self) -> dict[str, Any]:
        return {"error": str(self), "service": f"{self.service}-svc", "url": self.url}


class Refused(CliError):
    """A service refused the request with an RFC 9457 problem (or another error status)."""

    def __init__(self, message: str, service: str, status: int, problem: dict[str, Any]) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.problem = problem

    def to_json(self) -> dict[str, Any]:
        return {
            "error": str(self),
            "service": f"{self.service}-svc",
            "status": self.status,
            "problem": self.problem,
        }


class Mismatch(CliError):
    """Bytes differ from what was declared or answered: nothing is taken as it is."""
