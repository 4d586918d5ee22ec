"""The catalogue at scale: storage, HNSW builds and lookalike search, old schema (0011) and new (0016).

One run is one catalogue size under one schema, in its own database on the embedded server
(``scale_<schema>_<rows>``), kept between runs so an interrupted run resumes where it stopped:
every finished stage (load, each index build, each measurement) is appended to a JSON file
(``--out``, default benchmarks/bench_scale.json) at once, and the block between the
``bench_scale`` markers in benchmarks/RESULTS.md is rewritten from that file.

- rows: synthetic snippets and clustered 8-d vectors as ``bench_search.py`` makes them (2,000
  morphology clusters, shares falling as rank^-0.8, centre frequencies uniform in 1-2 GHz),
  loaded by binary COPY; ``--arrays real`` gives every snippet a real-size 4 KiB array
  (normalised, quantised noise with a drifting line, as ingest stores them); ``--arrays tiny``
  a 1-byte one (the search never reads arrays).
- old schema (migration 0011): one table, a partial HNSW index per model, arrays in the row.
- new schema (head): embeddings partitioned by indexed, then model; an HNSW index over the
  model's vectors and one per 100 MHz band (partial on f_center_mhz), arrays out of line.
- only the latent HNSW graphs are built (the benchmark searches latent vectors); a catalogue
  also has the same graphs over freq_vector, which doubles the HNSW bytes and build time.
- measured: bytes per snippet (tables + TOAST + indexes, by part), each HNSW build's wall time,
  ``rficat_lookalikes(id, 10, false)`` p50 / p99 over 200 queries with the index and tables
  prewarmed, recall@10 against the exact top 10 (numpy, all vectors), a 1 % and a 10 %
  frequency band, and ``pg_stat_user_indexes`` after the queries (which indexes they used).

    python benchmarks/bench_scale.py --rows 1000000 --schema old --arrays real
    python benchmarks/bench_scale.py --rows 10000000 --schema new --arrays tiny --shared-buffers 6GB
    python benchmarks/bench_scale.py --drop --rows 10000000 --schema new     # delete its database
"""

from __future__ import annotations

import logging
import sys

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import psycopg
import sqlalchemy as sa

from rficat.config import load_settings
from rficat.science import snippets
from rficat.store import db, pgcopy

DIM = 8
HERE = Path(__file__).resolve().parent
COLUMNS = ("id", "observation_id", "coarse_channel", "chan_start", "chan_stop", "f_start_mhz", "f_stop_mhz",
           "f_center_mhz", "statistic", "snr", "drift_rate_hz_s", "width_hz", "is_signal", "dedrift_hz_s",
           "drift_error_hz_s")
HEAD_BYTES = 3992  # what the view snippet_arrays stores out of line (two TOAST chunks); the rest stays in the row
BANDS = {"band_1pct": (1400.0, 1410.0), "band_10pct": (1400.0, 1499.999)}  # inside the 1400-1500 MHz band
CHUNK = 50_000


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def clustered_vectors(n: int, rng: np.random.Generator, clusters: int = 2000) -> np.ndarray:
    """As bench_search.py: recurring emitters, cluster shares falling as rank^-0.8."""
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    sizes = np.arange(1, clusters + 1, dtype=np.float64) ** -0.8
    labels = rng.choice(clusters, size=n, p=sizes / sizes.sum())
    return centres[labels] + 0.15 * rng.normal(size=(n, DIM)).astype(np.float32)


def real_arrays(n: int, rng: np.random.Generator) -> np.ndarray:
    """n stored snippets as ingest keeps them: chi-square noise with a drifting line, normalised, uint8."""
    t, f = snippets.SNIPPET_SHAPE
    power = rng.chisquare(4, size=(n, t, f)).astype(np.float32)
    start = rng.integers(0, f, n)
    drift = rng.uniform(-4, 4, n)
    rows = np.arange(t)
    cols = (start[:, None] + (drift[:, None] * rows[None, :]).astype(int)) % f
    power[np.arange(n)[:, None], rows[None, :], cols] += rng.uniform(5, 50, (n, 1)).astype(np.float32)
    return snippets.quantise(snippets.normalise(power))


