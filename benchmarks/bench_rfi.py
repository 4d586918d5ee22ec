"""The RFI database at scale: build time and memory at 10^5 and 10^6 snippets.

`rfi.build` on synthetic clustered 8-d vectors (loaded as in bench_search.py, spread over 100
observations so that verdicts have other observations to take evidence from): wall time of the
whole build (sample, cluster, bank, judge every snippet, class statistics), peak memory of this
process (the sample, the bank and one batch of 50,000 snippets are held in memory).

Class and verdict quality moved to bench_verdicts.py (the independent set and, beside it, this
project's own generator).

    python benchmarks/bench_rfi.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import load

from rficat.catalogue import rfi
from rficat.config import load_settings
from rficat.store import db


def scale(server: str, sizes: list[int]) -> list[dict]:
    out = []
    for n in sizes:
        with db.scratch_database(server, "bench_rfi_scale") as url:
            model_id, _, _ = load(url, n, np.random.default_rng(n), index=False, n_observations=100)
            engine = db.make_engine(url)
            t = time.perf_counter()
            summary = rfi.build(engine, model_id=model_id, sample=50_000)
            seconds = time.perf_counter() - t
            engine.dispose()
        out.append({"rows": n, "seconds": round(seconds, 1), "classes": summary.n_classes,
                    "judged": summary.n_judged, "rfi": summary.n_assigned, "sampled": summary.n_sampled,
                    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})
        print(json.dumps(out[-1]), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    result = {"scale": scale(server, [int(s) for s in args.sizes.split(",") if s])}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
