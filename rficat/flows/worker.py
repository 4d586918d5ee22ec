"""Dask worker preload for rficat tasks (``dask worker ADDRESS --preload rficat.flows.worker``; the
local clusters of ``rficat.flows.fanout`` load it too).

Keeps a worker's stderr quiet: Prefect's task-run log lines go to the Prefect API only (they
are in the UI; the flow reports each file's outcome), and distributed's own INFO chatter is
dropped. Warnings and errors still show. Its database connections carry the application name
``rficat-worker HOST:PID`` (``pg_stat_activity``).
"""

from __future__ import annotations

import logging
import os
import socket

import rficat.flows  # noqa: F401  (Prefect's environment defaults, before Prefect is imported)

APPLICATION_NAME_PREFIX = "rficat-worker "


def quiet_logs() -> None:
    import prefect  # noqa: F401  (configures Prefect's logging first, or it would undo this)

    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).propagate = False
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload hook
    quiet_logs()
    # the worker's database connections name it in pg_stat_activity (libpq reads PGAPPNAME)
    os.environ.setdefault("PGAPPNAME", f"{APPLICATION_NAME_PREFIX}{socket.gethostname()}:{os.getpid()}")
