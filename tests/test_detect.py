"""Energy detection on real synthetic filterbank files with injected signals."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import ndimage, stats

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


@pytest.mark.parametrize("drift", [1.0, -5.0])
def test_drift_sign_follows_frequency_for_ascending_files(tmp_path, drift):
    """foff > 0 (frequency rises with channel) must give the same drift sign as GBT's foff < 0,
    for drifters cut as observed and dedrifted alike."""
    spec = synth.ObservationSpec(n_coarse_channels=1, foff_hz=2.7939677238464355, fch1_mhz=1500.0, seed=2)
    signal = synth.Signal(f_start_mhz=float(spec.frequency_mhz(20000)), drift_hz_s=drift, snr=60)
    path = tmp_path / "ascending.h5"
    synth.write_observation(path, spec, [signal])
    hits, _ = run(path)
    assert len(hits) == 1
    assert hits[0].drift_rate_hz_s == pytest.approx(drift, abs=0.1)
    assert hits[0].dedrift_hz_s == (pytest.approx(drift, abs=0.1) if abs(drift) > 2.5 else 0.0)


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


# --- fast drifters -------------------------------------------------------------------------------

FAST_DRIFTS = (3.0, -3.0, 5.0, -5.0, 9.0, -9.0)


@pytest.fixture(scope="module")
def fast_drifters(tmp_path_factory):
    """One coarse channel with six Doppler-smeared fast drifters at SNR 40 (both signs)."""
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=21)
    channels = [7000 + 9000 * i for i in range(len(FAST_DRIFTS))]
    signals = [synth.Signal(f_start_mhz=float(spec.frequency_mhz(c)) - d * spec.obs_length_s / 2 * 1e-6,
                            drift_hz_s=d, snr=40, width_hz=30)
               for c, d in zip(channels, FAST_DRIFTS)]
    path = tmp_path_factory.mktemp("fast") / "fast.h5"
    truth = synth.write_observation(path, spec, signals)
    hits, snippets = run(path)
    return {"path": path, "truth": truth, "hits": hits, "snippets": snippets}


@pytest.mark.parametrize("index", range(len(FAST_DRIFTS)), ids=[f"{d:+g}Hz/s" for d in FAST_DRIFTS])
def test_a_fast_drifter_is_found_once_with_its_drift(fast_drifters, index):
    """Beyond a window's reach (~2.4 Hz/s): one hit, centred on the track at mid-scan, its drift
    within 10 %, and the snippet dedrifted by that drift."""
    row = fast_drifters["truth"][index]
    near = [h for h in fast_drifters["hits"] if abs((h.chan_start + h.chan_stop) / 2 - row["channel"]) < 1200]
    assert len(near) == 1, near
    hit = near[0]
    assert hit.chan_start <= row["channel"] < hit.chan_stop
    assert abs((hit.chan_start + hit.chan_stop) / 2 - row["channel"]) < 16
    assert hit.drift_rate_hz_s == pytest.approx(row["drift_hz_s"], rel=0.10)
    assert hit.dedrift_hz_s == hit.drift_rate_hz_s
    # per channel, smearing spreads each bin's power over |drift| * 18 s instead of the signal's width
    smear_hz = abs(row["drift_hz_s"]) * synth.GBT_TSAMP_S
    assert 0.5 < hit.snr / (40 * min(1.0, 1.064 * 30 / smear_hz)) < 1.1
    assert hit.width_hz == pytest.approx(smear_hz, rel=0.25)


def test_every_fast_drifter_and_nothing_else(fast_drifters):
    assert len(fast_drifters["hits"]) == len(FAST_DRIFTS)


@pytest.mark.parametrize("index", range(len(FAST_DRIFTS)), ids=[f"{d:+g}Hz/s" for d in FAST_DRIFTS])
def test_a_fast_drifters_snippet_stands_still_in_the_middle(fast_drifters, index):
    """The snippet is the paper's 16 x 256, every bin shifted back along the drift: the track
    stays on the centre columns in every time bin."""
    row = fast_drifters["truth"][index]
    hits = fast_drifters["hits"]
    i = min(range(len(hits)), key=lambda k: abs((hits[k].chan_start + hits[k].chan_stop) / 2 - row["channel"]))
    snippet = fast_drifters["snippets"][i] - 1.0
    assert snippet.shape == (16, 256)
    smear = abs(row["drift_hz_s"]) * synth.GBT_TSAMP_S / abs(synth.GBT_FOFF_HZ)
    box = np.ones(int(smear) + 1)
    assert abs(np.convolve(snippet.mean(axis=0), box, mode="same").argmax() - 128) <= 8
    per_bin = np.array([np.convolve(r, box, mode="same").argmax() for r in snippet])
    assert np.median(np.abs(per_bin - 128)) < smear / 4 + 8


def test_without_the_fast_pass_a_fast_drifter_is_not_measured(fast_drifters):
    """The fast pass is what finds them: with it off, the windows see pieces of the tracks."""
    hits, _ = run(fast_drifters["path"], max_drift_hz_s=0)
    assert all(h.dedrift_hz_s == 0 for h in hits)
    truth = fast_drifters["truth"]
    right = [row for row in truth
             if any(h.chan_start <= row["channel"] < h.chan_stop
                    and h.drift_rate_hz_s == pytest.approx(row["drift_hz_s"], rel=0.10) for h in hits)]
    assert len(right) < len(truth) / 2


@pytest.mark.parametrize("n_integrations", [32, 64])
def test_fast_drift_follows_the_bin_times(tmp_path, n_integrations):
    """A 5 Hz/s signal in a 5-minute scan of 32 or 64 integrations (bins of 2 or 4): the drift
    is fitted against the bins' times."""
    spec = synth.ObservationSpec(n_coarse_channels=1, n_integrations=n_integrations,
                                 tsamp_s=SCAN_S / n_integrations, seed=8)
    f_mid = float(spec.frequency_mhz(30_000))
    signal = synth.Signal(f_start_mhz=f_mid - 5.0 * SCAN_S / 2 * 1e-6, drift_hz_s=5.0, snr=40, width_hz=30)
    path = tmp_path / f"fast{n_integrations}.h5"
    synth.write_observation(path, spec, [signal])
    hits, _ = run(path)
    assert len(hits) == 1
    assert hits[0].drift_rate_hz_s == pytest.approx(5.0, rel=0.05)
    assert hits[0].chan_start <= 30_000 < hits[0].chan_stop


