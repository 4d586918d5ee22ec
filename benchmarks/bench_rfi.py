"""The RFI database: class quality against known morphologies, known-RFI flags, build time.

Quality (one run): the catalogue is 6 synthetic observations of five RFI morphology classes
(narrowband, sinc^2, intermittent, broadband pulsed, wandering; 60 signals each, rficat.synth)
put through the real ingest. `rfi.build` clusters it; against the injected classes:
- adjusted Rand index and NMI over the signal snippets the build assigned to a class, and
  the share it assigned at all;
then 2 new observations with the same RFI kinds plus ETI-like drifting carriers (0.5-2 Hz/s,
a morphology the catalogue has not seen as RFI) are ingested: the share of their RFI hits
flagged known RFI at ingest, and the share of ETI-like hits left unflagged.

Scale: `rfi.build` on 10^5 and 10^6 synthetic clustered 8-d vectors (loaded as in
bench_search.py): wall time, peak memory of this process (the sample is the only thing held in
memory; assignment runs in PostgreSQL).

    python benchmarks/bench_rfi.py [--per-class 60] [--sizes 100000,1000000]
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

from rficat import db, ingest, rfi  # noqa: E402
from rficat.config import load_settings  # noqa: E402

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


def quality(server: str, per_class: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, db.scratch_database(server, "bench_rfi") as url:
        engine = db.make_engine(url)
        catalogue_files = make_class_files(Path(tmp), per_class, {c: CLASSES[c] for c in RFI_CLASSES})
        new_files = make_class_files(Path(tmp), 12, CLASSES, seed=7)
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
        for sid, label in new_labels.items():
            kind = "eti" if label == "drifting" else "rfi"
            flagged.setdefault(kind, []).append(sid in known)
        engine.dispose()
    return {"build": summary.to_dict(), "signal_snippets": len(labels), "assigned_share": round(len(both) / len(labels), 3),
            "adjusted_rand_index": round(float(ari), 3), "nmi": round(float(nmi), 3),
            "new_rfi_hits": len(flagged.get("rfi", [])), "new_rfi_flagged": round(float(np.mean(flagged["rfi"])), 3),
            "new_eti_hits": len(flagged.get("eti", [])),
            "new_eti_unflagged": round(1 - float(np.mean(flagged["eti"])), 3)}


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
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    result = {"quality": quality(server, args.per_class)}
    print(json.dumps(result["quality"]), file=sys.stderr)
    result["scale"] = scale(server, [int(s) for s in args.sizes.split(",") if s])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
