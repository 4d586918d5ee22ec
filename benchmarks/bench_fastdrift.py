"""Fast drifters: recall and drift accuracy at |drift| 2.5-10 Hz/s, by drift and SNR; false tracks on noise.

Signals as the paper's test set (gaussian profile, width 20-70 Hz, random positions) but drifting
2.5-10 Hz/s (either sign), Doppler-smeared over each integration as real ones are (setigen's
``doppler_smearing``, through ``rficat.synthetic.synth``), in GBT-like observations (4 coarse
channels x 2^16 channels x 16 integrations of 18.25 s, chi-squared noise, PFB bandpass, DC
spikes). A signal is found when a hit's snippet contains its mid-observation channel, and
found right when that hit's drift is within 10 % of the truth. Each file is detected twice:
as rficat does (K^2 windows + the slow- and fast-drift passes) and with both passes off
(``max_drift_hz_s=0, slow_threshold=0``: the paper's windows alone). Pure-noise observations (bench_recall's
seeds) count false fast tracks.

    python benchmarks/bench_fastdrift.py [--files N] [--noise-files N]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rficat.science import detect
from rficat.synthetic import synth

SNRS = (10, 20, 30, 50)
DRIFT_BINS = ((2.5, 4.0), (4.0, 6.0), (6.0, 8.0), (8.0, 10.0))
SIGNALS_PER_FILE = 24


def fast_signals(spec: synth.ObservationSpec, snr: float, rng: np.random.Generator) -> list[synth.Signal]:
    """Signals at random positions, |drift| uniform in 2.5-10 Hz/s, random sign, centred mid-scan."""
    slots = synth.random_signals(spec, SIGNALS_PER_FILE, rng, snr=(snr, snr), drift=(2.5, 10.0),
                                 min_separation=3000)
    signals = []
    for slot in slots:
        drift = slot.drift_hz_s * rng.choice((-1.0, 1.0))
        f_mid = slot.f_start_mhz + slot.drift_hz_s * spec.obs_length_s / 2 * 1e-6
        signals.append(replace(slot, drift_hz_s=drift, f_start_mhz=f_mid - drift * spec.obs_length_s / 2 * 1e-6))
    return signals


def score(hits: list[detect.Hit], truth: list[dict]) -> list[dict]:
    """Per true signal: found, drift within 10 %, the hit's drift and SNR, and hits within 1024 channels."""
    rows = []
    for row in truth:
        inside = [h for h in hits if h.chan_start <= row["channel"] < h.chan_stop]
        near = [h for h in hits if abs((h.chan_start + h.chan_stop) / 2 - row["channel"]) < 1024]
        best = min(inside, key=lambda h: abs(h.drift_rate_hz_s - row["drift_hz_s"]), default=None)
        error = None if best is None else abs(best.drift_rate_hz_s / row["drift_hz_s"] - 1)
        rows.append({"drift": row["drift_hz_s"], "snr": row["snr"], "found": best is not None,
                     "right": error is not None and error <= 0.10, "error": error,
                     "measured_snr": None if best is None else best.snr,
                     "dedrifted": best is not None and best.dedrift_hz_s != 0, "n_near": len(near)})
    return rows


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    errors = [r["error"] for r in rows if r["right"]]
    snrs = [r["measured_snr"] for r in rows if r["right"]]
    return {"n": n, "recall": round(sum(r["found"] for r in rows) / n, 3),
            "recall_drift_within_10pct": round(sum(r["right"] for r in rows) / n, 3),
            "median_drift_error_pct": round(100 * float(np.median(errors)), 2) if errors else None,
            "p95_drift_error_pct": round(100 * float(np.percentile(errors, 95)), 2) if errors else None,
            "median_measured_snr": round(float(np.median(snrs)), 1) if snrs else None,
            "extra_hits_per_signal": round(sum(max(r["n_near"] - 1, 0) for r in rows) / n, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10, help=f"observations per SNR ({SIGNALS_PER_FILE} signals each)")
    parser.add_argument("--noise-files", type=int, default=25, help="pure-noise observations")
    args = parser.parse_args()
    results: dict[str, dict[int, list[dict]]] = {"rficat": {}, "windows_only": {}}
    seconds = {"rficat": 0.0, "windows_only": 0.0}
    megabytes = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for snr in SNRS:
            for key in results:
                results[key][snr] = []
            for i in range(args.files):
                spec = synth.ObservationSpec(seed=5_000_000 + 1000 * snr + i)
                path = Path(tmp) / f"snr{snr}_{i}.h5"
                truth = synth.write_observation(path, spec, fast_signals(spec, snr, np.random.default_rng(spec.seed)))
                megabytes += spec.n_channels * spec.n_integrations * 4 / 1e6
                for key, max_drift in (("rficat", detect.DEFAULT_MAX_DRIFT_HZ_S), ("windows_only", 0.0)):
                    t = time.perf_counter()
                    slow = detect.DEFAULT_SLOW_THRESHOLD if max_drift else 0.0
                    hits = [h for _, _, r in detect.detect_file(path, max_drift_hz_s=max_drift, slow_threshold=slow)
                            for h in r.hits]
                    seconds[key] += time.perf_counter() - t
                    results[key][snr] += score(hits, truth)
        false_tracks, noise_hits, noise_channels = 0, 0, 0
        for i in range(args.noise_files):
            spec = synth.ObservationSpec(seed=7_000_000 + i)
            path = Path(tmp) / f"noise{i}.h5"
            synth.write_observation(path, spec, [])
            hits = [h for _, _, r in detect.detect_file(path) for h in r.hits]
            false_tracks += sum(h.dedrift_hz_s != 0 for h in hits)
            noise_hits += len(hits)
            noise_channels += spec.n_channels
    table = []
    for key, by_snr in results.items():
        for snr, rows in by_snr.items():
            table.append({"detector": key, "snr": snr, "drift_bin": "all", **summarise(rows)})
            for lo, hi in DRIFT_BINS:
                part = [r for r in rows if lo <= abs(r["drift"]) < hi or (hi == 10.0 and abs(r["drift"]) == hi)]
                table.append({"detector": key, "snr": snr, "drift_bin": f"{lo}-{hi}", **summarise(part)})
            for sign, name in ((1, "positive"), (-1, "negative")):
                part = [r for r in rows if np.sign(r["drift"]) == sign]
                table.append({"detector": key, "snr": snr, "drift_bin": name, **summarise(part)})
    print(json.dumps({
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "detect_mb_per_s": {k: round(megabytes / v, 1) for k, v in seconds.items()},
        "noise": {"files": args.noise_files, "channels": noise_channels, "false_fast_tracks": false_tracks,
                  "hits": noise_hits},
        "table": table}, indent=1))


if __name__ == "__main__":
    main()
