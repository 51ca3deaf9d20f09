"""Background jobs the service runs beside its API and consumers."""