def test_bright_slow_and_wide_signals_make_no_fast_tracks(tmp_path):
    """The edges a bright, wide, slowly drifting signal leaves, a bright carrier, a broadband
    pulse: none of them is a fast track."""
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=9)
    signals = [synth.Signal(f_start_mhz=float(spec.frequency_mhz(c)), drift_hz_s=d, snr=snr, width_hz=w, **kw)
               for c, d, snr, w, kw in [
                   (8000, 0.0, 800, 5, {}),
                   (20000, 1.8, 300, 400, {}),
                   (32000, -0.6, 300, 800, {}),
                   (44000, 0.0, 100, 3000, {"t_profile": "pulsed", "period_s": 90.0}),
                   (56000, -2.0, 200, 60, {"f_profile": "sinc2"}),
               ]]
    path = tmp_path / "bright.h5"
    synth.write_observation(path, spec, signals)
    hits, _ = run(path)
    assert [h for h in hits if h.dedrift_hz_s] == []


# --- slow drifters (issue 15) ---------------------------------------------------------------------

GBT_DF_HZ = 2.7939677238464355
SLOW_DRIFTS = (0.3, -0.3, 0.8, -0.8)
SLOW_CHANNELS = (9000, 23000, 37000, 51000)  # mid-scan channels (counted from fch1, the highest)


