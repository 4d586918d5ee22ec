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

Drifting signals the windows miss or cut off their middle come from two dedoppler passes over
frequency-decimated copies of the block (see "fast drifters" and "slow drifters" below): their
snippets are centred on the track at the mean bin time and carry the track's drift.
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
from rficat.science import measures

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

NO_DRIFT_MARGIN = 3.0
"""How much higher, in noise of one channel of the collapsed spectrum, a snippet's line must peak
without dedrifting than along the slope measured on its bins for that slope to be taken as noise
(its drift then 0; :func:`sharper_without_drift`)."""

TRACK_DRIFT_SNR = 15.0
"""Standard error of a dedoppler track's drift, in channels over the scan: TRACK_DRIFT_SNR / SNR (at
least one channel) combined with half the track's smear (|drift| x time bin, in channels: the box a
refined rate is scored with, which moves only when the track's ends move by about that much).
Refined rates of the independent evaluation set's ETI-like tracks lie within one channel over the
scan of the truth at high SNR and low drift, 2.4-3.5 channels at SNR 6-10 or 0.8 Hz/s; the drift
measured on the snippet's own bins is 10-50 times worse for a faint track."""


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
    dedrift_hz_s: float = 0.0  # drift removed from the snippet's bins (fast drifters); 0: as observed
    # cut on a dedoppler track: its drift is known to the search's resolution (see TRACK_DRIFT_SNR),
    # however noisy its bins are one by one (NaN: measured on the snippet's bins alone)
    track_drift_error_hz_s: float = float("nan")

    def to_dict(self) -> dict:
        return {k: None if isinstance(v, float) and v != v else v for k, v in asdict(self).items()}


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
    """Drift in channels per second: a line through each time bin's peak, weighted by its level
    (:func:`~rficat.science.measures.fit_line`; the cleaned windows' noise is centred on zero),
    against the bins' real centre times (a bin of a 32-integration file spans two integrations)."""
    return measures.fit_line(windows, bin_times_s, over_median=False)[0]


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


def sharper_without_drift(windows: np.ndarray, along: np.ndarray, noise_std: float) -> np.ndarray:
    """Whether each window's line peaks clearly higher (by :data:`NO_DRIFT_MARGIN` noise of a
    collapsed channel) collapsed as observed than in ``along``, its profile dedrifted along its
    slope (:func:`dedrifted_profiles`).

    A slope fitted to the few bins a burst or pulsed carrier is on, or to a comb whose brightest
    tone changes from bin to bin, can be noise; dedrifting along it smears the line over tens of
    channels (bursts turboSETI finds at SNR 10-11 measured at 3, below the verdicts' floor). As in
    a dedoppler search, the clearly better hypothesis is the drift; a slope that moves a wide line
    by a channel or two peaks about as high as none, and is kept.
    """
    return windows.mean(axis=1).max(axis=1) - along.max(axis=1) > NO_DRIFT_MARGIN * noise_std


def collapsed_noise_std(collapsed: np.ndarray) -> float:
    """The noise of one channel of a time-collapsed spectrum (its MAD): the SNR's denominator."""
    return float(np.median(np.abs(collapsed - np.median(collapsed)))) * 1.4826 or 1e-12


def half_power_width(profiles: np.ndarray) -> np.ndarray:
    """Channels in the contiguous run around each profile's peak at or above half of it (FWHM)."""
    k, w = profiles.shape
    peak = profiles.argmax(axis=1)
    below = profiles < profiles[np.arange(k), peak][:, None] / 2
    channel = np.arange(w)[None, :]
    left = np.where(below & (channel < peak[:, None]), channel, -1).max(axis=1)
    right = np.where(below & (channel > peak[:, None]), channel, w).min(axis=1)
    return (right - left - 1).astype(np.float64)


# --- fast drifters -----------------------------------------------------------------------------
#
# A 256-channel window holds a track that crosses at most ~256 channels over the scan (2.4 Hz/s
# at GBT's 2.79 Hz and 5 minutes). Faster tracks are found by a dedoppler search over
# frequency-decimated spectra: channels are summed by D (32, 64, ...: the power a track smears
# over one time bin falls in one or two summed channels), what does not move is taken away
# (each channel's median over time), pixels are put in noise units and clipped (a carrier
# crossed or a broadband pulse adds at most FAST_CLIP to a track), and sums along trial tracks
# are thresholded. K^2 windows over decimated data miss these signals (measured: a 10 Hz/s,
# SNR-20 track gives K^2 ~ 30-50 summed by 8, while summed by 32 or 64 pure-noise windows reach
# 200-400 on bandpass residuals): smearing lowers every pixel, and only the sum along the track
# rises above the noise. A candidate is refined at full resolution
# (drift within 20 %, then 1 %) and kept when it is fast, its power is in every quarter of the
# scan, and no slow track through the same place explains it better.

DEFAULT_MAX_DRIFT_HZ_S = 10.0
"""Largest |drift| the fast pass searches (turboSETI searches are usually run to 4-10 Hz/s)."""

DEFAULT_FAST_THRESHOLD = 7.0
"""SNR of a clipped dedoppler sum above which a track is a fast drifter. See benchmarks/RESULTS.md."""

FAST_SPAN = WINDOW * 7 // 8
"""Channels a track may cross over the scan and still be cut as observed (the K^2 windows find
it); a faster track is cut dedrifted, and its drift recorded as ``dedrift_hz_s``."""

FAST_CLIP = 5.0
MIN_DECIMATED_CHANNELS = 64

MAX_TRACKS_PER_LEVEL = 64

# --- slow drifters -----------------------------------------------------------------------------
#
# The same search, run again below FAST_SPAN: a track that fits a window but whose power one bin
# smears over a channel or more (GBT: ~0.15-2.1 Hz/s) is weak in every pixel, and the K^2 windows
# miss it (measured on benchmarks/evalset.py: 8 of 12 narrowband signals at 0.2-1 Hz/s, SNR
# 25-70), or cut it 100-200 channels off its middle when they catch the brightest part of the
# band around it. So does a faint line moving a quarter to one channel per bin (0.04-0.15 Hz/s:
# K^2 324 for SNR 25 at 0.054 Hz/s), or one sharing its window's run with a brighter carrier (the
# run's snippet is centred on the carrier): decimating by 2 searches those. Decimating by 4, 8
# and 16 puts one bin's power in one or two summed channels,
# as above (each channel's level over time comes from the median of 8 group means, a tenth of
# the cost of sorting); trial tracks are one summed channel apart at the ends of the scan (two on
# the lowest level). Candidates that owe their sum to the bins where they meet a stronger one
# are dropped before refinement (a bright track makes them all around it); the rest are refined
# at full resolution and kept when steady over the scan, not a piece of a wandering carrier, not
# better explained by a stationary signal unless they stand alone without its pixels (a drifting
# signal crossing a carrier is kept), and not much wider than their smear (broad signals are
# bright in every bin: the K^2 windows measure them). Slow tracks are cut as observed, centred
# on the track at the mean bin time, with the track's drift.

