"""Encoding and training speed on the device Keras's backend picks: a GPU where there is one.

    python benchmarks/bench_accelerator.py                      # TensorFlow (rficat's default)
    KERAS_BACKEND=jax python benchmarks/bench_accelerator.py    # the same model on JAX
    python benchmarks/bench_accelerator.py --reference ref.npz  # also compare with saved vectors

Encoding goes through `rficat.encode` (default batch) and `Encoder.encode` with a larger batch,
which a GPU wants; training is the default contrastive objective on `synthetic_pairs`, timed
per epoch after the first (which holds graph building / compilation); `--pairs-file` keeps the
pairs in a file, for a machine without setigen. `--save-reference`
writes the shipped model's vectors of a fixed input, so a run on another backend or device can
show it gives the same vectors (`--reference`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import rficat
from rficat.science import snippets
from rficat.science.model import _keras, build_contrastive, resolve_model
from rficat.synthetic.corpus import synthetic_pairs


def fixed_input(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return snippets.normalise(rng.chisquare(16, size=(n, 16, 256)).astype(np.float32))


def devices() -> list[str]:
    keras = _keras()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        return [d.name for d in tf.config.list_physical_devices()]
    if backend == "jax":
        import jax
        return [str(d) for d in jax.devices()]
    if backend == "torch":
        import torch
        return [torch.cuda.get_device_name(0)] if torch.cuda.is_available() else ["cpu"]
    return [backend]


def encode_speed(n: int, batch: int) -> dict:
    x = fixed_input(n)
    encoder = resolve_model()
    encoder.encode(x[:4096], batch_size=batch)  # build / compile for this batch shape
    rficat.encode(x[:4096])
    default_runs, batch_runs = [], []
    for _ in range(3):
        t = time.perf_counter()
        rficat.encode(x)
        default_runs.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        encoder.encode(x, batch_size=batch)
        batch_runs.append(n / (time.perf_counter() - t))
    return {"snippets": n, "rficat_encode_per_s_best_of_3": round(max(default_runs)),
            "rficat_encode_runs": [round(r) for r in default_runs],
            f"batch_{batch}_per_s_best_of_3": round(max(batch_runs)),
            f"batch_{batch}_runs": [round(r) for r in batch_runs]}


def training_pairs(pairs: int, path: str | None) -> tuple[np.ndarray, np.ndarray]:
    """`synthetic_pairs` (needs setigen), or the same pairs read from a `--save-pairs` file."""
    if path and os.path.exists(path):
        saved = np.load(path)
        return saved["a"][:pairs] / np.float32(255), saved["b"][:pairs] / np.float32(255)
    a, b, _ = synthetic_pairs(pairs, seed=0)
    if path:  # stored as the catalogue stores snippets (uint8), to travel to a machine without setigen
        np.savez(path, a=np.round(a * 255).astype(np.uint8), b=np.round(b * 255).astype(np.uint8))
    return a, b


def train_speed(pairs: int, epochs: int, batch_size: int, pairs_file: str | None) -> dict:
    keras = _keras()
    t = time.perf_counter()
    a, b = training_pairs(pairs, pairs_file)
    corpus_s = time.perf_counter() - t
    model, _ = build_contrastive(8)
    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit([a[..., None], b[..., None]], np.zeros(len(a), np.float32), batch_size=batch_size,
              epochs=epochs, callbacks=[EpochTimer()], verbose=0, shuffle=True)
    steady = float(np.median(times[1:])) if len(times) > 1 else times[0]
    return {"pairs": pairs, "batch_size": batch_size, "corpus_s": round(corpus_s, 1),
            "epoch_s": [round(s, 2) for s in times], "steady_epoch_s": round(steady, 2),
            "pairs_per_s": round(pairs / steady)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50000, help="snippets to encode per run")
    parser.add_argument("--batch", type=int, default=8192, help="the larger encode batch")
    parser.add_argument("--train-pairs", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-batch", type=int, default=128, help="rficat train's default")
    parser.add_argument("--pairs-file", help="training pairs: read from this .npz, or made and written there")
    parser.add_argument("--save-reference", help="write the shipped model's vectors of a fixed input")
    parser.add_argument("--reference", help="compare with vectors written by --save-reference")
    args = parser.parse_args()
    keras = _keras()
    result: dict = {"backend": keras.backend.backend(), "devices": devices(), "cpus": os.cpu_count(),
                    "machine": platform.machine()}
    if args.save_reference:
        np.savez(args.save_reference, vectors=rficat.encode(fixed_input(2048)))
    if args.reference:
        want = np.load(args.reference)["vectors"]
        got = rficat.encode(fixed_input(len(want)))
        cos = (want * got).sum(1) / (np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1))
        result["reference"] = {"max_abs_diff": float(np.abs(want - got).max()), "min_cosine": float(cos.min())}
    if args.n:
        result["encode"] = encode_speed(args.n, args.batch)
    if args.epochs:
        result["train"] = train_speed(args.train_pairs, args.epochs, args.train_batch, args.pairs_file)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
