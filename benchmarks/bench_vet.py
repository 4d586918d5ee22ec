"""Vetting speed (`rficat vet`): hits whose files are ingested (catalogue lookups) and hits whose
snippet must be cut from the file.

Data: a synthetic ABACAD cadence (rficat.synthetic.synth, setigen), 6 scans of 4 coarse channels x
2^16 channels x 16 integrations (GBT-like), 30 signals per scan (stationary RFI in every scan,
drifting signals in the ON scans), searched by turboSETI itself (FindDoppler, max drift 4 Hz/s,
SNR 10) for real .dat tables.

Measured, with the encoder loaded beforehand (a command pays ~4 s of TensorFlow start once), each
catalogue with an RFI build, so every hit gets its real verdict:
1. lookups: every scan ingested; a plain table of N hits at the centres of stored signal
   snippets (every hit a lookup), and the turboSETI tables of the six scans;
2. cuts: the same hits on a catalogue without those files (two other files ingested, so there is a
   current model and a build): each snippet cut from its file and encoded; dense (N hits over 24
   coarse channels) and sparse (one hit per coarse channel: each hit pays a whole coarse
   channel's read and clean).

    python benchmarks/bench_vet.py [--hits 2000]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _turboseti import patched_find_doppler

from rficat.catalogue import cadence, ingest, rfi, vet
from rficat.config import load_settings
from rficat.io import read_hits
from rficat.store import db
from rficat.synthetic import synth


def make_cadence(directory: Path) -> list[Path]:
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=31)
    scans = synth.demo_cadence(directory, spec=spec, n_rfi=24, n_eti=6, seed=9)
    return [p for p, _, _ in scans]


def turboseti_tables(paths: list[Path], directory: Path) -> list[Path]:
    find_doppler = patched_find_doppler()
    directory.mkdir()
    with contextlib.redirect_stdout(io.StringIO()):  # turboSETI prints its progress
        for path in paths:
            find_doppler(str(path), max_drift=4, snr=10, out_dir=str(directory), log_level_int=40,
                         n_coarse_chan=4).search(n_partitions=1)
    return [directory / (p.stem + ".dat") for p in paths]


def hit_table(engine, path: Path, n: int, rng: np.random.Generator, *, one_per_coarse_channel: bool = False) -> int:
    """A plain table of hits at stored signal snippets' centres (n rows, drawn with replacement)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT o.path, s.f_center_mhz, s.drift_rate_hz_s, s.coarse_channel FROM snippets s"
            " JOIN observations o ON o.id = s.observation_id WHERE s.is_signal ORDER BY s.id")).all()
    if one_per_coarse_channel:
        seen, picked = set(), []
        for row in rows:
            if (row.path, row.coarse_channel) not in seen:
                seen.add((row.path, row.coarse_channel))
                picked.append(row)
    else:
        picked = [rows[i] for i in rng.integers(len(rows), size=n)]
    lines = ["file,f_center_mhz,drift_rate_hz_s"] + [f"{r.path},{r.f_center_mhz!r},{r.drift_rate_hz_s!r}"
                                                      for r in picked]
    path.write_text("\n".join(lines) + "\n")
    return len(picked)


def timed_vet(engine, tables: list[Path], files: list[Path], repeats: int = 3, cadence: str | None = None) -> dict:
    best = None
    for _ in range(repeats):
        t = time.perf_counter()
        run = vet.vet(engine, tables, files=files, cadence=cadence)
        seconds = time.perf_counter() - t
        if best is None or seconds < best[0]:
            best = (seconds, run)
    seconds, run = best
    n = len(run.items)
    sources = {s: sum(v.snippet_source == s for v in run.items) for s in ("catalogue", "file")}
    return {"hits": n, "seconds": round(seconds, 3), "hits_per_s": round(n / seconds, 1),
            "ms_per_hit": round(1000 * seconds / n, 3), "snippets_from": sources,
            "failed": len(run.failed), "stages_s": run.seconds,
            "verdicts": {v: sum(i.verdict == v for i in run.items) for v in {i.verdict for i in run.items}}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=2000)
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    rng = np.random.default_rng(0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_cadence(tmp / "cadence")
        others = [tmp / "other.h5", tmp / "other2.h5"]
        for seed, other in zip((77, 78), others):
            spec = synth.ObservationSpec(n_coarse_channels=1, seed=seed)
            synth.write_observation(other, spec, synth.random_signals(spec, 10, np.random.default_rng(seed)))
        dats = turboseti_tables(paths, tmp / "dat")
        print(f"turboSETI: {sum(len(read_hits(d)[1]) for d in dats)} hits in {len(dats)} tables", file=sys.stderr)
        with db.scratch_database(server, "bench_vet") as url, db.scratch_database(server, "bench_vet_cut") as cut_url:
            engine = db.make_engine(url)
            for path in paths:
                ingest.ingest_file(engine, path)
            cadence.add_cadence(engine, "bench", paths)
            db.index_pending(engine)
            rfi.build(engine)
            dense = tmp / "dense.csv"
            sparse = tmp / "sparse.csv"
            n_dense = hit_table(engine, dense, args.hits, rng)
            n_sparse = hit_table(engine, sparse, 0, rng, one_per_coarse_channel=True)
            vet.vet(engine, [dats[0]])  # loads the encoder (TensorFlow) once, as a command does
            results["lookups, plain table"] = timed_vet(engine, [dense], [])
            results["lookups, turboSETI tables"] = timed_vet(engine, dats, [])
            # --cadence: one cadence search too, so a hit of an event takes the event's verdict
            results["lookups, plain table, --cadence"] = timed_vet(engine, [dense], [], cadence="bench")

            cut_engine = db.make_engine(cut_url)
            for other in others:  # a current model and a build; the cadence's files are not ingested
                ingest.ingest_file(cut_engine, other)
            rfi.build(cut_engine, min_cluster_size=2)
            results["cuts, dense"] = timed_vet(cut_engine, [dense], paths, repeats=1)
            results["cuts, sparse (one hit per coarse channel)"] = timed_vet(cut_engine, [sparse], paths, repeats=1)
            results["cuts, turboSETI tables"] = timed_vet(cut_engine, dats, paths, repeats=1)
            engine.dispose()
            cut_engine.dispose()
    print(json.dumps({"dense_hits": n_dense, "sparse_hits": n_sparse, "results": results}, indent=2))


if __name__ == "__main__":
    main()
