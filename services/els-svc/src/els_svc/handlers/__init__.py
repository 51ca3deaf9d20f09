"""Command handlers: load an aggregate, let it decide, append what it decided (a module
per aggregate: cases)."""
