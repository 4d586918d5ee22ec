"""What fingerprinting every byte of a file costs ingest (goal: <= 10 % of ingest time).

The observation: 8 coarse channels x 2^20 fine channels x 16 integrations (537 MB of float32),
GBT high-resolution layout, 80 signals, written once to ``benchmarks/out/`` as .fil and as
uncompressed .h5. Each is ingested into a fresh database on the embedded server with the
shipped model; ``IngestSummary.seconds`` splits the wall time into hash / read / detect /
encode / store. Then the same file is ingested again: found by its recorded path, size and
modification time, it is skipped without being read (the ``cadence add`` and landing-schedule
case). The hash alone is also timed on the file, warm (page cache), three times.

Timings are warm-cache: the files were just written. On a cold cache the hash is the first
read of the file, and detection then reads it from the page cache (when memory allows), so
the storage's read time moves from detection to hashing rather than adding to it.

    python benchmarks/bench_fingerprint.py
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from rficat.catalogue import ingest  # noqa: E402
from rficat.config import load_settings  # noqa: E402
from rficat.io import fingerprint  # noqa: E402
from rficat.store import db  # noqa: E402
from rficat.synthetic import synth  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SPEC = synth.ObservationSpec(n_coarse_channels=8, coarse_channel_width=1 << 20, seed=42)


def make_files() -> list[Path]:
    OUT.mkdir(exist_ok=True)
    signals = synth.random_signals(SPEC, 80, np.random.default_rng(42), min_separation=4096)
    paths = [OUT / "bench_fingerprint_8x2e20.fil", OUT / "bench_fingerprint_8x2e20.h5"]
    for path in paths:
        if not path.exists():
            synth.write_observation(path, SPEC, signals)
    return paths


def main() -> None:
    settings = load_settings()
    server = db._with_database(db.start_embedded(settings), "postgres")
    results = []
    with contextlib.ExitStack() as stack:
        for path in make_files():
            hash_s = min(_timed(lambda: fingerprint(path)) for _ in range(3))
            engine = db.make_engine(stack.enter_context(db.scratch_database(server, "bench_fp")))
            ingest.ingest_file(engine, path, coarse_channel_width=SPEC.coarse_channel_width)  # warm-up: model
            with engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE observations CASCADE")
            t = time.perf_counter()
            first = ingest.ingest_file(engine, path, coarse_channel_width=SPEC.coarse_channel_width)
            total_s = time.perf_counter() - t
            t = time.perf_counter()
            again = ingest.ingest_file(engine, path, coarse_channel_width=SPEC.coarse_channel_width)
            again_s = time.perf_counter() - t
            engine.dispose()
            size = path.stat().st_size
            results.append({
                "file": path.name, "bytes": size, "snippets": first.n_snippets,
                "hash_alone_s": round(hash_s, 3), "hash_gb_per_s": round(size / hash_s / 1e9, 2),
                "ingest_s": round(total_s, 2), "stage_s": {k: round(v, 3) for k, v in first.seconds.items()},
                "hash_fraction_of_ingest": round(first.seconds["hash"] / total_s, 4),
                "second_ingest": again.status, "second_ingest_s": round(again_s, 3),
                "second_ingest_hash_s": round(again.seconds["hash"], 4),
            })
    print(json.dumps({"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
                      "date": time.strftime("%Y-%m-%d"), "files": results}, indent=2))


def _timed(function) -> float:
    t = time.perf_counter()
    function()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
