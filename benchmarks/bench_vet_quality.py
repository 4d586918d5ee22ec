"""Vetting quality (issue 16, "must show"): does `rficat vet` of turboSETI's events keep the
ETI-like signals and mark the RFI, better than turboSETI's own filter levels?

Independent set (``benchmarks/evalset.py``, frozen; the development seed unless ``--seed``): the ABACAD cadence
(12 ON-only drifting narrowband signals, 10 ON-only RFI emitters, 30 RFI emitters in every scan)
and 8 background scans. turboSETI runs as people run it: FindDoppler on each of the six cadence
scans (max drift 4 Hz/s, SNR 10), then ``find_event_pipeline`` at filter levels 1, 2 and 3,
writing its event CSVs. The rficat catalogue is built from the same 14 files as
``bench_verdicts.py`` builds it (real ingest, the cadence recorded, ``rfi build`` with its
defaults); then ``vet.vet`` judges every row of each level's event CSV (the cadence named, the
data files given, as ``rficat vet events.csv --cadence eval --files ...`` does).

Each vetted row is matched to the emitter it shows: the truth row of its data file whose
footprint (half the emitter's extent plus half a snippet window) holds the track centre vet
computed, nearest first. Per emitter, over the emitters among a level's events:

- an ETI-like signal is **kept** when any of its rows is not judged RFI (candidate, unjudged,
  or a row vet could not judge: it stays for a human);
- an RFI emitter is **marked RFI** when every row of it is judged likely_rfi / known_rfi.

turboSETI's own levels keep what they report: of the ETI-like signals level 2 reports, level 3
keeps those it still reports; of the RFI emitters among level 2's events, level 3 marks those it
drops. The same figures per event (an event is the emitter most of its rows show, kept unless every
row is judged RFI) stand beside them.

    python benchmarks/bench_vet_quality.py [--seed N] [--data DIR] [--work DIR]
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

import argparse
import collections
import itertools
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _turboseti import find_events
from bench_verdicts import RFI_VERDICTS, build_catalogue, evalset_data, nearest_track
from evalset import DEVELOPMENT_SEED

from rficat.catalogue import vet
from rficat.config import load_settings
from rficat.store import db

LEVELS = (1, 2, 3)
ETI, RFI_ROLES = "eti_on_only", ("rfi_on_only", "rfi_everywhere")


def turboseti_events(cadence_files: list[Path], workdir: Path) -> tuple[dict[int, Path], int, float]:
    """turboSETI's event CSV of each level (reused when ``workdir`` already holds them)."""
    csvs = {level: workdir / f"events_level{level}.csv" for level in LEVELS}
    t = time.perf_counter()
    n_hits = None
    if not all(p.exists() for p in csvs.values()):
        _, n_hits = find_events(cadence_files, workdir, levels=LEVELS, csv_dir=workdir)
    return {level: p for level, p in csvs.items() if p.exists()}, n_hits, round(time.perf_counter() - t, 1)


def emitter_of(record: dict, truth_by_file: dict[str, pd.DataFrame]) -> str | None:
    """The emitter a vetted row shows (``bench_verdicts.nearest_track``; None: none of its file's
    emitters reaches its track centre)."""
    rows = truth_by_file.get(Path(str(record.get("data_file") or "")).name)
    f = record.get("f_center_mhz")
    if f is None:
        f = record.get("f_start_mhz") or record.get("Freq")
    if rows is None or f is None:
        return None
    best = nearest_track(rows, float(f), record.get("drift_rate_hz_s"))
    return None if best is None else best["emitter_id"]


def vetted_rows(engine, csv: Path, files: list[Path], truth_by_file: dict[str, pd.DataFrame]) -> pd.DataFrame:
    t = time.perf_counter()
    run = vet.vet(engine, [csv], files=files, cadence="eval")
    seconds = time.perf_counter() - t
    records = [v.record() for v in run.items]
    # an event is find_event_pipeline's rows from one on_table_1 row to the next (this version
    # leaves Hit_ID empty)
    starts = itertools.accumulate(r.get("status") == "on_table_1" for r in records)
    frame = pd.DataFrame({
        "event": [r.get("Hit_ID") or f"event{n}" for r, n in zip(records, starts)],
        "status": [r.get("status") for r in records],
        "file": [Path(str(r.get("data_file") or "")).name for r in records],
        "f_center_mhz": [r.get("f_center_mhz") for r in records],
        "drift_rate_hz_s": [r.get("drift_rate_hz_s") for r in records],
        "snr": [r.get("snr") for r in records],
        "snr_measured": [r.get("snr_measured") for r in records],
        "snippet_source": [r.get("snippet_source") for r in records],
        "verdict": [r.get("verdict") or "error" for r in records],
        "explanation": [r.get("explanation") for r in records],
        "emitter": [emitter_of(r, truth_by_file) for r in records]})
    frame.attrs["seconds"] = round(seconds, 2)
    return frame


