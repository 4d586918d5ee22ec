"""Which observation a file is, and which files failed to ingest.

A file is identified by its whole-file fingerprint (``rficat.io.fingerprint``, xxh3-128 of all
its bytes). Reading a 19 GB file to learn that it is already catalogued would be wasteful, so
each observation also records the path, size and modification time its file had when last
seen: a file found there unchanged is known without being read (``cadence add``, repeated
runs over a landing directory). Observations stored before whole-file hashing carry a sampled
fingerprint (``fingerprint_kind = 'sampled-sha256'``) until their file is seen again.

Files that could not be ingested are kept in ``ingest_failures`` with their size, modification
time and (when known) fingerprint, so a landing directory's schedule retries one only when it
changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.io import (
    FINGERPRINT_KIND,
    SAMPLED_KIND,
    FileStat,
    fingerprint,
    sampled_fingerprint,
)
from rficat.store import db

log = logging.getLogger(__name__)


@dataclass
class Identity:
    """A file's fingerprint and, if the catalogue has it, its observation."""

    fingerprint: str
    observation_id: int | None
    hashed: bool  # False when found by path, size and modification time without reading the file


def identify(cur: psycopg.Cursor, path: str | Path, timings: dict[str, float] | None = None) -> Identity:
    """Which observation a file is, holding the advisory lock of its fingerprint until the
    transaction ends (one ingest of a given file at a time; released at commit, rollback or death).

    In order: an observation that recorded this path, size and modification time (no read);
    the file's whole-file fingerprint (one sequential read); an observation stored with the
    older sampled fingerprint, which is re-hashed (see ``_adopt_sampled``).
    """
    stat = FileStat.of(path)
    row = cur.execute("SELECT id, fingerprint FROM observations WHERE path = %s AND file_size = %s"
                      " AND file_mtime_ns = %s AND fingerprint_kind = %s",
                      (stat.path, stat.size, stat.mtime_ns, FINGERPRINT_KIND)).fetchone()
    if row is not None:
        _lock(cur, row[1])
        return Identity(row[1], row[0], hashed=False)
    t = time.perf_counter()
    fp = fingerprint(stat.path)
    if timings is not None:
        timings["hash"] = timings.get("hash", 0.0) + time.perf_counter() - t
    _lock(cur, fp)
    row = cur.execute("SELECT id, path FROM observations WHERE fingerprint = %s", (fp,)).fetchone()
    if row is not None:
        if row[1] == stat.path or not Path(row[1]).exists():  # touched in place, or moved here
            _record_seen(cur, row[0], stat)
        return Identity(fp, row[0], hashed=True)
    return Identity(fp, _adopt_sampled(cur, stat, fp), hashed=True)


def _lock(cur: psycopg.Cursor, fp: str) -> None:
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (fp,))


def _record_seen(cur: psycopg.Cursor, observation_id: int, stat: FileStat, fp: str | None = None) -> None:
    """Where the observation's file is now (and its whole-file fingerprint, when it had a sampled one)."""
    cur.execute("UPDATE observations SET path = %s, file_size = %s, file_mtime_ns = %s,"
                " fingerprint = coalesce(%s, fingerprint),"
                " fingerprint_kind = CASE WHEN %s::text IS NULL THEN fingerprint_kind ELSE %s END WHERE id = %s",
                (stat.path, stat.size, stat.mtime_ns, fp, fp, FINGERPRINT_KIND, observation_id))


def _adopt_sampled(cur: psycopg.Cursor, stat: FileStat, fp: str) -> int | None:
    """The observation stored with this file's sampled fingerprint, now given its whole-file one.

    A sampled fingerprint is shared by files that differ only between its samples, so a match
    is trusted only as far as can be checked: when the observation's own file is still at its
    recorded path and differs from this one, that file gets its own whole-file fingerprint and
    this file is new. When that file is gone the match is taken (a moved file), with a warning.
    """
    if not cur.execute("SELECT EXISTS (SELECT 1 FROM observations WHERE fingerprint_kind = %s)",
                       (SAMPLED_KIND,)).fetchone()[0]:
        return None
    row = cur.execute("SELECT id, path FROM observations WHERE fingerprint = %s AND fingerprint_kind = %s"
                      " FOR UPDATE", (sampled_fingerprint(stat.path), SAMPLED_KIND)).fetchone()
    if row is None:
        return None
    observation_id, old_path = row
    if old_path != stat.path and Path(old_path).is_file():
        old_fp = fingerprint(old_path)
        _record_seen(cur, observation_id, FileStat.of(old_path), old_fp)
        return observation_id if old_fp == fp else None
    if old_path != stat.path:
        log.warning("%s: taken as observation %d, which was ingested from %s (now gone) and matches it only by the "
                    "older sampled fingerprint", stat.path, observation_id, old_path)
    _record_seen(cur, observation_id, stat, fp)
    return observation_id