@pytest.fixture(scope="module")
def slow_drifters(tmp_path_factory):
    """A 2^16-channel GBT high-resolution scan written by setigen (its GBT noise statistics, its
    writer), with four narrowband (2.5 Hz), Doppler-smeared carriers at SNR 40 drifting 0.3 and
    0.8 Hz/s either way: 31 and 84 channels over the scan, smeared over 2 and 5 channels in
    each integration."""
    import setigen as stg
    from astropy import units as u

    fch1_mhz, dt = 2251.46484375, synth.GBT_TSAMP_S
    frame = stg.Frame(fchans=2**16, tchans=16, df=GBT_DF_HZ * u.Hz, dt=dt * u.s, fch1=fch1_mhz * u.MHz,
                      ascending=False, seed=1520, mjd=60412.25, source_name="SLOW_TGT")
    frame.add_noise_from_obs()
    mid_s = 8 * dt  # the mean of the bin centres
    for channel, drift in zip(SLOW_CHANNELS, SLOW_DRIFTS):
        f_mid_hz = fch1_mhz * 1e6 - channel * GBT_DF_HZ
        frame.add_signal(lambda t, f=f_mid_hz, d=drift: f + d * (t - mid_s), frame.get_intensity(snr=40),
                         stg.gaussian_f_profile(width=2.5 * u.Hz), stg.constant_bp_profile(level=1),
                         bounding_f_range=(f_mid_hz - 200 * GBT_DF_HZ, f_mid_hz + 200 * GBT_DF_HZ),
                         doppler_smearing=True)
    path = tmp_path_factory.mktemp("slow") / "slow.h5"
    frame.save_h5(str(path))
    hits, snippets = run(path)
    return {"hits": hits, "snippets": snippets}


@pytest.mark.parametrize("index", range(len(SLOW_DRIFTS)), ids=[f"{d:+g}Hz/s" for d in SLOW_DRIFTS])
def test_a_smeared_narrowband_drifter_is_found_centred_with_its_drift(slow_drifters, index):
    """Detected once, the snippet centred within a few channels of the track's mid-scan channel
    (the whole track in the window, cut as observed), the drift within one channel over the scan."""
    channel, drift = SLOW_CHANNELS[index], SLOW_DRIFTS[index]
    near = [h for h in slow_drifters["hits"] if abs(h.chan_start + 128 - channel) < 1024]
    assert len(near) == 1, near
    hit = near[0]
    assert abs(hit.chan_start + 128 - channel) <= 3
    assert hit.dedrift_hz_s == 0.0
    one_channel_over_the_scan = GBT_DF_HZ / (16 * synth.GBT_TSAMP_S)
    assert abs(hit.drift_rate_hz_s - drift) <= one_channel_over_the_scan


def test_slow_drifters_and_nothing_else(slow_drifters):
    assert len(slow_drifters["hits"]) == len(SLOW_DRIFTS)


def test_a_faint_slow_drifter_below_a_channel_per_bin_is_found(tmp_path):
    """The tenth hold-out's eti_04: a 2 Hz line at SNR 25 drifting -0.054 Hz/s (5.6 channels over
    the scan, a third of a channel per integration) has a window K^2 below the threshold, and the
    slow pass began at one channel per bin; it now begins at a quarter (detect.SLOW_MIN_SMEAR, on
    the block decimated by 2), so the line is found once, with its drift. A stationary carrier
    beside it stays one K^2 hit, not a track."""
    import setigen as stg
    from astropy import units as u

    fch1_mhz, dt = 2251.46484375, synth.GBT_TSAMP_S
    frame = stg.Frame(fchans=2**16, tchans=16, df=GBT_DF_HZ * u.Hz, dt=dt * u.s, fch1=fch1_mhz * u.MHz,
                      ascending=False, seed=2360, mjd=60412.25, source_name="FAINT_TGT")
    frame.add_noise_from_obs()
    mid_s = 8 * dt
    signals = {20000: (-0.054, 25, 2.0), 45000: (0.0, 40, 8.0)}  # channel: drift Hz/s, SNR, width Hz
    for channel, (drift, snr, width) in signals.items():
        f_mid_hz = fch1_mhz * 1e6 - channel * GBT_DF_HZ
        frame.add_signal(lambda t, f=f_mid_hz, d=drift: f + d * (t - mid_s), frame.get_intensity(snr=snr),
                         stg.gaussian_f_profile(width=width * u.Hz), stg.constant_bp_profile(level=1),
                         bounding_f_range=(f_mid_hz - 200 * GBT_DF_HZ, f_mid_hz + 200 * GBT_DF_HZ),
                         doppler_smearing=True)
    path = tmp_path / "faint_slow.h5"
    frame.save_h5(str(path))
    hits, _ = run(path)
    faint = [h for h in hits if abs(h.chan_start + 128 - 20000) < 1024]
    carrier = [h for h in hits if abs(h.chan_start + 128 - 45000) < 1024]
    assert len(faint) == 1 and len(carrier) == 1 and len(hits) == 2, hits
    assert faint[0].statistic < detect.DEFAULT_THRESHOLD  # the K^2 windows alone miss it
    one_channel_over_the_scan = GBT_DF_HZ / (16 * synth.GBT_TSAMP_S)
    assert abs(faint[0].drift_rate_hz_s - -0.054) <= 2 * one_channel_over_the_scan, faint[0]
    assert np.isfinite(faint[0].track_drift_error_hz_s)  # a slow track's snippet
    assert not np.isfinite(carrier[0].track_drift_error_hz_s) and abs(carrier[0].drift_rate_hz_s) < 0.01


