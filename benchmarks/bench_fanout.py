"""Fan-out efficiency: a directory of 12 files ingested with 1 and with 2 Dask workers.

Each file: COARSE (8) coarse channels x 2^16 channels x 16 integrations (34 MB), 60 signals,
plus 20 noise windows per coarse channel stored (220 snippets). Every run goes into a fresh database on the
embedded server, through the `ingest-directory` flow (Prefect's temporary API, started once),
and ends with the same HNSW indexing step.

1. Pinned: each worker's TensorFlow intra/inter-op threads and OMP/OpenBLAS/MKL threads = 1.
   A local cluster of 1 worker, then one of 2 workers, each started and warmed (TensorFlow
   loaded, model read) before the clock starts, reached with `--dask-address`: the ratio is
   the fan-out itself.
2. Default, unpinned, as `rficat ingest DIR` runs it: `--workers 1` (serial, in this
   process, TensorFlow's own thread count; TensorFlow loads during the run) vs `--workers 2`
   (a local cluster made for the run: its start-up is inside the time).

The four catalogues must hold the same snippets and (to 1e-5) the same vectors. The machine's
load average (1 min) is recorded before and after each run: on a shared machine it says how
far the ratios can be trusted.

    RFICAT_HOME=/tmp/bench-home python benchmarks/bench_fanout.py [N_FILES]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from rficat.config import load_settings
from rficat.store import db
from rficat.synthetic import synth

PINNED = {name: "1" for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                                 "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
NOISE = 20
COARSE = 8


def write_files(directory: Path, n: int) -> None:
    for i in range(n):
        spec = synth.ObservationSpec(n_coarse_channels=COARSE, seed=i, fch1_mhz=2000.0 + 10 * i)
        synth.write_observation(directory / f"scan{i:02d}.h5", spec,
                                synth.random_signals(spec, 60, np.random.default_rng(1000 + i)))


def contents(url: str) -> tuple[list[tuple], np.ndarray]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT o.fingerprint, s.coarse_channel, s.chan_start, s.chan_stop, s.statistic, s.is_signal, md5(a.data),"
            " e.latent::text FROM snippets s JOIN observations o ON o.id = s.observation_id"
            " JOIN embeddings e ON e.snippet_id = s.id JOIN snippet_arrays a ON a.snippet_id = s.id ORDER BY 1, 2, 3, 6")).all()
    engine.dispose()
    vectors = np.array([[float(x) for x in r[-1].strip("[]").split(",")] for r in rows])
    return [tuple(r[:-1]) for r in rows], vectors


def warm_cluster(n_workers: int, url: str):
    """A local cluster of pinned workers on the catalogue ``url``, each with TensorFlow loaded and
    the model read."""
    from distributed import Client, LocalCluster

    from rficat.flows import fanout

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR, preload=[fanout.WORKER_PRELOAD],
                           env={**PINNED, "RFICAT_DATABASE_URL": url})
    client = Client(cluster)

    def warm() -> int:
        from rficat.science.model import resolve_model

        resolve_model(None).encode(np.zeros((1, 16, 256), dtype=np.float32))
        return os.getpid()

    client.run(warm)
    return cluster, client


def main() -> None:
    n_files = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    settings = load_settings()
    server = db._with_database(db.start_embedded(settings), "postgres")
    from rficat.cli import load_flows

    load_flows("temporary_server").start()
    flows = load_flows("ingest")
    from rficat.flows import fanout

    fanout.quiet_dask_logs()
    results, catalogues = [], {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        t = time.perf_counter()
        write_files(directory, n_files)
        print(f"wrote {n_files} files in {time.perf_counter() - t:.0f} s", file=sys.stderr)

        def fresh_database() -> str:
            return stack.enter_context(db.scratch_database(server, "bench_fanout"))

        def run(label: str, url: str, **options) -> float:
            os.environ["RFICAT_DATABASE_URL"] = url
            load_before = os.getloadavg()[0]
            t = time.perf_counter()
            rows = flows.ingest_directory(str(directory), n_noise_per_channel=NOISE, **options)
            seconds = time.perf_counter() - t
            load_after = os.getloadavg()[0]
            assert [r["status"] for r in rows] == ["ingested"] * n_files, rows
            catalogues[label] = contents(url)
            results.append({"run": label, "seconds": round(seconds, 1), "load_before": round(load_before, 2),
                            "load_after": round(load_after, 2),
                            "snippets": sum(r["n_signal"] + r["n_noise"] for r in rows),
                            # seconds inside ingest_file (hash, read, detect, encode, store) summed over
                            # the files: wall x workers minus this is the rest (Prefect, Dask, start-up)
                            "file_work_s": round(sum(sum(r["seconds"].values()) for r in rows), 1)})
            print(json.dumps(results[-1]), file=sys.stderr)
            return seconds

        pinned = {}
        for n in (1, 2):
            url = fresh_database()
            t = time.perf_counter()
            cluster, client = warm_cluster(n, url)
            start_s = time.perf_counter() - t
            try:
                pinned[n] = run(f"pinned, {n} worker{'s' if n > 1 else ''} (warm cluster)", url,
                                dask_address=cluster.scheduler_address)
                results[-1]["cluster_start_s"] = round(start_s, 1)
            finally:
                client.close()
                cluster.close()
        serial = run("default: --workers 1 (serial, in-process, unpinned)", fresh_database(), workers=1)
        parallel = run("default: --workers 2 (local cluster made for the run, unpinned)", fresh_database(), workers=2)

    reference_keys, reference_vectors = next(iter(catalogues.values()))
    identical = all(keys == reference_keys and np.allclose(vectors, reference_vectors, atol=1e-5)
                    for keys, vectors in catalogues.values())
    max_difference = max(float(np.abs(vectors - reference_vectors).max()) for _, vectors in catalogues.values())
    print(json.dumps({"files": n_files, "cpu_count": os.cpu_count(), "runs": results,
                      "speedup_pinned_2_vs_1": round(pinned[1] / pinned[2], 2),
                      "speedup_default_2_vs_serial": round(serial / parallel, 2),
                      "identical_catalogues": identical, "snippets_per_catalogue": len(reference_keys),
                      "max_vector_difference": max_difference}, indent=2))


if __name__ == "__main__":
    main()
