"""The ``rficat`` command line.

Results go to stdout (``--json``: only JSON, a list of objects or one object); progress and
logs go to stderr. Every user error is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rficat.errors import RficatError

log = logging.getLogger("rficat")

Handler = Callable[[argparse.Namespace], Any]


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _print_mapping(obj: dict[str, Any], indent: int = 0) -> None:
    width = max((len(k) for k in obj), default=0)
    for key, value in obj.items():
        if isinstance(value, dict):
            print(" " * indent + f"{key}:")
            _print_mapping(value, indent + 2)
        else:
            print(" " * indent + f"{key:<{width}}  {value}")


def emit(obj: Any, as_json: bool) -> None:
    """Print a result: JSON for scripts, an aligned listing for people."""
    if as_json:
        _print_json(obj)
    elif isinstance(obj, dict):
        _print_mapping(obj)
    else:
        print(obj)


# --- db ----------------------------------------------------------------------------------------

def _settings():
    from rficat.config import load_settings

    return load_settings()


def cmd_db_init(args: argparse.Namespace) -> None:
    from rficat import db

    settings = _settings()
    cat = db.init_catalogue(settings)
    try:
        emit({"database": db.describe_url(cat.url), "revision": db.current_revision(cat.engine),
              "embedded": settings.uses_embedded_db}, args.json)
    finally:
        cat.dispose()


def cmd_db_status(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from rficat import db

    settings = _settings()
    url = db.database_url(settings)
    engine = db.make_engine(url)
    try:
        db.check_connection(engine)
        with engine.connect() as conn:
            server = conn.execute(sa.text("SHOW server_version")).scalar_one()
            vector = conn.execute(sa.text("SELECT extversion FROM pg_extension WHERE extname='vector'")).scalar()
        revision = db.current_revision(engine)
        status = {
            "database": db.describe_url(url),
            "embedded": settings.uses_embedded_db,
            "server_version": server,
            "pgvector": vector,
            "revision": revision,
            "head_revision": db.head_revision(),
            "rows": db.row_counts(engine) if revision else None,
        }
    finally:
        engine.dispose()
    emit(status, args.json)


def cmd_db_url(args: argparse.Namespace) -> None:
    from rficat import db

    url = db.database_url(_settings())
    if args.json:
        emit({"sqlalchemy_url": url, "libpq_url": db.libpq_url(url)}, True)
    else:
        print(db.libpq_url(url) if args.libpq else url)


def cmd_db_start(args: argparse.Namespace) -> None:
    from rficat import db

    settings = _settings()
    if not settings.uses_embedded_db:
        raise RficatError("RFICAT_DATABASE_URL is set: rficat does not manage that server")
    db.start_embedded(settings)
    emit({"pgdata": str(settings.pgdata), "running": True}, args.json)


def cmd_db_stop(args: argparse.Namespace) -> None:
    from rficat import db

    settings = _settings()
    if not settings.uses_embedded_db:
        raise RficatError("RFICAT_DATABASE_URL is set: rficat does not manage that server")
    was_running = db.stop_embedded(settings)
    emit({"pgdata": str(settings.pgdata), "stopped": was_running}, args.json)


# --- detect ------------------------------------------------------------------------------------

def _print_table(rows: list[dict], columns: list[tuple[str, str, str]], limit: int = 50) -> None:
    """A readable table of result rows: (key, heading, format) per column."""
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for _, heading, _ in columns:
        table.add_column(heading, justify="right")
    for row in rows[:limit]:
        table.add_row(*(format(row[key], fmt) for key, _, fmt in columns))
    Console().print(table)
    if len(rows) > limit:
        print(f"... {len(rows) - limit} more (use --json for all)")


HIT_COLUMNS = [("coarse_channel", "coarse", "d"), ("f_center_mhz", "f_center_mhz", ".6f"),
               ("snr", "snr", ".1f"), ("drift_rate_hz_s", "drift_hz_s", ".3f"), ("statistic", "K2", ".0f")]


def cmd_detect(args: argparse.Namespace) -> None:
    import time

    from rficat import detect
    from rficat.io import read_header
    from rficat.progress import byte_progress

    width = args.coarse_channel_width or _settings().coarse_channel_width
    header = read_header(args.file, width)
    stats = detect.DetectionStats()
    hits: list[dict] = []
    started = time.perf_counter()
    total = header.n_coarse_channels * header.coarse_channel_width * header.n_integrations * 4
    with byte_progress(f"detect {args.file.name}", total) as advance:
        for _, _, result in detect.detect_file(args.file, args.threshold, args.noise, width, advance):
            n_noise = sum(not h.is_signal for h in result.hits)
            stats.add(result, n_noise)
            hits += [h.to_dict() for h in result.hits]
    seconds = time.perf_counter() - started
    summary = {
        "file": str(args.file), "source_name": header.source_name,
        "f_min_mhz": header.f_min_mhz, "f_max_mhz": header.f_max_mhz,
        "coarse_channels": stats.n_coarse_channels, "coarse_channel_width": header.coarse_channel_width,
        "windows": stats.n_windows, "nonfinite_windows_skipped": stats.n_nonfinite_windows,
        "hits": stats.n_hits, "noise_windows": stats.n_noise, "threshold": args.threshold,
        "seconds": round(seconds, 3), "mb_per_s": round(total / 1e6 / seconds, 1) if seconds else None,
    }
    if args.json:
        emit({"summary": summary, "hits": hits}, True)
        return
    emit(summary, False)
    if hits:
        print()
        _print_table(hits, HIT_COLUMNS)


# --- parser ------------------------------------------------------------------------------------

def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout")


def _add_coarse_width(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coarse-channel-width", type=int, default=None, metavar="N",
                        help="fine channels per coarse channel when the header has no nfpc "
                             "(default: RFICAT_COARSE_CHANNEL_WIDTH, else the GBT 2.9296875 MHz rule)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rficat", description="A PostgreSQL + pgvector catalogue of RFI lookalikes."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_parser = commands.add_parser("db", help="manage the catalogue database")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, handler, help_text in (
        ("init", cmd_db_init, "create the database (embedded by default) and migrate it to the newest schema"),
        ("status", cmd_db_status, "server, schema revision and row counts"),
        ("start", cmd_db_start, "start the embedded server (left running until `db stop`)"),
        ("stop", cmd_db_stop, "stop the embedded server"),
    ):
        sub = db_commands.add_parser(name, help=help_text)
        _add_json(sub)
        sub.set_defaults(handler=handler)
    url_parser = db_commands.add_parser("url", help="print a connection URL for SQLAlchemy (or psql with --libpq)")
    url_parser.add_argument("--libpq", action="store_true", help="print the psql / psycopg form")
    _add_json(url_parser)
    url_parser.set_defaults(handler=cmd_db_url)

    from pathlib import Path

    from rficat.detect import DEFAULT_THRESHOLD

    detect_parser = commands.add_parser("detect", help="energy detection on one filterbank file")
    detect_parser.add_argument("file", type=Path, help=".fil or .h5 filterbank file")
    detect_parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                               help=f"D'Agostino-Pearson K^2 above which a window is a hit (default {DEFAULT_THRESHOLD:g})")
    detect_parser.add_argument("--noise", type=int, default=0, metavar="N",
                               help="also return N noise windows per coarse channel (training data)")
    _add_coarse_width(detect_parser)
    _add_json(detect_parser)
    detect_parser.set_defaults(handler=cmd_detect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        args.handler(args)
    except RficatError as exc:
        print(f"rficat: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `rficat ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("rficat: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
