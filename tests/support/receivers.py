"""Real receivers for what Ferry sends out: an SMTP server (aiosmtpd) and an HTTP endpoint,
each in a thread of its own on a free port, keeping what arrived."""

from __future__ import annotations

import asyncio
import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ferry.devports import free_port


@dataclass
class Mailbox:
    """What an SMTP server accepted, in order; each message kept as soon as its data is in,
    then acknowledged `delay` seconds later (a slow server: a sender may die in between)."""

    port: int
    delay: float = 0.0
    reply: str = "250 OK"
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, _: SMTP, __: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append(email.message_from_bytes(content))
        await asyncio.sleep(self.delay)
        return self.reply


@contextmanager
def smtp_server(delay: float = 0.0, reply: str = "250 OK") -> Iterator[Mailbox]:
    mailbox = Mailbox(free_port(), delay, reply)
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Hook:
    """What an HTTP endpoint received (body and headers), answering with `statuses` in turn
    (the last one from then on)."""

    url: str
    statuses: list[int]
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@contextmanager
def http_receiver(*statuses: int) -> Iterator[Hook]:
    answers = list(statuses) or [204]
    hook = Hook("", answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append((body, dict(self.headers.items())))
            status = answers.pop(0) if len(answers) > 1 else answers[0]
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_port}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
