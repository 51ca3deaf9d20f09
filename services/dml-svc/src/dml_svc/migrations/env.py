from ferry.migrations import run_env

run_env()
