"""RFI verdicts on data the encoder never saw: do discoveries survive, is RFI caught?

Independent set (``benchmarks/evalset.py``, frozen; see EVALSET.md): an ABACAD cadence with
12 ON-only drifting narrowband signals (ETI-like) and 10 ON-only RFI emitters, RFI in every
scan, and 8 background scans. Every file goes through the real ingest into a scratch catalogue,
the cadence is recorded, ``rfi build`` runs with its defaults, and ``rficat_cadence_events``
is asked nine times (the same catalogue, the same build, one run):

- ``on_off_only``: the ON/OFF test alone (``p_use_verdicts => false``), with the test of an
  event's positions across the cadence (migration 0024: drifting within its scans, not across them);
- ``lookalike_evidence``: + the verdict on drift-consistent lookalikes in reference
  observations (``p_use_classes => false``);
- ``classes``: + RFI classes by local density, with the evidence against an event's ON
  appearances pooled (the product's default);
- ``classes_rule_0011``: ``classes`` with the ON/OFF rule before migration 0019 (any similar OFF
  signal vetoes whatever its drift; ON appearances by similarity alone), for comparison;
- ``classes_rule_0019``: ``classes`` without the local-RFI exception of migration 0020;
- ``classes_rule_0022``: ``classes`` judged on one snippet, before migration 0023 pooled the evidence;
- ``classes_rule_0023``: ``classes`` without the cadence-position test of migration 0024.
- ``classes_rule_0027``: ``classes`` with an event found in every ON scan, before migration 0028
  let it miss one of three;
- ``classes_rule_0028``: ``classes`` with the local-RFI exception of 0020 also for an OFF signal on the
  event's own track drifting a little otherwise, before migration 0029.

For each: of the 12 ETI-like signals, how many are reported (an event whose snippet is the
signal's) and how many remain candidates (reported and not judged likely/known RFI); of the
10 ON-only RFI emitters, how many are marked RFI, i.e. not left as a candidate (reported and
judged RFI, or not reported at all). turboSETI's ``find_event_pipeline`` at filter levels 2
and 3 on the same six files stands beside them (an event is a candidate: it has no RFI verdict).

Classes: the adjusted Rand index of the build's classes (membership by local density, as
stored per snippet) against the true classes (kind and drift mode, ``truth.csv`` label) over
the RFI snippets given a class, the share given one, the same against kind and *signed* drift
mode (a class never mixes +0.3 and -0.3 Hz/s), and the share of the ON-only drifting snippets
(ETI-like, ON scans) given any class.

The project's own generator (``rficat.synthetic``, bench_rfi.py's setup: a catalogue of five RFI
morphologies, then new files with the same kinds and 30 ETI-like drifting carriers, judged as
they are ingested): ETI-like snippets left candidates, RFI snippets judged RFI, class ARI, the
share of ETI-like snippets given a class; to show the gap between the two generators.

    python benchmarks/bench_verdicts.py [--seed N | --holdout] [--data DIR] [--no-turboseti] [--no-own]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _turboseti import find_events
from evalset import DEVELOPMENT_SEED, HOLDOUT_SEED, SCAN_S, write_evalset

from rficat.catalogue import cadence, ingest, rfi, verdicts
from rficat.config import load_settings
from rficat.store import db

WINDOW_MHZ = 256 * 2.7939677238464355e-6
ABLATION = {"on_off_only": {"use_verdicts": False}, "lookalike_evidence": {"use_classes": False}, "classes": {},
            # the ON/OFF rule before migration 0019: any similar OFF signal vetoes, ON by similarity alone
            "classes_rule_0011": {"off_drift_consistent": False, "on_track": False},
            # before migration 0020: an event on top of OFF-scan RFI judged by the rule alone
            "classes_rule_0019": {"local_rfi": False},
            # before migration 0023: an event judged on its highest-SNR ON snippet alone
            "classes_rule_0022": {"pool_evidence": False},
            # before migration 0024: no test of the event's positions across the cadence
            "classes_rule_0023": {"cadence_track": False},
            # before migration 0028: an event must be found in every ON scan
            "classes_rule_0027": {"max_missing_on": 0},
            # before migration 0029: an OFF signal on the event's track drifting a little otherwise left it a candidate
            "classes_rule_0028": {"off_on_track": False},
            # before migration 0030: an event of any SNR could be missing from an ON scan
            "classes_rule_0029": {"missing_on_faint_only": False},
            # before migration 0031: an event staying put across the cadence judged by the other rules alone
            "classes_rule_0030": {"zero_drift": False}}
RFI_VERDICTS = ("likely_rfi", "known_rfi")


def evalset_data(directory: Path | None, seed: int, tmp: Path) -> tuple[Path, dict]:
    """The independent set for a seed: reused from ``directory`` when it holds that seed, else written."""
    if directory is not None and (directory / "truth.json").exists():
        truth = json.loads((directory / "truth.json").read_text())
        if truth["seed"] == seed and truth["n_channels"] == 2**20:
            return directory, truth
    target = directory or tmp / "evalset"
    return target, write_evalset(target, seed, n_channels=2**20)


def nearest_track(rows: pd.DataFrame, f_center_mhz: float, drift_hz_s: float | None) -> pd.Series | None:
    """Of one file's truth rows whose footprint holds a signal's track centre, the one whose track
    lies nearest the signal's: the larger of the gaps at the scan's start and end, from the centres
    and drift rates (None: no footprint holds it). By the centre alone, two emitters a few channels
    apart at the mid-time (an ETI-like signal starting on a random walk) swapped names."""
    gap = (rows["f_center_mhz"] - f_center_mhz).abs()
    inside = gap <= rows["extent_hz"] * 0.5e-6 + WINDOW_MHZ / 2
    if not inside.any():
        return None
    half_span = (np.nan_to_num(drift_hz_s if drift_hz_s is not None else 0.0) - rows["drift_hz_s"]) * SCAN_S / 2e6
    track_gap = np.maximum((rows["f_center_mhz"] - f_center_mhz - half_span).abs(),
                           (rows["f_center_mhz"] - f_center_mhz + half_span).abs())
    return rows.loc[track_gap[inside].idxmin()]


def label_snippets(engine, truth_rows: pd.DataFrame) -> pd.DataFrame:
    """Every signal snippet with the emitter it shows (:func:`nearest_track`), its true class, role
    and true drift."""
    frame = db.query_frame(engine, "SELECT s.id AS snippet_id, o.path, s.f_center_mhz, s.snr, s.drift_rate_hz_s,"
                           " (SELECT cm.role FROM cadence_members cm WHERE cm.observation_id = o.id LIMIT 1) AS role"
                           " FROM snippets s JOIN observations o ON o.id = s.observation_id WHERE s.is_signal", {},
                           ["snippet_id", "path", "f_center_mhz", "snr", "drift_rate_hz_s", "role"])
    frame["file"] = frame["path"].map(lambda p: Path(p).name)
    by_file = dict(tuple(truth_rows.groupby("file")))
    found = []
    for row in frame.itertuples():
        rows = by_file.get(row.file)
        if rows is None:
            found.append((None, None, None, np.nan))
            continue
        best = nearest_track(rows, row.f_center_mhz, row.drift_rate_hz_s)
        if best is None:
            found.append((None, None, None, np.nan))
            continue
        found.append((best["emitter_id"], best["label"], best["role"], best["drift_hz_s"]))
    frame[["emitter", "label", "truth_role", "true_drift"]] = pd.DataFrame(found, index=frame.index)
    return frame.set_index("snippet_id")


def score_events(events: pd.DataFrame, labels: pd.DataFrame, eti: list[str], on_only_rfi: list[str]) -> dict:
    """Per emitter: ETI-like signals reported / left candidates; ON-only RFI reported / marked RFI."""
    emitter_of = labels["emitter"].to_dict()
    reported: dict[str, list[str]] = {}
    for row in events.itertuples():
        emitter = emitter_of.get(row.snippet_id) or emitter_of.get(row.judged_snippet_id)
        if emitter is not None:
            reported.setdefault(emitter, []).append(row.verdict)
    eti_reported = [e for e in eti if e in reported]
    eti_kept = [e for e in eti_reported if any(v not in RFI_VERDICTS for v in reported[e])]
    rfi_reported = [e for e in on_only_rfi if e in reported]
    rfi_left = [e for e in rfi_reported if any(v not in RFI_VERDICTS for v in reported[e])]
    other = sum(1 for e, vs in reported.items() if e not in eti and e not in on_only_rfi
                for v in vs if v not in RFI_VERDICTS)
    unmatched = sum(1 for row in events.itertuples() if emitter_of.get(row.snippet_id) is None
                    and emitter_of.get(row.judged_snippet_id) is None)
    return {"eti_reported": len(eti_reported), "eti_candidates": len(eti_kept), "eti_total": len(eti),
            "eti_candidates_pct": round(100 * len(eti_kept) / len(eti), 1),
            "eti_candidates_of_reported_pct": round(100 * len(eti_kept) / max(len(eti_reported), 1), 1),
            "on_only_rfi_reported": len(rfi_reported), "on_only_rfi_left_candidate": len(rfi_left),
            "on_only_rfi_total": len(on_only_rfi),
            "on_only_rfi_marked_pct": round(100 * (len(on_only_rfi) - len(rfi_left)) / len(on_only_rfi), 1),
            "other_candidate_events": other, "unmatched_events": unmatched,
            "verdicts": {e: reported[e] for e in eti + on_only_rfi if e in reported}}


def score_turboseti(freqs: list[float], truth_rows: pd.DataFrame, first_on: str, eti: list[str],
                    on_only_rfi: list[str], n_hits: int) -> dict:
    rows = truth_rows[truth_rows["file"] == first_on].set_index("emitter_id")

    def found(emitter: str) -> bool:
        r = rows.loc[emitter]
        reach = r["extent_hz"] * 0.5e-6 + WINDOW_MHZ / 2
        return any(abs(f - r["f_center_mhz"]) <= reach for f in freqs)

    eti_found = [e for e in eti if found(e)]
    rfi_found = [e for e in on_only_rfi if found(e)]
    return {"events": len(freqs), "hits": n_hits, "eti_candidates": len(eti_found),
            "eti_candidates_pct": round(100 * len(eti_found) / len(eti), 1),
            "on_only_rfi_left_candidate": len(rfi_found),
            "on_only_rfi_marked_pct": round(100 * (len(on_only_rfi) - len(rfi_found)) / len(on_only_rfi), 1)}


def class_figures(engine, labels: pd.DataFrame, true_label: str = "label") -> dict:
    verdicts = db.query_frame(engine, "SELECT snippet_id, class_id, verdict FROM snippet_verdicts", {},
                              ["snippet_id", "class_id", "verdict"]).set_index("snippet_id")
    frame = labels.join(verdicts, how="inner")
    signed = frame[true_label].astype(str) + np.where(frame["true_drift"].fillna(0) > 0, "+",
                                                      np.where(frame["true_drift"].fillna(0) < 0, "-", ""))
    rfi_rows = frame[frame[true_label].notna() & (frame[true_label] != "eti")
                     & (frame.get("truth_role", "rfi") != "eti_on_only")]
    classed = rfi_rows[rfi_rows["class_id"].notna()]
    eti_rows = frame[frame[true_label] == "eti"]
    eti_on = eti_rows[eti_rows["role"] == "ON"] if "role" in eti_rows and eti_rows["role"].notna().any() else eti_rows
    return {"rfi_snippets": len(rfi_rows), "rfi_snippets_classed": len(classed),
            "classed_share": round(len(classed) / max(len(rfi_rows), 1), 3),
            "n_classes": int(classed["class_id"].nunique()),
            "ari": round(float(adjusted_rand_score(classed[true_label], classed["class_id"])), 3) if len(classed) else None,
            "ari_signed_drift": round(float(adjusted_rand_score(signed[classed.index], classed["class_id"])), 3)
            if len(classed) else None,
            "eti_snippets": len(eti_on), "eti_snippets_classed": int(eti_on["class_id"].notna().sum()),
            "eti_snippets_classed_pct": round(100 * eti_on["class_id"].notna().mean(), 1) if len(eti_on) else None,
            "verdicts_of_eti_snippets": eti_on["verdict"].value_counts().to_dict()}


def build_catalogue(engine, data: Path, truth: dict) -> dict:
    """The evaluation set's catalogue as a user makes it: every file ingested, the cadence
    recorded, the vectors indexed, ``rfi build`` with its defaults; returns timings and the build."""
    t = time.perf_counter()
    for f in truth["files"]:
        ingest.ingest_file(engine, data / f["file"])
    cadence.add_cadence(engine, "eval", [data / f for f in truth["cadence"]["files"]])
    db.index_pending(engine)
    ingest_s = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    build = rfi.build(engine).to_dict()
    return {"ingest_s": ingest_s, "build": build, "build_s": round(time.perf_counter() - t, 1)}


def independent(server: str, data: Path, truth: dict, turboseti: bool, workdir: Path) -> dict:
    rows = pd.DataFrame(truth["rows"])
    emitters = pd.DataFrame(truth["emitters"])
    eti = sorted(emitters.loc[emitters["role"] == "eti_on_only", "emitter_id"])
    on_only_rfi = sorted(emitters.loc[emitters["role"] == "rfi_on_only", "emitter_id"])
    cadence_files = [data / f for f in truth["cadence"]["files"]]
    out: dict = {"seed": truth["seed"], "eti": len(eti), "on_only_rfi": len(on_only_rfi)}
    with db.scratch_database(server, "bench_verdicts") as url:
        engine = db.make_engine(url)
        out.update(build_catalogue(engine, data, truth))
        labels = label_snippets(engine, rows)
        out["eti_snippets_detected_on"] = int(((labels["label"] == "eti") & (labels["role"] == "ON")).sum())
        out["eti_detected"] = int(labels.loc[labels["label"] == "eti", "emitter"].nunique())
        out["rows"] = {}
        for name, options in ABLATION.items():
            events = cadence.search(engine, "eval", **options)
            out["rows"][name] = score_events(events, labels, eti, on_only_rfi)
        out["classes"] = class_figures(engine, labels)
        engine.dispose()
    if turboseti:
        t = time.perf_counter()
        events, n_hits = find_events(cadence_files, workdir / "turboseti", levels=(2, 3))
        for level, freqs in events.items():
            out["rows"][f"turboseti_level_{level}"] = score_turboseti(freqs, rows, truth["cadence"]["files"][0], eti,
                                                                      on_only_rfi, n_hits)
        out["turboseti_s"] = round(time.perf_counter() - t, 1)
    return out


def labels_of(engine, truth: dict[int, list[dict]]) -> dict[int, str]:
    """Signal snippet -> injected class, for rficat.synthetic files (the signal within 1.5 kHz)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, observation_id, f_center_mhz FROM snippets WHERE is_signal")).all()
    out = {}
    for sid, obs, f in rows:
        if obs in truth:
            nearest = min(truth[obs], key=lambda t: abs(t["f_mid_mhz"] - f))
            if abs(nearest["f_mid_mhz"] - f) < 0.0015:
                out[sid] = nearest["label"]
    return out


