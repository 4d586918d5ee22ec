"""Train encoder variants on rficat's own corpus, e.g. on a GPU machine (RESULTS.md: "other encoders").

    OUT=/tmp/variants KERAS_BACKEND=jax python benchmarks/train_variants.py

Writes $OUT/models.tar (one model directory per variant, as `rficat train` saves them), after each
variant. Each can be tried in place of the shipped model (a copy of the package with its files in
rficat/models/default) with bench_verdicts.py. Where blimpy's optional needs are missing (a GPU
machine with no package index), they are stood in for: corpus rendering never writes HDF5.
"""
import importlib.util
import json
import os
import sys
import tarfile
import time
import types
from multiprocessing import Pool

if importlib.util.find_spec("hdf5plugin") is None:  # only blimpy's HDF5 writer needs it; its wheel is 46 MB
    sys.modules["hdf5plugin"] = types.ModuleType("hdf5plugin")
if importlib.util.find_spec("pkg_resources") is None:
    stub = types.ModuleType("pkg_resources")
    class DistributionNotFound(Exception):
        pass
    def get_distribution(name):
        raise DistributionNotFound(name)
    stub.DistributionNotFound, stub.get_distribution = DistributionNotFound, get_distribution
    sys.modules["pkg_resources"] = stub

import numpy as np


def chunk(seed):
    from rficat.synthetic import corpus
    a, b, _ = corpus.synthetic_pairs(24_000, seed=seed)
    return a, b


if __name__ == "__main__":
    out = os.environ["OUT"]
    t = time.time()
    with Pool(4) as pool:
        parts = pool.map(chunk, [0, 1, 2, 3])
    print(f"corpus 4 x 24000 pairs: {time.time() - t:.0f} s", flush=True)
    from rficat.science import model, train
    variants = {"l8_24k": (8, 1, 12), "l16_24k": (16, 1, 12), "l8_96k": (8, 4, 20), "l16_96k": (16, 4, 20)}
    report = {}
    for name, (latent, n_chunks, epochs) in variants.items():
        a = np.concatenate([p[0] for p in parts[:n_chunks]])
        b = np.concatenate([p[1] for p in parts[:n_chunks]])
        t = time.time()
        encoder, _, meta = train.train_model(a, b, objective="contrastive", latent_dim=latent, epochs=epochs, seed=0,
                                             name="default", description=f"{len(a)} synthetic emitter pairs (seeds 0-{n_chunks - 1}), JAX on a GPU")
        meta.training["train_seconds"] = round(time.time() - t, 1)
        model.save_model(f"{out}/models/{name}", encoder, meta)
        report[name] = meta.training
        print(name, json.dumps(meta.training), flush=True)
        with tarfile.open(f"{out}/models.tar.tmp", "w") as tar:  # after each variant: a timeout keeps the done ones
            tar.add(f"{out}/models", arcname="models")
        os.replace(f"{out}/models.tar.tmp", f"{out}/models.tar")
    import shutil
    shutil.rmtree(f"{out}/models")
    print(json.dumps(report))