def _line_windows(rng: np.random.Generator, n: int, drift_channels: float, on_bins=slice(None), width: int = 1,
                  level: float = 3.0) -> np.ndarray:
    """(n, 16, 256) unit noise with a line of ``width`` channels drifting ``drift_channels`` over the
    16 bins, ``level`` sigma per pixel, present in ``on_bins``."""
    x = rng.normal(size=(n, 16, 256)).astype(np.float32)
    centre = 128 + drift_channels * (np.arange(16) - 7.5) / 16
    on = np.zeros(16, dtype=bool)
    on[on_bins] = True
    for t in np.flatnonzero(on):
        lo = int(round(centre[t])) - width // 2
        x[:, t, lo:lo + width] += level
    return x


def test_a_noise_spike_does_not_make_a_clean_lines_drift_unknown():
    """A spike that out-peaks a narrow line in one bin, far from it, leaves its drift and drift error
    as the line says (measures.bin_peaks gives the bin's peak back to the line); a burst on in 4 of
    16 bins, a 100-channel box and a curving path keep the poorly known drift they have."""
    from rficat.science import measures

    rng = np.random.default_rng(8)
    channel_hz, bin_s = 2.7939677238464355, 18.253611008
    times = np.arange(16) * bin_s
    one_channel = channel_hz / (16 * bin_s)  # Hz/s: one channel over the scan
    line = _line_windows(rng, 20, drift_channels=5.0, width=3, level=5.0)
    line[:, 7, 200] += 40.0  # the spike
    line[:, 11, 20] += 40.0
    error = measures.drift_error_hz_s(line, channel_hz, bin_s)
    slope = detect.drift_slopes(line, times) * 16 * bin_s  # channels over the scan
    assert np.median(error) < 1.5 * one_channel and error.max() < 3 * one_channel, error / one_channel
    assert np.median(np.abs(slope - 5.0)) < 1.0, slope
    burst_windows = _line_windows(rng, 20, 5.0, on_bins=slice(6, 10), level=6.0)
    burst = measures.drift_error_hz_s(burst_windows, channel_hz, bin_s)
    peaks, _ = measures.bin_peaks(burst_windows, times)  # no line most bins agree on: every bin keeps its peak
    own = [ndimage.uniform_filter1d(burst_windows, size, axis=2, mode="nearest").argmax(axis=2)
           for size in measures.SMOOTH_CHANNELS]  # each window's peaks at one of the smoothings
    assert all(any((p == o[i]).all() for o in own) for i, p in enumerate(peaks))
    box = measures.drift_error_hz_s(_line_windows(rng, 20, 0.0, width=100, level=3.0), channel_hz, bin_s)
    assert np.median(burst) > 5 * one_channel and np.median(box) > 5 * one_channel, (burst, box)
    curve = rng.normal(size=(20, 16, 256)).astype(np.float32)  # a chirp: 12 channels off a line at its ends
    for t, c in enumerate(np.rint(128 + 12 * ((np.arange(16) - 7.5) / 7.5) ** 2).astype(int)):
        curve[:, t, c - 1:c + 2] += 5.0
    assert np.median(measures.drift_error_hz_s(curve, channel_hz, bin_s)) > 2.5 * one_channel


def test_a_one_channel_line_keeps_its_drift_where_smoothing_would_hide_it():
    """A line one channel wide at 4.5 sigma per pixel, drifting 8 channels over the scan: a 5-channel
    running mean lets noise out-peak it in about half the bins (the eighth hold-out's eti_11, SNR 35,
    measured -0.25 +- 0.2 Hz/s instead of -0.08); its peaks unsmoothed lie on the line, and the
    few stray peaks far off it weigh nothing."""
    from rficat.science import measures

    rng = np.random.default_rng(11)
    channel_hz, bin_s = 2.7939677238464355, 18.253611008
    times = np.arange(16) * bin_s
    one_channel = channel_hz / (16 * bin_s)
    lines = _line_windows(rng, 40, drift_channels=8.0, width=1, level=4.5)
    slope = detect.drift_slopes(lines, times) * 16 * bin_s  # channels over the scan
    error = measures.drift_error_hz_s(lines, channel_hz, bin_s)
    assert np.quantile(np.abs(slope - 8.0), 0.9) < 1.0, slope
    assert np.quantile(error, 0.9) < 2 * one_channel, error / one_channel