def catalogue(n: int) -> dict:
    """The synthetic catalogue of n rows (the same for every run with the same n)."""
    rng = np.random.default_rng(n)
    vectors = clustered_vectors(n, rng)
    return {"vectors": vectors, "f_center": rng.uniform(1000, 2000, n),
            "unit": vectors / np.linalg.norm(vectors, axis=1, keepdims=True)}


class Run:
    def __init__(self, args):
        self.args = args
        self.key = {"rows": args.rows, "schema": args.schema, "arrays": args.arrays}
        self.out = Path(args.out)
        self.records = json.loads(self.out.read_text()) if self.out.exists() else []

    def done(self, stage: str) -> dict | None:
        for r in self.records:
            if r.get("stage") == stage and all(r.get(k) == v for k, v in self.key.items()):
                return r
        return None

    def record(self, stage: str, **values) -> dict:
        rec = {**self.key, "stage": stage, "at": time.strftime("%Y-%m-%d %H:%M"),
               "load_avg": round(os.getloadavg()[0], 1), **({"note": self.args.note} if self.args.note else {}), **values}
        # other runs may append to the same file meanwhile
        self.records = json.loads(self.out.read_text()) if self.out.exists() else []
        self.records.append(rec)
        self.out.write_text(json.dumps(self.records, indent=1) + "\n")
        write_results_block(self.records)
        log(f"{stage}: {json.dumps(values)[:400]}")
        return rec


# --- the database ---------------------------------------------------------------------------


