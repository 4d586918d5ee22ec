"""Energy detection (Ma et al. 2023, sec. 2.2; FX196/SETI-Energy-Detection), vectorised.

Per coarse channel (a (16, W) block of one file):

0. Mask bad samples: non-finite samples (NaN, inf) are left out of everything below, and a
   whole time bin or channel is masked when more than half of it is bad. The file's bad samples
   are counted (``DetectionResult.n_bad_samples``, from the reader); a window is skipped only
   when less than half of it is usable, and masked samples inside a cut snippet are set to the
   cleaned mean.
1. Repair the DC spike at the coarse channel's centre (the paper's rule: replace the two
   centre channels with means of their neighbours).
2. Collapse time and fit the bandpass: a least-squares cubic spline with 16 pieces, fitted to
   the medians of 256 channel groups (medians ignore narrowband signals; the paper fitted all
   2^20 points, which costs seconds per coarse channel for the same curve). Sixteen pieces
   follow the PFB roll-off of coarse channels of 2^16 channels or more; in narrower coarse
   channels the steep edges are not followed and the outermost windows may be reported as
   hits. A file narrower than one coarse channel (a cut-out: no roll-off, and pieces a few
   dozen channels wide would follow a drifting signal itself) gets proportionally fewer
   pieces, down to one cubic (``bandpass_pieces``).
3. Remove it by **division**: ``x = block / bandpass - 1``. Radiometer noise scales with the
   bandpass, so dividing leaves unit-mean, equal-variance noise across the coarse channel,
   which makes SNRs comparable and snippets look alike whatever their position on the
   roll-off. (The normality statistic itself is invariant to a per-window offset and scale,
   so subtraction and division give nearly the same windows.)
4. Windows of 256 channels, stride 128 (half overlap, as the paper's code), over all 16
   integrations. Each window's D'Agostino-Pearson K^2 statistic is computed from power sums
   of 128-channel blocks: a window is two adjacent blocks, so every sample is raised to a
   power once instead of twice, and no window is ever copied. The K^2 formula is scipy's
   ``normaltest`` (checked against it in the tests).
5. Windows with K^2 above the threshold are hits; runs of adjacent hit windows belong to one
   signal and become one snippet centred on the signal's peak (long runs, e.g. broadband RFI,
   are split into pieces of at most ``MAX_HIT_SPAN`` channels).
6. The inverse selection: windows with K^2 below ``noise_max_statistic`` are noise windows,
   drawn at random, non-overlapping, as training data.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import interpolate, ndimage, stats

from rficat.errors import RficatError
from rficat.io import Block, FilterbankHeader

log = logging.getLogger(__name__)

WINDOW = 256
STRIDE = 128
MAX_HIT_SPAN = 1024
BANDPASS_PIECES = 16
BANDPASS_GROUP = 256

DEFAULT_THRESHOLD = 512.0
"""K^2 above which a window holds a signal. See benchmarks/RESULTS.md for the measurement."""

MIN_USABLE_FRACTION = 0.5
"""A window (or a time bin / channel of a block) with less than this fraction of finite samples
is masked whole."""

BAD_WARNING_FRACTION = 0.02
"""More than this fraction of a file's samples masked is worth a warning."""

DEFAULT_NOISE_MAX_STATISTIC = 64.0
"""K^2 below which a window counts as noise for training. Chi-squared radiometer noise is
slightly skewed, so even pure noise sits well above the Gaussian K^2 ~ 2 with 4096 samples."""


@dataclass
class Hit:
    """One detected signal (or noise) window. Channel indices are file channel indices."""

    coarse_channel: int
    chan_start: int
    chan_stop: int
    f_start_mhz: float
    f_stop_mhz: float
    f_center_mhz: float
    statistic: float
    snr: float
    drift_rate_hz_s: float
    width_hz: float  # half-power width of the dedrifted, time-collapsed signal
    is_signal: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DetectionResult:
    """Hits of one block with the cleaned spectrogram they were cut from."""

    hits: list[Hit]
    snippets: np.ndarray  # (n, 16, 256) float32: data / bandpass (unit mean), not yet normalised
    n_windows: int = 0
    n_nonfinite_windows: int = 0  # windows skipped: less than MIN_USABLE_FRACTION of them finite
    n_bad_samples: int = 0  # samples of the file (before time binning) that are NaN or infinite
    n_samples: int = 0  # samples of the file in this block