def score(frame: pd.DataFrame, role: dict[str, str], eti_reported: set[str] | None = None) -> dict:
    """Per emitter and per event: ETI-like kept, RFI marked (see the module docstring)."""
    rfi_marked = frame.groupby("emitter")["verdict"].agg(lambda v: all(x in RFI_VERDICTS for x in v))
    emitters = set(rfi_marked.index)
    eti = sorted(e for e in emitters if role.get(e) == ETI and (eti_reported is None or e in eti_reported))
    rfi_emitters = sorted(e for e in emitters if role.get(e) in RFI_ROLES)
    on_only = [e for e in rfi_emitters if role[e] == "rfi_on_only"]
    kept = [e for e in eti if not rfi_marked[e]]
    marked = [e for e in rfi_emitters if rfi_marked[e]]
    events = []  # (the emitter most of its rows show, every row judged RFI)
    for _, rows in frame.groupby("event"):
        shown = collections.Counter(rows["emitter"].dropna())
        events.append((shown.most_common(1)[0][0] if shown else None, all(rows["verdict"].isin(RFI_VERDICTS))))
    eti_events = [is_rfi for e, is_rfi in events if role.get(e) == ETI]
    rfi_events = [is_rfi for e, is_rfi in events if role.get(e) in RFI_ROLES]

    def pct(a: int, b: int) -> float | None:
        return round(100 * a / b, 1) if b else None

    return {
        "rows": len(frame), "events": len(events), "rows_unmatched": int(frame["emitter"].isna().sum()),
        "verdicts": frame["verdict"].value_counts().to_dict(),
        "eti": len(eti), "eti_kept": len(kept), "eti_kept_pct": pct(len(kept), len(eti)),
        "rfi_emitters": len(rfi_emitters), "rfi_marked": len(marked), "rfi_marked_pct": pct(len(marked), len(rfi_emitters)),
        "on_only_rfi": len(on_only), "on_only_rfi_marked": sum(e in marked for e in on_only),
        "eti_events": len(eti_events), "eti_events_kept": eti_events.count(False),
        "rfi_events": len(rfi_events), "rfi_events_marked": rfi_events.count(True),
        "rfi_events_marked_pct": pct(rfi_events.count(True), len(rfi_events)),
        "eti_marked_rfi": {e: _why(frame, e) for e in eti if e not in kept},
        "rfi_left": {e: _why(frame, e) for e in rfi_emitters if e not in marked},
    }


def _why(frame: pd.DataFrame, emitter: str) -> list[str]:
    rows = frame[frame["emitter"] == emitter]
    return [f"{r.file} {r.verdict} (snr {r.snr_measured}, {r.snippet_source}): {str(r.explanation)[:160]}"
            for r in rows.itertuples()]


def turboseti_levels(found: dict[int, set[str]], role: dict[str, str]) -> dict:
    """What turboSETI's levels keep, over the emitters among level 2's events."""
    eti2 = {e for e in found.get(2, set()) if role.get(e) == ETI}
    rfi2 = {e for e in found.get(2, set()) if role.get(e) in RFI_ROLES}
    out = {}
    for level in LEVELS:
        here = found.get(level, set())
        out[f"level_{level}"] = {
            "eti_reported": sum(role.get(e) == ETI for e in here),
            "rfi_emitters_reported": sum(role.get(e) in RFI_ROLES for e in here),
            "of_level2_eti_kept": len(eti2 & here), "of_level2_eti": len(eti2),
            "of_level2_rfi_marked": len(rfi2 - here), "of_level2_rfi": len(rfi2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None, help="where the set is (or is written); default: a temp dir")
    parser.add_argument("--work", type=Path, default=None, help="keep turboSETI's tables here (reused when present)")
    parser.add_argument("--seed", type=int, default=DEVELOPMENT_SEED,
                        help="the set's seed (default: the development seed); a hold-out is measured once")
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, truth = evalset_data(args.data, args.seed, tmp)
        rows = pd.DataFrame(truth["rows"])
        role = {e["emitter_id"]: e["role"] for e in truth["emitters"]}
        truth_by_file = dict(tuple(rows.groupby("file")))
        cadence_files = [data / f for f in truth["cadence"]["files"]]
        work = args.work or tmp / "turboseti"
        work.mkdir(parents=True, exist_ok=True)
        csvs, n_hits, turboseti_s = turboseti_events(cadence_files, work)
        out: dict = {"seed": truth["seed"], "turboseti_s": turboseti_s, "turboseti_hits": n_hits,
                     "event_csvs": {level: str(p) for level, p in csvs.items()}}
        with db.scratch_database(server, "bench_vet_quality") as url:
            engine = db.make_engine(url)
            out.update(build_catalogue(engine, data, truth))
            frames = {level: vetted_rows(engine, csv, cadence_files, truth_by_file) for level, csv in csvs.items()}
            engine.dispose()
        for level, frame in frames.items():  # kept beside turboSETI's tables, for a look at each row
            frame.to_csv(work / f"vetted_level{level}.csv", index=False)
        found = {level: set(f["emitter"].dropna()) for level, f in frames.items()}
        eti2 = {e for e in found.get(2, set()) if role.get(e) == ETI}
        out["turboseti"] = turboseti_levels(found, role)
        out["vet"] = {f"level_{level}": {"vet_s": frame.attrs["seconds"], **score(frame, role)}
                      for level, frame in frames.items()}
        if 1 in frames:
            out["vet"]["level_1_over_level2_eti"] = score(frames[1], role, eti2)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