def server_url(settings, shared_buffers: str | None) -> str:
    url = db._with_database(db.start_embedded(settings), "postgres")
    if shared_buffers:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            current = conn.execute(sa.text("SHOW shared_buffers")).scalar_one()
            if current.lower() != shared_buffers.lower():
                conn.execute(sa.text(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}'"))
                engine.dispose()
                db.stop_embedded(settings)
                url = db._with_database(db.start_embedded(settings), "postgres")
        engine.dispose()
    return url


def database(server: str, name: str, revision: str) -> str:
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    if db.current_revision(engine) is None:
        db.migrate(engine, revision)
    engine.dispose()
    return url


def connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(db.libpq_url(url), autocommit=True)
    db.register_vector_types(conn)
    return conn


def load(run: Run, url: str, data: dict) -> None:
    n, new = run.args.rows, run.args.schema == "new"
    vectors, f_center, rng = data["vectors"], data["f_center"], np.random.default_rng(n + 1)
    conn = connect(url)
    with conn.transaction():
        model_id = conn.execute("INSERT INTO models (name, version, latent_dim, fingerprint, is_current)"
                                " VALUES ('bench', 1, %s, 'bench', true) RETURNING id", (DIM,)).fetchone()[0]
        for kind in ("freq", "latent"):  # built in bulk after the rows (freq not at all: latent is searched)
            conn.execute(f"DROP INDEX embeddings_{kind}_hnsw_m{model_id}")
        obs = conn.execute(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header, mjd_start, status) SELECT 'bench' || i, 'bench' || i, 1000, 2000,"
            " 2000, -2.8e-6, 18.25, 1, 16, '{}', 60000, 'complete' FROM generate_series(1, 100) i RETURNING id"
        ).fetchall()
    obs = np.array([o[0] for o in obs], np.int64)
    t = time.perf_counter()
    pool = real_arrays(4096, rng) if run.args.arrays == "real" else None
    target = f"embeddings_m{model_id}" if new else "embeddings"
    for start in range(0, n, CHUNK):
        ids = np.arange(start + 1, min(n, start + CHUNK) + 1, dtype=np.int64)
        m, f = len(ids), f_center[ids - 1]
        arrays = (pool[rng.integers(0, len(pool), m)].reshape(m, -1) if pool is not None
                  else np.zeros((m, 1), np.uint8))
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY snippets ({', '.join(COLUMNS + (() if new else ('data',)))})"
                          " FROM STDIN WITH (FORMAT BINARY)") as copy:
                pgcopy.copy_rows(copy, [
                    ("int8", ids), ("int8", obs[ids % len(obs)]), ("int4", np.zeros(m)), ("int8", ids * 256),
                    ("int8", ids * 256 + 256), ("float8", f - 3.5e-4), ("float8", f + 3.5e-4), ("float8", f),
                    ("float8", rng.uniform(512, 1e5, m)), ("float8", rng.uniform(10, 100, m)),
                    ("float8", rng.uniform(-2, 2, m)), ("float8", rng.uniform(3, 500, m)), ("bool", np.ones(m, bool)),
                    ("float8", np.zeros(m)), ("float8", rng.uniform(0.001, 0.05, m))]
                    + ([] if new else [("bytea", arrays, np.uint8)]), chunk_rows=8192)
            if new:  # as the view snippet_arrays stores them (its trigger costs ~20 us a row; a bulk load skips it)
                with cur.copy("COPY snippet_array_parts (snippet_id, head, tail) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    pgcopy.copy_rows(copy, [("int8", ids), ("bytea", np.ascontiguousarray(arrays[:, :HEAD_BYTES]), np.uint8),
                                            ("bytea", np.ascontiguousarray(arrays[:, HEAD_BYTES:]), np.uint8)],
                                     chunk_rows=8192)
            columns = ["snippet_id", "model_id", "latent", "freq_vector", "indexed"] + (["f_center_mhz"] if new else [])
            values = [("int8", ids), ("int4", np.full(m, model_id)), ("vector", vectors[ids - 1]),
                      ("vector", vectors[ids - 1]), ("bool", np.ones(m, bool))] + ([("float8", f)] if new else [])
            with cur.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN WITH (FORMAT BINARY)") as copy:
                pgcopy.copy_rows(copy, values, chunk_rows=8192)
        if start % 1_000_000 == 0:
            log(f"loaded {start + m:,} rows")
    conn.execute("SELECT setval('snippets_id_seq', %s)", (n,))
    conn.execute("VACUUM ANALYZE snippets")
    conn.execute("VACUUM ANALYZE embeddings")
    conn.execute("ANALYZE observations")
    conn.close()
    run.record("load", model_id=model_id, copy_s=round(time.perf_counter() - t, 1))


def build(conn: psycopg.Connection, name: str, statement: str, maintenance_work_mem: str,
          workers: int = 1) -> float | None:
    """Build one index unless it exists; its wall time in seconds (None: it was there)."""
    if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
        return None
    conn.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
    conn.execute(f"SET max_parallel_maintenance_workers = {int(workers)}")
    t = time.perf_counter()
    conn.execute(statement)
    return round(time.perf_counter() - t, 1)


def index_full(run: Run, url: str, model_id: int) -> None:
    conn = connect(url)
    name = f"embeddings_latent_hnsw_m{model_id}"
    if run.args.schema == "new":
        statement = f"CREATE INDEX {name} ON embeddings_m{model_id} USING hnsw ((latent::vector({DIM})) vector_cosine_ops)"
    else:
        statement = (f"CREATE INDEX {name} ON embeddings USING hnsw ((latent::vector({DIM})) vector_cosine_ops)"
                     f" WHERE model_id = {model_id} AND indexed")
    seconds = build(conn, name, statement, run.args.maintenance_work_mem, run.args.full_index_workers)
    conn.execute("VACUUM ANALYZE embeddings")
    size = conn.execute("SELECT pg_relation_size(%s)", (name,)).fetchone()[0]
    conn.close()
    run.record("index_full", hnsw_build_s=seconds, hnsw_bytes=size, parallel_workers=run.args.full_index_workers)


