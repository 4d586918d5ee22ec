"""The RFI build at archive scale: 10^6 and 10^7 snippets, and three rare morphologies among 10^6.

Catalogue (one persistent database per size on the server of ``RFICAT_HOME``, loaded once by
binary COPY as bench_search.py does, then reused, so the run is restartable):

- **Background**: 6,000 snippets of four common morphology families of ``rficat.synthetic``
  (narrowband, drifting, broadband_pulsed, sinc) rendered and encoded by the shipped model,
  each repeated (10^6: ~167 times, 10^7: ~1,667 times) with a small jitter of its latent vector
  (a quarter of the median nearest-neighbour distance among the 6,000) and of its drift rate
  (0.003 Hz/s), spread over 100 observations outside any cadence (reference observations).
- **Rare morphologies**: three families absent from the background (a 5-tone comb, a
  wandering carrier, an intermittent carrier), 20, 25 and 17 snippets each, every one rendered
  and encoded on its own (no repeats, no hand-placed vectors), each in its own observation.
- No snippet arrays, and a model ('bench') whose weights are nowhere: the build then joins
  drifting classes only with classes of their own sign (it warns) and reads no picture; mirroring
  reads and encodes at most ``rfi.MIRROR_MEMBERS`` pictures per drifting class. No HNSW index
  (the build uses none).

For each size, `rfi.build` with its defaults (and at 10^6 also with the rare-class pass off)
runs in a child process measured by /usr/bin/time -v (peak RSS), with PostgreSQL's backends
sampled by psutil meanwhile; each result is appended to RESULTS_LOG as it comes, and a build
already logged is skipped on a rerun.

    RFICAT_HOME=/srv/rficat-bench-rfiscale python benchmarks/bench_rfi_scale.py [--sizes 1000000,10000000]
    python benchmarks/bench_rfi_scale.py --drop        # delete the benchmark databases
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

import argparse
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from rficat.catalogue import ingest
from rficat.config import load_settings
from rficat.store import db, pgcopy

log = logging.getLogger("bench_rfi_scale")
HERE = Path(__file__).resolve().parent
RESULTS_LOG = HERE / "bench_rfi_scale.jsonl"
DIM = 8
N_OBSERVATIONS = 100
COMMON = ("narrowband", "drifting", "broadband_pulsed", "sinc")
N_COMMON = 6000
RARE = {"comb5": 20, "wandering": 25, "intermittent": 17}
CHUNK = 1_000_000


def rare_emitters(kind: str, n: int, rng: np.random.Generator):
    """n emitters of one rare morphology: one kind and drift mode, positions and SNRs drawn."""
    from rficat.synthetic.corpus import Emitter

    out = []
    for _ in range(n):
        channel, snr = float(rng.uniform(60, 110)), float(rng.uniform(30, 80))
        if kind == "comb5":
            out.append(Emitter("comb", channel, snr, 0.0, float(rng.uniform(8, 12)), 5 * 1000 + 24))
        elif kind == "wandering":
            out.append(Emitter("wandering", channel + 40, snr, 0.0, float(rng.uniform(15, 20)),
                               float(rng.uniform(110, 130))))
        else:
            out.append(Emitter("intermittent", channel + 40, snr, 0.0, float(rng.uniform(15, 25)),
                               float(rng.uniform(70, 80))))
    return out


def encoded_morphologies(seed: int = 18) -> dict:
    """Encoder vectors of rendered snippets: the common background and the rare kinds."""
    from rficat import encode
    from rficat.synthetic.corpus import random_emitter, render

    rng = np.random.default_rng(seed)
    families = [COMMON[i % len(COMMON)] for i in range(N_COMMON)]
    emitters = [random_emitter(f, rng, snr=(20, 80)) for f in families]
    t = time.perf_counter()
    common = encode(render(emitters, seed=seed))
    rare, rare_drift, rare_kind = [], [], []
    for k, (kind, n) in enumerate(RARE.items()):
        rare_e = rare_emitters(kind, n, rng)
        rare.append(encode(render(rare_e, seed=seed + 1 + k)))
        rare_drift += [e.drift_hz_s for e in rare_e]
        rare_kind += [kind] * n
    log.info("rendered and encoded %d snippets in %.0f s", N_COMMON + sum(RARE.values()), time.perf_counter() - t)
    return {"common": common, "common_drift": np.array([e.drift_hz_s for e in emitters]),
            "common_family": np.array(families), "rare": np.concatenate(rare), "rare_drift": np.array(rare_drift),
            "rare_kind": np.array(rare_kind)}


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def server_url() -> str:
    return db._with_database(db.start_embedded(load_settings()), "postgres")


def database(n: int) -> str:
    return f"bench_rfiscale_{n}"


def ensure_loaded(server: str, n: int, morph) -> str:
    """The database of size n, created and loaded unless already complete; its URL."""
    name = database(n)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    if exists:
        engine = db.make_engine(url)
        db.migrate(engine)  # a newer migration of this branch, if any
        with engine.connect() as conn:
            done = conn.execute(sa.text("SELECT to_regclass('bench_loaded') IS NOT NULL")).scalar_one()
        engine.dispose()
        if done:
            admin.dispose()
            return url
        with admin.connect() as conn:
            log.info("%s was left half-loaded: dropping it", name)
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = db.make_engine(url)
    db.migrate(engine)
    _load(engine, n, morph())
    engine.dispose()
    return url


def _load(engine, n: int, morph: dict) -> None:
    t = time.perf_counter()
    rng = np.random.default_rng(n)
    with engine.begin() as conn:
        model_id = conn.execute(sa.text("INSERT INTO models (name, version, latent_dim, fingerprint, is_current)"
                                        " VALUES ('bench', 1, :d, 'bench', true) RETURNING id"), {"d": DIM}).scalar_one()
        conn.execute(sa.text(f"DROP INDEX embeddings_freq_hnsw_m{model_id}"))  # the build uses no HNSW index
        conn.execute(sa.text(f"DROP INDEX embeddings_latent_hnsw_m{model_id}"))
        n_obs = N_OBSERVATIONS + len(morph["rare"])
        obs = np.array(conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header, mjd_start, status) SELECT 'bench' || i, 'bench' || i, 1000, 2000,"
            " 2000, -2.8e-6, 18.25, 1, 16, '{}', 60000, 'complete' FROM generate_series(1, :k) i RETURNING id"),
            {"k": n_obs}).scalars().all())
    common = _unit(morph["common"].astype(np.float64))
    similarity = common @ common.T
    np.fill_diagonal(similarity, -1)
    jitter = 0.25 * float(np.median(np.sqrt(np.clip(2 - 2 * similarity.max(axis=1), 0, None)))) / np.sqrt(DIM)
    del similarity
    n_rare = len(morph["rare"])
    n_background = n - n_rare
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        for start in range(0, n, CHUNK):
            ids = np.arange(start + 1, min(n, start + CHUNK) + 1, dtype=np.int64)
            m = len(ids)
            background = ids <= n_background
            source = (ids - 1) % N_COMMON
            z = np.where(background[:, None], common[source] + jitter * rng.normal(size=(m, DIM)), 0.0)
            drift = np.where(background, morph["common_drift"][source] + 0.003 * rng.normal(size=m), 0.0)
            observation = obs[(ids - 1) % N_OBSERVATIONS]
            rare = np.flatnonzero(~background)
            if len(rare):  # the last ids: the rare kinds, each snippet in its own observation
                k = ids[rare] - n_background - 1
                z[rare] = _unit(morph["rare"][k].astype(np.float64))
                drift[rare] = morph["rare_drift"][k] + 0.003 * rng.normal(size=len(rare))
                observation[rare] = obs[N_OBSERVATIONS + k]
            f_center = rng.uniform(1000, 2000, m)
            with cur.copy(f"COPY snippets ({', '.join(ingest.SNIPPET_COLUMNS)}) FROM STDIN WITH (FORMAT BINARY)") as copy:
                pgcopy.copy_rows(copy, [("int8", ids), ("int8", observation), ("int4", np.zeros(m)),
                                        ("int8", ids * 256), ("int8", ids * 256 + 256), ("float8", f_center - 3.5e-4),
                                        ("float8", f_center + 3.5e-4), ("float8", f_center),
                                        ("float8", rng.uniform(512, 1e5, m)), ("float8", rng.uniform(15, 80, m)),
                                        ("float8", drift), ("float8", rng.uniform(5, 40, m)),
                                        ("bool", np.ones(m, bool)), ("float8", np.zeros(m)),
                                        ("float8", rng.uniform(0.002, 0.006, m))], chunk_rows=8192)
            vectors = z.astype(np.float32)
            with cur.copy("COPY embeddings (snippet_id, model_id, latent, freq_vector, indexed, f_center_mhz)"
                          " FROM STDIN WITH (FORMAT BINARY)") as copy:
                pgcopy.copy_rows(copy, [("int8", ids), ("int4", np.full(m, model_id)), ("vector", vectors),
                                        ("vector", vectors), ("bool", np.ones(m, bool)), ("float8", f_center)],
                                 chunk_rows=8192)
            conn.commit()
            log.info("loaded %d of %d rows (%.0f s)", ids[-1], n, time.perf_counter() - t)
        cur.execute("SELECT setval('snippets_id_seq', %s)", (n,))
        cur.execute("CREATE TABLE bench_rare (snippet_id bigint PRIMARY KEY, kind text NOT NULL)")
        with cur.copy("COPY bench_rare (snippet_id, kind) FROM STDIN") as copy:
            for i, kind in enumerate(morph["rare_kind"]):
                copy.write_row((n_background + 1 + i, str(kind)))
        conn.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE snippets"))
        conn.execute(sa.text("VACUUM ANALYZE embeddings"))
        conn.execute(sa.text("ANALYZE observations"))
        conn.execute(sa.text("CREATE TABLE bench_loaded AS SELECT now() AS at, :s AS seconds"),
                     {"s": round(time.perf_counter() - t, 1)})
    log.info("%d rows loaded in %.0f s", n, time.perf_counter() - t)


def logged() -> list[dict]:
    if not RESULTS_LOG.exists():
        return []
    return [json.loads(line) for line in RESULTS_LOG.read_text().splitlines() if line.strip()]


def _postgres_usage(stop: threading.Event, peak: dict) -> None:
    """Peak summed unique memory (USS) of the benchmark database's backends, and the CPU seconds
    each backend used (the last reading of each), every 2 s."""
    import psutil

    cpu: dict[int, float] = {}
    while not stop.is_set():
        total = 0
        for p in psutil.process_iter(["name", "cmdline"]):
            try:
                if "bench_rfiscale" in " ".join(p.info["cmdline"] or []) and (p.info["name"] or "").startswith("postgres"):
                    total += p.memory_full_info().uss
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
            except (psutil.Error, TypeError):
                continue
        peak["uss_mib"] = max(peak.get("uss_mib", 0), total / 2**20)
        peak["cpu_s"] = sum(cpu.values())
        stop.wait(2)


def run_build(url: str, n: int, rare_sample: int | None) -> dict:
    """One build in a child process under /usr/bin/time -v (its log goes to the bench's stderr);
    its summary, wall time, peak RSS and CPU time, and the database backends' memory and CPU."""
    args = [sys.executable, str(Path(__file__).resolve()), "--child", url]
    if rare_sample is not None:
        args += ["--rare-sample", str(rare_sample)]
    stop, peak = threading.Event(), {}
    watcher = threading.Thread(target=_postgres_usage, args=(stop, peak), daemon=True)
    watcher.start()
    report = HERE / f".time-{os.getpid()}.txt"
    t = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", "-o", str(report), *args], stdout=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t
    stop.set()
    watcher.join()
    if done.returncode != 0:
        raise SystemExit(f"build failed (exit {done.returncode})")
    timing = {line.split(":")[0].strip(): line.rsplit(":", 1)[1].strip() for line in report.read_text().splitlines()
              if line.count(":") >= 1}
    report.unlink()
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"rows": n, "rare_sample": rare_sample, "wall_s": round(seconds, 1),
            "cpu_s": round(float(timing["User time (seconds)"]) + float(timing["System time (seconds)"]), 1),
            "peak_rss_mib": round(int(timing["Maximum resident set size (kbytes)"]) / 1024),
            "postgres_backends_peak_uss_mib": round(peak.get("uss_mib", 0)),
            "postgres_backends_cpu_s": round(peak.get("cpu_s", 0), 1),
            "load_average": os.getloadavg()[0], **summary, "rare": rare_found(url, summary["build_id"])}


