"""The ``rficat`` command line.

Results go to stdout (``--json``: only JSON, a list of objects or one object); progress and
logs go to stderr. Every user error is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import logging
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


# --- parser ------------------------------------------------------------------------------------

def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout")


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
    except KeyboardInterrupt:
        print("rficat: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
