"""Prefect flows: thin wiring of catalogue calls with retries, logs, artifacts and schedules.

The only package that imports Prefect (with the CLI, which runs these flows)."""
