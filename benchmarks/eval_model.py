"""Embedding quality: the paper's evaluation protocol, our model against baselines, one run.

Test set (fresh, seed-fixed): 100 classes x 100 samples. Each class is one signal (SNR 20-70,
drift -2..2 Hz/s, width 20-70 Hz, gaussian profile); its samples place it at varied positions
in the window, each with fresh chi-squared noise. Metrics, per method:

- silhouette (cosine; higher is better; paper's β-VAE -0.12)
- cluster metric: max distance to the class centre / mean distance, averaged over classes
  (L2-normalised vectors; lower is better; paper's β-VAE 2.16)
- disentanglement (Higgins et al. 2017): accuracy of a linear classifier that tells which
  factor (SNR, drift, width, position) was held fixed from mean |z1 - z2| over 32 pairs
  (higher is better; paper's β-VAE 0.88)
- precision@10: share of the 10 nearest neighbours (cosine) in the query's class

Methods: the shipped default model; the paper's β-VAE (β = 1) and a plain autoencoder
(β = 0) trained here on the same synthetic budget; PCA to the same dimension; raw pixels.

Leave one family out: for a few morphology families, a contrastive model is trained on the
other families only and scored (precision@10 of same-emitter lookalikes) on classes of the
family it never saw, next to PCA and pixels on the same set.

    python benchmarks/eval_model.py [--quick]
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
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

from rficat.science import model, train
from rficat.synthetic import corpus
from rficat.synthetic.synth import GBT_TSAMP_S

DF_HZ = corpus.DF_HZ
FACTORS = ("snr", "drift", "width", "position")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- test sets ------------------------------------------------------------------------------------

def class_params(rng: np.random.Generator) -> dict:
    return {"snr": rng.uniform(20, 70), "drift": rng.uniform(-2, 2), "width": rng.uniform(20, 70),
            "position": rng.uniform(70, 186)}


def emitter(p: dict) -> corpus.Emitter:
    """A gaussian drifting signal whose track is centred on ``position`` at mid-observation."""
    start = p["position"] - p["drift"] * GBT_TSAMP_S * 8 / DF_HZ
    return corpus.Emitter("drifting", start, p["snr"], p["drift"], p["width"])


def paper_test_set(n_classes: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    emitters, labels = [], []
    for c in range(n_classes):
        p = class_params(rng)
        for _ in range(n_samples):
            emitters.append(emitter({**p, "position": rng.uniform(70, 186)}))
            labels.append(c)
    return corpus.render(emitters, seed=seed), np.asarray(labels)


def family_test_set(families, n_classes: int, n_samples: int, seed: int):
    """Classes of fixed emitters from the given families, each seen at shifted positions."""
    rng = np.random.default_rng(seed)
    emitters, labels, fams = [], [], []
    for f in families:
        for c in range(n_classes):
            base = corpus.random_emitter(f, rng)
            for _ in range(n_samples):
                emitters.append(corpus.Emitter(base.family, base.channel + rng.uniform(-25, 25), base.snr,
                                               base.drift_hz_s, base.width_hz, base.extra))
                labels.append(f"{f}:{c}")
                fams.append(f)
    return corpus.render(emitters, seed=seed), np.asarray(labels), np.asarray(fams)


# --- metrics ------------------------------------------------------------------------------------

def unit(z: np.ndarray) -> np.ndarray:
    return z / np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None)


def precision_at_10(z: np.ndarray, labels: np.ndarray, query_mask: np.ndarray | None = None) -> float:
    idx = NearestNeighbors(n_neighbors=11, metric="cosine").fit(z).kneighbors(z, return_distance=False)[:, 1:]
    hits = labels[idx] == labels[:, None]
    return float(hits[query_mask].mean() if query_mask is not None else hits.mean())


def cluster_metric(z: np.ndarray, labels: np.ndarray) -> float:
    u = unit(z)
    ratios = []
    for c in np.unique(labels):
        members = u[labels == c]
        d = np.linalg.norm(members - members.mean(axis=0), axis=1)
        ratios.append(d.max() / d.mean())
    return float(np.mean(ratios))


def disentanglement_pairs(n_per_factor: int, pairs: int, seed: int):
    """Snippets for the Higgins metric: for each example, `pairs` pairs sharing one factor."""
    rng = np.random.default_rng(seed)
    emitters, targets = [], []
    for k, factor in enumerate(FACTORS):
        for _ in range(n_per_factor):
            for _ in range(pairs):
                a, b = class_params(rng), class_params(rng)
                b[factor] = a[factor]
                emitters += [emitter(a), emitter(b)]
            targets.append(k)
    return corpus.render(emitters, seed=seed), np.asarray(targets)


def disentanglement(z: np.ndarray, targets: np.ndarray, pairs: int) -> float:
    z = (z - z.mean(axis=0)) / (z.std(axis=0) + 1e-8)
    diffs = np.abs(z[0::2] - z[1::2]).reshape(len(targets), pairs, -1).mean(axis=1)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(targets))
    split = int(0.7 * len(order))
    clf = LogisticRegression(max_iter=5000).fit(diffs[order[:split]], targets[order[:split]])
    return float(clf.score(diffs[order[split:]], targets[order[split:]]))


# --- methods --------------------------------------------------------------------------------------

def keras_embedder(encoder, latent_dim: int):
    wrapped = model.Encoder(encoder, model.ModelMetadata("eval", latent_dim=latent_dim))
    return wrapped.encode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    n_classes, n_samples = (20, 20) if args.quick else (100, 100)
    n_train, epochs = (1000, 1) if args.quick else (8000, 6)
    lofo_families = ("comb", "wandering", "broadband_pulsed")

    default = model.load_model()
    dim = default.latent_dim
    log(f"default model: latent {dim}, {default.metadata.training.get('description')}")

    log("test set")
    x_test, y_test = paper_test_set(n_classes, n_samples, seed=12345)
    dis_x, dis_t = disentanglement_pairs(60 if not args.quick else 10, 32, seed=777)

    log("baseline training corpus")
    x_train, _ = corpus.training_corpus(n_train, seed=4242)
    pca = PCA(dim, random_state=0).fit(x_train.reshape(len(x_train), -1))
    methods = {
        "rficat default (contrastive, latent %d)" % dim: default.encode,
        "pixels (naive)": lambda x: x.reshape(len(x), -1),
        f"PCA ({dim})": lambda x: pca.transform(x.reshape(len(x), -1)),
    }
    for label, beta in (("β-VAE, paper (β=1)", 1.0), ("autoencoder (β=0)", 0.0)):
        log(f"training {label}")
        enc, _, _ = train.train_model(x_train, objective="vae", latent_dim=dim, beta=beta, epochs=epochs,
                                      batch_size=64, seed=1, patience=10)
        methods[f"{label}, latent {dim}"] = keras_embedder(enc, dim)

    results = []
    for name, embed in methods.items():
        log(f"scoring {name}")
        t = time.perf_counter()
        z = np.asarray(embed(x_test), dtype=np.float64)
        seconds = time.perf_counter() - t
        results.append({
            "method": name,
            "silhouette": round(float(silhouette_score(z, y_test, metric="cosine")), 3),
            "cluster_metric": round(cluster_metric(z, y_test), 2),
            "disentanglement": round(disentanglement(np.asarray(embed(dis_x), np.float64), dis_t, 32), 3),
            "precision_at_10": round(precision_at_10(z, y_test), 3),
            "snippets_per_s": round(len(x_test) / seconds),
        })

    log("leave one family out")
    x_fam, y_fam, f_fam = family_test_set(corpus.FAMILIES, 12 if not args.quick else 4, 20 if not args.quick else 8,
                                          seed=999)
    lofo = []
    for held_out in lofo_families:
        others = [f for f in corpus.FAMILIES if f != held_out]
        a, b, _ = corpus.synthetic_pairs(n_train, others, seed=31)
        enc, _, _ = train.train_model(a, b, latent_dim=dim, epochs=epochs, seed=2)
        mask = f_fam == held_out
        lofo.append({
            "held_out_family": held_out,
            "contrastive_without_family": round(precision_at_10(keras_embedder(enc, dim)(x_fam), y_fam, mask), 3),
            "default_model_with_family": round(precision_at_10(default.encode(x_fam), y_fam, mask), 3),
            f"PCA ({dim})": round(precision_at_10(pca.transform(x_fam.reshape(len(x_fam), -1)), y_fam, mask), 3),
            "pixels": round(precision_at_10(x_fam.reshape(len(x_fam), -1), y_fam, mask), 3),
        })
    print(json.dumps({"test_set": f"{n_classes} classes x {n_samples}", "results": results, "leave_one_family_out": lofo},
                     indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
