"""Prefect flows: ingest one observation, or every new file of a landing directory.

Thin wrappers: the work is ``rficat.catalogue.ingest.ingest_file`` (one transaction per file); Prefect
adds retries on lost database connections, logs (progress lines every ~10 s of a long file), a
summary artifact, and scheduling (``flows/serve.py``). Tasks are per file, never per window or
snippet, plus one task that moves the new vectors into the HNSW indexes once the files are
committed (search sees them before). A run in which any file failed ends Failed, after the
others are done; its data is an :class:`IngestFailed` that carries every file's row.

The per-file tasks run one after another in the flow's process, or on Dask workers (a local
cluster of ``workers`` processes, or the scheduler at ``dask_address`` / ``RFICAT_DASK_ADDRESS``)
through Prefect's Dask task runner: see ``rficat.flows.fanout``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import sqlalchemy as sa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.states import Failed

from rficat.catalogue import cadence as cadences
from rficat.catalogue import files as catalogue_files
from rficat.catalogue import models
from rficat.catalogue.ingest import STAGES, IngestSummary, ingest_file
from rficat.config import load_settings
from rficat.errors import RficatError
from rficat.flows import fanout
from rficat.io import observation_files, read_header
from rficat.progress import IngestProgress
from rficat.science.detect import DEFAULT_THRESHOLD
from rficat.store import db


def lost_connection(task, task_run, state) -> bool:
    """Retry only when the database connection dropped, not when the file is bad."""
    try:
        state.result(_sync=True)
    except (psycopg.OperationalError, sa.exc.OperationalError):
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth retrying
        return False
    return False


class IngestFailed(RficatError):
    """Some files of an ingest run failed (the others were ingested); ``rows`` has every file's row."""

    def __init__(self, rows: list[dict]):
        failed = [r for r in rows if r["status"] == "failed"]
        super().__init__(f"{len(failed)} of {len(rows)} files failed: " + "; ".join(r["error"] for r in failed))
        self.rows = rows

    def __reduce__(self):  # Prefect pickles a run's result
        return IngestFailed, (self.rows,)


_terminal = IngestProgress(enabled=False)  # progress bars of the process that runs the flow, if any


@contextmanager
def terminal_progress(progress: IngestProgress) -> Iterator[IngestProgress]:
    """Show the progress of the ingest flows this process runs in ``progress`` (the CLI's bars)."""
    global _terminal
    previous, _terminal = _terminal, progress
    try:
        yield progress
    finally:
        _terminal = previous


def _progress(path: str, coarse_channel_width: int | None, log_every_s: float = 10.0) -> Callable[[int, int], None]:
    """A progress callback for one file: the terminal's bar, and a run-log line every ``log_every_s``."""
    header = read_header(path, coarse_channel_width)
    n_channels, total = header.n_coarse_channels, header.n_coarse_channels * header.coarse_channel_width \
        * header.n_integrations * 4
    advance = _terminal.file(path, total)
    logger = get_run_logger()
    started = last = time.perf_counter()
    done = channels = 0

    def progress(n_bytes: int, n_snippets: int) -> None:
        nonlocal done, channels, last
        done, channels = done + n_bytes, channels + 1
        advance(n_bytes, n_snippets)
        now = time.perf_counter()
        if now - last >= log_every_s or channels == n_channels:
            last = now
            logger.info("%s: coarse channel %d of %d, %.0f of %.0f MB, %.1f MB/s, %d snippets", path, channels,
                        n_channels, done / 1e6, total / 1e6, done / 1e6 / max(now - started, 1e-9), n_snippets)

    return progress


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection,
      task_run_name="ingest {path}")
