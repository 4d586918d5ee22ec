"""Lookalike precision@10 by morphology class, through the catalogue as a user queries it.

Synthetic observations (rficat.synthetic.synth, setigen) carry signals of six morphology classes at
random frequencies; every file goes through the real ingest (detection, normalisation, the
shipped model, COPY). Each detected signal snippet is matched to the injected signal it came
from; for each, `rficat_lookalikes(id, 10, p_use_frequency => false)` (morphology only, exact
scan) is asked, and precision@10 is the share of the 10 matches whose class is the query's.

    python benchmarks/bench_lookalike_quality.py [--per-class 60]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from rficat.catalogue import ingest
from rficat.config import load_settings
from rficat.store import db
from rficat.synthetic import synth

CLASSES = {
    "narrowband": dict(drift=(-0.02, 0.02), width=(10, 40)),
    "drifting": dict(drift=(0.6, 2.0), width=(10, 40)),
    "sinc2": dict(drift=(-0.02, 0.02), width=(5.6, 8.4), f_profile="sinc2", snr=(200, 800)),
    "intermittent": dict(drift=(-0.02, 0.02), width=(10, 40), t_profile="intermittent", period_s=120),
    "broadband_pulsed": dict(drift=(-0.02, 0.02), width=(300, 500), t_profile="pulsed", period_s=100),
    "wandering": dict(drift=(-0.02, 0.02), width=(10, 30), path="wandering", period_s=600),
}


def make_files(directory: Path, per_class: int, classes: dict = CLASSES, per_file: int = 60,
               seed: int = 2026) -> list[tuple[Path, list[dict]]]:
    """Observations holding ``per_class`` signals of each class; returns (path, truth rows)."""
    rng = np.random.default_rng(seed)
    labels = [c for c in classes for _ in range(per_class)]
    rng.shuffle(labels)
    files = []
    for i in range(0, len(labels), per_file):
        spec = synth.ObservationSpec(n_coarse_channels=4, seed=seed + i)
        chunk = labels[i:i + per_file]
        positions = synth.random_signals(spec, len(chunk), rng, drift=(0, 0), min_separation=3000)
        signals = []
        for label, at in zip(chunk, positions):
            options = dict(classes[label])
            drift = float(rng.uniform(*options.pop("drift"))) * rng.choice([-1, 1])
            width = float(rng.uniform(*options.pop("width")))
            snr = float(rng.uniform(*options.pop("snr", (25, 70))))
            f_mid = at.f_start_mhz
            signals.append(replace(at, f_start_mhz=f_mid - drift * spec.obs_length_s / 2 * 1e-6, drift_hz_s=drift,
                                   width_hz=width, snr=snr, label=label, **options))
        path = directory / f"classes_{seed}_{i // per_file}.h5"
        files.append((path, synth.write_observation(path, spec, signals)))
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=60)
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    with db.scratch_database(server, "bench_quality") as url:
        engine = db.make_engine(url)
        with tempfile.TemporaryDirectory() as tmp:
            files = make_files(Path(tmp), args.per_class)
            truth = {}
            for path, rows in files:
                summary = ingest.ingest_file(engine, path)
                truth[summary.observation_id] = rows
        db.index_pending(engine)
        with engine.connect() as conn:
            snippets = conn.execute(sa.text("SELECT id, observation_id, f_center_mhz FROM snippets WHERE is_signal")).all()
        label_of = {}
        for sid, obs, f in snippets:
            nearest = min(truth[obs], key=lambda t: abs(t["f_mid_mhz"] - f))
            if abs(nearest["f_mid_mhz"] - f) < 0.0015:
                label_of[sid] = nearest["label"]
        per_class: dict[str, list[float]] = {c: [] for c in CLASSES}
        with engine.connect() as conn:
            for sid, label in label_of.items():
                ids = conn.execute(sa.text("SELECT snippet_id FROM rficat_lookalikes(:s, 10, false, p_exact => true)"),
                                   {"s": sid}).scalars().all()
                per_class[label].append(np.mean([label_of.get(i) == label for i in ids]))
        injected = {c: sum(r["label"] == c for _, rows in files for r in rows) for c in CLASSES}
        result = {c: {"injected": injected[c], "detected": len(v), "precision_at_10": round(float(np.mean(v)), 3)
                      if v else None} for c, v in per_class.items()}
        all_scores = [x for v in per_class.values() for x in v]
        print(json.dumps({"classes": result, "mean_precision_at_10": round(float(np.mean(all_scores)), 3),
                          "chance": round(1 / len(CLASSES), 3)}, indent=2))
        engine.dispose()


if __name__ == "__main__":
    main()
