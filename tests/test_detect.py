"""Energy detection on real synthetic filterbank files with injected signals."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from rficat.io import FilterbankReader
from rficat.science import detect
from rficat.synthetic import synth


def run(path, **kwargs):
    hits, windows = [], []
    for _, _, result in detect.detect_file(path, **kwargs):
        hits += result.hits
        windows.append(result.snippets)
    return hits, np.concatenate(windows) if windows else np.empty((0, 16, 256))


def test_window_statistic_is_scipys_normaltest():
    rng = np.random.default_rng(0)
    x = rng.chisquare(100, size=(16, 4096)).astype(np.float32) / 100 - 1
    x[:, 1000:1010] += 0.5  # a signal, so large statistics are compared too
    k2, finite = detect.window_statistics(x)
    starts = np.arange(0, 4096 - 255, 128)
    windows = np.stack([x[:, s:s + 256].ravel() for s in starts]).astype(np.float64)
    expected = stats.normaltest(windows, axis=1).statistic
    assert finite.all() and k2.shape == expected.shape
    assert_allclose(k2, expected, rtol=1e-4)


def test_recall_and_frequency_of_injected_signals(observation):
    hits, _ = run(observation["h5"])
    truth = observation["truth"]
    spec = observation["spec"]
    matched = 0
    for row in truth:
        near = [h for h in hits if h.chan_start <= row["channel"] < h.chan_stop]
        if near:
            matched += 1
            hit = near[0]
            # the snippet is centred on the signal: within a quarter window of its mid-time channel
            centre = (hit.chan_start + hit.chan_stop) / 2
            assert abs(centre - row["channel"]) < 64 + abs(row["drift_hz_s"]) * spec.obs_length_s / 2 / 2.79
            assert abs(hit.drift_rate_hz_s - row["drift_hz_s"]) < 0.15
            assert hit.snr > 5
    assert matched / len(truth) >= 0.98
    # one signal, one snippet: no extra hits
    assert len(hits) == len(truth)


def test_fil_and_h5_give_identical_hits(observation):
    h5_hits, h5_snippets = run(observation["h5"])
    fil_hits, fil_snippets = run(observation["fil"], coarse_channel_width=observation["spec"].coarse_channel_width)
    assert [h.to_dict() for h in h5_hits] == [h.to_dict() for h in fil_hits]
    assert np.array_equal(h5_snippets, fil_snippets)


def test_pure_noise_gives_no_hits(tmp_path):
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=11)  # bandpass roll-off and DC spikes on
    path = tmp_path / "noise.h5"
    synth.write_observation(path, spec, [])
    hits, _ = run(path)
    assert hits == []


def test_division_flattens_the_bandpass(tmp_path):
    """After division the noise has unit mean and the same spread on the roll-off as mid-band."""
    path = tmp_path / "noise.h5"
    synth.write_observation(path, synth.ObservationSpec(n_coarse_channels=1, seed=4), [])
    with FilterbankReader(path) as reader:
        block = next(reader.coarse_channels())
    x = detect.clean_block(block.data)
    width = x.shape[1]
    centre = x[:, width // 4: width // 4 + 4096].std()
    shoulder = x[:, int(0.03 * width): int(0.03 * width) + 1024].std()  # on the roll-off
    assert abs(x.mean()) < 0.01
    assert shoulder == pytest.approx(centre, rel=0.1)


def test_noise_windows_are_noise_and_clear_of_signals(observation):
    hits, snippets = run(observation["h5"], n_noise_per_channel=20)
    noise = [h for h in hits if not h.is_signal]
    signal = [h for h in hits if h.is_signal]
    assert len(noise) == 4 * 20
    assert all(h.statistic < detect.DEFAULT_NOISE_MAX_STATISTIC * 2 for h in noise)
    starts = sorted(h.chan_start for h in noise)
    assert all(b - a >= 256 for a, b in zip(starts, starts[1:])), "noise windows overlap"
    for n in noise:
        assert all(n.chan_stop <= s.chan_start - 128 or n.chan_start >= s.chan_stop + 128 for s in signal)
    assert snippets.shape == (len(hits), 16, 256)


def test_dc_spike_is_repaired():
    block = np.ones((16, 1024), dtype=np.float32)
    block[:, 511:513] = 50
    detect.repair_dc_spike(block)
    assert_allclose(block, 1.0)


def test_drift_sign_follows_frequency_for_ascending_files(tmp_path):
    """foff > 0 (frequency rises with channel) must give the same drift sign as GBT's foff < 0."""
    spec = synth.ObservationSpec(n_coarse_channels=1, foff_hz=2.7939677238464355, fch1_mhz=1500.0, seed=2)
    signal = synth.Signal(f_start_mhz=float(spec.frequency_mhz(20000)), drift_hz_s=1.0, snr=60)
    path = tmp_path / "ascending.h5"
    synth.write_observation(path, spec, [signal])
    hits, _ = run(path)
    assert len(hits) == 1
    assert hits[0].drift_rate_hz_s == pytest.approx(1.0, abs=0.1)


def test_width_is_the_signals_half_power_bandwidth(tmp_path):
    """Gaussian carriers of known FWHM, stationary and drifting: width_hz recovers it within a channel or 20 %."""
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=3)
    widths = [8.0, 30.0, 120.0, 400.0]
    signals = [synth.Signal(f_start_mhz=float(spec.frequency_mhz(8000 + 12000 * i)), drift_hz_s=drift, snr=80,
                            width_hz=w)
               for i, (w, drift) in enumerate(zip(widths, (0.0, 1.2, 0.0, -0.8)))]
    path = tmp_path / "widths.h5"
    synth.write_observation(path, spec, signals)
    hits, _ = run(path)
    assert len(hits) == len(widths)
    measured = sorted(h.width_hz for h in hits)
    for got, want in zip(measured, widths):
        assert abs(got - want) <= max(0.2 * want, abs(spec.foff_hz)), (measured, widths)


SCAN_S = 16 * synth.GBT_TSAMP_S  # a 5-minute scan, whatever its integration count


def _one_drifting_signal(tmp_path, n_integrations: int) -> list:
    """A 0.5 Hz/s signal (52 channels over the scan) in a 5-minute scan of n integrations."""
    spec = synth.ObservationSpec(n_coarse_channels=1, n_integrations=n_integrations,
                                 tsamp_s=SCAN_S / n_integrations, bandpass=False, seed=7)
    f_mid = float(spec.frequency_mhz(20_000.5))
    signal = synth.Signal(f_start_mhz=f_mid - 0.5 * SCAN_S / 2 * 1e-6, drift_hz_s=0.5, snr=40, width_hz=30)
    path = tmp_path / f"n{n_integrations}.h5"
    synth.write_observation(path, spec, [signal])
    hits, _ = run(path)
    return [h for h in hits if h.chan_start <= 20_000 < h.chan_stop]


@pytest.mark.parametrize("n_integrations", [8, 16, 20, 31, 32, 64, 279])
def test_drift_snr_and_width_do_not_depend_on_the_integration_count(tmp_path, n_integrations):
    """The reader's bins carry their own times: drift is right for any integration count, and
    every integration is used (SNR and width as with 16)."""
    reference = _one_drifting_signal(tmp_path, 16)
    hits = _one_drifting_signal(tmp_path, n_integrations)
    assert len(reference) == 1 and len(hits) == 1
    assert hits[0].drift_rate_hz_s == pytest.approx(0.5, rel=0.10)
    assert hits[0].snr == pytest.approx(reference[0].snr, rel=0.15)
    assert hits[0].width_hz == pytest.approx(reference[0].width_hz, rel=0.15, abs=2.8)
