"""Ingest throughput on a synthetic 6-scan cadence: end to end, per stage, and Prefect's share.

Each scan: 4 coarse channels x 2^16 channels x 16 integrations with 250 signals, plus 100
noise windows per coarse channel stored for training (650 snippets a file). The catalogue is a
fresh database on the embedded server.

1. Store stage alone: binary COPY of 20,000 snippets (4 KiB uint8 arrays) with their vectors,
   one transaction, as ingest does.
2. Direct: `rficat.catalogue.ingest.ingest_file` on the 6 files, stage timings from its summary, then
   `db.index_pending` (the HNSW indexing that follows the ingest transactions).
3. Verdicts on: an RFI build of that catalogue, then a second cadence (other frequencies and
   noise) ingested directly: its store stage now judges every new signal against the build
   (rficat.catalogue.verdicts) and stores the verdicts.
4. Flow: the same files through the `ingest-files` Prefect flow (ephemeral API, already
   started by a warm-up run; it indexes too), into a second fresh database; Prefect's
   overhead is the flow's wall time minus the direct run's (ingest + indexing).

    python benchmarks/bench_ingest.py
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import contextlib
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rficat.catalogue import ingest, rfi  # noqa: E402
from rficat.config import load_settings  # noqa: E402
from rficat.science import model, snippets  # noqa: E402
from rficat.science.detect import Hit  # noqa: E402
from rficat.store import db  # noqa: E402
from rficat.synthetic import synth  # noqa: E402


def store_only(url: str, n: int = 20_000) -> float:
    """Snippets/s of the COPY stage alone."""
    engine = db.make_engine(url)
    encoder = model.resolve_model(None)
    model_id = db.register_model(engine, encoder.metadata)
    rng = np.random.default_rng(0)
    arrays = snippets.quantise(rng.random((n, 16, 256), dtype=np.float32))
    latent = rng.normal(size=(n, encoder.latent_dim)).astype(np.float32)
    hits = [Hit(0, i * 256, i * 256 + 256, 2000.0, 1999.9, 1999.95, 1000.0, 20.0, 0.5, 30.0) for i in range(n)]
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        obs = cur.execute("INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz,"
                          " tsamp_s, n_channels, n_integrations, header) VALUES ('x', 'store-bench', 1, 2, 2, -1,"
                          " 1, 1, 16, '{}') RETURNING id").fetchone()[0]
        t = time.perf_counter()
        ingest._copy_block(cur, obs, model_id, hits, arrays, latent, latent, np.full(n, 0.01))
        conn.commit()
        seconds = time.perf_counter() - t
    engine.dispose()
    return n / seconds


def main() -> None:
    settings = load_settings()
    server = db._with_database(db.start_embedded(settings), "postgres")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as databases:
        def fresh_database() -> str:
            return databases.enter_context(db.scratch_database(server, "bench_ingest"))

        spec = synth.ObservationSpec(n_coarse_channels=4, seed=3)
        scans = synth.demo_cadence(tmp, spec=spec, n_rfi=250, n_eti=0, seed=3)
        files = [str(p) for p, _, _ in scans]
        store_rate = store_only(fresh_database())

        engine = db.make_engine(fresh_database())
        t = time.perf_counter()
        summaries = [ingest.ingest_file(engine, f, n_noise_per_channel=100) for f in files]
        ingest_s = time.perf_counter() - t
        t = time.perf_counter()
        n_indexed = db.index_pending(engine)
        index_s = time.perf_counter() - t
        direct_s = ingest_s + index_s
        stages = {k: sum(s.seconds[k] for s in summaries) for k in summaries[0].seconds}
        n_snippets = sum(s.n_snippets for s in summaries)

        build = rfi.build(engine)
        more = synth.demo_cadence(Path(tmp) / "more", spec=replace(spec, seed=4), n_rfi=250, n_eti=0, seed=4)
        judged = [ingest.ingest_file(engine, str(p), n_noise_per_channel=100) for p, _, _ in more]
        engine.dispose()
        verdict_store_rate = sum(s.n_snippets for s in judged) / sum(s.seconds["store"] for s in judged)
        n_judged_rfi = sum(s.n_known_rfi for s in judged)

        from rficat.flows.ingest import ingest_files

        os.environ["RFICAT_DATABASE_URL"] = fresh_database()
        ingest_files(files[:1])  # warm-up: starts Prefect's ephemeral API, loads the model
        os.environ["RFICAT_DATABASE_URL"] = fresh_database()
        t = time.perf_counter()
        rows = ingest_files(files, n_noise_per_channel=100)
        flow_s = time.perf_counter() - t
        assert sum(r["n_signal"] + r["n_noise"] for r in rows) == n_snippets

    print(json.dumps({
        "files": len(files), "snippets": n_snippets,
        "ingest_seconds": round(ingest_s, 2), "index_seconds": round(index_s, 2), "vectors_indexed": n_indexed,
        "direct_seconds": round(direct_s, 2), "files_per_s": round(len(files) / direct_s, 2),
        "snippets_per_s": round(n_snippets / direct_s),
        "snippets_per_s_searchable": round(n_snippets / ingest_s), "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
        "store_stage_snippets_per_s_in_ingest": round(n_snippets / stages["store"]),
        "store_only_snippets_per_s_20k": round(store_rate),
        "store_stage_snippets_per_s_with_verdicts": round(verdict_store_rate),
        "verdicts": {"build_classes": build.n_classes, "bank_seconds": build.seconds,
                     "new_signals_judged_rfi": n_judged_rfi},
        "flow_seconds": round(flow_s, 2), "prefect_overhead_fraction": round((flow_s - direct_s) / flow_s, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
