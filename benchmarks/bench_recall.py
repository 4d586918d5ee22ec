"""Detection quality: recall by SNR and false windows on pure noise, for several thresholds.

Signals as the paper's test set (drift -2..2 Hz/s, width 20-70 Hz, gaussian profile) at fixed
SNRs, injected into GBT-like observations (4 coarse channels x 2^16 channels x 16
integrations, chi-squared noise, PFB bandpass, DC spikes). A signal counts as found when a
hit's 256-channel snippet contains its mid-observation channel.

Signals are Doppler-smeared within each integration (synth), and detection runs as rficat does
(K^2 windows and the fast-drift pass; ``--max-drift 0`` for the windows alone).

    python benchmarks/bench_recall.py [--files N] [--max-drift HZ_S]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from rficat.io import FilterbankReader
from rficat.science import detect
from rficat.synthetic import synth

THRESHOLDS = (64, 128, 256, 512, 1024, 2048)
SNRS = (5, 10, 20, 50)


def statistics_of(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per coarse channel: cleaned block, window K^2, finite mask (computed once, thresholded later)."""
    out = []
    with FilterbankReader(path) as reader:
        for block in reader.coarse_channels():
            x = detect.clean_block(block.data)
            k2, finite = detect.window_statistics(x)
            out.append((x, k2, finite))
    return out


def found_signals(path: Path, truth: list[dict], threshold: float, max_drift_hz_s: float) -> tuple[int, int]:
    """Signals found, and hits that were cut dedrifted (fast drifters: none expected here)."""
    hits = [h for _, _, r in detect.detect_file(path, threshold=threshold, max_drift_hz_s=max_drift_hz_s)
            for h in r.hits]
    found = sum(any(h.chan_start <= row["channel"] < h.chan_stop for h in hits) for row in truth)
    return found, sum(h.dedrift_hz_s != 0 for h in hits)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5, help="observations per SNR (40 signals each)")
    parser.add_argument("--noise-files", type=int, default=25, help="pure-noise observations")
    parser.add_argument("--max-drift", type=float, default=detect.DEFAULT_MAX_DRIFT_HZ_S,
                        help="reach of the fast-drift pass, Hz/s (0: K^2 windows only)")
    args = parser.parse_args()
    recall = {t: {} for t in THRESHOLDS}
    dedrifted = {t: 0 for t in THRESHOLDS}
    false_windows = {t: 0 for t in THRESHOLDS}
    n_noise_windows = 0
    with tempfile.TemporaryDirectory() as tmp:
        for snr in SNRS:
            found = {t: 0 for t in THRESHOLDS}
            total = 0
            for i in range(args.files):
                spec = synth.ObservationSpec(seed=1000 * snr + i)
                signals = synth.random_signals(spec, 40, np.random.default_rng(spec.seed), snr=(snr, snr))
                path = Path(tmp) / f"snr{snr}_{i}.h5"
                truth = synth.write_observation(path, spec, signals)
                total += len(truth)
                for t in THRESHOLDS:
                    n_found, n_dedrifted = found_signals(path, truth, t, args.max_drift)
                    found[t] += n_found
                    dedrifted[t] += n_dedrifted
            for t in THRESHOLDS:
                recall[t][snr] = found[t] / total
        for i in range(args.noise_files):
            spec = synth.ObservationSpec(seed=7_000_000 + i)
            path = Path(tmp) / f"noise{i}.h5"
            synth.write_observation(path, spec, [])
            for _, k2, finite in statistics_of(path):
                n_noise_windows += int(finite.sum())
                for t in THRESHOLDS:
                    false_windows[t] += int((finite & (k2 > t)).sum())
    rows = [{"threshold": t, **{f"recall_snr{s}": round(recall[t][s], 3) for s in SNRS},
             "false_windows": false_windows[t], "noise_windows": n_noise_windows,
             "false_per_1e4": round(false_windows[t] / n_noise_windows * 1e4, 2),
             "dedrifted_hits": dedrifted[t]} for t in THRESHOLDS]
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
