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