def find_observation(cur: psycopg.Cursor, path: str | Path) -> int | None:
    """The complete observation of a file, or None (see :func:`identify`; reads the file only
    when it was never seen at this path, size and modification time)."""
    found = identify(cur, path).observation_id
    if found is None:
        return None
    row = cur.execute("SELECT status FROM observations WHERE id = %s", (found,)).fetchone()
    return found if row and row[0] == "complete" else None


# --- files that failed ------------------------------------------------------------------------------

def record_failure(engine: Engine, path: str | Path, error: str, fp: str | None = None) -> None:
    """Remember that a file could not be ingested (its own transaction)."""
    try:
        stat = FileStat.of(path)
    except RficatError:  # gone: nothing to retry
        return
    try:
        with db.raw_connection(engine) as conn:
            conn.execute("INSERT INTO ingest_failures (path, file_size, file_mtime_ns, fingerprint, error)"
                         " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (path) DO UPDATE SET"
                         " file_size = EXCLUDED.file_size, file_mtime_ns = EXCLUDED.file_mtime_ns,"
                         " fingerprint = EXCLUDED.fingerprint, error = EXCLUDED.error,"
                         " attempts = ingest_failures.attempts + 1, failed_at = now()",
                         (stat.path, stat.size, stat.mtime_ns, fp, error.splitlines()[0] if error else "failed"))
            conn.commit()
    except psycopg.Error as exc:  # the file's own error is the one to report
        log.warning("%s: could not record the failure in the catalogue (%s)", stat.path, exc)


def unchanged_failures(engine: Engine, paths: Iterable[str | Path]) -> dict[str, str]:
    """The files among ``paths`` that failed before and have not changed since: path -> error.

    Unchanged means the same size and modification time, or, when only the time moved, the
    same fingerprint (then the new time is recorded so the file is not hashed again).
    """
    stats = {}
    for path in paths:
        try:
            stat = FileStat.of(path)
        except RficatError:
            continue
        stats[stat.path] = (str(path), stat)
    if not stats:
        return {}
    unchanged = {}
    with db.raw_connection(engine) as conn:
        rows = conn.execute("SELECT path, file_size, file_mtime_ns, fingerprint, error FROM ingest_failures"
                            " WHERE path = ANY(%s)", (list(stats),)).fetchall()
        for resolved, size, mtime_ns, fp, error in rows:
            given, stat = stats[resolved]
            if (stat.size, stat.mtime_ns) == (size, mtime_ns):
                unchanged[given] = error
            elif fp is not None and stat.size == size and fingerprint(resolved) == fp:
                conn.execute("UPDATE ingest_failures SET file_mtime_ns = %s WHERE path = %s", (stat.mtime_ns, resolved))
                unchanged[given] = error
        conn.commit()
    return unchanged


def fingerprint_status(engine: Engine) -> dict[str, int]:
    """How many observations still carry a sampled fingerprint, how many of those and of all
    observations have no file at their recorded path, and how many files failed to ingest
    (for ``rficat db status``)."""
    with db.raw_connection(engine) as conn:
        rows = conn.execute("SELECT path, fingerprint_kind FROM observations").fetchall()
        failed = conn.execute("SELECT count(*) FROM ingest_failures").fetchone()[0]
    missing = [kind for path, kind in rows if not Path(path).exists()]
    return {"observations": len(rows),
            "sampled_fingerprints": sum(kind == SAMPLED_KIND for _, kind in rows),
            "sampled_fingerprints_file_missing": sum(kind == SAMPLED_KIND for kind in missing),
            "files_missing": len(missing),
            "failed_files": failed}
