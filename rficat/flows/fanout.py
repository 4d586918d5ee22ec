"""Where a flow's per-file tasks run: in the flow's own process one after another, or fanned
out on Dask through Prefect's Dask task runner (``prefect-dask``).

* ``workers == 1`` and no address: today's serial behaviour, in-process (no Dask at all).
* ``workers > 1``: a local Dask cluster of that many worker processes (one thread each), made
  for the run and closed after it. Each worker's TensorFlow and BLAS get an equal share of this
  machine's cores (``cpu_count // workers``, at least 1) unless the environment already says
  (``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS``, ``OMP_NUM_THREADS``, ...).
* ``address`` (``--dask-address`` / ``RFICAT_DASK_ADDRESS``): an existing Dask scheduler, whose
  workers may be on other machines; ``workers`` is then ignored. Those workers need rficat
  installed, ``RFICAT_DATABASE_URL`` pointing at the catalogue, ``PREFECT_API_URL`` at the
  Prefect server the flow reports to, and ``--preload rficat.flows.worker`` (quiet logs).

Every task opens its own database connection (``db.open_catalogue``); a file is still one
transaction, and concurrent ingests of one file serialise on its fingerprint's advisory lock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

DASK_ADDRESS_ENV = "RFICAT_DASK_ADDRESS"
WORKER_PRELOAD = "rficat.flows.worker"
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS")


def default_workers(n_files: int) -> int:
    """Worker processes when the user does not say: one per two cores (the other core of each pair
    is left to PostgreSQL, the flow and the reads), never more than there are files; on a 2-core
    machine that is 1, the serial in-process ingest."""
    return max(1, min(n_files, (os.cpu_count() or 1) // 2))


def dask_address(given: str | None = None) -> str | None:
    """The scheduler to use: ``given``, else ``RFICAT_DASK_ADDRESS``, else None (a local cluster)."""
    return given or os.environ.get(DASK_ADDRESS_ENV) or None


def fans_out(workers: int, address: str | None) -> bool:
    return address is not None or workers > 1


def worker_environment(workers: int) -> dict[str, str]:
    """Thread counts for each local worker process: an equal share of the cores, unless set."""
    share = str(max(1, (os.cpu_count() or 1) // max(workers, 1)))
    return {name: os.environ.get(name) or share for name in THREAD_VARIABLES}


def quiet_dask_logs() -> None:
    """distributed's INFO chatter (cluster start and stop, workers joining) off this process's stderr."""
    import distributed  # noqa: F401  (configures its loggers as it loads: first, or it would undo this)

    for name in ("distributed", "prefect.task_runner.dask"):
        logging.getLogger(name).setLevel(logging.WARNING if name.startswith("prefect") else logging.ERROR)


@contextmanager
def prefect_api_for_workers() -> Iterator[None]:
    """Make the tasks that run on Dask workers report to this process's Prefect API.

    A task carries its flow's Prefect settings to the worker, but a process on Prefect's
    temporary server has no API URL in them, and each worker would start a temporary server of
    its own (20 s, and runs recorded nowhere the flow sees): while this is entered, the
    settings name this process's temporary server. (Workers on other machines cannot reach
    it: give the flow a Prefect server they can reach, ``PREFECT_API_URL``.)
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = None if PREFECT_API_URL.value() else SubprocessASGIServer()
    if server is None or not server.running:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def task_runner(workers: int, address: str | None):
    """A ``DaskTaskRunner`` for ``address``, or for a new local cluster of ``workers`` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None, "silence_logs": logging.ERROR,
                                          "env": worker_environment(workers), "preload": [WORKER_PRELOAD]})


def run_on_dask(subflow, workers: int, address: str | None, *args):
    """Run ``subflow(*args)`` with its tasks on Dask: quiet logs, the workers reporting to this
    process's Prefect API, the task runner for ``address`` or a local cluster of ``workers``."""
    quiet_dask_logs()
    with prefect_api_for_workers():
        return subflow.with_options(task_runner=task_runner(workers, address))(*args)
