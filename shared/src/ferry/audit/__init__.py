"""The tamper-evident audit log: hash-chained streams (`chain`), their verification
(`verify`) and a release's history across services (`trail`)."""

SERVICES = ("release", "dml", "deploy", "els")
"""The services whose event stores and topics make up the audit log."""
