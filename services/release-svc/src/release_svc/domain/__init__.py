"""release-svc's domain: plain Python, no I/O."""