def test_a_wandering_carriers_drift_error_covers_the_next_scans_slope():
    """A carrier whose frequency random-walks (a few channels over the scan) has a local slope in
    each scan that the next scan does not share; residuals that run together widen its drift error
    (measures.path_factor), so two scans' slopes agree within the tolerance about twice as often as
    from independent residuals, while a straight line's error stays under one channel over the scan."""
    from rficat.science import measures

    rng = np.random.default_rng(12)
    channel_hz, bin_s = 2.7939677238464355, 18.253611008
    times = np.arange(16) * bin_s
    one_channel = channel_hz / (16 * bin_s)
    walks = rng.normal(size=(200, 16, 256)).astype(np.float32)
    path = np.cumsum(rng.normal(0, 1.5, size=(200, 16)), axis=1)
    path = np.rint(128 + path - path.mean(axis=1, keepdims=True)).astype(int)
    for i, t in np.ndindex(path.shape):
        walks[i, t, path[i, t] - 1:path[i, t] + 2] += 5.0
    slope = detect.drift_slopes(walks, times) * channel_hz
    error = measures.drift_error_hz_s(walks, channel_hz, bin_s)
    agree = np.abs(slope[::2] - slope[1::2]) <= 2 * np.maximum(error[::2], error[1::2])
    assert agree.mean() >= 0.4, agree.mean()  # 0.26 from independent residuals
    lines = _line_windows(rng, 200, drift_channels=5.0, width=3, level=5.0)
    line_error = measures.drift_error_hz_s(lines, channel_hz, bin_s)
    assert np.median(line_error) < one_channel, np.median(line_error) / one_channel
    repeated = np.repeat(lines[:, ::2], 2, axis=1)  # a file of 8 integrations: each bin twice
    error_8 = measures.drift_error_hz_s(repeated, channel_hz, bin_s)
    assert np.median(error_8) < 1.5 * one_channel, np.median(error_8) / one_channel


def test_a_wandering_track_is_not_given_a_lines_drift_error():
    """A dedoppler track's drift error is one channel over the scan however tidy its bins; a
    carrier that random-walks has a slope in this scan the next will not share, so its error
    grows with how much its halves' slopes differ (measures.wander), enough that two scans' slopes
    agree within two errors most of the time. A straight line keeps the track's error, and so does
    a drifting line that crosses a stationary carrier: its halves disagree because of the other
    signal, and its drift must not be made vague (a technosignature crossing RFI)."""
    from rficat.science import measures

    rng = np.random.default_rng(13)
    channel_hz, bin_s = 2.7939677238464355, 18.253611008
    one_channel = channel_hz / (16 * bin_s)
    known = np.full(200, one_channel)
    walks = rng.normal(size=(200, 16, 256)).astype(np.float32)
    path = np.cumsum(rng.normal(0, 1.5, size=(200, 16)), axis=1)
    path = np.rint(128 + path - path.mean(axis=1, keepdims=True)).astype(int)
    for i, t in np.ndindex(path.shape):
        walks[i, t, path[i, t] - 1:path[i, t] + 2] += 5.0
    slope = detect.drift_slopes(walks, np.arange(16) * bin_s) * channel_hz
    error = measures.drift_error_hz_s(walks, channel_hz, bin_s, known=known)
    assert np.mean(error > 1.5 * one_channel) >= 0.35  # the others' halves agree within their noise
    agree = np.abs(slope[::2] - slope[1::2]) <= 2 * np.hypot(error[::2], error[1::2])
    assert agree.mean() >= 0.6, agree.mean()  # 0.70 here
    assert (np.abs(slope[::2] - slope[1::2]) <= 2 * np.hypot(known[::2], known[1::2])).mean() < 0.35  # 0.24

    lines = _line_windows(rng, 200, drift_channels=30.0, width=3, level=5.0)
    line_error = measures.drift_error_hz_s(lines, channel_hz, bin_s, known=known)
    assert np.median(line_error) < 1.1 * one_channel, np.median(line_error) / one_channel
    crossing = lines.copy()
    crossing[:, 10:, 60:63] += 8.0  # a brighter carrier, on late in the scan, that the peaks jump to
    crossing_error = measures.drift_error_hz_s(crossing, channel_hz, bin_s, known=known)
    assert np.percentile(crossing_error, 95) < 1.1 * one_channel, np.percentile(crossing_error, 95) / one_channel