def rare_found(url: str, build_id: int) -> dict:
    """For each rare kind: its members' classes; found when one class holds most of them and
    little else (purity >= 0.9), a class of its own."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT r.kind, a.class_id, count(*) FROM bench_rare r LEFT JOIN rfi_assignments a"
            " ON a.snippet_id = r.snippet_id AND a.build_id = :b GROUP BY 1, 2 ORDER BY 1, 3 DESC"),
            {"b": build_id}).all()
        sizes = dict(conn.execute(sa.text(
            "SELECT class_id, count(*) FROM rfi_assignments WHERE build_id = :b AND class_id = ANY(:c) GROUP BY 1"),
            {"b": build_id, "c": [r[1] for r in rows if r[1] is not None]}).all())
    engine.dispose()
    out = {}
    for kind, n in RARE.items():
        mine = [(c, k) for kk, c, k in rows if kk == kind and c is not None]
        best = mine[0] if mine else (None, 0)
        size = sizes.get(best[0], 0)
        purity = best[1] / size if size else 0.0
        out[kind] = {"members": n, "in_best_class": best[1], "best_class_size": size, "purity": round(purity, 3),
                     "found": bool(best[1] >= n / 2 and purity >= 0.9)}
    return out


def child(url: str, rare_sample: int | None) -> None:
    from rficat.catalogue import rfi

    engine = db.make_engine(url)
    kwargs = {} if rare_sample is None else {"rare_sample": rare_sample}
    summary = rfi.build(engine, stage=lambda s: log.info("stage: %s", s), **kwargs)
    engine.dispose()
    print(json.dumps(summary.to_dict()))


def drop(server: str) -> None:
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for (name,) in conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'bench_rfiscale_%'")).all():
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            log.info("dropped %s", name)
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--rare-sample", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rare_sample)
        return
    server = server_url()
    if args.drop:
        drop(server)
        return
    cache: dict = {}

    def morph() -> dict:  # rendered and encoded only when a catalogue must be loaded
        if not cache:
            cache.update(encoded_morphologies())
        return cache

    for n in (int(s) for s in args.sizes.split(",") if s):
        url = ensure_loaded(server, n, morph)
        if args.load_only:
            continue
        variants = [None, 0] if n <= 1_000_000 else [None]
        for rare_sample in variants:
            if any(r["rows"] == n and r["rare_sample"] == rare_sample for r in logged()):
                log.info("%d rows, rare_sample %s: already measured", n, rare_sample)
                continue
            result = run_build(url, n, rare_sample)
            with RESULTS_LOG.open("a") as f:
                f.write(json.dumps(result) + "\n")
            print(json.dumps(result), file=sys.stderr)


if __name__ == "__main__":
    main()