def band_statements(conn: psycopg.Connection, model_id: int) -> list[tuple[str, str, int]]:
    """The latent HNSW index of every band, exactly as rficat_index_band names and writes it."""
    rows = conn.execute(
        f"SELECT floor(f_center_mhz / m.band_mhz) * m.band_mhz AS lo, m.band_mhz, count(*) FROM embeddings_m{model_id} e"
        f" JOIN models m ON m.id = {model_id} GROUP BY 1, 2 ORDER BY 1").fetchall()
    out = []
    for lo, width, count in rows:
        text_lo, text_hi = conn.execute("SELECT %s::double precision::text, (%s::double precision + %s)::text",
                                        (lo, lo, width)).fetchone()
        name = f"embeddings_latent_hnsw_m{model_id}_f{re.sub('[^0-9]', '_', text_lo)}"
        out.append((name, f"CREATE INDEX {name} ON embeddings_m{model_id} USING hnsw ((latent::vector({DIM}))"
                          f" vector_cosine_ops) WHERE f_center_mhz >= {text_lo}::double precision"
                          f" AND f_center_mhz < {text_hi}::double precision", count))
    return out


def index_bands(run: Run, url: str, model_id: int, only: str | None = None) -> None:
    """The band indexes (``only``: just the one whose name ends so)."""
    conn = connect(url)
    for name, statement, count in band_statements(conn, model_id):
        if only and not name.endswith(only):
            continue
        if run.done(f"index_band {name}"):
            continue
        seconds = build(conn, name, statement, run.args.maintenance_work_mem)
        size = conn.execute("SELECT pg_relation_size(%s)", (name,)).fetchone()[0]
        run.record(f"index_band {name}", rows_in_band=count, hnsw_build_s=seconds, hnsw_bytes=size)
    conn.close()


def storage(run: Run, url: str) -> None:
    conn = connect(url)
    n = run.args.rows
    parts = {}
    for relation in ("snippets", "snippet_array_parts", "embeddings"):
        if conn.execute("SELECT to_regclass(%s)", (relation,)).fetchone()[0] is None:
            continue
        tree = [r[0] for r in conn.execute(
            "SELECT relid::regclass::text FROM pg_partition_tree(%s) WHERE isleaf", (relation,)).fetchall()] or [relation]
        heap = toast = index = 0
        for leaf in tree:
            heap += conn.execute("SELECT pg_relation_size(%s)", (leaf,)).fetchone()[0]
            toast += conn.execute("SELECT pg_table_size(%s) - pg_relation_size(%s)", (leaf, leaf)).fetchone()[0]
            index += conn.execute("SELECT pg_indexes_size(%s)", (leaf,)).fetchone()[0]
        parts[relation] = {"heap": heap, "toast": toast, "indexes": index}
    per_index = dict(conn.execute(
        "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes"
        " WHERE relname IN (SELECT relid::regclass::text FROM pg_partition_tree('embeddings'))"
        " OR relname IN ('snippets', 'snippet_array_parts')"
    ).fetchall())
    total = sum(sum(p.values()) for p in parts.values())
    conn.close()
    run.record("storage", bytes_per_snippet=round(total / n, 1),
               per_snippet={r: {k: round(v / n, 1) for k, v in p.items()} for r, p in parts.items()},
               arrays_per_snippet=round((sum(parts["snippet_array_parts"].values()) if "snippet_array_parts" in parts
                                         else parts["snippets"]["heap"] + parts["snippets"]["toast"]) / n, 1),
               index_bytes={k: v for k, v in per_index.items()})


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a server process has used: what a query costs on an idle core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _times(conn, sql: str, params: list[tuple]) -> tuple[list[float], list[list[int]]]:
    times, found = [], []
    pid = conn.info.backend_pid
    cpu = _cpu_s(pid)
    for p in params:
        t = time.perf_counter()
        rows = conn.execute(sql, p).fetchall()
        times.append((time.perf_counter() - t) * 1000)
        found.append([r[0] for r in rows])
    _times.server_cpu_ms = (_cpu_s(pid) - cpu) * 1000 / len(params)
    return times, found


