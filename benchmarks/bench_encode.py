"""Encoding speed of the shipped model through `rficat.encode` (batched predict_on_batch).

    python benchmarks/bench_encode.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import rficat
from rficat.science import snippets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = snippets.normalise(rng.chisquare(16, size=(args.n, 16, 256)).astype(np.float32))
    rficat.encode(x[:2048])  # load the model, build the graph
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        rficat.encode(x)
        runs.append(args.n / (time.perf_counter() - t))
    import tensorflow as tf

    print(json.dumps({"snippets": args.n, "snippets_per_s_best_of_3": round(max(runs)),
                      "snippets_per_s_runs": [round(r) for r in runs], "cpus": os.cpu_count(),
                      "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]}, indent=2))


if __name__ == "__main__":
    main()
