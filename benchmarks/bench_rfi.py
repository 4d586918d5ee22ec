"""The RFI database: class quality against known morphologies, known-RFI flags, build time.

Quality (one run per seed pair): the catalogue is 5 synthetic observations of five RFI
morphology classes (60 signals each, rficat.synth; CLASSES in bench_lookalike_quality.py):
resolved narrowband carriers, spectral leakage of strong unresolved carriers (sinc^2 with
sidelobes), intermittent carriers, broadband pulses, wandering carriers; all put through the
real ingest. `rfi.build` clusters it; against the injected classes:
- adjusted Rand index and NMI over the signal snippets the build assigned to a class, and
  the share it assigned at all;
then 3 new observations with 30 of each RFI kind plus 30 ETI-like drifting carriers
(0.6-2 Hz/s, a morphology the catalogue has not seen as RFI) are ingested: the share of their
RFI hits flagged known RFI at ingest, the share of ETI-like hits left unflagged, and the
share the latent vector alone would leave unflagged (rficat_classify without a drift rate).

Scale: `rfi.build` on 10^5 and 10^6 synthetic clustered 8-d vectors (loaded as in
bench_search.py): wall time, peak memory of this process (the sample is the only thing held in
memory; assignment runs in PostgreSQL).

    python benchmarks/bench_rfi.py [--per-class 60] [--new-per-class 30] [--seeds 2026:7,...]
                                   [--sizes 100000,1000000]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lookalike_quality import CLASSES  # noqa: E402
from bench_lookalike_quality import make_files as make_class_files  # noqa: E402
from bench_search import load  # noqa: E402

from rficat.catalogue import ingest, rfi  # noqa: E402
from rficat.config import load_settings  # noqa: E402
from rficat.store import db  # noqa: E402

RFI_CLASSES = [c for c in CLASSES if c != "drifting"]


def _labels(engine, truth: dict[int, list[dict]], observation_ids=None) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, observation_id, f_center_mhz FROM snippets WHERE is_signal")).all()
    out = {}
    for sid, obs, f in rows:
        if obs not in truth or (observation_ids is not None and obs not in observation_ids):
            continue
        nearest = min(truth[obs], key=lambda t: abs(t["f_mid_mhz"] - f))
        if abs(nearest["f_mid_mhz"] - f) < 0.0015:
            out[sid] = nearest["label"]
    return out


def quality(server: str, per_class: int, new_per_class: int, seed: int = 2026, new_seed: int = 7) -> dict:
    with tempfile.TemporaryDirectory() as tmp, db.scratch_database(server, "bench_rfi") as url:
        engine = db.make_engine(url)
        catalogue_files = make_class_files(Path(tmp), per_class, {c: CLASSES[c] for c in RFI_CLASSES}, seed=seed)
        new_files = make_class_files(Path(tmp), new_per_class, CLASSES, seed=new_seed)
        truth = {}
        for path, rows in catalogue_files:
            truth[ingest.ingest_file(engine, path).observation_id] = rows
        db.index_pending(engine)
        summary = rfi.build(engine, min_cluster_size=15)
        labels = _labels(engine, truth)
        with engine.connect() as conn:
            assigned = dict(conn.execute(sa.text("SELECT snippet_id, class_id FROM snippet_rfi")).all())
        both = [s for s in labels if s in assigned]
        ari = adjusted_rand_score([labels[s] for s in both], [assigned[s] for s in both])
        nmi = normalized_mutual_info_score([labels[s] for s in both], [assigned[s] for s in both])
        new_truth, flagged = {}, {}
        for path, rows in new_files:
            result = ingest.ingest_file(engine, path)
            new_truth[result.observation_id] = rows
        new_labels = _labels(engine, new_truth)
        with engine.connect() as conn:
            known = set(conn.execute(sa.text("SELECT snippet_id FROM snippet_rfi")).scalars())
            # the same vectors without the drift gate: how many ETI-like hits the latent alone would flag
            eti_ids = [sid for sid, label in new_labels.items() if label == "drifting"]
            ungated = conn.execute(sa.text(
                "SELECT count(*) FILTER (WHERE k.known_rfi) FROM embeddings e"
                " JOIN rfi_builds b ON b.is_current AND b.model_id = e.model_id"
                " CROSS JOIN LATERAL rficat_classify(e.latent) k WHERE e.snippet_id = ANY(:ids)"),
                {"ids": eti_ids}).scalar_one()
        for sid, label in new_labels.items():
            kind = "eti" if label == "drifting" else "rfi"
            flagged.setdefault(kind, []).append(sid in known)
        engine.dispose()
    return {"build": summary.to_dict(), "signal_snippets": len(labels), "assigned_share": round(len(both) / len(labels), 3),
            "adjusted_rand_index": round(float(ari), 3), "nmi": round(float(nmi), 3),
            "new_rfi_hits": len(flagged.get("rfi", [])), "new_rfi_flagged": round(float(np.mean(flagged["rfi"])), 3),
            "new_eti_hits": len(flagged.get("eti", [])),
            "new_eti_unflagged": round(1 - float(np.mean(flagged["eti"])), 3),
            "new_eti_unflagged_without_drift_gate": round(1 - ungated / len(eti_ids), 3)}


def scale(server: str, sizes: list[int]) -> list[dict]:
    out = []
    for n in sizes:
        with db.scratch_database(server, "bench_rfi_scale") as url:
            model_id, _, _ = load(url, n, np.random.default_rng(n), index=False)
            engine = db.make_engine(url)
            t = time.perf_counter()
            summary = rfi.build(engine, model_id=model_id, min_cluster_size=25, sample=50_000)
            seconds = time.perf_counter() - t
            engine.dispose()
        out.append({"rows": n, "seconds": round(seconds, 1), "classes": summary.n_classes,
                    "assigned": summary.n_assigned, "sampled": summary.n_sampled,
                    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})
        print(json.dumps(out[-1]), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--new-per-class", type=int, default=30)
    parser.add_argument("--seeds", default="2026:7", help="catalogue:new-files seed pairs, comma-separated")
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    result = {"quality": []}
    for pair in args.seeds.split(","):
        seed, new_seed = (int(s) for s in pair.split(":"))
        result["quality"].append({"seeds": pair, **quality(server, args.per_class, args.new_per_class, seed, new_seed)})
        print(json.dumps(result["quality"][-1]), file=sys.stderr)
    result["scale"] = scale(server, [int(s) for s in args.sizes.split(",") if s])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