@dataclass
class DetectionStats:
    n_coarse_channels: int = 0
    n_windows: int = 0
    n_nonfinite_windows: int = 0
    n_bad_samples: int = 0
    n_samples: int = 0
    n_hits: int = 0
    n_noise: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def add(self, result: DetectionResult, n_noise: int) -> None:
        self.n_coarse_channels += 1
        self.n_windows += result.n_windows
        self.n_nonfinite_windows += result.n_nonfinite_windows
        self.n_bad_samples += result.n_bad_samples
        self.n_samples += result.n_samples
        self.n_hits += len(result.hits) - n_noise
        self.n_noise += n_noise

    @property
    def bad_fraction(self) -> float:
        return self.n_bad_samples / self.n_samples if self.n_samples else 0.0

    def check_usable(self, path) -> None:
        """Refuse a file with nothing usable; warn when more than a few percent of it is bad."""
        if self.n_windows and self.n_nonfinite_windows >= self.n_windows:
            raise RficatError(f"{path}: no usable data: {self.bad_fraction:.1%} of its samples are NaN or "
                              f"infinite, and none of its {self.n_windows} windows has enough finite samples")
        if self.bad_fraction > BAD_WARNING_FRACTION:
            log.warning("%s: %.1f%% of the samples are NaN or infinite (masked; %d of %d windows skipped)",
                        path, 100 * self.bad_fraction, self.n_nonfinite_windows, self.n_windows)


# --- bandpass --------------------------------------------------------------------------------

def repair_dc_spike(block: np.ndarray) -> None:
    """Replace the two centre channels of a coarse channel in place (FFT DC bin)."""
    dc = block.shape[1] // 2
    block[:, dc] = (block[:, dc + 1] + block[:, dc - 3]) / 2
    block[:, dc - 1] = (block[:, dc + 2] + block[:, dc - 2]) / 2