def pct(values: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2),
            "queries": len(values), "server_cpu_ms_per_query": round(_times.server_cpu_ms, 2)}


def exact_top10(unit: np.ndarray, f_center: np.ndarray, q: int, band: tuple | None) -> list[int]:
    sims = unit @ unit[q - 1]
    sims[q - 1] = -np.inf
    if band:
        sims[(f_center < band[0]) | (f_center > band[1])] = -np.inf
    top = np.argpartition(-sims, 10)[:10]
    return (top[np.argsort(-sims[top])] + 1).tolist()


def prewarm(conn, schema: str) -> None:
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    relations = [r[0] for r in conn.execute(
        "SELECT indexrelid::regclass::text FROM pg_stat_user_indexes"
        " WHERE relname IN (SELECT relid::regclass::text FROM pg_partition_tree('embeddings')) OR relname IN ('snippets', 'observations')"
    ).fetchall()]
    relations += [r[0] for r in conn.execute(
        "SELECT relid::regclass::text FROM pg_partition_tree('embeddings') WHERE isleaf").fetchall()]
    relations.append("observations")  # not the snippets heap: old rows are 8 KiB each; queries fetch ~20
    for r in relations:
        conn.execute("SELECT pg_prewarm(%s)", (r,))


def measure(run: Run, url: str, data: dict, stage: str, bands: bool, unfiltered: bool = True,
            hot_snippets: bool = False) -> None:
    """Latency, server CPU per query and recall; ``hot_snippets`` also prewarms the snippets heap
    (small in the new schema: it is what a long-running server keeps in memory) and warms the
    connection with 200 queries of each kind first, as a server's pooled connection is."""
    f_center, n = data["f_center"], run.args.rows
    rng = np.random.default_rng(7 + len(stage))
    conn = connect(url)
    conn.execute("SELECT pg_stat_reset()")
    t = time.perf_counter()
    prewarm(conn, run.args.schema)
    if hot_snippets:
        conn.execute("SELECT pg_prewarm('snippets')")
    prewarm_s = round(time.perf_counter() - t, 1)
    out = {"shared_buffers": conn.execute("SHOW shared_buffers").fetchone()[0], "prewarm_s": prewarm_s,
           "huge_pages": conn.execute("SHOW huge_pages_status").fetchone()[0]}
    sql = "SELECT snippet_id FROM rficat_lookalikes(%s, 10, false)"
    queries = rng.choice(n, 400, replace=False) + 1
    warm = 200 if hot_snippets else 20  # hot: a long-running server's connection, not a fresh one
    if unfiltered:
        _times(conn, sql, [(int(q),) for q in queries[:warm]])  # plan cache, catalogue caches
        times, found = _times(conn, sql, [(int(q),) for q in queries[200:400]])
        recall = np.mean([len(set(f) & set(exact_top10(data["unit"], f_center, int(q), None))) / 10
                          for f, q in zip(found[:100], queries[200:300])])
        out["unfiltered"] = {**pct(times), "recall_at_10": round(float(recall), 4)}
    if bands:
        for name, (lo, hi) in BANDS.items():
            bsql = f"SELECT snippet_id FROM rficat_lookalikes(%s, 10, false, p_f_min_mhz => {lo}, p_f_max_mhz => {hi})"
            qs = rng.choice(n, 100 + warm, replace=False) + 1
            _times(conn, bsql, [(int(q),) for q in qs[100:]])
            qs = qs[:100]
            times, found = _times(conn, bsql, [(int(q),) for q in qs])
            recall = np.mean([len(set(f) & set(exact_top10(data["unit"], f_center, int(q), (lo, hi)))) / 10
                              for f, q in zip(found[:50], qs[:50])])
            out[name] = {**pct(times), "recall_at_10": round(float(recall), 4), "min_rows": min(map(len, found))}
    conn.execute("SELECT pg_stat_force_next_flush()")
    out["index_scans"] = dict(conn.execute(
        "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE idx_scan > 0 ORDER BY 2 DESC").fetchall())
    out["unused_indexes"] = [r[0] for r in conn.execute(
        "SELECT indexrelname FROM pg_stat_user_indexes WHERE idx_scan = 0 AND relname NOT LIKE 'pg_%' ORDER BY 1").fetchall()]
    conn.close()
    run.record(stage, **out)


