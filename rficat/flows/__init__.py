"""Prefect flows: thin wiring of catalogue calls with retries, logs, artifacts and schedules.

The only package that imports Prefect (with the CLI, which runs these flows).

Importing this package sets Prefect's environment defaults (:func:`prefect_defaults`) before
any of its modules imports Prefect, so that a first run on a new machine works: Prefect keeps
its state under ``$RFICAT_HOME/prefect``, its temporary server gets a start-up timeout that
holds on a slow machine, and no telemetry is attempted. Anything the user set wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from rficat.config import home_directory

# seconds Prefect's temporary server may take to start (Prefect's default, 20 s, is too short
# for a first start, which migrates a new SQLite database, on a busy 2-core machine)
EPHEMERAL_STARTUP_TIMEOUT_S = 300


def prefect_configured() -> bool:
    """Whether the user chose where Prefect lives (a home, a server, or a profile of their own)."""
    chosen = ("PREFECT_HOME", "PREFECT_API_URL", "PREFECT_PROFILES_PATH")
    return any(os.environ.get(k) for k in chosen) or (Path.home() / ".prefect" / "profiles.toml").exists()


def prefect_defaults(home: Path) -> dict[str, str]:
    """Environment defaults for Prefect in an rficat process whose RFICAT_HOME is ``home``."""
    defaults = {
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(EPHEMERAL_STARTUP_TIMEOUT_S),
        # an observatory machine is often offline: no telemetry attempts (or notices about them)
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    if not prefect_configured():
        defaults["PREFECT_HOME"] = str(home / "prefect")
    return defaults


for _key, _value in prefect_defaults(home_directory()).items():  # before Prefect is imported
    os.environ.setdefault(_key, _value)