def own_generator(server: str, workdir: Path, per_class: int = 60, new_per_class: int = 30, seed: int = 2026,
                  new_seed: int = 7) -> dict:
    """bench_rfi.py's setup (rficat.synthetic): five RFI morphologies, then new files judged at ingest."""
    from bench_lookalike_quality import CLASSES
    from bench_lookalike_quality import make_files as make_class_files

    rfi_classes = [c for c in CLASSES if c != "drifting"]

    out: dict = {"seeds": f"{seed}:{new_seed}"}
    with db.scratch_database(server, "bench_verdicts_own") as url:
        engine = db.make_engine(url)
        catalogue_files = make_class_files(workdir, per_class, {c: CLASSES[c] for c in rfi_classes}, seed=seed)
        new_files = make_class_files(workdir, new_per_class, CLASSES, seed=new_seed)
        truth = {ingest.ingest_file(engine, path).observation_id: rows for path, rows in catalogue_files}
        db.index_pending(engine)
        out["build"] = rfi.build(engine).to_dict()
        catalogue_labels = pd.Series(labels_of(engine, truth), name="label")
        frame = pd.DataFrame({"label": catalogue_labels, "true_drift": 0.0, "role": None})
        out["classes"] = class_figures(engine, frame)
        new_truth = {ingest.ingest_file(engine, path).observation_id: rows for path, rows in new_files}
        new_labels = pd.Series(labels_of(engine, new_truth), name="label")
        stored = db.query_frame(engine, "SELECT snippet_id, verdict, class_id FROM snippet_verdicts", {},
                                ["snippet_id", "verdict", "class_id"]).set_index("snippet_id")
        new = pd.DataFrame({"label": new_labels}).join(stored, how="left")
        evidence_only = verdicts.judge_snippets(engine, new.index, use_classes=False)
        new["verdict_evidence_only"] = [evidence_only[i].verdict for i in new.index]
        eti = new[new["label"] == "drifting"]
        rfi_new = new[new["label"] != "drifting"]
        out["rows"] = {}
        for column, name in (("verdict_evidence_only", "lookalike_evidence"), ("verdict", "classes")):
            out["rows"][name] = {
                "eti_snippets": len(eti), "eti_candidates_pct": round(100 * (~eti[column].isin(RFI_VERDICTS)).mean(), 1),
                "rfi_snippets": len(rfi_new), "rfi_marked_pct": round(100 * rfi_new[column].isin(RFI_VERDICTS).mean(), 1)}
        out["eti_snippets_classed_pct"] = round(100 * eti["class_id"].notna().mean(), 1)
        engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seed", type=int, default=DEVELOPMENT_SEED)
    group.add_argument("--holdout", action="store_true", help=f"the hold-out seed ({HOLDOUT_SEED}): measure once")
    parser.add_argument("--data", type=Path, default=None, help="where the set is (or is written); default: a temp dir")
    parser.add_argument("--no-turboseti", action="store_true")
    parser.add_argument("--no-own", action="store_true", help="skip the project's own generator")
    parser.add_argument("--no-independent", action="store_true", help="only the project's own generator")
    args = parser.parse_args()
    seed = HOLDOUT_SEED if args.holdout else args.seed
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result = {}
        if not args.no_independent:
            data, truth = evalset_data(args.data, seed, tmp)
            result["independent"] = independent(server, data, truth, not args.no_turboseti, tmp)
            print(json.dumps(result["independent"]), file=sys.stderr)
        if not args.no_own:
            (tmp / "own").mkdir()
            result["own_generator"] = own_generator(server, tmp / "own")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
