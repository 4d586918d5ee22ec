"""Progress bars on stderr (rich), shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


@contextmanager
def byte_progress(description: str, total_bytes: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n_bytes)``; draws a bar with throughput on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total_bytes)
        yield lambda n: bar.advance(task, n)


@contextmanager
def stage_status(title: str) -> Iterator[Callable[[str], None]]:
    """Yield ``stage(description)`` for work whose steps have no size: a spinner naming the current
    step, with its elapsed time, on a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda description: None
        return
    with Console(stderr=True).status(title) as status:
        started = time.perf_counter()

        def stage(description: str) -> None:
            status.update(f"{title}: {description} ({time.perf_counter() - started:.0f} s so far)")

        yield stage


class IngestProgress:
    """Progress of an ingest on a terminal: one bar for the file being ingested ("file 2 of 6"),
    advanced per coarse channel, with MB/s and the snippets cut so far. Inert when stderr is not a
    terminal (or ``enabled=False``); use as a context manager around the ingest."""

    def __init__(self, n_files: int = 0, enabled: bool | None = None):
        self.n_files = n_files
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Progress | None = None
        self._task = None
        self._paths: list[str] = []

    def __enter__(self) -> IngestProgress:
        if self.enabled:
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                       TextColumn("{task.fields[snippets]} snippets"), TimeRemainingColumn())
            self._bar = Progress(*columns, console=Console(stderr=True), transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def file(self, path: str, total_bytes: int) -> Callable[[int, int], None]:
        """Start the bar of one file; returns ``advance(n_bytes, n_snippets_so_far)``."""
        if self._bar is None:
            return lambda n_bytes, n_snippets: None
        if path not in self._paths:
            self._paths.append(path)
        name = path.rsplit("/", 1)[-1]
        of = f" of {self.n_files}" if self.n_files else ""
        description = f"file {self._paths.index(path) + 1}{of}: {name}"
        if self._task is not None:
            self._bar.remove_task(self._task)
        bar, task = self._bar, self._bar.add_task(description, total=total_bytes, snippets=0)
        self._task = task
        return lambda n_bytes, n_snippets: bar.update(task, advance=n_bytes, snippets=n_snippets)


@contextmanager
def count_progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n_items)``; draws a bar counting items (of ``total``; None: unknown) on a
    terminal, nothing otherwise."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda n: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}" if total is None else "{task.completed}/{task.total}"),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