# --- intermittent signals (issue 16: bursts turboSETI finds at SNR 10, measured at 3) -------------

BURST_BINS = (1, 2, 7, 12, 13)  # the carrier is on in 5 of the 16 integrations
BURST_SNR = 60.0  # setigen's SNR of a constant signal over the scan: ~19 for 5 bins of 16
BURST_CHANNELS = (12000, 30000, 48000)


@pytest.fixture(scope="module")
def bursts(tmp_path_factory):
    """A 2^16-channel GBT scan written by setigen (its GBT noise statistics, its writer) with three
    stationary 3-Hz carriers on in 5 of the 16 integrations: the drift measured on their few bins
    rests on noise."""
    import setigen as stg
    from astropy import units as u

    fch1_mhz, dt = 2251.46484375, synth.GBT_TSAMP_S
    frame = stg.Frame(fchans=2**16, tchans=16, df=GBT_DF_HZ * u.Hz, dt=dt * u.s, fch1=fch1_mhz * u.MHz,
                      ascending=False, seed=77, mjd=60412.25, source_name="BURST_TGT")
    frame.add_noise_from_obs()
    on = np.zeros(16)
    on[list(BURST_BINS)] = 1.0
    for channel in BURST_CHANNELS:
        f_hz = fch1_mhz * 1e6 - channel * GBT_DF_HZ
        frame.add_signal(stg.constant_path(f_start=f_hz * u.Hz, drift_rate=0 * u.Hz / u.s),
                         on * frame.get_intensity(snr=BURST_SNR), stg.gaussian_f_profile(width=3 * u.Hz),
                         stg.constant_bp_profile(level=1),
                         bounding_f_range=(f_hz - 100 * GBT_DF_HZ, f_hz + 100 * GBT_DF_HZ))
    path = tmp_path_factory.mktemp("bursts") / "bursts.h5"
    frame.save_h5(str(path))
    return run(path)[0]


def test_an_intermittent_carrier_keeps_its_snr_whatever_drift_its_few_bins_suggest(bursts):
    """Each carrier is found, and its SNR is that of its time-collapsed line (setigen's SNR x the
    duty cycle, ~19), not of a profile smeared along a drift fitted to noise; its drift is within
    one channel over the scan of none."""
    expected = BURST_SNR * len(BURST_BINS) / 16
    one_channel_hz_s = GBT_DF_HZ / (16 * synth.GBT_TSAMP_S)
    for channel in BURST_CHANNELS:
        found = [h for h in bursts if h.chan_start <= channel < h.chan_stop]
        assert found, f"no hit at channel {channel}"
        best = max(found, key=lambda h: h.snr)
        assert best.snr > 0.6 * expected
        assert abs(best.drift_rate_hz_s) <= one_channel_hz_s


def test_a_slope_is_dropped_only_where_the_line_is_clearly_sharper_without_it():
    """A drifting line is sharpest along its slope; a still line at no drift, whatever slope its
    bins suggested, when the difference is clear against the noise."""
    times = np.arange(16) * 18.0
    drifting = np.zeros((16, 256))
    still = np.zeros((16, 256))
    for i, t in enumerate(times):
        drifting[i, int(round(100 + 0.2 * (t - times.mean())))] = 1.0
        still[i, 128] = 1.0
    windows = np.stack([drifting, still])
    along = detect.dedrifted_profiles(windows, np.array([0.2, 0.2]), times)
    noise_std = 0.05  # the still line is higher without dedrifting by ~19 of these; the drifting one lower
    assert detect.sharper_without_drift(windows, along, noise_std).tolist() == [False, True]
    assert detect.sharper_without_drift(windows[1:], along[1:], 1.0).tolist() == [False]
