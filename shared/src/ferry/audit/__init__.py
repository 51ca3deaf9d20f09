"""The tamper-evident audit log: hash-chained streams (`chain`), their verification
(`verify`) and a release's history across services (`trail`)."""