def fit_bandpass(spectrum: np.ndarray, pieces: int = BANDPASS_PIECES, group: int = BANDPASS_GROUP) -> np.ndarray:
    """Smooth bandpass of a time-collapsed coarse channel: a cubic spline through group medians."""
    n = spectrum.size
    group = max(1, min(group, n // (4 * pieces)))
    n_groups = n // group
    with warnings.catch_warnings():  # groups of masked (all-NaN) channels have no median: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(spectrum[: n_groups * group].reshape(n_groups, group), axis=1)
    x = (np.arange(n_groups) + 0.5) * group - 0.5
    good = np.isfinite(medians)
    if good.sum() < 8:
        return np.full(n, np.nanmedian(spectrum) if np.isfinite(spectrum).any() else 1.0)
    x, medians = x[good], medians[good]
    knots = np.linspace(x[0], x[-1], pieces + 1)[1:-1]
    try:
        spline = interpolate.LSQUnivariateSpline(x, medians, knots, k=3)
        fit = spline(np.arange(n))
    except ValueError:  # too few points between knots (heavily flagged data)
        fit = np.interp(np.arange(n), x, medians)
    floor = np.nanmax(np.abs(medians)) * 1e-6 or 1e-30
    return np.where(np.abs(fit) < floor, floor, fit).astype(np.float32)


def mask_bad_samples(block: np.ndarray) -> int:
    """Set non-finite samples of a (time, channel) block to NaN in place, and whole time bins or
    channels of which more than half is bad; returns how many samples are masked (NaN)."""
    bad = ~np.isfinite(block)
    if not bad.any():
        return 0
    bad[bad.mean(axis=1) > 1 - MIN_USABLE_FRACTION, :] = True
    bad[:, bad.mean(axis=0) > 1 - MIN_USABLE_FRACTION] = True
    block[bad] = np.nan
    return int(np.count_nonzero(bad))


def bandpass_pieces(header: FilterbankHeader) -> int:
    """Spline pieces for the bandpass of a file's blocks: 16 across a whole coarse channel,
    proportionally fewer (at least one) for a cut-out narrower than one."""
    return int(np.clip(round(BANDPASS_PIECES * header.coarse_channel_fraction), 1, BANDPASS_PIECES))


def clean_block(block: np.ndarray, pieces: int = BANDPASS_PIECES) -> np.ndarray:
    """Bandpass-divided block, centred on zero: ``block / bandpass - 1`` (modifies ``block``).

    ``pieces``: of the bandpass spline (:func:`bandpass_pieces`). Non-finite samples come out
    NaN (see :func:`mask_bad_samples`), left out of the bandpass."""
    repair_dc_spike(block)
    spectrum = block.mean(axis=0)
    if not np.isfinite(spectrum).all():
        mask_bad_samples(block)
        with warnings.catch_warnings():  # all-NaN channels are expected here; they stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            spectrum = np.nanmean(block, axis=0)
    bandpass = fit_bandpass(spectrum, pieces)
    block /= bandpass
    block -= 1.0
    return block


# --- the normality statistic -------------------------------------------------------------------

def _k2_from_moments(n: float, m2: np.ndarray, m3: np.ndarray, m4: np.ndarray) -> np.ndarray:
    """D'Agostino-Pearson K^2 from central moments (the formulas of scipy.stats.normaltest)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = m3 / m2**1.5
        y = skew * np.sqrt(((n + 1) * (n + 3)) / (6.0 * (n - 2)))
        beta2 = 3.0 * (n**2 + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
        w2 = -1 + np.sqrt(2 * (beta2 - 1))
        delta = 1 / np.sqrt(0.5 * np.log(w2))
        alpha = np.sqrt(2.0 / (w2 - 1))
        y = np.where(y == 0, 1.0, y)
        z_skew = delta * np.log(y / alpha + np.sqrt((y / alpha) ** 2 + 1))

        b2 = m4 / m2**2
        mean_b2 = 3.0 * (n - 1) / (n + 1)
        var_b2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) * (n + 1.0) * (n + 3) * (n + 5))
        x = (b2 - mean_b2) / np.sqrt(var_b2)
        sqrt_beta1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * np.sqrt(
            (6.0 * (n + 3) * (n + 5)) / (n * (n - 2) * (n - 3)))
        a = 6.0 + 8.0 / sqrt_beta1 * (2.0 / sqrt_beta1 + np.sqrt(1 + 4.0 / sqrt_beta1**2))
        term1 = 1 - 2 / (9.0 * a)
        denom = 1 + x * np.sqrt(2 / (a - 4.0))
        term2 = np.sign(denom) * np.where(denom == 0.0, np.nan, ((1 - 2.0 / a) / np.abs(denom)) ** (1 / 3))
        z_kurt = (term1 - term2) / np.sqrt(2 / (9.0 * a))
    return z_skew**2 + z_kurt**2


def window_statistics(x: np.ndarray, window: int = WINDOW, stride: int = STRIDE) -> tuple[np.ndarray, np.ndarray]:
    """K^2 of every (time x window) window at the given stride, and which windows are usable.

    ``x`` is a cleaned (T, N) block. Window ``i`` covers channels ``[i*stride, i*stride+window)``.
    Non-finite (masked) samples are left out: each window's moments are those of its finite
    samples, and a window with less than ``MIN_USABLE_FRACTION`` of them is not usable (NaN).
    """
    if window % stride:
        raise ValueError("window must be a multiple of stride")
    per = window // stride
    t, n = x.shape
    n_blocks = n // stride
    blocks = x[:, : n_blocks * stride].reshape(t, n_blocks, stride)
    kernel = np.ones(per)
    full = float(t * window)
    valid = np.isfinite(blocks)
    if valid.all():
        count = full
    else:
        count = np.convolve(valid.sum(axis=(0, 2), dtype=np.float64), kernel, mode="valid")
        blocks = np.where(valid, blocks, 0.0).astype(np.float32)
    x1 = blocks
    x2 = x1 * x1
    sums = [
        x1.sum(axis=(0, 2), dtype=np.float64),
        x2.sum(axis=(0, 2), dtype=np.float64),
        (x2 * x1).sum(axis=(0, 2), dtype=np.float64),
        (x2 * x2).sum(axis=(0, 2), dtype=np.float64),
    ]
    s1, s2, s3, s4 = (np.convolve(s, kernel, mode="valid") for s in sums)
    finite = np.broadcast_to(np.asarray(count) >= MIN_USABLE_FRACTION * full, s1.shape)
    n_used = np.maximum(count, 8.0)  # the K^2 formulas need n > 3; unusable windows are dropped below
    mean = s1 / n_used
    e2, e3, e4 = s2 / n_used, s3 / n_used, s4 / n_used
    m2 = e2 - mean**2
    m3 = e3 - 3 * mean * e2 + 2 * mean**3
    m4 = e4 - 4 * mean * e3 + 6 * mean**2 * e2 - 3 * mean**4
    k2 = _k2_from_moments(n_used, m2, m3, m4)
    k2 = np.where(finite & np.isfinite(k2), k2, np.where(finite, np.inf, np.nan))
    return k2, finite


# --- hits --------------------------------------------------------------------------------------

def _runs(indices: np.ndarray, max_windows: int) -> list[tuple[int, int]]:
    """Group sorted window indices into runs of adjacent windows, each at most max_windows long."""
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1) + 1
    runs = []
    for run in np.split(indices, breaks):
        for start in range(0, run.size, max_windows):
            piece = run[start:start + max_windows]
            runs.append((int(piece[0]), int(piece[-1])))
    return runs


def _centre_windows(collapsed: np.ndarray, runs: list[tuple[int, int]], n: int, noise_std: float) -> np.ndarray:
    """Start channel of a 256-channel window centred on each run's signal.

    The centre is the centroid of the time-collapsed power above 3 sigma, so a drifting
    signal (a plateau after collapsing) is centred on the middle of its track, not on
    whichever end happens to peak.
    """
    starts = np.empty(len(runs), dtype=np.int64)
    for i, (first, last) in enumerate(runs):
        lo, hi = first * STRIDE, last * STRIDE + WINDOW
        excess = np.clip(collapsed[lo:hi] - 3 * noise_std, 0, None)
        if excess.sum() > 0:
            centre = lo + int(round(float(np.dot(excess, np.arange(hi - lo)) / excess.sum())))
        else:
            centre = lo + int(np.argmax(collapsed[lo:hi]))
        starts[i] = min(max(centre - WINDOW // 2, 0), n - WINDOW)
    return starts


def _drop_overlapping(starts: np.ndarray) -> np.ndarray:
    """Keep one of any two centred windows that overlap by more than half (one signal, one snippet)."""
    if starts.size < 2:
        return starts
    starts = np.sort(starts)
    keep = [starts[0]]
    for start in starts[1:]:
        if start - keep[-1] >= STRIDE:
            keep.append(start)
    return np.asarray(keep, dtype=np.int64)


def cut_windows(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(k, T, 256) windows of a (T, N) block starting at the given channels (one gather)."""
    columns = starts[:, None] + np.arange(WINDOW)[None, :]
    return np.ascontiguousarray(np.moveaxis(x[:, columns], 1, 0))


def drift_slopes(windows: np.ndarray, bin_times_s: np.ndarray) -> np.ndarray:
    """Drift in channels per second: a weighted line through each time bin's peak, against the
    bins' real centre times (a bin of a 32-integration file spans two integrations)."""
    smooth = ndimage.uniform_filter1d(windows, size=5, axis=2, mode="nearest")
    peaks = smooth.argmax(axis=2).astype(np.float64)  # (k, t)
    weights = np.clip(smooth.max(axis=2), 1e-12, None)
    times = np.asarray(bin_times_s, dtype=np.float64)
    wsum = weights.sum(axis=1)
    t_mean = (weights * times).sum(axis=1) / wsum
    p_mean = (weights * peaks).sum(axis=1) / wsum
    cov = (weights * (times - t_mean[:, None]) * (peaks - p_mean[:, None])).sum(axis=1)
    var = (weights * (times - t_mean[:, None]) ** 2).sum(axis=1)
    return np.where(var > 0, cov / var, 0.0)


def dedrifted_profiles(windows: np.ndarray, slopes: np.ndarray, bin_times_s: np.ndarray) -> np.ndarray:
    """(k, 256) time-collapsed windows after shifting each time bin back along the drift
    (``slopes`` in channels per second).

    Their peak over the noise of a time-collapsed channel is the SNR (setigen's convention);
    their half-power width is the signal's bandwidth, which drift would otherwise smear.
    """
    k, t, w = windows.shape
    times = np.asarray(bin_times_s, dtype=np.float64)
    shifts = np.rint(slopes[:, None] * (times - times.mean())[None, :]).astype(np.int64)  # (k, t)
    columns = np.clip(np.arange(w)[None, None, :] + shifts[:, :, None], 0, w - 1)
    return np.take_along_axis(windows, columns, axis=2).mean(axis=1)


def half_power_width(profiles: np.ndarray) -> np.ndarray:
    """Channels in the contiguous run around each profile's peak at or above half of it (FWHM)."""
    k, w = profiles.shape
    peak = profiles.argmax(axis=1)
    below = profiles < profiles[np.arange(k), peak][:, None] / 2
    channel = np.arange(w)[None, :]
    left = np.where(below & (channel < peak[:, None]), channel, -1).max(axis=1)
    right = np.where(below & (channel > peak[:, None]), channel, w).min(axis=1)
    return (right - left - 1).astype(np.float64)


def detect_block(
    x: np.ndarray,
    header: FilterbankHeader,
    coarse_channel: int,
    bin_times_s: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    n_noise: int = 0,
    noise_max_statistic: float = DEFAULT_NOISE_MAX_STATISTIC,
    rng: np.random.Generator | None = None,
) -> DetectionResult:
    """Hits (and optionally noise windows) of one cleaned coarse-channel block whose time bins
    are centred at ``bin_times_s`` (from the reader's :class:`~rficat.io.Block`)."""
    t, n = x.shape
    k2, finite = window_statistics(x)
    if np.isnan(x.sum()):  # masked samples at the cleaned mean (0), for cutting snippets
        x[np.isnan(x)] = 0.0
    signal_windows = np.flatnonzero(finite & (k2 > threshold))
    runs = _runs(signal_windows, MAX_HIT_SPAN // STRIDE - 1)
    collapsed = np.where(np.isfinite(x), x, 0.0).mean(axis=0)
    noise_std = float(np.median(np.abs(collapsed - np.median(collapsed)))) * 1.4826 or 1e-12
    starts = _drop_overlapping(_centre_windows(collapsed, runs, n, noise_std))
    is_signal = np.ones(len(starts), dtype=bool)

    if n_noise:
        rng = rng or np.random.default_rng(coarse_channel)
        quiet = finite & (k2 < noise_max_statistic)
        quiet[1::WINDOW // STRIDE] = False  # even windows only: chosen ones never overlap
        # keep clear of signals: a noise window may not touch a hit window
        near_signal = np.zeros_like(quiet)
        for offset in range(-2, 3):  # and 128 channels clear of any hit window
            near_signal[np.clip(signal_windows + offset, 0, quiet.size - 1)] = True
        candidates = np.flatnonzero(quiet & ~near_signal)
        chosen = np.sort(rng.choice(candidates, size=min(n_noise, candidates.size), replace=False))
        starts = np.concatenate([starts, chosen * STRIDE])
        is_signal = np.concatenate([is_signal, np.zeros(chosen.size, dtype=bool)])

    if starts.size == 0:
        return DetectionResult([], np.empty((0, t, WINDOW), np.float32), k2.size, int((~finite).sum()))

    windows = cut_windows(x, starts)
    statistic = stats.normaltest(windows.reshape(len(starts), -1), axis=1).statistic
    slopes = drift_slopes(windows, bin_times_s)
    profiles = dedrifted_profiles(windows, slopes, bin_times_s)
    snr = profiles.max(axis=1) / noise_std
    width = half_power_width(profiles) * abs(header.foff_mhz) * 1e6
    # foff is signed (negative in GBT files), so this is the drift in frequency, not channel, order
    drift = slopes * header.foff_mhz * 1e6
    offset = coarse_channel * header.coarse_channel_width
    chan_start = starts + offset
    f_start = header.frequency_mhz(chan_start)
    f_stop = header.frequency_mhz(chan_start + WINDOW - 1)
    f_center = header.frequency_mhz(chan_start + (WINDOW - 1) / 2)
    hits = [
        Hit(coarse_channel, int(c), int(c) + WINDOW, float(a), float(b), float(m), float(s),
            float(r), float(d), float(wd), bool(sig))
        for c, a, b, m, s, r, d, wd, sig in zip(chan_start, f_start, f_stop, f_center, statistic, snr, drift, width,
                                                is_signal)
    ]
    windows += 1.0  # back to data / bandpass: positive, as snippet normalisation needs
    return DetectionResult(hits, windows, k2.size, int((~finite).sum()))


def detect_blocks(
    blocks: Iterable[Block],
    header: FilterbankHeader,
    threshold: float = DEFAULT_THRESHOLD,
    n_noise_per_channel: int = 0,
    seed: int = 0,
) -> Iterable[tuple[int, DetectionResult]]:
    """Clean and detect each coarse-channel block in turn."""
    pieces = bandpass_pieces(header)
    for block in blocks:
        x = clean_block(block.data, pieces)
        rng = np.random.default_rng([seed, block.coarse_channel])
        result = detect_block(x, header, block.coarse_channel, block.bin_times_s, threshold,
                              n_noise_per_channel, rng=rng)
        result.n_bad_samples = block.n_bad_samples
        result.n_samples = header.n_integrations * block.data.shape[1]
        yield block.coarse_channel, result


def detect_file(
    path,
    threshold: float = DEFAULT_THRESHOLD,
    n_noise_per_channel: int = 0,
    coarse_channel_width: int | None = None,
    progress=None,
    seed: int = 0,
) -> Iterable[tuple[FilterbankHeader, int, DetectionResult]]:
    """Stream a file through detection, one coarse channel at a time.

    ``progress``, if given, is called with the number of bytes of spectrogram just processed.
    """
    from rficat.io import FilterbankReader

    with FilterbankReader(path, coarse_channel_width) as reader:
        header = reader.header
        block_bytes = header.n_integrations * header.coarse_channel_width * 4
        for index, result in detect_blocks(reader.coarse_channels(), header, threshold,
                                           n_noise_per_channel, seed):
            if progress is not None:
                progress(block_bytes)
            yield header, index, result