# --- RESULTS.md -----------------------------------------------------------------------------

BEGIN, END = "<!-- bench_scale:begin (written by bench_scale.py) -->", "<!-- bench_scale:end -->"


def write_results_block(records: list[dict]) -> None:
    path = HERE / "RESULTS.md"
    if not path.exists():
        return
    text = path.read_text()
    if BEGIN not in text:
        return
    lines = [BEGIN, "", "| rows | schema | arrays | stage | figures | load avg | at |", "|---|---|---|---|---|---|---|"]
    for r in records:
        skip = {"rows", "schema", "arrays", "stage", "at", "load_avg", "index_bytes", "index_scans", "unused_indexes"}
        figures = json.dumps({k: v for k, v in r.items() if k not in skip}, separators=(", ", ": "))
        lines.append(f"| {r['rows']:,} | {r['schema']} | {r['arrays']} | {r['stage']} | `{figures}` | {r['load_avg']} | {r['at']} |")
    lines += ["", END]
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    path.write_text(head + "\n".join(lines) + tail)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--schema", choices=("old", "new"), required=True)
    parser.add_argument("--arrays", choices=("real", "tiny"), default="real")
    parser.add_argument("--out", default=str(HERE / "bench_scale.json"))
    parser.add_argument("--shared-buffers", default=None, help="e.g. 6GB: set on the embedded server (restarts it)")
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument("--full-index-workers", type=int, default=1,
                        help="max_parallel_maintenance_workers for the HNSW index over all vectors (bands: 1)")
    parser.add_argument("--drop", action="store_true", help="delete this run's database and stop")
    parser.add_argument("--skip-other-bands", action="store_true",
                        help="build only the band the filtered queries use (storage then counts one band's graph)")
    parser.add_argument("--drop-after", action="store_true", help="delete this run's database when it is measured")
    parser.add_argument("--remeasure", action="store_true",
                        help="measure a finished run's queries again (hot), e.g. on an idle machine: a new record")
    parser.add_argument("--note", help="a word on what differs in this run, kept in its records")
    args = parser.parse_args()
    run = Run(args)
    settings = load_settings()
    server = server_url(settings, args.shared_buffers)
    name = f"scale_{args.schema}_{args.arrays}_{args.rows}"
    if args.drop:
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        log(f"dropped {name}")
        return
    if not run.done("load"):  # a load cut short starts again from an empty database
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    url = database(server, name, "0011" if args.schema == "old" else "head")
    data = catalogue(args.rows)
    if not run.done("load"):
        load(run, url, data)
    model_id = run.done("load")["model_id"]
    if args.schema == "old":
        if not run.done("index_full"):
            index_full(run, url, model_id)
        if not run.done("measure"):
            measure(run, url, data, "measure", bands=True)
    else:
        # the band the filtered queries fall in first (one band's build), then the graph over all
        index_bands(run, url, model_id, only="_f1400")
        if not run.done("measure_bands"):
            measure(run, url, data, "measure_bands", bands=True, unfiltered=False)
        if not run.done("index_full"):
            index_full(run, url, model_id)
        if not run.done("measure_unfiltered"):
            measure(run, url, data, "measure_unfiltered", bands=False)
        if not run.done("measure_hot") or args.remeasure:
            measure(run, url, data, "measure_hot", bands=True, hot_snippets=True)
        if not run.args.skip_other_bands:
            index_bands(run, url, model_id)
    if not run.done("storage"):
        storage(run, url)
    if args.drop_after:
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        log(f"dropped {name}")
    log("done")


if __name__ == "__main__":
    main()
