"""Cadence search quality: rficat's ON/OFF events against turboSETI's on the same cadences.

Each synthetic ABACAD cadence (rficat.synthetic.synth, setigen) carries
- 20 stationary narrowband RFI carriers and 6 intermittent, slowly drifting RFI carriers in
  every scan (the catalogue's common morphologies);
- 3 ON-only RFI: intermittent, slowly drifting carriers switched on during the ON scans only
  (a common morphology that happens to follow the cadence);
- 3 ETI-like signals: narrowband, drifting 0.3-1.5 Hz/s either way, only in the ON scans and
  continuing their drift from scan to scan, as a distant transmitter would.

rficat: every file ingested (direct, no Prefect), cadence recorded, `rfi build`, then
`rficat_cadence_events` three ways: the ON/OFF test alone, + the verdict on lookalike evidence,
+ RFI classes (the default); events judged likely/known RFI are not counted as kept.
turboSETI (turbo-seti, `pip install -e .[bench]`): FindDoppler (max drift 4 Hz/s, SNR 10) on
every file, then `find_event_pipeline` at filter levels 2 and 3.

Reported for each: ETI-like signals recovered, RFI events (events that are not an injected
ETI-like signal), and the share of detected signals removed as RFI.

    python benchmarks/bench_cadence.py [--cadences 4]
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
from dataclasses import replace
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _turboseti import find_events

from rficat.catalogue import cadence, ingest, rfi
from rficat.config import load_settings
from rficat.store import db
from rficat.synthetic import synth

MATCH_MHZ = 0.003


def make_cadence(directory: Path, index: int) -> tuple[list[Path], list[float], list[float]]:
    """Six scans; returns their paths, the ETI-like and the ON-only-RFI frequencies (first ON scan)."""
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=1000 + index)
    rng = np.random.default_rng(index)
    base = synth.random_signals(spec, 32, rng, drift=(-0.05, 0.05), min_separation=3000)
    assert len(base) == 32, "not enough room for the signals"
    half = spec.obs_length_s / 2 * 1e-6

    def with_drift(signal, drift, **fields):
        f_mid = signal.f_start_mhz + signal.drift_hz_s * half
        return replace(signal, f_start_mhz=f_mid - drift * half, drift_hz_s=drift, **fields)

    slow = [with_drift(s, rng.choice([-1, 1]) * rng.uniform(0.1, 0.25), t_profile="intermittent", period_s=120)
            for s in base[20:29]]
    rfi = base[:20] + slow[:6]
    on_only_rfi = slow[6:]
    eti = [with_drift(s, rng.choice([-1, 1]) * rng.uniform(0.3, 1.5), label="eti") for s in base[29:32]]
    paths = []
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        scan_spec = replace(spec, source_name=f"TARGET_{index}" if on else f"OFF_{index}_{letter}",
                            mjd_start=spec.mjd_start + index + position * spec.obs_length_s / 86400,
                            seed=spec.seed * 10 + position)
        elapsed = position * spec.obs_length_s
        signals = list(rfi)
        if on:
            signals += on_only_rfi
            signals += [replace(s, f_start_mhz=s.f_start_mhz + s.drift_hz_s * elapsed * 1e-6) for s in eti]
        path = directory / f"c{index}_scan{position}_{letter}.h5"
        synth.write_observation(path, scan_spec, signals)
        paths.append(path)
    mid = lambda s: s.f_start_mhz + s.drift_hz_s * half
    return paths, [mid(s) for s in eti], [mid(s) for s in on_only_rfi]


def score(event_freqs: list[float], eti: list[float], n_signals: int) -> dict:
    found = sum(any(abs(f - e) < MATCH_MHZ for f in event_freqs) for e in eti)
    rfi_events = sum(not any(abs(f - e) < MATCH_MHZ for e in eti) for f in event_freqs)
    return {"eti_recovered": found, "eti_injected": len(eti), "rfi_events": rfi_events,
            "signals_detected": n_signals, "rfi_removed": round(1 - rfi_events / max(n_signals, 1), 4)}


def run_rficat(cadences: list, server: str) -> tuple[dict, dict, float]:
    with db.scratch_database(server, "bench_cadence") as url:
        engine = db.make_engine(url)
        t = time.perf_counter()
        for i, (paths, _, _) in enumerate(cadences):
            for path in paths:
                ingest.ingest_file(engine, path)
            cadence.add_cadence(engine, f"c{i}", paths)
        db.index_pending(engine)
        rfi.build(engine)
        ingest_s = time.perf_counter() - t
        t = time.perf_counter()
        out = {}
        with engine.connect() as conn:
            n_signals = conn.execute(sa.text("SELECT count(*) FROM snippets WHERE is_signal")).scalar()
        for name, options in (("on_off_only", {"use_verdicts": False}), ("lookalike_evidence", {"use_classes": False}),
                              ("classes", {})):
            kept, eti, on_only = [], [], {"reported": 0, "marked_rfi": 0}
            for i, (_, eti_f, on_rfi_f) in enumerate(cadences):
                found = cadence.search(engine, f"c{i}", **options)
                kept += list(found.loc[~found["likely_rfi"], "f_center_mhz"])
                eti += eti_f
                for f, rfi_flag in zip(found["f_center_mhz"], found["likely_rfi"]):
                    if any(abs(f - r) < MATCH_MHZ for r in on_rfi_f):
                        on_only["reported"] += 1
                        on_only["marked_rfi"] += int(rfi_flag)
            out[name] = {**score(kept, eti, n_signals), "on_only_rfi": on_only}
        search_s = time.perf_counter() - t
        engine.dispose()
        return out, {"ingest_and_build_s": round(ingest_s, 1), "search_s": round(search_s, 2)}, n_signals


def run_turboseti(cadences: list, workdir: Path) -> tuple[dict, float]:
    t = time.perf_counter()
    out = {2: [], 3: []}
    eti, n_hits = [], 0
    for i, (paths, eti_f, _) in enumerate(cadences):
        events, hits = find_events(paths, workdir / f"dat{i}", levels=(2, 3), n_coarse_chan=4)
        n_hits += hits
        for level, freqs in events.items():
            out[level] += freqs
        eti += eti_f
    seconds = time.perf_counter() - t
    return {f"filter_level_{k}": score(v, eti, n_hits) for k, v in out.items()}, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cadences", type=int, default=4)
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cadences = [make_cadence(tmp, i) for i in range(args.cadences)]
        print(f"{args.cadences} cadences written", file=sys.stderr)
        ours, our_times, _ = run_rficat(cadences, server)
        print(json.dumps(ours), file=sys.stderr)
        theirs, their_s = run_turboseti(cadences, tmp)
    print(json.dumps({"cadences": args.cadences, "rficat": ours, "rficat_seconds": our_times,
                      "turboseti": theirs, "turboseti_seconds": round(their_s, 1)}, indent=2))


if __name__ == "__main__":
    main()
