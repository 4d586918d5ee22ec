"""Scheduled ingest of a landing directory: an observatory's "every N minutes" job.

    python -m rficat.flows.serve /data/landing --every 10        # serves from this process

With a Prefect server and a worker (see docker/compose.yaml) use `prefect deploy` with the
repository's prefect.yaml instead; both run the same `ingest-directory` flow.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from rficat.flows.ingest import ingest_directory


def landing_deployment(landing: str, every_minutes: float, model: str | None = None):
    """The `ingest-directory` flow on an interval schedule for one landing directory."""
    return ingest_directory.to_deployment(
        name="landing", interval=timedelta(minutes=every_minutes),
        parameters={"path": str(Path(landing).resolve()), "model": model},
        description=f"Ingest new .h5/.fil files from {landing} every {every_minutes:g} minutes",
        tags=["rficat", "ingest"],
    )


def main() -> None:
    from prefect import serve

    from rficat.flows import temporary_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", help="directory where new observation files arrive")
    parser.add_argument("--every", type=float, default=10.0, help="minutes between runs")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    temporary_server.start()  # without PREFECT_API_URL: one that ends with this process, however it ends
    serve(landing_deployment(args.landing, args.every, args.model))


if __name__ == "__main__":
    main()
