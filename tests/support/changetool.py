"""The outside change tool of the tests: its name (the CloudEvents `source`), its HMAC key,
and how it signs its decisions on change.events (`ferry.eventsigning.change_tool_message`)."""

from __future__ import annotations

from ferry.envelope import Envelope
from ferry.eventsigning import change_tool_signature

CHANGE_TOOL = "https://change.example.test"
KEY_ID = "cab-2026"
SECRET = "test-change-tool-secret-7f3a9c"


def keys_setting() -> dict[str, dict[str, str]]:
    """`FERRY_CHANGE_TOOL_KEYS` for the services under test."""
    return {CHANGE_TOOL: {KEY_ID: SECRET}}


def signed(envelope: Envelope, secret: str = SECRET, key_id: str = KEY_ID) -> Envelope:
    """`envelope` from the change tool, MACed with `secret` under `key_id`."""
    sent = envelope.model_copy(update={"source": CHANGE_TOOL})
    signature = change_tool_signature(secret.encode(), sent)
    return sent.model_copy(update={"signature": signature, "signingkey": key_id})
