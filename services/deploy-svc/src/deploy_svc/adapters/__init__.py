"""deploy-svc's PostgreSQL adapters: its read models and repositories."""