def ingest_file_task(path: str, model: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                     n_noise_per_channel: int = 0) -> dict:
    settings = load_settings()
    with db.open_catalogue(settings) as catalogue:
        try:
            progress = _progress(path, settings.coarse_channel_width)
        except RficatError as exc:  # an unreadable header: remembered like any failed ingest
            catalogue_files.record_failure(catalogue.engine, path, str(exc))
            raise
        if model is not None:  # a worker elsewhere may have only the catalogue's copy of its weights
            model = models.registered_encoder(catalogue.engine, settings.models_dir, model)
        summary: IngestSummary = ingest_file(catalogue.engine, path, model=model, models_dir=settings.models_dir,
                                             threshold=threshold, n_noise_per_channel=n_noise_per_channel,
                                             coarse_channel_width=settings.coarse_channel_width, progress=progress)
    get_run_logger().info("%s: %s, %d signal + %d noise snippets, %s", path, summary.status,
                          summary.n_signal, summary.n_noise, summary.seconds)
    return summary.to_dict()


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection)
def record_cadence_task(name: str, paths: list[str], roles: list[str] | None = None) -> dict:
    with db.open_catalogue(load_settings()) as catalogue:
        return cadences.add_cadence(catalogue.engine, name, paths, roles)


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection)
def unchanged_failures_task(paths: list[str]) -> dict[str, str]:
    """Files that failed before and have not changed since (path -> their error)."""
    with db.open_catalogue(load_settings()) as catalogue:
        return catalogue_files.unchanged_failures(catalogue.engine, paths)


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection)
def index_vectors_task() -> dict:
    """Move the new vectors into the HNSW indexes, after the files are committed and searchable."""
    t = time.perf_counter()
    with db.open_catalogue(load_settings()) as catalogue:
        n = db.index_pending(catalogue.engine)
    seconds = time.perf_counter() - t
    get_run_logger().info("indexed %d vectors in %.1f s", n, seconds)
    return {"vectors": n, "seconds": round(seconds, 3)}


def _artifact(rows: list[dict], key: str) -> None:
    table = [{k: r.get(k) for k in ("path", "status", "n_signal", "n_noise", "observation_id", "error")}
             | {f"{stage}_s": r.get("seconds", {}).get(stage) for stage in STAGES}
             for r in rows]
    create_table_artifact(table=table, key=key, description="rficat ingest summary")


@flow(name="ingest-observation", log_prints=True)
def ingest_observation(path: str, cadence: str | None = None, model: str | None = None,
                       threshold: float = DEFAULT_THRESHOLD, n_noise_per_channel: int = 0) -> dict:
    """Ingest one .h5 / .fil file; with ``cadence``, append it to that cadence."""
    summary = ingest_file_task(str(path), model, threshold, n_noise_per_channel)
    if cadence:
        record_cadence_task(cadence, [str(path)], None)
    summary["seconds"]["index"] = index_vectors_task()["seconds"]
    _artifact([summary], "ingest-observation")
    return summary


def _failed_row(path: str, exc: BaseException) -> dict:
    error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    get_run_logger().error("%s", error if path in error else f"{path}: {error}")
    return {"path": path, "status": "failed", "error": error}


def _ingest_serially(paths: list[str], model: str | None, threshold: float, n_noise_per_channel: int) -> list[dict]:
    """One file after another, in this process (progress per coarse channel on a terminal)."""
    rows = []
    for path in paths:
        state = ingest_file_task(path, model, threshold, n_noise_per_channel, return_state=True)
        try:
            rows.append(state.result(_sync=True))
        except Exception as exc:  # noqa: BLE001 - reported per file
            rows.append(_failed_row(path, exc))
    return rows


@flow(name="ingest-files-on-dask", log_prints=True)
def ingest_on_dask(paths: list[str], model: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                   n_noise_per_channel: int = 0) -> list[dict]:
    """Every file as a task on the run's Dask task runner (see ``rficat.flows.fanout``); the
    terminal's bar advances by a whole file as each one ends, in the order they end."""
    from distributed import as_completed

    futures = {ingest_file_task.submit(path, model, threshold, n_noise_per_channel): path for path in paths}
    by_dask = {future.wrapped_future: future for future in futures}
    rows = {}
    for done in as_completed(list(by_dask), loop=next(iter(by_dask)).client.loop if by_dask else None):
        future = by_dask[done]
        path = futures[future]
        try:
            rows[path] = future.result()
        except Exception as exc:  # noqa: BLE001 - reported per file (a bad file, or its worker died)
            rows[path] = _failed_row(path, exc)
            continue
        try:
            total = Path(path).stat().st_size
        except OSError:
            total = 0
        _terminal.file(path, total)(total, rows[path].get("n_snippets", 0))
    return [rows[path] for path in paths]


