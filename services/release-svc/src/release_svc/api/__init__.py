"""release-svc's HTTP API."""