SLOW_MIN_SMEAR = 0.25
"""Channels one bin's power moves, below which the K^2 windows are left to find a signal alone
(GBT: 0.038 Hz/s, 4 channels over the scan)."""

SLOW_LOW_SMEAR = 1.0
SLOW_LOW_FACTOR = 2
"""Tracks moving SLOW_MIN_SMEAR to SLOW_LOW_SMEAR channels per bin are searched on the block
decimated by this factor (their power stays within one or two summed channels for several bins);
faster ones on the levels of :func:`fast_levels`."""

DEFAULT_SLOW_THRESHOLD = 7.0
"""SNR of a clipped dedoppler sum (at full resolution) above which a slowly drifting track is a
signal. 7 gives ~2 false tracks in 6.6 M channels of synthetic noise (bench_recall's), 7.5 none;
7.5 missed a faint (SNR 25, 0.76-0.9 Hz/s) drifting tone in one of its three ON scans, and a
missed discovery costs more than a noise track (one scan's, which no cadence reports)."""

SLOW_CANDIDATE_FRACTION = 2 / 3
"""Decimated sums above this fraction of the threshold (1.2 times that at decimation 4) are
refined at full resolution: decimating by 8 costs a 0.8 Hz/s track about a third of its SNR
(measured: 5.5 decimated, 8.5 refined)."""


@dataclass(frozen=True)
class Track:
    """A drifting signal's track in a cleaned block (fast or slow)."""

    centre: float  # block column at the mean of the bin times
    rate: float  # columns per second (block column order)
    half_width: float  # columns either side of the track, in each time bin, that hold its power
    snr: float  # SNR of the clipped full-resolution dedoppler sum that confirmed it

    def columns(self, bin_times_s: np.ndarray) -> np.ndarray:
        """The track's column in each time bin."""
        times = np.asarray(bin_times_s, dtype=np.float64)
        return self.centre + self.rate * (times - times.mean())


def fast_levels(min_shift: float, max_shift: float) -> list[tuple[int, float, float]]:
    """(decimation factor, lowest, highest per-bin movement in channels) of each fast pass.

    At factor D a track moves 0.45 to 1 decimated channel per time bin (1.25 for the last
    level), so one bin's smeared power lies in one or two decimated channels.
    """
    levels: list[tuple[int, float, float]] = []
    if max_shift <= min_shift or min_shift <= 0:
        return levels
    factor = 2 ** int(np.ceil(np.log2(min_shift / 0.45)))
    low = min_shift
    while low < max_shift:
        high = max_shift if factor * 1.25 >= max_shift else float(factor)
        levels.append((factor, low, high))
        low, factor = high, factor * 2
    return levels


def decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """(T, N // factor) sums of ``factor`` adjacent channels; non-finite sums become 0.

    A power-of-two factor is summed in pairs, halving the block each time (twice as fast as a
    reduction over a short last axis).
    """
    t, n = x.shape
    summed = x[:, : n // factor * factor]
    if factor & (factor - 1) == 0:
        while summed.shape[1] > n // factor:
            summed = summed[:, 0::2] + summed[:, 1::2]
        summed = summed.astype(np.float32, copy=False)
    else:
        summed = summed.reshape(t, -1, factor).sum(axis=2, dtype=np.float32)
    if factor == 1:
        summed = summed.copy()
    if np.isfinite(summed.sum()):  # one pass, where nan_to_num makes three
        return summed
    return np.nan_to_num(summed, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def _median_over_time(x: np.ndarray) -> np.ndarray:
    """Each channel's median over the (few) time bins: sorting short contiguous rows is several
    times faster than ``np.median(x, axis=0)``."""
    t = x.shape[0]
    ordered = np.sort(x.T, axis=1)
    return ordered[:, t // 2] if t % 2 else (ordered[:, t // 2 - 1] + ordered[:, t // 2]) / 2


_MEDIAN_OF_8 = ((0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (1, 2), (5, 6), (0, 4), (1, 5),
                (2, 6), (3, 7), (2, 4), (3, 5), (1, 2), (3, 4), (5, 6))
"""Batcher's sorting network for 8 values (19 compare-exchanges)."""


def _median_of_8_groups(x: np.ndarray) -> np.ndarray:
    """Each channel's median over time, estimated as the median of the means of 8 groups of
    adjacent bins (for 8k bins): a signal that spends up to three groups in a channel leaves it
    unchanged, and it costs a tenth of sorting every channel's bins."""
    t = x.shape[0]
    groups = x.reshape(8, t // 8, -1).sum(axis=1, dtype=np.float32)
    rows = list(groups)
    for a, b in _MEDIAN_OF_8:
        rows[a], rows[b] = np.minimum(rows[a], rows[b]), np.maximum(rows[a], rows[b])
    return (rows[3] + rows[4]) * np.float32(0.5 * 8 / t)


def noise_units(xd: np.ndarray, moving_only: bool = True, grouped: bool = False) -> np.ndarray:
    """A block in noise units (each bin divided by its robust noise), clipped to +-FAST_CLIP.

    ``moving_only`` first takes away each channel's median over time: what does not move
    (stationary carriers, bandpass residuals) goes, and a fast track, which spends only a bin or
    two in any channel, stays. Then each bin's median is taken away. (float32, in place on a
    new array: the block may be a few million pixels.) ``grouped``: the channel medians from
    :func:`_median_of_8_groups` where the bins allow (slow tracks spend up to four bins in a
    channel, which that keeps; fast ones would fill too many of its groups).
    """
    if moving_only:
        grouped = grouped and xd.shape[0] % 8 == 0 and xd.shape[0] >= 16
        centred = np.subtract(xd, _median_of_8_groups(xd) if grouped else _median_over_time(xd), dtype=np.float32)
    else:
        centred = xd.astype(np.float32)
    # a robust level needs no more than a few thousand samples a bin
    sample = centred[:, ::max(4, centred.shape[1] // 16384)] if centred.shape[1] >= 4096 else centred
    level = np.median(sample, axis=1, keepdims=True)
    mad = np.median(np.abs(sample - level), axis=1)
    centred -= level  # a bin's gain offset, too
    sigma = np.where(mad > 0, 1.4826 * mad, np.inf)
    centred *= (1.0 / sigma[:, None]).astype(np.float32)
    return np.clip(centred, -FAST_CLIP, FAST_CLIP, out=centred)


def _shifts(rates: np.ndarray, bin_times_s: np.ndarray) -> np.ndarray:
    """(rates, bins) integer column offsets of trial tracks from their mean-time column."""
    times = np.asarray(bin_times_s, dtype=np.float64)
    return np.rint(np.outer(rates, times - times.mean())).astype(np.int64)


def dedoppler_max(z: np.ndarray, bin_times_s: np.ndarray, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best SNR of the sum along any trial track through each column (one or two columns wide),
    and the index of the rate (columns per second) that gave it. ``z`` is in noise units."""
    t, m = z.shape
    shifts = _shifts(rates, bin_times_s)
    pad = int(np.abs(shifts).max(initial=0)) + 1
    padded = np.zeros((t, m + 2 * pad + 1), np.float32)
    padded[:, pad:pad + m] = z
    best = np.full(m, -np.inf, np.float32)
    arg = np.zeros(m, np.int32)
    one, two = np.float32(1 / np.sqrt(t)), np.float32(1 / np.sqrt(2 * t))
    for k, shift in enumerate(shifts):
        acc = padded[0, pad + shift[0]:pad + shift[0] + m + 1].copy()
        for row in range(1, t):
            acc += padded[row, pad + shift[row]:pad + shift[row] + m + 1]
        score = np.maximum(acc[:-1] * one, (acc[:-1] + acc[1:]) * two)
        np.putmask(arg, score > best, k)
        np.maximum(best, score, out=best)
    return best, arg


def _sums_along(z: np.ndarray, bin_times_s: np.ndarray, rates: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(rates, hi - lo) sums of ``z`` over the bins along trial tracks whose mean-time column is
    lo .. hi - 1 (columns outside the block count as 0); computed on that region only."""
    t, m = z.shape
    columns = np.arange(lo, hi)[None, None, :] + _shifts(rates, bin_times_s)[:, :, None]
    inside = (columns >= 0) & (columns < m)
    return np.where(inside, z[np.arange(t)[None, :, None], np.clip(columns, 0, m - 1)], 0.0).sum(axis=1)


def _track_sums(z: np.ndarray, bin_times_s: np.ndarray, rates: np.ndarray, centre: int, radius: int) -> np.ndarray:
    """(rates,) best SNR of sums along trial tracks (one or two columns wide) whose mean-time
    column is within ``radius`` of ``centre``."""
    t = z.shape[0]
    acc = _sums_along(z, bin_times_s, rates, centre - radius, centre + radius + 2)
    return np.maximum(acc[:, :-1] / np.sqrt(t), (acc[:, :-1] + acc[:, 1:]) / np.sqrt(2 * t)).max(axis=1)


def _dedrifted_box_scores(z: np.ndarray, bin_times_s: np.ndarray, rates: np.ndarray, lo: int, hi: int,
                          box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each trial rate: the best SNR of a ``box``-column sum of the dedrifted, time-collapsed
    block whose left edge lies in [lo, hi), and that left edge."""
    t = z.shape[0]
    profile = _sums_along(z, bin_times_s, rates, lo, hi + int(box.max()))
    cumulative = np.concatenate([np.zeros((len(rates), 1)), np.cumsum(profile, axis=1)], axis=1)
    n = hi - lo
    rows = np.arange(len(rates))[:, None]
    sums = cumulative[rows, np.arange(n)[None, :] + box[:, None]] - cumulative[:, :n]
    snr = sums / np.sqrt(t * box)[:, None]
    left = snr.argmax(axis=1)
    return snr[np.arange(len(rates)), left], lo + left


def track_half_width(z: np.ndarray, bin_times_s: np.ndarray, centre: float, rate: float, box: int) -> float:
    """Columns either side of a track, in each bin, that hold its power: the half-power width of
    its dedrifted, collapsed profile (smearing and the signal's own width), with a margin for
    the tails, and never less than the smear."""
    lo = int(round(centre)) - 3 * box - 128
    profile = _sums_along(z, bin_times_s, np.array([rate]), lo, lo + 6 * box + 257)
    smooth = ndimage.uniform_filter1d(profile, size=5, axis=1, mode="nearest")
    return float(max(half_power_width(smooth)[0], box)) + 4.0


def refine_track(z: np.ndarray, bin_times_s: np.ndarray, centre: float, rate: float, radius: int,
                 row_s: float, floor: float = 0.0) -> tuple[float, float, float]:
    """(rate, mean-time centre, SNR) of the track near a coarse estimate, at full resolution.

    ``z`` is the full-resolution block in clipped noise units. Trial rates within 20 % of the
    estimate (or within ``floor`` columns per second, if that is more: a slow estimate from
    decimated data is coarse), then within 1 % of the best, each scored by the sum of the
    dedrifted, collapsed block over the channels one bin's smeared power covers.
    """
    best = (rate, centre, -np.inf)
    for span, count in ((0.2, 41), (0.01, 21)):
        reach = max(span * abs(best[0]), floor if span == 0.2 else 0.0)
        rates = best[0] + (np.sign(best[0]) or 1.0) * reach * np.linspace(-1, 1, count)
        box = np.maximum(1, np.rint(np.abs(rates) * row_s)).astype(np.int64)
        lo = int(round(best[1] - box.max() / 2)) - radius
        snr, left = _dedrifted_box_scores(z, bin_times_s, rates, lo, lo + 2 * radius + 1, box)
        k = int(snr.argmax())
        best = (float(rates[k]), float(left[k] + (box[k] - 1) / 2), float(snr[k]))
        radius = 2
    return best


def _track_rows(z: np.ndarray, bin_times_s: np.ndarray, centre: float, rate: float, box: int) -> np.ndarray:
    """(T,) SNR of the track's ``box``-column sum in each time bin."""
    t, m = z.shape
    left = np.rint(centre - (box - 1) / 2 + _shifts(np.array([rate]), bin_times_s)[0]).astype(np.int64)
    columns = left[:, None] + np.arange(box)[None, :]
    inside = (columns >= 0) & (columns < m)
    return np.where(inside, z[np.arange(t)[:, None], np.clip(columns, 0, m - 1)], 0.0).sum(axis=1) / np.sqrt(box)


def steady_track_snr(z: np.ndarray, bin_times_s: np.ndarray, centre: float, rate: float, box: int,
                     spread: bool = False) -> float | tuple[float, float]:
    """The smallest SNR of the track's ``box``-column sums in any quarter of the scan (and, with
    ``spread``, the largest).

    A drifting signal puts its power in every part of the scan; a trial track that merely
    crosses a bright signal (or the edge of one) gets it from a few bins, and some quarter of
    the scan holds only noise.
    """
    rows = _track_rows(z, bin_times_s, centre, rate, box)
    quarters = [part.sum() / np.sqrt(part.size) for part in np.array_split(rows, 4)]
    return (float(min(quarters)), float(max(quarters))) if spread else float(min(quarters))


def trimmed_track_snr(z: np.ndarray, bin_times_s: np.ndarray, centre: float, rate: float, box: int) -> float:
    """SNR of the track without its brightest fifth of the time bins: a trial track that crosses
    a bright or wandering signal gets most of its sum from the few bins where they meet; a
    drifting signal's sum barely changes (SNR 8.4: ~6.4 left; a track across a wobbling
    carrier, 8.4: 2.7)."""
    rows = np.sort(_track_rows(z, bin_times_s, centre, rate, box))
    kept = rows[: rows.size - max(1, rows.size // 5)]
    return float(kept.sum() / np.sqrt(max(kept.size, 1)))


def find_fast_tracks(x: np.ndarray, bin_times_s: np.ndarray, header: FilterbankHeader,
                     max_drift_hz_s: float = DEFAULT_MAX_DRIFT_HZ_S,
                     threshold: float = DEFAULT_FAST_THRESHOLD,
                     pyramid: dict[int, np.ndarray] | None = None) -> list[Track]:
    """Signals of a cleaned (T, N) block whose tracks cross more than FAST_SPAN channels over the
    scan, up to ``max_drift_hz_s``; see the section comment above. ``pyramid``: decimated copies
    of ``x`` already made (:func:`find_slow_tracks`'s)."""
    t = x.shape[0]
    row_s = max(header.tsamp_s, header.obs_length_s / t)
    tracks = _find_tracks(x, bin_times_s, row_s, FAST_SPAN / header.obs_length_s,
                          max_drift_hz_s / header.channel_width_hz, threshold, pyramid=pyramid)
    return _distinct_tracks(tracks)


def find_slow_tracks(x: np.ndarray, bin_times_s: np.ndarray, header: FilterbankHeader,
                     threshold: float = DEFAULT_SLOW_THRESHOLD,
                     pyramid: dict[int, np.ndarray] | None = None) -> list[Track]:
    """Drifting signals of a cleaned (T, N) block whose power one bin smears over
    SLOW_MIN_SMEAR channels or more and whose tracks cross at most FAST_SPAN channels over the
    scan (they fit a window and are cut as observed); see the section comment above."""
    t = x.shape[0]
    row_s = max(header.tsamp_s, header.obs_length_s / t)
    high = FAST_SPAN / header.obs_length_s * row_s
    levels = [(SLOW_LOW_FACTOR, SLOW_MIN_SMEAR, SLOW_LOW_SMEAR), *fast_levels(SLOW_LOW_SMEAR, high)]
    tracks = _find_tracks(x, bin_times_s, row_s, SLOW_MIN_SMEAR / row_s, FAST_SPAN / header.obs_length_s,
                          threshold, separate=False, candidate_threshold=threshold * SLOW_CANDIDATE_FRACTION,
                          pyramid=pyramid, levels=levels)
    return sorted(tracks, key=lambda tr: tr.centre)


CROSSING_REACH = 3
"""Decimated columns within which a trial track meets a stronger candidate's."""


def _crosses(z: np.ndarray, dt: np.ndarray, stronger: np.ndarray, j: int, rate: float, factor: int,
             floor: float) -> bool:
    """Whether the trial track through decimated column ``j`` at ``rate`` (decimated columns
    per second) owes its sum to the bins where it meets a stronger candidate's track
    (``stronger``: (k, 2) full-resolution columns and rates): without those bins it falls below
    ``floor``. A bright track makes such candidates all around it, at other rates; confirming
    each at full resolution would cost more than the whole search. ``dt``: bin times from their
    mean."""
    if stronger.size == 0:
        return False
    t, m = z.shape
    path = j + rate * dt
    others = (stronger[:, :1] + stronger[:, 1:] * dt[None, :] + 0.5) / factor - 0.5
    near = (np.abs(others - path[None, :]) <= CROSSING_REACH).any(axis=0)
    if not near.any():
        return False
    if near.all():
        return True
    columns = np.clip(np.rint(path).astype(np.int64), 0, m - 2)
    pair = z[np.arange(t), columns] + z[np.arange(t), columns + 1]
    rest = pair[~near]
    return bool(rest.sum() / np.sqrt(2 * rest.size) < floor)


def _decimated(pyramid: dict[int, np.ndarray], factor: int) -> np.ndarray:
    """``x`` (``pyramid[1]``) decimated by ``factor``, from the most decimated copy it can be
    made of; the result is kept in ``pyramid``."""
    if factor not in pyramid:
        base = max(f for f in pyramid if factor % f == 0)
        pyramid[factor] = decimate(pyramid[base], factor // base)
    return pyramid[factor]


def _same_signal(a: Track, b: Track, times: np.ndarray) -> bool:
    """Whether two tracks stay within each other's reach throughout the scan."""
    return bool(np.abs(a.columns(times) - b.columns(times)).max() <= a.half_width + b.half_width)


def _find_tracks(x: np.ndarray, bin_times_s: np.ndarray, row_s: float, min_rate: float, max_rate: float,
                 threshold: float, separate: bool = True, candidate_threshold: float | None = None,
                 pyramid: dict[int, np.ndarray] | None = None,
                 levels: list[tuple[int, float, float]] | None = None) -> list[Track]:
    """Tracks of a cleaned (T, N) block drifting min_rate .. max_rate columns per second (either
    sign). ``separate``: one track per half window (fast drifters: a fast track's neighbours are
    pieces of it); otherwise tracks are one signal only when their paths stay within each other's
    reach (slow tracks of two emitters may lie a few dozen channels apart). Decimated sums above
    ``candidate_threshold`` (default: ``threshold``) are refined, and kept above ``threshold``.
    ``pyramid``: decimated copies of ``x`` by factor ({1: x} at least), shared between passes."""
    t, n = x.shape
    times = np.asarray(bin_times_s, dtype=np.float64)
    levels = [lv for lv in (levels or fast_levels(min_rate * row_s, max_rate * row_s)) if n // lv[0] >= MIN_DECIMATED_CHANNELS]
    if not levels:
        return []
    step = 1.0 / max(times.max() - times.min(), row_s)  # one column end to end between trial tracks
    candidates: list[tuple[float, float, int, float]] = []  # (column, columns per second, decimation, SNR)
    pyramid = {1: x} if pyramid is None else pyramid
    dt = times - times.mean()
    for factor, low, high in levels:
        coarse = _decimated(pyramid, factor)
        z = noise_units(coarse, grouped=not separate)
        # trial tracks one column apart at the ends of the scan; two on the lowest slow level (the
        # costliest: scored two columns wide, its tracks lose little, where the faintest slow
        # tracks, smeared the most, are found a level up)
        spacing = 2 * step if not separate and factor < 8 else step
        rates = np.arange(low / row_s / factor * 0.95, high / row_s / factor * 1.05 + spacing, spacing)
        rates = np.concatenate([-rates[::-1], rates])
        best, arg = dedoppler_max(z, times, rates)
        all_rates = np.arange(0, rates.max() + step, step)
        all_rates = np.concatenate([-all_rates[:0:-1], all_rates])
        slow = np.abs(all_rates) < min_rate / factor
        taken = np.zeros(best.size, dtype=bool)
        radius = max(WINDOW // (2 * factor), 4) if separate else 2
        # the loss to decimation grows with the factor (measured: a track's refined SNR is ~1.3x its
        # sum decimated by 4, ~1.6x by 8), so the lowest level asks for more: noise candidates cost
        floor = threshold if candidate_threshold is None else candidate_threshold * (1.2 if factor < 8 else 1.0)
        above = np.flatnonzero(best > floor)
        found = 0
        for j in above[np.argsort(-best[above], kind="stable")]:
            if taken[j]:
                continue
            taken[max(j - radius, 0):j + radius + 1] = True
            if not separate:
                stronger = np.array([c[:2] for c in candidates if c[3] > best[j]]).reshape(-1, 2)
                if _crosses(z, dt, stronger, int(j), float(rates[arg[j]]), factor, floor):
                    continue
            sums = _track_sums(z, times, all_rates, int(j), 2)
            if sums[~slow].max() <= sums[slow].max():
                continue  # a slower signal (another pass's business) or a stationary one crossed
            candidates.append(((j + 0.5) * factor - 0.5, float(rates[arg[j]]) * factor, factor, float(best[j])))
            found += 1
            if found >= MAX_TRACKS_PER_LEVEL:
                log.debug("coarse-channel block: more than %d drifting candidates at decimation %d",
                          MAX_TRACKS_PER_LEVEL, factor)
                break
    tracks: list[Track] = []
    for centre, rate, factor, _ in sorted(candidates, key=lambda c: -c[3]):
        if separate and any(abs(centre - track.centre) < WINDOW / 2 for track in tracks):
            continue  # one signal, one track (found again at the next decimation, or beside itself)
        if not separate and any(abs(centre - track.centre) <= track.half_width + 2 * factor for track in tracks):
            continue  # found again at another decimation (tracks of one signal meet at the mean time)
        track = _confirm_track(x, times, centre, rate, factor, row_s, (min_rate, step), threshold,
                               floor=0.0 if separate else 2.0 * factor * step, crossing=not separate)
        if track is not None and (separate or not any(_same_signal(track, other, times) for other in tracks)):
            tracks.append(track)
    if not separate:
        tracks = _uncrossed(x, times, tracks, row_s, threshold)
    return tracks


def _uncrossed(x: np.ndarray, times: np.ndarray, tracks: list[Track], row_s: float, threshold: float) -> list[Track]:
    """Tracks that stand above the threshold without the pixels of every stronger track they
    meet: a trial track at another rate through a bright drifting signal (its wings, or where
    they cross) is not a signal of its own."""
    kept: list[Track] = []
    n = x.shape[1]
    for track in sorted(tracks, key=lambda tr: -tr.snr):
        met = [other for other in kept if np.abs(track.columns(times) - other.columns(times)).min()
               <= track.half_width + other.half_width]
        if met:
            box = max(1, int(round(abs(track.rate) * row_s)))
            reach = int(abs(track.rate) * (np.abs(times - times.mean()).max() + row_s)) + 2 * box + WINDOW
            lo, hi = max(int(track.centre) - reach, 0), min(int(track.centre) + reach, n)
            z = noise_units(np.nan_to_num(x[:, lo:hi], nan=0.0, posinf=0.0, neginf=0.0))
            shifted = [Track(o.centre - lo, o.rate, o.half_width, o.snr) for o in met]
            z[on_tracks(shifted, np.array([0]), times, hi - lo)[0]] = 0.0
            alone, _ = _dedrifted_box_scores(z, times, np.array([track.rate]), int(round(track.centre - lo - (box - 1) / 2)) - 2,
                                             int(round(track.centre - lo - (box - 1) / 2)) + 3, np.array([box]))
            if alone[0] < threshold:
                continue
        kept.append(track)
    return kept


def _confirm_track(x: np.ndarray, times: np.ndarray, centre: float, rate: float, factor: int, row_s: float,
                   rates: tuple[float, float], threshold: float, floor: float = 0.0,
                   crossing: bool = False) -> Track | None:
    """A decimated candidate refined at full resolution on the block around it, or None when it
    is not a fast track there: too slow or too weak once refined, its power in a few bins only,
    or better explained by a slow track through the same place (the edges of a bright, wide,
    slowly drifting signal survive the removal of what does not move). ``rates``: the slowest
    fast rate and the step between trial tracks, in columns per second. ``floor``: see
    :func:`refine_track`. ``crossing``: a track that a brighter slower one explains is kept when
    it still stands above the threshold without the pixels of that one (a drifting signal that
    crosses a stationary carrier, as happens in crowded bands).
    """
    n = x.shape[1]
    min_rate, step = rates
    reach = int(abs(rate) * 1.3 * (np.abs(times - times.mean()).max() + row_s)) + 4 * factor + WINDOW
    lo, hi = max(int(centre) - reach, 0), min(int(centre) + reach, n)
    region = np.nan_to_num(x[:, lo:hi], nan=0.0, posinf=0.0, neginf=0.0)
    z = noise_units(region)
    rate, local, snr = refine_track(z, times, centre - lo, rate, 2 * factor, row_s, floor)
    if snr < threshold or abs(rate) < min_rate:
        return None
    box = max(1, int(round(abs(rate) * row_s)))
    weakest, strongest = steady_track_snr(z, times, local, rate, box, spread=True)
    if weakest < threshold / (5 if crossing else 4):
        return None  # the power sits in a few bins: a bright signal crossed, not a track
    if crossing and (weakest < strongest / 4 or trimmed_track_snr(z, times, local, rate, box) < threshold / 2):
        return None  # the same, for a slow track: a piece of a wandering carrier, or a crossing
    as_observed = noise_units(region, moving_only=False)
    slow_step = step * max(1.0, box / 2)  # a slow track off by half the box at its ends still fills it
    slow_rates = np.arange(-min_rate, min_rate + slow_step / 2, slow_step)
    slow, left = _dedrifted_box_scores(as_observed, times, slow_rates, int(local) - 2 * box, int(local) + 2 * box,
                                       np.full(slow_rates.size, box))
    fast, _ = _dedrifted_box_scores(as_observed, times, np.array([rate]), int(local) - box // 2 - 2,
                                    int(local) - box // 2 + 3, np.array([box]))
    if slow.max() >= fast[0]:
        if not crossing:
            return None
        k = int(slow.argmax())
        edges = left[k] + _shifts(slow_rates[k:k + 1], times)[0]  # the slower signal's box in each bin
        columns = np.arange(as_observed.shape[1])[None, :]
        without = np.where((columns >= edges[:, None] - box) & (columns < edges[:, None] + 2 * box), 0.0, as_observed)
        alone, _ = _dedrifted_box_scores(without, times, np.array([rate]), int(local) - box // 2 - 2,
                                         int(local) - box // 2 + 3, np.array([box]))
        if alone[0] < threshold:
            return None
    half_width = track_half_width(z, times, local, rate, box)
    if crossing and half_width - 4 > max(box, 5) + 4:
        # a signal much wider than its smear is bright in every bin, the K^2 windows' business; a
        # box of its smear fits almost any rate near the top of its broad profile
        return None
    return Track(local + lo, rate, half_width, snr)


def _distinct_tracks(tracks: list[Track]) -> list[Track]:
    """One track per signal: of tracks within half a window of each other, the strongest."""
    kept: list[Track] = []
    for track in sorted(tracks, key=lambda tr: -tr.snr):
        if all(abs(track.centre - other.centre) >= WINDOW / 2 for other in kept):
            kept.append(track)
    return sorted(kept, key=lambda tr: tr.centre)


def smeared_measures(profiles: np.ndarray, smear: np.ndarray, noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """SNR and half-power width (channels) of dedrifted fast drifters' collapsed profiles.

    A track that moves ``smear`` channels within one time bin spreads its power over them. The
    SNR is per channel, as for every hit, of the profile averaged over ``smear`` channels (the
    peak of a single channel would mostly measure noise there): smearing lowers it, by about
    the smear over the signal's own width. The width is measured on the profile smoothed over a
    quarter of the smear: the signal's own width plus the smear.
    """
    snr = np.empty(len(profiles))
    width = np.empty(len(profiles))
    for i, (profile, box) in enumerate(zip(profiles, smear)):
        box = int(box)
        snr[i] = np.convolve(profile, np.ones(box) / box, mode="valid").max() / noise_std
        smooth = ndimage.uniform_filter1d(profile, size=max(1, box // 4) | 1, mode="nearest")
        width[i] = half_power_width(smooth[None])[0]
    return snr, width


def on_tracks(tracks: list[Track], starts: np.ndarray, bin_times_s: np.ndarray, width: int = WINDOW) -> np.ndarray:
    """(k, T, width) mask of the pixels of the windows starting at ``starts`` that lie on a track."""
    columns = starts[:, None, None] + np.arange(width)[None, None, :]
    mask = np.zeros((len(starts), len(bin_times_s), width), dtype=bool)
    for track in tracks:
        centre = track.columns(bin_times_s)[None, :, None]
        mask |= np.abs(columns - centre) <= track.half_width
    return mask


def masked_statistics(windows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """K^2 of each (T, 256) window over its ``keep`` pixels only."""
    w = np.where(keep, windows, 0.0).astype(np.float64)
    count = keep.sum(axis=(1, 2)).astype(np.float64)
    mean = w.sum(axis=(1, 2)) / count
    d = np.where(keep, w - mean[:, None, None], 0.0)
    d2 = d * d
    m2, m3, m4 = ((d2 * p).sum(axis=(1, 2)) / count for p in (1.0, d, d2))
    k2 = _k2_from_moments(count, m2, m3, m4)
    return np.where(count > 8, k2, 0.0)


def windows_off_tracks(x: np.ndarray, windows: np.ndarray, tracks: list[Track], bin_times_s: np.ndarray,
                       threshold: float) -> np.ndarray:
    """The hit windows (indices) that still hold a signal once the fast tracks' pixels are left
    out: a window that only caught part of a fast track is that track's, not a signal of its own."""
    if not tracks or windows.size == 0:
        return windows
    starts = windows * STRIDE
    mask = on_tracks(tracks, starts, bin_times_s)
    touched = mask.any(axis=(1, 2))
    if not touched.any():
        return windows
    cut = cut_windows(x, starts[touched])
    keep = ~touched
    keep[touched] = masked_statistics(cut, ~mask[touched] & np.isfinite(cut)) > threshold
    return windows[keep]


def track_windows(tracks: list[Track], n_windows: int, bin_times_s: np.ndarray) -> np.ndarray:
    """Which windows (by index) a track crosses at some time during the scan."""
    busy = np.zeros(n_windows, dtype=bool)
    for track in tracks:
        columns = track.columns(bin_times_s)
        lo, hi = columns.min() - track.half_width, columns.max() + track.half_width
        first = max(int(np.floor((lo - WINDOW) / STRIDE)) + 1, 0)
        last = min(int(np.floor(hi / STRIDE)), n_windows - 1)
        busy[first:last + 1] = True
    return busy


def dedrift_windows(x: np.ndarray, starts: np.ndarray, rates: np.ndarray, bin_times_s: np.ndarray) -> np.ndarray:
    """(k, T, 256) windows whose bins are each shifted back along a drift (``rates``, columns per
    second), so that a track through column ``start + 128`` at the mean bin time stands still."""
    t, n = x.shape
    columns = starts[:, None, None] + _shifts(rates, bin_times_s)[:, :, None] + np.arange(WINDOW)[None, None, :]
    return np.ascontiguousarray(x[np.arange(t)[None, :, None], np.clip(columns, 0, n - 1)])


def off_tracks(x: np.ndarray, collapsed: np.ndarray, tracks: list[Track], bin_times_s: np.ndarray) -> np.ndarray:
    """The time-collapsed block without the tracks' pixels (``collapsed`` where no track
    passes), so that a window beside a track is centred on its own signal, not on the track."""
    if not tracks:
        return collapsed
    t, n = x.shape
    out = collapsed.copy()
    spans = []
    for track in tracks:
        columns = track.columns(bin_times_s)
        spans.append((max(int(np.floor(columns.min() - track.half_width)), 0),
                      min(int(np.ceil(columns.max() + track.half_width)) + 1, n)))
    order = np.argsort([lo for lo, _ in spans])
    merged: list[list[int]] = []
    for i in order:
        lo, hi = spans[i]
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    for lo, hi in merged:
        if hi <= lo:
            continue
        mask = on_tracks(tracks, np.array([lo]), bin_times_s, hi - lo)[0]
        out[lo:hi] -= np.where(mask, x[:, lo:hi], 0.0).sum(axis=0) / t
    return out


def _clear_of(starts: np.ndarray, track_start: np.ndarray) -> np.ndarray:
    """Which windows overlap no track's window by more than half (the track's is kept)."""
    if track_start.size == 0 or starts.size == 0:
        return np.ones(starts.size, dtype=bool)
    return (np.abs(starts[:, None] - track_start[None, :]) >= STRIDE).all(axis=1)


def track_starts(tracks: list[Track], n: int) -> np.ndarray:
    """Start column of the 256-column window centred on each track's mean-time column."""
    centres = np.array([tr.centre for tr in tracks], dtype=np.float64)
    return np.clip(np.rint(centres).astype(np.int64) - WINDOW // 2, 0, max(n - WINDOW, 0))


def detect_block(
    x: np.ndarray,
    header: FilterbankHeader,
    coarse_channel: int,
    bin_times_s: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    n_noise: int = 0,
    noise_max_statistic: float = DEFAULT_NOISE_MAX_STATISTIC,
    rng: np.random.Generator | None = None,
    max_drift_hz_s: float = DEFAULT_MAX_DRIFT_HZ_S,
    fast_threshold: float = DEFAULT_FAST_THRESHOLD,
    slow_threshold: float = DEFAULT_SLOW_THRESHOLD,
) -> DetectionResult:
    """Hits (and optionally noise windows) of one cleaned coarse-channel block whose time bins
    are centred at ``bin_times_s`` (from the reader's :class:`~rficat.io.Block`).

    Signals whose tracks fit a window come from the K^2 windows and are cut as observed; those
    among them that drift enough to smear (:func:`find_slow_tracks`; ``slow_threshold`` 0 turns
    that search off) are cut centred on their track at the mean bin time, with the track's drift,
    and replace the K^2 windows that caught them. Faster ones (up to ``max_drift_hz_s``; 0 turns
    the search off) come from :func:`find_fast_tracks` and are cut dedrifted, centred on their
    track at the mean bin time, with the drift removed recorded in ``dedrift_hz_s``. A K^2 window
    that overlaps a track's by more than half is that track's; one that still holds a signal
    without the tracks' pixels is centred on that signal, the tracks left out. Hit channels are
    the snippet's at the mean bin time.
    """
    t, n = x.shape
    k2, finite = window_statistics(x)
    if np.isnan(x.sum()):  # masked samples at the cleaned mean (0), for cutting snippets
        x[np.isnan(x)] = 0.0
    pyramid = {1: x}  # decimated copies, shared by the two passes
    slow = find_slow_tracks(x, bin_times_s, header, slow_threshold, pyramid) if slow_threshold > 0 else []
    fast = find_fast_tracks(x, bin_times_s, header, max_drift_hz_s, fast_threshold, pyramid) if max_drift_hz_s > 0 else []
    del pyramid
    slow = [tr for tr in slow if all(abs(tr.centre - f.centre) >= WINDOW / 2 for f in fast)]
    tracks = fast + slow
    signal_windows = windows_off_tracks(x, np.flatnonzero(finite & (k2 > threshold)), tracks, bin_times_s, threshold)
    runs = _runs(signal_windows, MAX_HIT_SPAN // STRIDE - 1)
    collapsed = np.where(np.isfinite(x), x, 0.0).mean(axis=0)
    noise_std = collapsed_noise_std(collapsed)
    track_start = track_starts(tracks, n)
    starts = _centre_windows(off_tracks(x, collapsed, tracks, bin_times_s), runs, n, noise_std)
    starts = _drop_overlapping(starts[_clear_of(starts, track_start)])
    rates = np.zeros(len(starts) + len(tracks))  # drift removed from each snippet, columns per second
    rates[len(starts):len(starts) + len(fast)] = [tr.rate for tr in fast]
    track_rate = np.full(len(starts) + len(tracks), np.nan)  # drift measured on a track, columns per second
    track_rate[len(starts):] = [tr.rate for tr in tracks]
    starts = np.concatenate([starts, track_start])
    is_signal = np.ones(len(starts), dtype=bool)

    if n_noise:
        rng = rng or np.random.default_rng(coarse_channel)
        quiet = finite & (k2 < noise_max_statistic)
        quiet[1::WINDOW // STRIDE] = False  # even windows only: chosen ones never overlap
        # keep clear of signals: a noise window may not touch a hit window
        near_signal = track_windows(tracks, quiet.size, bin_times_s)
        for start in track_start:  # and 128 channels clear of a track's snippet
            near_signal[max((start - WINDOW - STRIDE) // STRIDE + 1, 0):(start + WINDOW + STRIDE - 1) // STRIDE + 1] = True
        for offset in range(-2, 3):  # and 128 channels clear of any hit window
            near_signal[np.clip(signal_windows + offset, 0, quiet.size - 1)] = True
        candidates = np.flatnonzero(quiet & ~near_signal)
        chosen = np.sort(rng.choice(candidates, size=min(n_noise, candidates.size), replace=False))
        starts = np.concatenate([starts, chosen * STRIDE])
        rates = np.concatenate([rates, np.zeros(chosen.size)])
        track_rate = np.concatenate([track_rate, np.full(chosen.size, np.nan)])
        is_signal = np.concatenate([is_signal, np.zeros(chosen.size, dtype=bool)])

    if starts.size == 0:
        return DetectionResult([], np.empty((0, t, WINDOW), np.float32), k2.size, int((~finite).sum()))

    dedrifted = rates != 0
    on_track = np.isfinite(track_rate)
    windows = cut_windows(x, starts)
    if dedrifted.any():
        windows[dedrifted] = dedrift_windows(x, starts[dedrifted], rates[dedrifted], bin_times_s)
    statistic = stats.normaltest(windows.reshape(len(starts), -1), axis=1).statistic
    # drift left in the snippet: measured on the snippet, or the track's when cut as observed
    slopes = np.where(on_track, np.where(dedrifted, 0.0, track_rate), 0.0)
    measured = np.flatnonzero(~on_track)  # drift measured on the snippet's own bins, not by a track search
    if measured.size:
        slopes[measured] = drift_slopes(windows[measured], bin_times_s)
    profiles = dedrifted_profiles(windows, slopes, bin_times_s)
    if measured.size:  # a slope the line is clearly sharper without is noise: drift 0, the line as observed
        noise_slope = measured[sharper_without_drift(windows[measured], profiles[measured], noise_std)]
        slopes[noise_slope] = 0.0
        profiles[noise_slope] = windows[noise_slope].mean(axis=1)
    snr = profiles.max(axis=1) / noise_std
    width = half_power_width(profiles) * abs(header.foff_mhz) * 1e6
    row_s = max(header.tsamp_s, header.obs_length_s / t)
    if dedrifted.any():  # fast tracks: SNR and width of the smeared profile (slow ones: as every other hit)
        smear = np.maximum(1, np.rint(np.abs(rates[dedrifted]) * row_s)).astype(np.int64)
        snr[dedrifted], channels = smeared_measures(profiles[dedrifted], smear, noise_std)
        width[dedrifted] = channels * abs(header.foff_mhz) * 1e6
    # foff is signed (negative in GBT files), so this is the drift in frequency, not channel, order
    drift = (slopes + rates) * header.foff_mhz * 1e6
    dedrift = rates * header.foff_mhz * 1e6 + 0.0  # (no -0.0 for snippets cut as observed)
    offset = coarse_channel * header.coarse_channel_width
    chan_start = starts + offset
    f_start = header.frequency_mhz(chan_start)
    f_stop = header.frequency_mhz(chan_start + WINDOW - 1)
    f_center = header.frequency_mhz(chan_start + (WINDOW - 1) / 2)
    track_smear = np.abs(np.nan_to_num(track_rate)) * row_s  # channels per time bin
    track_error = np.where(on_track, np.hypot(np.maximum(1.0, TRACK_DRIFT_SNR / np.maximum(snr, 1e-6)), track_smear / 2)
                           * header.channel_width_hz / header.obs_length_s, np.nan)
    hits = [
        Hit(coarse_channel, int(c), int(c) + WINDOW, float(a), float(b), float(m), float(s),
            float(r), float(d), float(wd), bool(sig), float(dd), float(te))
        for c, a, b, m, s, r, d, wd, sig, dd, te in zip(chan_start, f_start, f_stop, f_center, statistic, snr, drift,
                                                        width, is_signal, dedrift, track_error)
    ]
    windows += 1.0  # back to data / bandpass: positive, as snippet normalisation needs
    return DetectionResult(hits, windows, k2.size, int((~finite).sum()))


def detect_blocks(
    blocks: Iterable[Block],
    header: FilterbankHeader,
    threshold: float = DEFAULT_THRESHOLD,
    n_noise_per_channel: int = 0,
    seed: int = 0,
    max_drift_hz_s: float = DEFAULT_MAX_DRIFT_HZ_S,
    slow_threshold: float = DEFAULT_SLOW_THRESHOLD,
) -> Iterable[tuple[int, DetectionResult]]:
    """Clean and detect each coarse-channel block in turn (``slow_threshold`` 0: no slow-drift
    search, the K^2 windows alone below FAST_SPAN)."""
    pieces = bandpass_pieces(header)
    for block in blocks:
        x = clean_block(block.data, pieces)
        rng = np.random.default_rng([seed, block.coarse_channel])
        result = detect_block(x, header, block.coarse_channel, block.bin_times_s, threshold,
                              n_noise_per_channel, rng=rng, max_drift_hz_s=max_drift_hz_s,
                              slow_threshold=slow_threshold)
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
    max_drift_hz_s: float = DEFAULT_MAX_DRIFT_HZ_S,
    slow_threshold: float = DEFAULT_SLOW_THRESHOLD,
) -> Iterable[tuple[FilterbankHeader, int, DetectionResult]]:
    """Stream a file through detection, one coarse channel at a time.

    ``progress``, if given, is called with the number of bytes of spectrogram just processed.
    """
    from rficat.io import FilterbankReader

    with FilterbankReader(path, coarse_channel_width) as reader:
        header = reader.header
        block_bytes = header.n_integrations * header.coarse_channel_width * 4
        for index, result in detect_blocks(reader.coarse_channels(), header, threshold,
                                           n_noise_per_channel, seed, max_drift_hz_s, slow_threshold):
            if progress is not None:
                progress(block_bytes)
            yield header, index, result