def run_file_tasks(paths: list[str], model: str | None, threshold: float, n_noise_per_channel: int,
                   workers: int = 1, dask_address: str | None = None) -> list[dict]:
    """``ingest_file_task`` for each path: serially here, or fanned out on Dask (``rficat.flows.fanout``)."""
    address = fanout.dask_address(dask_address)
    if not fanout.fans_out(workers, address):
        return _ingest_serially(paths, model, threshold, n_noise_per_channel)
    get_run_logger().info("%d files on %s", len(paths), address or f"a local Dask cluster of {workers} workers")
    return fanout.run_on_dask(ingest_on_dask, workers, address, paths, model, threshold, n_noise_per_channel)


@flow(name="ingest-files", log_prints=True)
def ingest_files(paths: list[str], cadence: str | None = None, model: str | None = None,
                 threshold: float = DEFAULT_THRESHOLD, n_noise_per_channel: int = 0, workers: int = 1,
                 dask_address: str | None = None):
    """Ingest several files; a file that fails is reported and does not stop the others.

    ``workers`` > 1 runs the files on a local Dask cluster of that many processes;
    ``dask_address`` (default: ``RFICAT_DASK_ADDRESS``) on an existing Dask scheduler's workers.
    Returns one row per file; when any failed, the run ends Failed with an :class:`IngestFailed`
    holding them all (``ingest_files(..., return_state=True).result(raise_on_failure=False)``).
    """
    rows = run_file_tasks([str(p) for p in paths], model, threshold, n_noise_per_channel, workers, dask_address)
    if cadence:
        ingested = [r["path"] for r in rows if r["status"] != "failed"]
        if ingested:
            record_cadence_task(cadence, ingested, None)
    if any(r["status"] != "failed" for r in rows):
        index_vectors_task()
    _artifact(rows, "ingest-files")
    if any(r["status"] == "failed" for r in rows):
        failure = IngestFailed(rows)
        return Failed(message=str(failure), data=failure)
    return rows


@flow(name="ingest-directory", log_prints=True)
def ingest_directory(path: str, model: str | None = None, threshold: float = DEFAULT_THRESHOLD,
                     n_noise_per_channel: int = 0, workers: int = 1, dask_address: str | None = None):
    """Ingest every .h5 / .fil file of a landing directory. Files already ingested are skipped
    (without being read again); so are files that failed before and have not changed since
    (status ``failed-unchanged``, with their error), so one bad file does not fail every run.
    Ends Failed, as ``ingest-files`` does, when a file failed in this run. ``workers`` and
    ``dask_address``: as for ``ingest-files``."""
    files = observation_files(path)
    known_bad = unchanged_failures_task(files)
    if known_bad:
        get_run_logger().warning("%d file(s) failed before and are unchanged; not retried: %s", len(known_bad),
                                 "; ".join(f"{p}: {e}" for p, e in known_bad.items()))
    unchanged = [{"path": p, "status": "failed-unchanged", "error": e} for p, e in known_bad.items()]
    state = ingest_files([f for f in files if f not in known_bad], None, model, threshold, n_noise_per_channel,
                         workers, dask_address, return_state=True)
    outcome = state.result(raise_on_failure=False, _sync=True)
    if isinstance(outcome, IngestFailed):
        failure = IngestFailed(outcome.rows + unchanged)
        return Failed(message=str(failure), data=failure)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome + unchanged


if __name__ == "__main__":
    import json

    from rficat.flows import temporary_server

    temporary_server.start()  # without PREFECT_API_URL: one that ends with this process
    print(json.dumps(ingest_directory(sys.argv[1]), indent=2, default=str))
