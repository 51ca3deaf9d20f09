"""dml-svc's HTTP API."""
