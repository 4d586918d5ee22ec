"""Lookalike search at scale: latency and recall of `rficat_lookalikes` as a notebook calls it.

For each catalogue size (default 10^5 and 10^6 rows) a fresh database on the embedded server
gets synthetic snippet rows and clustered 8-d vectors (2,000 morphology clusters whose shares
fall as rank^-0.8, like recurring RFI) by binary COPY, then its HNSW index by one bulk build.
In the same run, for 200 random query snippets:

- `SELECT * FROM rficat_lookalikes(id, 10, false)`: HNSW with iterative scan, at search
  breadths (`SET rficat.ef_search`) 40, 24 and 16, each on its own random queries;
- the same with p_exact => true: pgvector's exact scan;
- numpy brute force (cosine, argpartition) over all vectors held in memory;
- recall@10 of HNSW against the exact top 10;
- filtered queries (a 10 % and a 1 % frequency band, an SNR cut): rows returned and latency;
- then, with the index and tables loaded into shared_buffers by pg_prewarm (as a long-running
  server holds them), HNSW at breadths 40 and 16 again, on new queries.

Rows carry no snippet array (the search never reads it), so the tables are smaller than a
real catalogue's; the search touches ~ef_search rows per query either way. No band graphs are
built (a band filter walks the graph over all vectors): ``bench_scale.py`` measures those.

    python benchmarks/bench_search.py [--sizes 100000,1000000] [--queries 200]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import argparse
import json
import time

import numpy as np
import sqlalchemy as sa

from rficat.catalogue import ingest
from rficat.config import load_settings
from rficat.store import db, pgcopy

DIM = 8


def clustered_vectors(n: int, rng: np.random.Generator, clusters: int = 2000) -> np.ndarray:
    """Recurring emitters: cluster shares fall as rank^-0.8 (the largest holds ~4 %)."""
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    sizes = np.arange(1, clusters + 1, dtype=np.float64) ** -0.8
    labels = rng.choice(clusters, size=n, p=sizes / sizes.sum())
    return centres[labels] + 0.15 * rng.normal(size=(n, DIM)).astype(np.float32)


def load(url: str, n: int, rng: np.random.Generator, index: bool = True,
         n_observations: int = 1) -> tuple[int, np.ndarray, dict]:
    engine = db.make_engine(url)
    timings = {}
    with engine.begin() as conn:
        model_id = conn.execute(sa.text("INSERT INTO models (name, version, latent_dim, fingerprint, is_current)"
                                        " VALUES ('bench', 1, :d, 'bench', true) RETURNING id"), {"d": DIM}).scalar_one()
        conn.execute(sa.text(f"DROP INDEX embeddings_freq_hnsw_m{model_id}"))  # the bench searches latent only
        conn.execute(sa.text(f"DROP INDEX embeddings_latent_hnsw_m{model_id}"))  # rebuilt in bulk below
        obs = np.array(conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header, mjd_start, status) SELECT 'bench' || i, 'bench' || i, 1000, 2000,"
            " 2000, -2.8e-6, 18.25, 1, 16, '{}', 60000, 'complete' FROM generate_series(1, :k) i RETURNING id"),
            {"k": n_observations}).scalars().all())
    vectors = clustered_vectors(n, rng)
    ids = np.arange(1, n + 1, dtype=np.int64)
    f_center = rng.uniform(1000, 2000, n)
    t = time.perf_counter()
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY snippets ({', '.join(ingest.SNIPPET_COLUMNS)}) FROM STDIN WITH (FORMAT BINARY)") as copy:
            pgcopy.copy_rows(copy, [("int8", ids), ("int8", obs[ids % len(obs)]), ("int4", np.zeros(n)),
                                    ("int8", ids * 256), ("int8", ids * 256 + 256), ("float8", f_center - 3.5e-4),
                                    ("float8", f_center + 3.5e-4), ("float8", f_center),
                                    ("float8", rng.uniform(512, 1e5, n)), ("float8", rng.uniform(10, 100, n)),
                                    ("float8", rng.uniform(-2, 2, n)), ("float8", rng.uniform(3, 500, n)),
                                    ("bool", np.ones(n, bool)), ("float8", np.zeros(n)),
                                    ("float8", rng.uniform(0.001, 0.05, n))],
                             chunk_rows=8192)
        cur.execute("SELECT setval('snippets_id_seq', %s)", (n,))
        with cur.copy(f"COPY embeddings_m{model_id} (snippet_id, model_id, latent, freq_vector, indexed, f_center_mhz)"
                      " FROM STDIN WITH (FORMAT BINARY)") as copy:
            pgcopy.copy_rows(copy, [("int8", ids), ("int4", np.full(n, model_id)), ("vector", vectors),
                                    ("vector", vectors), ("bool", np.ones(n, bool)), ("float8", f_center)],
                             chunk_rows=8192)
        conn.commit()
    timings["copy_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not index:
            conn.execute(sa.text("VACUUM ANALYZE embeddings"))
            engine.dispose()
            return model_id, vectors, timings
        conn.execute(sa.text("SET maintenance_work_mem = '2GB'"))
        conn.execute(sa.text("SET max_parallel_maintenance_workers = 1"))
        conn.execute(sa.text(  # the model's graph over all its vectors (bench_scale.py also builds the bands')
            f"CREATE INDEX embeddings_latent_hnsw_m{model_id} ON embeddings_m{model_id} USING hnsw"
            f" ((latent::vector({DIM})) vector_cosine_ops)"))
        conn.execute(sa.text("ANALYZE observations"))
        conn.execute(sa.text("VACUUM ANALYZE snippets"))
        conn.execute(sa.text("VACUUM ANALYZE embeddings"))
    timings["hnsw_build_s"] = round(time.perf_counter() - t, 1)
    engine.dispose()
    return model_id, vectors, timings


def _latencies(conn, sql: str, params: list[dict]) -> tuple[list[float], list[list]]:
    times, results = [], []
    for p in params:
        t = time.perf_counter()
        rows = conn.execute(sa.text(sql), p).all()
        times.append((time.perf_counter() - t) * 1000)
        results.append([r[0] for r in rows])
    return times, results


def pct(values: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p99_ms": round(float(np.percentile(values, 99)), 2)}


def measure(url: str, model_id: int, vectors: np.ndarray, n_queries: int, rng: np.random.Generator) -> dict:
    """Each HNSW breadth gets its own random queries (a second pass over the same queries would
    find their graph pages already cached); recall against the exact top 10 of 50 of them."""
    engine = db.make_engine(url)
    sets = (rng.choice(len(vectors), 6 * n_queries, replace=False) + 1).reshape(6, n_queries)
    out = {}
    with engine.connect() as conn:
        hnsw_sql = "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false)"
        exact_sql = "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false, p_exact => true)"
        _latencies(conn, hnsw_sql, [{"s": int(q)} for q in sets[0]])  # warm the index and the plan cache

        def breadth(ef: int, queries: np.ndarray) -> tuple[dict, list[float]]:
            """HNSW latency at this breadth, and recall@10 against the exact top 10 of 50 queries."""
            params = [{"s": int(q)} for q in queries]
            conn.execute(sa.text(f"SET rficat.ef_search = {ef}"))
            times, found = _latencies(conn, hnsw_sql, params)
            exact_times, exact = _latencies(conn, exact_sql, params[:50])
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
            return {**pct(times), "recall_at_10": round(float(recall), 4)}, exact_times

        for ef, queries in zip((40, 24, 16), sets[1:4]):
            out[f"hnsw_ef{ef}"], exact_times = breadth(ef, queries)
            out.setdefault("pgvector_exact", pct(exact_times))
        conn.execute(sa.text("RESET rficat.ef_search"))
        params = [{"s": int(q)} for q in sets[0][:50]]
        filters = {
            "band_10pct": "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false, p_f_min_mhz => 1400, p_f_max_mhz => 1500)",
            "band_1pct": "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false, p_f_min_mhz => 1400, p_f_max_mhz => 1410)",
            "snr_over_90": "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false, p_snr_min => 90)",
        }
        for name, sql in filters.items():
            times, rows = _latencies(conn, sql, params)
            out[f"filter_{name}"] = {**pct(times), "min_rows": min(len(r) for r in rows)}
        # a long-running server holds the index in shared_buffers; pg_prewarm puts it there now
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        relations = (f"embeddings_latent_hnsw_m{model_id}", f"embeddings_m{model_id}", "snippets",
                     f"embeddings_m{model_id}_pkey", "pk_snippets")
        for relation in relations:
            conn.execute(sa.text("SELECT pg_prewarm(:r)"), {"r": relation})
        for ef, queries in zip((40, 16), sets[4:]):
            out[f"prewarmed_hnsw_ef{ef}"], _ = breadth(ef, queries)
        conn.execute(sa.text("RESET rficat.ef_search"))
        out["shared_buffers"] = conn.execute(sa.text("SHOW shared_buffers")).scalar_one()
    engine.dispose()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    times = []
    for q in sets[1][:50]:
        t = time.perf_counter()
        sims = unit @ unit[q - 1]
        top = np.argpartition(-sims, 11)[:11]
        top[np.argsort(-sims[top])]
        times.append((time.perf_counter() - t) * 1000)
    out["numpy_brute_force"] = pct(times)
    return out


def recall_study(url: str, n_queries: int, rng: np.random.Generator, n: int) -> dict:
    """Recall@10 of the same queries at several breadths, and with strict instead of relaxed order."""
    engine = db.make_engine(url)
    params = [{"s": int(q)} for q in rng.choice(n, n_queries, replace=False) + 1]
    out = {}
    with engine.connect() as conn:
        _, exact = _latencies(conn, "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false, p_exact => true)", params)
        for ef in (16, 24, 40, 100, 200):
            conn.execute(sa.text(f"SET rficat.ef_search = {ef}"))
            _, found = _latencies(conn, "SELECT snippet_id FROM rficat_lookalikes(:s, 10, false)", params)
            out[f"ef{ef}"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])), 4)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-study", action="store_true",
                        help="only recall@10 of the same queries at several breadths (largest size)")
    args = parser.parse_args()
    if args.recall_study:
        server = db._with_database(db.start_embedded(load_settings()), "postgres")
        n = max(int(s) for s in args.sizes.split(","))
        with db.scratch_database(server, "bench_recall") as url:
            load(url, n, np.random.default_rng(n))
            print(json.dumps({"rows": n, "queries": args.queries,
                              **recall_study(url, args.queries, np.random.default_rng(7), n)}, indent=2))
        return
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        rng = np.random.default_rng(n)
        with db.scratch_database(server, "bench_search") as url:
            print(f"{n} rows: loading", file=sys.stderr)
            model_id, vectors, timings = load(url, n, rng)
            print(f"{n} rows: {timings}; querying", file=sys.stderr)
            results.append({"rows": n, **timings, **measure(url, model_id, vectors, args.queries, rng)})
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
