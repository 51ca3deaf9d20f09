"""release-svc's PostgreSQL adapters: its read models."""
